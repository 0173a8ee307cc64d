//! Redirect URIs: matching a presented URI against a registered one, appending parameters to it,
//! and local paths.

/// How the `redirect_uri` of an authorization (or logout) request is matched against the
/// client's registered URIs.
///
/// Vegas Lounge's docs show one fixed URI per operator, so [`Exact`](Self::Exact) is the default.
/// Some operators let Vegas Lounge send deeper paths under the registered URI (`…/lobby`);
/// [`PathPrefix`](Self::PathPrefix) allows that, and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RedirectUriPolicy {
    /// Byte-for-byte equality with a registered URI: no prefix, suffix, normalisation, case
    /// folding or default port.
    #[default]
    Exact,
    /// A registered URI, or a deeper path under one: the same scheme, host and port (as written),
    /// the registered path a prefix of the presented one ending at a `/` boundary, and the same
    /// query. Refused whatever the path: dot segments (also percent-encoded), empty segments,
    /// userinfo, a fragment, backslashes, encoded slashes or backslashes (`%2F`, `%5C`), double
    /// encoding (`%25`), and any character RFC 3986 does not allow in a URI.
    PathPrefix,
}

impl RedirectUriPolicy {
    /// Whether `presented` is allowed for the registered URI `registered` under this policy.
    pub fn matches(self, registered: &str, presented: &str) -> bool {
        if presented == registered {
            return true;
        }
        match self {
            Self::Exact => false,
            Self::PathPrefix => path_prefix_matches(registered, presented),
        }
    }
}

/// A URI cut into the parts the prefix policy compares.
struct Parts<'a> {
    /// `scheme://authority`, as written.
    origin: &'a str,
    /// The path, `/` when empty.
    path: &'a str,
    query: Option<&'a str>,
}

fn parts(uri: &str) -> Option<Parts<'_>> {
    let (before_query, query) = match uri.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (uri, None),
    };
    let (scheme, rest) = before_query.split_once("://")?;
    if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let origin_len = scheme.len() + 3 + rest.find('/').unwrap_or(rest.len());
    let path = &before_query[origin_len..];
    Some(Parts {
        origin: &before_query[..origin_len],
        path: if path.is_empty() { "/" } else { path },
        query,
    })
}

/// Whether `b` may appear in a URI (RFC 3986: unreserved, reserved and `%`), a fragment's `#`
/// aside. Anything else a browser would rewrite before requesting it.
fn uri_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%[]".contains(&b)
}

fn path_prefix_matches(registered: &str, presented: &str) -> bool {
    if !presented.bytes().all(uri_char) {
        return false;
    }
    let lower = presented.to_ascii_lowercase();
    if ["%2f", "%5c", "%25"].iter().any(|e| lower.contains(e)) {
        return false;
    }
    let (Some(r), Some(p)) = (parts(registered), parts(presented)) else {
        return false;
    };
    if p.origin != r.origin || p.origin.contains('@') || p.query != r.query {
        return false;
    }
    let segments: Vec<&str> = p.path[1..].split('/').collect();
    let last = segments.len() - 1;
    let segments_ok = segments.iter().enumerate().all(|(i, segment)| {
        let dots = segment.to_ascii_lowercase().replace("%2e", ".");
        // An empty segment (`//`) only as the trailing slash.
        (i == last || !segment.is_empty()) && dots != "." && dots != ".."
    });
    let under = p
        .path
        .strip_prefix(r.path)
        .is_some_and(|rest| rest.is_empty() || r.path.ends_with('/') || rest.starts_with('/'));
    segments_ok && under
}

