//! `cargo xtask fixtures check`: rejects fixtures that leak secrets, carry signatures that do not
//! follow from their dummy keys, break the schema, or are referenced by nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value;

use crate::contract::{Fixture, Interaction, PROVIDERS};

/// Keys that may appear in fixtures: the dummy keys of the published signing vectors.
const DUMMY_KEYS: &[&str] = &[
    // OMG's documented example key (vectors O1–O7).
    "39a6581c31ef3203a22edb2daa2ab6d1",
    // Credit Pay's documented example key (vectors C1–C9).
    "18dd8a3c8003d2adcd13cb9981618bedd759a19f697a46d270542c6023479a08f541a5fa7f2e09a6f93cab7fe5de3b1b465abxxx",
];

/// Words that mark a value as an obvious placeholder.
const DUMMY_MARKERS: &[&str] = &["dummy", "fixture", "example", "sample", "placeholder"];

/// Field and header names (lower case, without `-` and `_`) whose values are secrets.
const SECRET_FIELDS: &[&str] = &[
    "key",
    "apikey",
    "signkey",
    "signaturekey",
    "secret",
    "clientsecret",
    "password",
    "token",
    "accesstoken",
    "refreshtoken",
    "customertoken",
    "playertoken",
    "opentoken",
    "authorization",
    "xaccesstoken",
    "hivecertificationkey",
    "certificationkey",
    "cookie",
    "setcookie",
];

/// Values shorter than this cannot be meaningful secrets (ids such as `"1003803"` in examples).
const MIN_SECRET_LEN: usize = 8;

/// The provider crate whose tests must read a provider's signing vectors.
fn crate_of(provider: &str) -> &'static str {
    match provider {
        "omg" => "gameauth-omg",
        "creditpay" => "gameauth-creditpay",
        "hive" => "gameauth-hive",
        _ => "gameauth-vegaslounge",
    }
}

/// One finding, naming the file and the field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Problem {
    file: String,
    field: String,
    message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.field, self.message)
    }
}

/// Entry point of `cargo xtask fixtures <subcommand>`.
pub(crate) fn cli(args: &[String]) -> Result<ExitCode, String> {
    match args {
        [cmd] if cmd == "check" => {
            let root = crate::project_root();
            let (files, problems) = check_tree(&root)?;
            for p in &problems {
                println!("{p}");
            }
            println!(
                "fixtures check: {files} files, {} problem(s)",
                problems.len()
            );
            Ok(if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        _ => Err("usage: cargo xtask fixtures check".into()),
    }
}

/// Checks every file under `root/fixtures`; returns the number of files and the problems.
pub(crate) fn check_tree(root: &Path) -> Result<(usize, Vec<Problem>), String> {
    let allow = read_allowlist(root)?;
    let fixtures_dir = root.join("fixtures");
    let mut problems = Vec::new();
    let mut count = 0;
    for path in walk(&fixtures_dir)? {
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let rel_in = path.strip_prefix(&fixtures_dir).unwrap_or(&path);
        let parts: Vec<String> = rel_in
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        let mut report = |field: &str, message: String| {
            problems.push(Problem {
                file: rel.clone(),
                field: field.to_owned(),
                message,
            });
        };
        if parts.len() == 1 && parts[0] == "allowlist.txt" {
            continue;
        }
        count += 1;
        let (provider, kind) = match parts.as_slice() {
            [p, k, f] if PROVIDERS.contains(&p.as_str()) && f.ends_with(".json") => {
                (p.as_str(), k.as_str())
            }
            _ => {
                report(
                    "$",
                    "unexpected file: fixtures live in fixtures/<provider>/(contract|signing)/*.json"
                        .into(),
                );
                continue;
            }
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                report("$", format!("cannot read: {e}"));
                continue;
            }
        };
        let value: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                report("$", format!("not JSON: {e}"));
                continue;
            }
        };
        scan_secrets(&value, "", &allow, &mut report);
        match kind {
            "contract" => match Fixture::load(&path, provider) {
                Ok(fixture) => check_signatures(&fixture, &mut report),
                Err(e) => report("$", e),
            },
            "signing" => {
                if !value.is_object() {
                    report("$", "a signing vector must be a JSON object".into());
                }
                if !vectors_referenced(root, provider) {
                    report(
                        "$",
                        format!(
                            "no test of crates/{} reads fixtures/{provider}/signing",
                            crate_of(provider)
                        ),
                    );
                }
            }
            other => report("$", format!("unknown fixture kind `{other}`")),
        }
    }
    problems.sort();
    Ok((count, problems))
}

