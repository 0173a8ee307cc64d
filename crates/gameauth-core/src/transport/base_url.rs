//! The base URL of a provider API, parsed and checked once when a client is built.

use std::fmt;

/// A provider's base URL: `https://host[:port][/prefix]`, or plain `http` only for a loopback
/// host (`localhost`, `127.0.0.0/8`, `::1`), where nothing leaves the machine.
///
/// Provider clients send API keys, client secrets and player tokens; a base URL mistyped as
/// `http://` must not send them in clear over a network, so such a client is not built. User
/// info, a query and a fragment are refused too (they would leak or be silently dropped). The
/// URL is kept without its trailing `/`, so an endpoint path (`/v1/...`) is appended as it is.
///
/// ```
/// use gameauth_core::outbound::BaseUrl;
///
/// let url = BaseUrl::parse("https://api.example/dg/").unwrap();
/// assert_eq!(url.as_str(), "https://api.example/dg");
/// assert_eq!(url.host(), "api.example");
/// assert_eq!(url.join("/v1/auth?x=1"), "https://api.example/dg/v1/auth?x=1");
/// assert!(BaseUrl::parse("http://127.0.0.1:8080").is_ok());
/// assert!(BaseUrl::parse("http://api.example").is_err());
/// assert!(BaseUrl::parse_origin("https://api.example/prefix").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl {
    /// The URL as parsed; [`as_str`](Self::as_str) is its text without the trailing `/`.
    url: url::Url,
    host: String,
}

/// Why a base URL was refused. Its text never quotes the URL (it may hold credentials).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BaseUrlError(&'static str);

impl BaseUrlError {
    /// The reason, for the caller's configuration error.
    pub fn reason(&self) -> &'static str {
        self.0
    }
}

impl BaseUrl {
    /// Parses `https://host[:port][/prefix]` (`http` for a loopback host).
    ///
    /// # Errors
    ///
    /// A [`BaseUrlError`] when `raw` is not an absolute URL, its scheme is neither `https` nor
    /// (for a loopback host) `http`, it has no host, or it has user info, a query or a fragment.
    pub fn parse(raw: &str) -> Result<Self, BaseUrlError> {
        Self::parse_with(raw, true)
    }

    /// The `base_url` setting of a client builder, parsed with [`parse`](Self::parse).
    ///
    /// # Errors
    ///
    /// The message of the builder's configuration error: `base_url is required` when `value` is
    /// `None`, `base_url: <reason>` when it does not parse.
    pub fn from_setting(value: Option<&str>) -> Result<Self, String> {
        let value = value.ok_or_else(|| "base_url is required".to_owned())?;
        Self::parse(value).map_err(|why| format!("base_url: {why}"))
    }

    /// Parses `https://host[:port]` (`http` for a loopback host) with no path: for providers
    /// whose documented paths start at the host, where a path prefix would silently move them.
    ///
    /// # Errors
    ///
    /// The errors of [`parse`](Self::parse), and a [`BaseUrlError`] when the URL has a path.
    pub fn parse_origin(raw: &str) -> Result<Self, BaseUrlError> {
        Self::parse_with(raw, false)
    }

