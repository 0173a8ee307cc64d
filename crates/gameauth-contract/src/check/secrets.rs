//! The secret-leak scan of `fixtures check`: every value under a secret's name must be an
//! obvious dummy, a published example or a placeholder, and nothing anywhere may look like a
//! credential (a PEM block, a JWT).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::fixture::decode_form;
use crate::secret_names::SecretNames;

/// Words that mark a value as an obvious placeholder.
const DUMMY_MARKERS: &[&str] = &["dummy", "fixture", "example", "sample", "placeholder"];

/// Values shorter than this cannot be meaningful secrets (ids such as `"1003803"` in examples).
const MIN_SECRET_LEN: usize = 8;

/// What counts as a harmless value in one provider's fixtures.
pub(crate) struct Allowed<'a> {
    /// The lines of `<fixtures>/allowlist.txt`.
    pub(crate) list: &'a BTreeSet<String>,
    /// The provider's published example keys.
    pub(crate) keys: &'a [&'static str],
    /// The names whose values are secrets.
    pub(crate) names: &'a SecretNames,
}

/// Public example values that look like secrets but are published in the providers' docs: one
/// per line of `allowlist.txt`, `#` starting a comment line.
pub(crate) fn read_allowlist(path: &Path) -> Result<BTreeSet<String>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

fn is_dummy(value: &str, allowed: &Allowed<'_>) -> bool {
    let lower = value.to_ascii_lowercase();
    value.len() < MIN_SECRET_LEN
        || allowed.keys.contains(&value)
        || allowed.list.contains(value)
        || DUMMY_MARKERS.iter().any(|m| lower.contains(m))
        || value.contains("{{")
}

/// Whether `s` contains something shaped like a credential wherever it appears.
fn credential_shape(s: &str) -> Option<&'static str> {
    if s.contains("-----BEGIN") {
        return Some("a PEM block");
    }
    for word in s.split(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))) {
        let segments: Vec<&str> = word.split('.').collect();
        if segments.len() == 3 && segments[0].starts_with("eyJ") && segments[1].starts_with("eyJ") {
            return Some("a JWT");
        }
    }
    None
}

/// Reports every value of `value` (at JSON path `path`) that may be a real secret.
pub(crate) fn scan(
    value: &Value,
    path: &str,
    allowed: &Allowed<'_>,
    report: &mut dyn FnMut(&str, String),
) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let secret_field =
                    allowed.names.contains(k) || path.ends_with("keys") || path == "keys";
                if let (true, Value::String(s)) = (secret_field, v) {
                    let bare = s.strip_prefix("Bearer ").unwrap_or(s);
                    if !is_dummy(bare, allowed) {
                        report(
                            &p,
                            "value is not a dummy secret (use a dummy, or add a published \
                             example to the allowlist)"
                                .into(),
                        );
                    }
                }
                // Bodies recorded as text are scanned as the JSON or form they carry.
                if let (true, Value::String(s)) = (k == "body", v) {
                    if let Ok(inner) = serde_json::from_str::<Value>(s) {
                        scan(&inner, &p, allowed, report);
                    } else if let Some(pairs) = decode_form(s.as_bytes()) {
                        let obj: serde_json::Map<String, Value> = pairs
                            .into_iter()
                            .map(|(k, v)| (k, Value::String(v)))
                            .collect();
                        scan(&Value::Object(obj), &p, allowed, report);
                    }
                }
                scan(v, &p, allowed, report);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                scan(v, &format!("{path}[{i}]"), allowed, report);
            }
        }
        Value::String(s) => {
            if let Some(kind) = credential_shape(s)
                && !allowed.list.contains(s.as_str())
                && !allowed.list.iter().any(|a| s.contains(a.as_str()))
            {
                report(
                    path,
                    format!("contains {kind}; scrub it or allow-list a published example"),
                );
            }
        }
        _ => {}
    }
}