fn walk(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read {}: {e}", d.display())),
        };
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Whether a source file of the provider's crate reads its signing-vector directory.
fn vectors_referenced(root: &Path, provider: &str) -> bool {
    let needle = format!("fixtures/{provider}/signing");
    let Ok(files) = walk(&root.join("crates").join(crate_of(provider))) else {
        return false;
    };
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .any(|text| text.contains(&needle))
}

/// Public example values that look like secrets but are published in the providers' docs.
fn read_allowlist(root: &Path) -> Result<BTreeSet<String>, String> {
    let path = root.join("fixtures").join("allowlist.txt");
    let text = match std::fs::read_to_string(&path) {
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

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_dummy(value: &str, allow: &BTreeSet<String>) -> bool {
    let lower = value.to_ascii_lowercase();
    value.len() < MIN_SECRET_LEN
        || DUMMY_KEYS.contains(&value)
        || allow.contains(value)
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

fn scan_secrets(
    value: &Value,
    path: &str,
    allow: &BTreeSet<String>,
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
                let secret_field = SECRET_FIELDS.contains(&normalise(k).as_str())
                    || path.ends_with("keys")
                    || path == "keys";
                if let (true, Value::String(s)) = (secret_field, v) {
                    let bare = s.strip_prefix("Bearer ").unwrap_or(s);
                    if !is_dummy(bare, allow) {
                        report(&p, "value is not a dummy secret (use a dummy, or add a published example to fixtures/allowlist.txt)".into());
                    }
                }
                // Bodies recorded as text are scanned as the JSON or form they carry.
                if let (true, Value::String(s)) = (k == "body", v) {
                    if let Ok(inner) = serde_json::from_str::<Value>(s) {
                        scan_secrets(&inner, &p, allow, report);
                    } else if let Some(pairs) = crate::contract::decode_form(s.as_bytes()) {
                        let obj: serde_json::Map<String, Value> = pairs
                            .into_iter()
                            .map(|(k, v)| (k, Value::String(v)))
                            .collect();
                        scan_secrets(&Value::Object(obj), &p, allow, report);
                    }
                }
                scan_secrets(v, &p, allow, report);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                scan_secrets(v, &format!("{path}[{i}]"), allow, report);
            }
        }
        Value::String(s) => {
            if let Some(kind) = credential_shape(s)
                && !allow.contains(s.as_str())
                && !allow.iter().any(|a| s.contains(a.as_str()))
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

/// Recomputes every signature header from the fixture's keys.
fn check_signatures(fixture: &Fixture, report: &mut dyn FnMut(&str, String)) {
    let keys: Vec<&str> = fixture.keys.values().map(String::as_str).collect();
    for (index, i) in fixture.interactions.iter().enumerate() {
        let field = format!("interactions[{index}] ({})", i.name);
        let Some((header, valid)) = signature_of(&fixture.provider, i, &keys) else {
            continue;
        };
        match (valid, &i.tampered) {
            (true, Some(_)) => report(
                &field,
                format!("marked tampered, but its `{header}` header verifies"),
            ),
            (false, None) => report(
                &field,
                format!(
                    "`{header}` does not follow from the fixture's keys (mark deliberate negative cases with \"tampered\")"
                ),
            ),
            _ => {}
        }
    }
}

/// The signature header of a request and whether it verifies under any of `keys`.
fn signature_of(provider: &str, i: &Interaction, keys: &[&str]) -> Option<(&'static str, bool)> {
    let headers = &i.request.headers;
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let body = i.request.body_bytes().ok()?;
    match provider {
        "omg" => {
            let sign = find("sign")?;
            let query = i.request.query.as_deref().unwrap_or("");
            let ok = keys.iter().any(|k| {
                gameauth_core::sign::md5_hex(&[query.as_bytes(), &body, k.as_bytes()])
                    .eq_ignore_ascii_case(sign)
            });
            Some(("sign", ok))
        }
        "creditpay" => {
            let (header, sig) = match find("signature") {
                Some(s) => ("signature", s),
                None => ("signerature", find("signerature")?),
            };
            // Outbound paths carry the gateway prefix, which is not signed.
            let path = match i.request.path.find("/v1/") {
                Some(at) if i.direction == crate::contract::Direction::Outbound => {
                    &i.request.path[at..]
                }
                _ => i.request.path.as_str(),
            };
            let ok = keys.iter().any(|k| {
                gameauth_core::sign::hmac_sha1_base64(k.as_bytes(), &[path.as_bytes(), &body])
                    == sig
            });
            Some((header, ok))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempdir::Dir {
        let dir = tempdir::Dir::new();
        for (rel, text) in files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    /// A tiny self-cleaning temporary directory (no extra dependency for one test module).
    mod tempdir {
        use std::path::{Path, PathBuf};

        pub(super) struct Dir(PathBuf);

        impl Dir {
            pub(super) fn new() -> Self {
                let p = std::env::temp_dir().join(format!(
                    "xtask-fixtures-{}",
                    gameauth_core::ids::random_string(12, gameauth_core::ids::TRACE_ALPHABET)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Self(p)
            }
            pub(super) fn path(&self) -> &Path {
                &self.0
            }
        }

        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    const KEY: &str = "39a6581c31ef3203a22edb2daa2ab6d1";

    fn omg_fixture(api_key: &str, sign: &str, tampered: bool) -> String {
        serde_json::json!({
            "schema": 1, "provider": "omg", "scenario": "s", "source": "synthetic: test",
            "description": "d", "clock": 0, "keys": {"sign_key": KEY},
            "steps": [{"call": "x", "input": {"client_secret": api_key}}],
            "interactions": [{
                "name": "i", "direction": "outbound",
                "tampered": if tampered { Value::from("negative case") } else { Value::Null },
                "request": {"method": "POST", "path": "/p", "query": "trace_id=a",
                            "headers": {"sign": sign}, "body": "{}"},
                "response": {"status": 200, "body": "{}"}
            }]
        })
        .to_string()
    }

    fn good_sign() -> String {
        gameauth_core::sign::md5_hex(&[b"trace_id=a", b"{}", KEY.as_bytes()])
    }

    #[test]
    fn a_clean_fixture_passes() {
        let t = tree(&[(
            "fixtures/omg/contract/s.json",
            &omg_fixture("dummy-secret", &good_sign(), false),
        )]);
        let (n, problems) = check_tree(t.path()).unwrap();
        assert_eq!(n, 1);
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn a_planted_secret_names_the_file_and_field() {
        let t = tree(&[(
            "fixtures/omg/contract/s.json",
            &omg_fixture("Zq8rT2vLx9PmW4kA", &good_sign(), false),
        )]);
        let (_, problems) = check_tree(t.path()).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].file, "fixtures/omg/contract/s.json");
        assert_eq!(problems[0].field, "steps[0].input.client_secret");
    }

    #[test]
    fn a_real_key_in_keys_is_refused() {
        let text = omg_fixture("dummy-secret", &good_sign(), false)
            .replace(KEY, "0123456789abcdef0123456789abcdef");
        let t = tree(&[("fixtures/omg/contract/s.json", &text)]);
        let (_, problems) = check_tree(t.path()).unwrap();
        assert!(
            problems.iter().any(|p| p.field == "keys.sign_key"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_jwt_anywhere_is_refused() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        let text = omg_fixture("dummy-secret", &good_sign(), false)
            .replace("\"d\"", &format!("\"{jwt}\""));
        let t = tree(&[("fixtures/omg/contract/s.json", &text)]);
        let (_, problems) = check_tree(t.path()).unwrap();
        assert!(
            problems.iter().any(|p| p.field == "description"),
            "{problems:?}"
        );
    }

    #[test]
    fn signatures_must_follow_from_the_dummy_key_unless_marked_tampered() {
        let bad = "00000000000000000000000000000000";
        let t = tree(&[(
            "fixtures/omg/contract/s.json",
            &omg_fixture("dummy-secret", bad, false),
        )]);
        let (_, problems) = check_tree(t.path()).unwrap();
        assert!(
            problems[0].message.contains("does not follow"),
            "{problems:?}"
        );

        let t = tree(&[(
            "fixtures/omg/contract/s.json",
            &omg_fixture("dummy-secret", bad, true),
        )]);
        assert!(check_tree(t.path()).unwrap().1.is_empty());

        let t = tree(&[(
            "fixtures/omg/contract/s.json",
            &omg_fixture("dummy-secret", &good_sign(), true),
        )]);
        let (_, problems) = check_tree(t.path()).unwrap();
        assert!(
            problems[0].message.contains("marked tampered"),
            "{problems:?}"
        );
    }

    #[test]
    fn stray_files_are_reported() {
        let t = tree(&[("fixtures/omg/notes.txt", "hello")]);
        let (_, problems) = check_tree(t.path()).unwrap();
        assert!(problems[0].message.contains("unexpected file"));
    }
}