/// Appends `params` to `uri`'s query, percent-encoding every byte outside RFC 3986's unreserved
/// set, so any value (a `state` with `&=+%`, spaces or non-ASCII) comes back byte-exact.
///
/// An existing query is kept and extended with `&`; a URI with an authority and no path gets the
/// `/` path first (`https://fl.vegaslounge.live` → `https://fl.vegaslounge.live/?code=…`, as in
/// the contract's example). Registered URIs never carry a fragment.
pub fn append_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(uri.len() + 64);
    out.push_str(uri);
    let after_scheme = uri.find("://").map_or(0, |i| i + 3);
    if !uri[after_scheme..].contains(['/', '?']) {
        out.push('/');
    }
    if !out.contains('?') {
        out.push('?');
    } else if !(out.ends_with('?') || out.ends_with('&')) {
        out.push('&');
    }
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        percent_encode_into(name, &mut out);
        out.push('=');
        percent_encode_into(value, &mut out);
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode_into(value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

/// Whether `target` is a path on this origin: starts with one `/`, and is not `//host` or
/// `/\host` (which browsers treat as another origin), with no control characters.
pub fn is_local_path(target: &str) -> bool {
    target.starts_with('/')
        && !target.starts_with("//")
        && !target.starts_with("/\\")
        && !target.chars().any(|c| c.is_control() || c == '\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOBBY: &str = "https://fl.vegaslounge.live/lobby";
    const ROOT: &str = "https://fl.vegaslounge.live";

    /// Asserts that neither policy lets any of `tricks` through for `registered`.
    fn refused_by_both(registered: &str, tricks: &[&str]) {
        for trick in tricks {
            assert!(
                !RedirectUriPolicy::Exact.matches(registered, trick),
                "exact let {trick:?} through"
            );
            assert!(
                !RedirectUriPolicy::PathPrefix.matches(registered, trick),
                "path_prefix let {trick:?} through"
            );
        }
    }

    #[test]
    fn the_registered_uri_itself_matches_under_both_policies() {
        for uri in [LOBBY, ROOT, "https://cb.vegaslounge.live/cb?lobby=1"] {
            assert!(RedirectUriPolicy::Exact.matches(uri, uri));
            assert!(RedirectUriPolicy::PathPrefix.matches(uri, uri));
        }
        assert_eq!(RedirectUriPolicy::default(), RedirectUriPolicy::Exact);
    }

    #[test]
    fn deeper_paths_match_only_under_path_prefix() {
        for (registered, deeper) in [
            (LOBBY, "https://fl.vegaslounge.live/lobby/"),
            (LOBBY, "https://fl.vegaslounge.live/lobby/table/7"),
            (ROOT, "https://fl.vegaslounge.live/"),
            (ROOT, "https://fl.vegaslounge.live/lobby"),
            (
                "https://fl.vegaslounge.live/",
                "https://fl.vegaslounge.live/lobby",
            ),
            (
                "https://fl.vegaslounge.live/a/",
                "https://fl.vegaslounge.live/a/b",
            ),
            (
                "https://cb.vegaslounge.live/cb?lobby=1",
                "https://cb.vegaslounge.live/cb/vip?lobby=1",
            ),
            (LOBBY, "https://fl.vegaslounge.live/lobby/t%41ble"),
        ] {
            assert!(
                !RedirectUriPolicy::Exact.matches(registered, deeper),
                "{deeper}"
            );
            assert!(
                RedirectUriPolicy::PathPrefix.matches(registered, deeper),
                "{registered} -> {deeper}"
            );
        }
    }

    #[test]
    fn the_registered_path_must_end_at_a_slash_boundary() {
        refused_by_both(
            LOBBY,
            &[
                "https://fl.vegaslounge.live/lobbyist",
                "https://fl.vegaslounge.live/lobby-evil",
                "https://fl.vegaslounge.live/lobb",
                "https://fl.vegaslounge.live/",
                "https://fl.vegaslounge.live",
            ],
        );
    }

    #[test]
    fn dot_segments_are_refused() {
        refused_by_both(
            LOBBY,
            &[
                "https://fl.vegaslounge.live/lobby/../admin",
                "https://fl.vegaslounge.live/lobby/..",
                "https://fl.vegaslounge.live/lobby/./x",
                "https://fl.vegaslounge.live/lobby/.",
                "https://fl.vegaslounge.live/lobby/%2e%2e/admin",
                "https://fl.vegaslounge.live/lobby/%2E%2e",
                "https://fl.vegaslounge.live/lobby/.%2E/admin",
                "https://fl.vegaslounge.live/lobby/%2e/x",
            ],
        );
        // Dots inside a segment are ordinary characters.
        assert!(
            RedirectUriPolicy::PathPrefix.matches(LOBBY, "https://fl.vegaslounge.live/lobby/v1.2")
        );
        assert!(
            RedirectUriPolicy::PathPrefix.matches(LOBBY, "https://fl.vegaslounge.live/lobby/...")
        );
    }

    #[test]
    fn empty_segments_are_refused() {
        refused_by_both(
            LOBBY,
            &[
                "https://fl.vegaslounge.live/lobby//evil.example",
                "https://fl.vegaslounge.live/lobby/x//y",
            ],
        );
    }

    #[test]
    fn userinfo_is_refused() {
        refused_by_both(
            LOBBY,
            &[
                "https://user@fl.vegaslounge.live/lobby/x",
                "https://user:pw@fl.vegaslounge.live/lobby",
                "https://fl.vegaslounge.live@evil.example/lobby/x",
            ],
        );
    }

    #[test]
    fn fragments_are_refused() {
        refused_by_both(
            LOBBY,
            &[
                "https://fl.vegaslounge.live/lobby#frag",
                "https://fl.vegaslounge.live/lobby#",
                "https://fl.vegaslounge.live/lobby/x#/../admin",
            ],
        );
    }

    #[test]
    fn encoded_slashes_are_refused() {
        refused_by_both(
            LOBBY,
            &[
                "https://fl.vegaslounge.live/lobby%2fx",
                "https://fl.vegaslounge.live/lobby%2Fx",
                "https://fl.vegaslounge.live/lobby/x%2F..%2F..%2Fadmin",
            ],
        );
    }

    #[test]
    fn backslashes_raw_or_encoded_are_refused() {
        refused_by_both(
            LOBBY,
            &[
                "https://fl.vegaslounge.live/lobby\\x",
                "https://fl.vegaslounge.live/lobby/\\evil.example",
                "https://fl.vegaslounge.live/lobby%5cx",
                "https://fl.vegaslounge.live/lobby/%5C..%5Cadmin",
            ],
        );
    }

    #[test]
    fn double_encoding_is_refused() {
        refused_by_both(
            LOBBY,
            &[
                "https://fl.vegaslounge.live/lobby/%252e%252e/admin",
                "https://fl.vegaslounge.live/lobby%252fx",
            ],
        );
    }

    #[test]
    fn scheme_host_and_port_must_be_the_registered_ones_as_written() {
        refused_by_both(
            LOBBY,
            &[
                "http://fl.vegaslounge.live/lobby/x",
                "HTTPS://fl.vegaslounge.live/lobby/x",
                "https://FL.vegaslounge.live/lobby/x",
                "https://fl.vegaslounge.live:443/lobby/x",
                "https://fl.vegaslounge.live:8443/lobby/x",
                "https://fl.vegaslounge.live.evil.example/lobby/x",
                "https://evil.example/lobby/x",
                "https://evil.example/https://fl.vegaslounge.live/lobby",
                "//fl.vegaslounge.live/lobby/x",
                "/lobby/x",
                "/?https://fl.vegaslounge.live",
                "?https://fl.vegaslounge.live/lobby/x",
            ],
        );
    }

    #[test]
    fn the_query_must_be_the_registered_one() {
        refused_by_both(
            LOBBY,
            &[
                "https://fl.vegaslounge.live/lobby/x?code=evil",
                "https://fl.vegaslounge.live/lobby/x?",
                "https://fl.vegaslounge.live/lobby?x=1",
            ],
        );
        refused_by_both(
            "https://cb.vegaslounge.live/cb?lobby=1",
            &[
                "https://cb.vegaslounge.live/cb/x",
                "https://cb.vegaslounge.live/cb/x?lobby=2",
                "https://cb.vegaslounge.live/cb/x?lobby=1&code=evil",
            ],
        );
    }

    #[test]
    fn whitespace_control_and_non_ascii_characters_are_refused() {
        refused_by_both(
            LOBBY,
            &[
                "https://fl.vegaslounge.live/lobby/x y",
                "https://fl.vegaslounge.live/lobby/x\t",
                "https://fl.vegaslounge.live/lobby/x\r\nLocation: https://evil.example",
                "https://fl.vegaslounge.live/lobby/caf\u{e9}",
                "https://fl.vegaslounge.live/lobby/x\u{0}",
            ],
        );
    }

    #[test]
    fn characters_a_browser_would_rewrite_are_refused() {
        refused_by_both(
            LOBBY,
            &[
                "https://fl.vegaslounge.live/lobby/\"x\"",
                "https://fl.vegaslounge.live/lobby/<script>",
                "https://fl.vegaslounge.live/lobby/{x}",
                "https://fl.vegaslounge.live/lobby/a|b",
                "https://fl.vegaslounge.live/lobby/a^b",
                "https://fl.vegaslounge.live/lobby/`x`",
            ],
        );
        assert!(RedirectUriPolicy::PathPrefix.matches(
            LOBBY,
            "https://fl.vegaslounge.live/lobby/a-b_c~d!$'()*+,;=:@"
        ));
        assert!(
            RedirectUriPolicy::PathPrefix.matches("http://[::1]:8080/cb", "http://[::1]:8080/cb/x")
        );
    }

    #[test]
    fn code_is_appended_to_the_existing_query() {
        let c = [("code", "xyz123")];
        assert_eq!(
            append_query("https://fl.vegaslounge.live", &c),
            "https://fl.vegaslounge.live/?code=xyz123"
        );
        assert_eq!(
            append_query("https://a.b/cb", &c),
            "https://a.b/cb?code=xyz123"
        );
        assert_eq!(
            append_query("https://a.b/cb?x=1", &c),
            "https://a.b/cb?x=1&code=xyz123"
        );
        assert_eq!(
            append_query("https://a.b/cb?", &c),
            "https://a.b/cb?code=xyz123"
        );
        assert_eq!(
            append_query("https://a.b/cb?x=1&", &c),
            "https://a.b/cb?x=1&code=xyz123"
        );
        assert_eq!(
            append_query("https://a.b?x=1", &c),
            "https://a.b?x=1&code=xyz123"
        );
    }

    #[test]
    fn values_are_percent_encoded_byte_exact() {
        assert_eq!(
            append_query("https://a.b/", &[("state", "a&b=c+d%e f/é")]),
            "https://a.b/?state=a%26b%3Dc%2Bd%25e%20f%2F%C3%A9"
        );
    }

    #[test]
    fn only_local_paths_are_local() {
        assert!(is_local_path("/oauth2.0/authorize?client_id=VL001"));
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "x/y",
            "/a\r\nb",
        ] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }
}
