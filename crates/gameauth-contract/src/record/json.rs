//! A byte-preserving walk over JSON text.
//!
//! Signatures cover the exact body bytes, so scrubbing must change the values it replaces and
//! nothing else: no re-ordering of keys, no change of spacing or number formatting. This walker
//! visits every string and number value with the name of the key it belongs to (array elements
//! inherit the array's key) and splices in replacements, copying everything else verbatim.

/// A value token of a JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// A string value, decoded.
    Str(&'a str),
    /// A number value, exactly as written.
    Num(&'a str),
}

/// Calls `f(key, token)` for every string and number value of `text`, in document order, and
/// returns `text` with each token for which `f` answered `Some(raw_json)` replaced by it.
///
/// `text` must be valid JSON (callers check with `serde_json` first); object keys are never
/// offered to `f` and never changed.
pub fn rewrite(text: &str, mut f: impl FnMut(Option<&str>, Token<'_>) -> Option<String>) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    // The key currently in force for each open container; the root has none.
    let mut keys: Vec<Option<String>> = vec![None];
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                let end = (i + 1).min(b.len());
                i = end;
                let raw = &text[start..end];
                let decoded: String = serde_json::from_str(raw).unwrap_or_default();
                let mut j = end;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if b.get(j) == Some(&b':') {
                    if let Some(top) = keys.last_mut() {
                        *top = Some(decoded);
                    }
                    continue;
                }
                let key = keys.last().and_then(Option::as_deref);
                if let Some(replacement) = f(key, Token::Str(&decoded)) {
                    out.push_str(&text[copied..start]);
                    out.push_str(&replacement);
                    copied = end;
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < b.len() && matches!(b[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                let key = keys.last().and_then(Option::as_deref);
                if let Some(replacement) = f(key, Token::Num(&text[start..i])) {
                    out.push_str(&text[copied..start]);
                    out.push_str(&replacement);
                    copied = i;
                }
            }
            b'{' => {
                keys.push(None);
                i += 1;
            }
            b'[' => {
                let inherited = keys.last().cloned().flatten();
                keys.push(inherited);
                i += 1;
            }
            b'}' | b']' => {
                if keys.len() > 1 {
                    keys.pop();
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Calls `f(key, token)` for every string and number value of `text`, in document order.
pub fn visit(text: &str, mut f: impl FnMut(Option<&str>, Token<'_>)) {
    rewrite(text, |key, token| {
        f(key, token);
        None
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untouched_text_is_returned_byte_for_byte() {
        let text =
            "{ \"b\" : 1.50e3 ,\"a\":[ \"x\\\"y\", -2, true, null ], \"c\": {\"d\":\"\\u00e9\"} }";
        assert_eq!(rewrite(text, |_, _| None), text);
    }

    #[test]
    fn values_are_visited_with_their_key_and_array_elements_inherit_it() {
        let mut seen = Vec::new();
        visit(
            r#"{"a":"x","list":["y",3],"o":{"n":-1.5},"k":{"inner":[{"z":"w"}]}}"#,
            |k, t| seen.push((k.map(str::to_owned), format!("{t:?}"))),
        );
        let want = [
            ("a", "Str(\"x\")"),
            ("list", "Str(\"y\")"),
            ("list", "Num(\"3\")"),
            ("n", "Num(\"-1.5\")"),
            ("z", "Str(\"w\")"),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(k, t)| (Some((*k).to_owned()), (*t).to_owned()))
            .collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn only_the_replaced_tokens_change_and_keys_are_never_offered() {
        let text = r#"{"token": "s3cr\"et", "token2":12345,"keep":"s3cr\"et-not"}"#;
        let out = rewrite(text, |k, t| match (k, t) {
            (Some("token"), Token::Str(_)) => Some("\"dummy\"".into()),
            (Some("token2"), Token::Num("12345")) => Some("9".into()),
            _ => None,
        });
        assert_eq!(
            out,
            r#"{"token": "dummy", "token2":9,"keep":"s3cr\"et-not"}"#
        );
    }
}
