//! The Credit Pay signature.
//!
//! `signature = base64_standard(HMAC-SHA1(signature key as UTF-8, path + body))`, where `path` is
//! the request path **after the gateway prefix** and **without the query string** (outbound it
//! starts with `/v1/`; inbound it is the platform's own route path as configured in the Credit
//! Pay backend) and `body` is the exact bytes on the wire. Nothing else (trace, timestamp,
//! `plat_id`) is covered, so the scheme has no replay protection of its own.

use gameauth_core::sign::hmac_sha1_base64;
use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "signature";

/// A misspelling of [`SIGNATURE_HEADER`] found in one revision of the provider's header table;
/// accepted on inbound requests.
pub const MISSPELT_SIGNATURE_HEADER: &str = "signerature";

/// The signature of `path` + `body` under `key`, as sent in the `signature` header.
///
/// `path` must already be the signed path (see the module docs); [`check_signed_path`] says
/// whether a configured value is one.
pub fn sign(key: &SecretString, path: &str, body: &[u8]) -> String {
    hmac_sha1_base64(key.expose_secret().as_bytes(), &[path.as_bytes(), body])
}

/// Checks that `path` can be a signed path: it starts with `/` and has no query, fragment,
/// scheme, whitespace or control character.
///
/// # Errors
///
/// Returns [`Error::Config`] when `path` does not start with `/`, starts with `//`, contains
/// `?` or `#`, or contains whitespace or a control character.
pub fn check_signed_path(path: &str) -> Result<(), Error> {
    if !path.starts_with('/') {
        return Err(Error::Config("signed path must start with `/`".into()));
    }
    if path.starts_with("//") {
        return Err(Error::Config(
            "signed path must not contain a host (`//`)".into(),
        ));
    }
    if path.contains(['?', '#']) {
        return Err(Error::Config(
            "signed path must not contain a query or fragment".into(),
        ));
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::Config(
            "signed path must not contain whitespace".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::verify_signature;
    use gameauth_core::KeyRing;
    use std::path::PathBuf;
    use std::time::SystemTime;

    /// One known-answer vector from `fixtures/creditpay/signing/`.
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Vector {
        schema: u32,
        provider: String,
        vector: String,
        source: String,
        description: String,
        key: String,
        path: String,
        body: String,
        signature: String,
        /// Whether the vector is a correctly formed request (`false` for the deliberately wrong
        /// prefix-kept, query-kept and re-serialised variants).
        follows_signing_rule: bool,
    }

    fn vectors() -> Vec<(String, Vector)> {
        let dir =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/creditpay/signing");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("signing vector folder exists") {
            let path = entry.expect("readable entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).expect("readable vector");
                let v: Vector = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                out.push((stem.unwrap_or_default(), v));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn vector(id: &str) -> Vector {
        vectors()
            .into_iter()
            .map(|(_, v)| v)
            .find(|v| v.vector == id)
            .unwrap_or_else(|| panic!("vector {id} present"))
    }

    #[test]
    fn every_signing_vector_file_reproduces_its_signature() {
        let all = vectors();
        let ids: Vec<&str> = all.iter().map(|(_, v)| v.vector.as_str()).collect();
        assert_eq!(ids.len(), 8, "vectors: {ids:?}");
        for (stem, v) in &all {
            assert_eq!(v.schema, 1, "{stem}");
            assert_eq!(v.provider, "creditpay", "{stem}");
            assert!(!v.source.is_empty() && !v.description.is_empty(), "{stem}");
            assert!(
                stem.starts_with(&v.vector.to_lowercase()),
                "{stem} names {}",
                v.vector
            );
            let key = SecretString::from(v.key.clone());
            assert_eq!(
                sign(&key, &v.path, v.body.as_bytes()),
                v.signature,
                "{stem}"
            );
            let ring = KeyRing::new(key);
            assert!(
                verify_signature(
                    &ring,
                    SystemTime::now(),
                    &v.path,
                    v.body.as_bytes(),
                    &v.signature
                )
                .is_ok(),
                "{stem}"
            );
        }
    }

    #[test]
    fn only_the_official_vectors_follow_the_signing_rule() {
        for (stem, v) in vectors() {
            let wrong = matches!(v.vector.as_str(), "C2" | "C3" | "C4");
            assert_eq!(v.follows_signing_rule, !wrong, "{stem}");
        }
    }

    #[test]
    fn prefix_query_and_reformatting_do_not_verify_against_the_official_signature() {
        let c1 = vector("C1");
        let ring = KeyRing::new(SecretString::from(c1.key.clone()));
        for id in ["C2", "C3", "C4"] {
            let v = vector(id);
            assert_ne!(v.signature, c1.signature, "{id}");
            assert!(
                verify_signature(
                    &ring,
                    SystemTime::now(),
                    &v.path,
                    v.body.as_bytes(),
                    &c1.signature
                )
                .is_err(),
                "{id} must not verify against C1's signature"
            );
        }
    }

    #[test]
    fn c4_body_is_body0_pretty_printed_with_four_spaces() {
        let c1 = vector("C1");
        let c4 = vector("C4");
        let value: serde_json::Value = serde_json::from_str(&c1.body).expect("BODY0 is JSON");
        let reparsed: serde_json::Value = serde_json::from_str(&c4.body).expect("C4 is JSON");
        assert_eq!(reparsed, value);
        // Same fields in the same order, one per line, four spaces in: only the layout differs.
        let compact: String = c4
            .body
            .lines()
            .map(|l| l.trim_start().replacen("\": ", "\":", 1))
            .collect();
        assert_eq!(compact, c1.body);
        assert!(c4.body.starts_with("{\n    \"customer_token\": "));
        assert!(c4.body.ends_with("\"\n}"));
        assert_eq!(c4.body.lines().count(), 7);
    }

    #[test]
    fn c10_is_c1_with_the_field_table_spelling_and_another_signature() {
        let c1 = vector("C1");
        let c10 = vector("C10");
        assert_eq!(c10.path, c1.path);
        assert_eq!(
            c10.body,
            c1.body.replace("\"customer_no\":", "\"custom_no\":")
        );
        assert_ne!(c10.signature, c1.signature);
    }

    #[test]
    fn signed_paths_have_no_query_host_or_whitespace() {
        assert!(check_signed_path("/api/v1/credit-pay/notify").is_ok());
        assert!(check_signed_path("/v1/platform/identify/auth").is_ok());
        for bad in [
            "",
            "api/v1",
            "/a?b=1",
            "/a#x",
            "//host/a",
            "/a b",
            "https://h/a",
        ] {
            assert!(check_signed_path(bad).is_err(), "{bad:?}");
        }
    }
}
