//! Where the Hive authentication APIs live.
//!
//! Production has a primary host and a distributed fallback host; the server OAuth token is only
//! served by the primary. Sandbox has a single host and no fallback. Custom base URLs point the
//! client anywhere (a local mock, a proxy); the documented paths are appended to them.

use url::Url;

/// Production primary ("common") host.
pub const PRODUCTION_PRIMARY: &str = "https://auth.qpyou.cn";
/// Production distributed-environment fallback host.
pub const PRODUCTION_FALLBACK: &str = "https://auth.globalwithhive.com";
/// Sandbox host (no fallback).
pub const SANDBOX: &str = "https://sandbox-auth.qpyou.cn";

/// A Hive environment with its documented hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Environment {
    /// `auth.qpyou.cn`, falling back to `auth.globalwithhive.com`.
    Production,
    /// `sandbox-auth.qpyou.cn`, no fallback.
    Sandbox,
}

/// Which host answered a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServedBy {
    /// The primary host.
    Primary,
    /// The distributed fallback host.
    Fallback,
}

impl ServedBy {
    /// `"primary"` or `"fallback"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Fallback => "fallback",
        }
    }
}

/// The validated base URLs a client talks to: `scheme://host[:port]`, no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hosts {
    pub(crate) primary: String,
    pub(crate) fallback: Option<String>,
    pub(crate) oauth: String,
}

impl Hosts {
    pub(crate) fn of(environment: Environment) -> Self {
        match environment {
            Environment::Production => Self {
                primary: PRODUCTION_PRIMARY.to_owned(),
                fallback: Some(PRODUCTION_FALLBACK.to_owned()),
                oauth: PRODUCTION_PRIMARY.to_owned(),
            },
            Environment::Sandbox => Self {
                primary: SANDBOX.to_owned(),
                fallback: None,
                oauth: SANDBOX.to_owned(),
            },
        }
    }

    /// Custom hosts. The OAuth token comes from `oauth`, or from the primary when unset.
    pub(crate) fn custom(
        primary: &str,
        fallback: Option<&str>,
        oauth: Option<&str>,
    ) -> Result<Self, String> {
        let primary = base_url("primary", primary)?;
        let fallback = fallback.map(|f| base_url("fallback", f)).transpose()?;
        let oauth = match oauth {
            Some(o) => base_url("OAuth", o)?,
            None => primary.clone(),
        };
        Ok(Self {
            primary,
            fallback,
            oauth,
        })
    }
}

/// Validates a base URL: `https` (or `http` for a loopback host: the client secret must never
/// travel in clear), a host, an optional port, nothing else (a path would silently change where
/// the documented paths land; a query or credentials would leak).
fn base_url(which: &str, raw: &str) -> Result<String, String> {
    let invalid = |why: &str| format!("{which} base URL is invalid: {why}");
    let url = Url::parse(raw.trim_end_matches('/')).map_err(|_| invalid("cannot be parsed"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    let Some(host) = url.host_str() else {
        return Err(invalid("a host is required"));
    };
    gameauth_core::transport::check_base_url_scheme(url.scheme(), host).map_err(invalid)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials are not allowed"));
    }
    if url.path() != "/" && !url.path().is_empty() {
        return Err(invalid("only scheme, host and port are allowed (no path)"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a query or fragment is not allowed"));
    }
    Ok(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_has_a_fallback_and_oauth_on_the_primary_only() {
        let h = Hosts::of(Environment::Production);
        assert_eq!(h.primary, "https://auth.qpyou.cn");
        assert_eq!(
            h.fallback.as_deref(),
            Some("https://auth.globalwithhive.com")
        );
        assert_eq!(h.oauth, "https://auth.qpyou.cn");
    }

    #[test]
    fn sandbox_has_no_fallback() {
        let h = Hosts::of(Environment::Sandbox);
        assert_eq!(h.primary, "https://sandbox-auth.qpyou.cn");
        assert_eq!(h.fallback, None);
        assert_eq!(h.oauth, "https://sandbox-auth.qpyou.cn");
    }

    #[test]
    fn custom_base_urls_keep_scheme_host_and_port() {
        let h = Hosts::custom("http://127.0.0.1:8080/", Some("http://[::1]:9"), None).unwrap();
        assert_eq!(h.primary, "http://127.0.0.1:8080");
        assert_eq!(h.fallback.as_deref(), Some("http://[::1]:9"));
        assert_eq!(h.oauth, "http://127.0.0.1:8080");
        let h = Hosts::custom("https://a.example", None, Some("https://b.example")).unwrap();
        assert_eq!(h.oauth, "https://b.example");
    }

    #[test]
    fn custom_base_urls_reject_anything_but_scheme_host_port() {
        for bad in [
            "http://a.example",
            "http://10.0.0.1:8080",
            "ftp://a.example",
            "a.example",
            "http://a.example/prefix",
            "http://a.example?x=1",
            "http://a.example#f",
            "http://user:pw@a.example",
            "",
        ] {
            assert!(Hosts::custom(bad, None, None).is_err(), "{bad}");
        }
    }
}
