//! Where the Hive authentication APIs live.
//!
//! Production has a primary host and a distributed fallback host; the server OAuth token is only
//! served by the primary. Sandbox has a single host and no fallback. Custom base URLs point the
//! client anywhere (a local mock, a proxy); the documented paths are appended to them.

use gameauth_core::outbound::BaseUrl;

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

/// Which host answered a call: the primary or the distributed fallback host.
pub use gameauth_core::telemetry::HostRole as ServedBy;

/// The validated base URLs a client talks to: `scheme://host[:port]`, no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hosts {
    pub(crate) primary: BaseUrl,
    pub(crate) fallback: Option<BaseUrl>,
    pub(crate) oauth: BaseUrl,
}

impl Hosts {
    pub(crate) fn of(environment: Environment) -> Result<Self, String> {
        match environment {
            Environment::Production => {
                Self::custom(PRODUCTION_PRIMARY, Some(PRODUCTION_FALLBACK), None)
            }
            Environment::Sandbox => Self::custom(SANDBOX, None, None),
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
fn base_url(which: &str, raw: &str) -> Result<BaseUrl, String> {
    BaseUrl::parse_origin(raw).map_err(|why| format!("{which} base URL is invalid: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_has_a_fallback_and_oauth_on_the_primary_only() {
        let h = Hosts::of(Environment::Production).unwrap();
        assert_eq!(h.primary.as_str(), "https://auth.qpyou.cn");
        assert_eq!(
            h.fallback.as_ref().map(BaseUrl::as_str),
            Some("https://auth.globalwithhive.com")
        );
        assert_eq!(h.oauth.as_str(), "https://auth.qpyou.cn");
    }

    #[test]
    fn sandbox_has_no_fallback() {
        let h = Hosts::of(Environment::Sandbox).unwrap();
        assert_eq!(h.primary.as_str(), "https://sandbox-auth.qpyou.cn");
        assert_eq!(h.fallback, None);
        assert_eq!(h.oauth.as_str(), "https://sandbox-auth.qpyou.cn");
    }

    #[test]
    fn custom_base_urls_keep_scheme_host_and_port() {
        let h = Hosts::custom("http://127.0.0.1:8080/", Some("http://[::1]:9"), None).unwrap();
        assert_eq!(h.primary.as_str(), "http://127.0.0.1:8080");
        assert_eq!(
            h.fallback.as_ref().map(BaseUrl::as_str),
            Some("http://[::1]:9")
        );
        assert_eq!(h.oauth.as_str(), "http://127.0.0.1:8080");
        let h = Hosts::custom("https://a.example", None, Some("https://b.example")).unwrap();
        assert_eq!(h.oauth.as_str(), "https://b.example");
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