    fn parse_with(raw: &str, allow_path: bool) -> Result<Self, BaseUrlError> {
        let url = url::Url::parse(raw).map_err(|_| BaseUrlError("cannot be parsed as a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(BaseUrlError(
                "the scheme must be https (or http for a loopback host)",
            ));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or(BaseUrlError("a host is required"))?;
        if url.scheme() == "http" && !is_loopback_host(host) {
            return Err(BaseUrlError(
                "plain http is allowed only for a loopback host; use https",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(BaseUrlError("credentials are not allowed"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(BaseUrlError("a query or fragment is not allowed"));
        }
        if !allow_path && !url.path().trim_end_matches('/').is_empty() {
            return Err(BaseUrlError(
                "only scheme, host and port are allowed (no path)",
            ));
        }
        let host = host.to_owned();
        Ok(Self { url, host })
    }

    /// The URL without a trailing `/`.
    pub fn as_str(&self) -> &str {
        self.url.as_str().trim_end_matches('/')
    }

    /// The host, for logs and the `server.address` span field (an IPv6 address keeps its
    /// brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `self` followed by `path_and_query`, which starts with `/`.
    pub fn join(&self, path_and_query: &str) -> String {
        let base = self.as_str();
        let mut out = String::with_capacity(base.len() + path_and_query.len());
        out.push_str(base);
        out.push_str(path_and_query);
        out
    }
}

impl BaseUrl {
    /// The URL of `path_and_query` below this base, as [`join`](Self::join) spells it, for a
    /// transport whose client takes a parsed `url::Url`.
    ///
    /// Only the path and query are parsed, against the base parsed when the client was built:
    /// the scheme and the host are not parsed again for every request. `None` unless the URL
    /// is exactly [`join`](Self::join)'s text, so a path or query the URL standard would
    /// rewrite (percent-encode a space, resolve `..`, drop a `#fragment`) is refused rather
    /// than sent other than as it was signed.
    #[cfg_attr(not(feature = "reqwest"), allow(dead_code))]
    pub(crate) fn url_for(&self, path_and_query: &str) -> Option<url::Url> {
        let prefix = self.url.path().trim_end_matches('/');
        let mut relative = String::with_capacity(prefix.len() + path_and_query.len());
        relative.push_str(prefix);
        relative.push_str(path_and_query);
        // A reference starting `//` (or `/\`, or `/` and a tab or line break the parser
        // drops) names another host; only a plain absolute path is read against the base.
        let parsed = match relative.as_bytes() {
            [b'/', next, ..] if !matches!(next, b'/' | b'\\' | b'\t' | b'\n' | b'\r') => {
                url::Url::options()
                    .base_url(Some(&self.url))
                    .parse(&relative)
            }
            _ => url::Url::parse(&self.join(path_and_query)),
        }
        .ok()?;
        let as_given = parsed.as_str().strip_prefix(self.as_str()) == Some(path_and_query)
            && parsed.fragment().is_none();
        as_given.then_some(parsed)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_loopback_host(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_need_https_except_on_loopback() {
        for url in [
            "https://api.example",
            "HTTPS://10.0.0.1",
            "http://127.0.0.1",
            "http://127.8.9.10:8080",
            "http://localhost",
            "http://LOCALHOST/prefix",
            "http://[::1]:9",
            "http://[::ffff:127.0.0.1]",
        ] {
            assert!(BaseUrl::parse(url).is_ok(), "{url}");
        }
        for url in [
            "http://api.example",
            "http://10.0.0.1",
            "http://[::2]",
            "http://localhost.example",
            "http://127.0.0.1.nip.io",
            "ftp://127.0.0.1",
            "ws://api.example",
            "h/path",
            "not a url",
            "https://user:pw@h",
            "https://h/?x=1",
            "https://h/#f",
        ] {
            assert!(BaseUrl::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn the_url_is_kept_without_its_trailing_slash() {
        let u = BaseUrl::parse("https://credit-pay.example/dg/").unwrap();
        assert_eq!(u.as_str(), "https://credit-pay.example/dg");
        assert_eq!(u.join("/v1/x"), "https://credit-pay.example/dg/v1/x");
        let o = BaseUrl::parse_origin("http://127.0.0.1:8080/").unwrap();
        assert_eq!(o.as_str(), "http://127.0.0.1:8080");
        assert_eq!(o.host(), "127.0.0.1");
        let d = BaseUrl::parse_origin("https://auth.example:443").unwrap();
        assert_eq!(d.as_str(), "https://auth.example");
    }

    #[test]
    fn a_builder_setting_names_what_is_wrong() {
        assert_eq!(
            BaseUrl::from_setting(None).unwrap_err(),
            "base_url is required"
        );
        assert_eq!(
            BaseUrl::from_setting(Some("http://api.example")).unwrap_err(),
            "base_url: plain http is allowed only for a loopback host; use https"
        );
        assert!(BaseUrl::from_setting(Some("https://api.example")).is_ok());
    }

    #[test]
    fn an_origin_has_no_path() {
        assert_eq!(
            BaseUrl::parse_origin("https://h/api").unwrap_err().reason(),
            "only scheme, host and port are allowed (no path)"
        );
    }

    #[test]
    fn url_for_is_the_joined_text_parsed() {
        for base in [
            "https://api.example",
            "https://api.example/dg/",
            "http://127.0.0.1:8080/p",
            "http://[::1]:9",
        ] {
            let base = BaseUrl::parse(base).unwrap();
            for path in [
                "/v2/game/token/get-token",
                "/v1/x?trace_id=abc-DEF_1.2~3",
                "/a%20b?q=%2F&r=1+2",
                "/",
                "/x?y=/z",
            ] {
                let joined = base.join(path);
                let url = base.url_for(path).unwrap_or_else(|| panic!("{joined}"));
                assert_eq!(url.as_str(), joined);
                assert_eq!(url, url::Url::parse(&joined).unwrap(), "{joined}");
            }
        }
    }

    #[test]
    fn url_for_refuses_what_would_not_be_sent_as_given() {
        let origin = BaseUrl::parse("https://api.example").unwrap();
        let prefixed = BaseUrl::parse("https://api.example/dg").unwrap();
        for base in [&origin, &prefixed] {
            for path in [
                "/a b",
                "/a/../b",
                "/x#frag",
                "/x?q=a b",
                "/\\evil.example/x",
                "/\tx",
                "/x\ny",
            ] {
                assert!(base.url_for(path).is_none(), "{base}{path}");
            }
        }
        // Another host is never reached through the path.
        for path in ["//evil.example/x", "/\\evil.example", "/\t/evil.example"] {
            if let Some(url) = origin.url_for(path) {
                assert_eq!(url.host_str(), Some("api.example"), "{path}");
            }
        }
    }

    #[test]
    fn errors_do_not_quote_the_url() {
        let e = BaseUrl::parse("https://sentinel:pw@h").unwrap_err();
        assert!(!e.to_string().contains("sentinel"));
    }
}
