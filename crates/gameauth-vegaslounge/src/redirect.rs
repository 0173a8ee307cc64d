//! Building redirect locations: appending parameters to a registered URI, and local paths.

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
