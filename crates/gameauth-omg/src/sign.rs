//! The OMG signature: `lowercase_hex(md5(query + body + key))`, sent in the `sign` header.
//!
//! Both directions use it. The query part is the raw query string without the `?`, the body part
//! is the exact bytes on the wire and the key is appended as text, with no separators in between.
//! Because nothing delimits the parts, only the exact bytes may ever be signed: a re-serialised
//! body or a query with its `?` gives a different digest.

use secrecy::{ExposeSecret, SecretString};

/// Name of the header that carries the signature.
pub const SIGN_HEADER: &str = "sign";

/// The raw MD5 digest over `query`, `body` and `key`.
pub fn digest(query: &str, body: &[u8], key: &SecretString) -> [u8; 16] {
    gameauth_core::sign::md5(&[query.as_bytes(), body, key.expose_secret().as_bytes()])
}

/// The `sign` header value for a request: lower-case hex of [`digest`].
///
/// `query` is the query string exactly as it appears on the request line, without the leading
/// `?` (for example `trace_id=k3n9x0q2m7ab`); `body` is the exact body bytes sent.
pub fn sign(query: &str, body: &[u8], key: &SecretString) -> String {
    gameauth_core::sign::md5_hex(&[query.as_bytes(), body, key.expose_secret().as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Vector {
        id: String,
        query: String,
        body: String,
        key: String,
        md5: String,
        must_not_match: Option<String>,
    }

    fn vectors() -> Vec<Vector> {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/omg/signing");
        let mut out: Vec<Vector> = std::fs::read_dir(&dir)
            .expect("signing vector directory")
            .map(|entry| {
                let path = entry.expect("directory entry").path();
                let text = std::fs::read_to_string(&path).expect("vector file");
                serde_json::from_str(&text).expect("vector JSON")
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    #[test]
    fn every_known_answer_vector_signs_to_its_md5() {
        let vectors = vectors();
        let ids: Vec<&str> = vectors.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, ["O1", "O2", "O3", "O4", "O5", "O6", "O7"]);
        for v in &vectors {
            let key = SecretString::from(v.key.clone());
            assert_eq!(
                sign(&v.query, v.body.as_bytes(), &key),
                v.md5,
                "vector {}",
                v.id
            );
        }
    }

    #[test]
    fn re_serialised_and_question_mark_vectors_do_not_match_the_original() {
        let vectors = vectors();
        let by_id = |id: &str| vectors.iter().find(|v| v.id == id).expect("vector");
        let mut checked = 0;
        for v in vectors.iter().filter(|v| v.must_not_match.is_some()) {
            let other = by_id(v.must_not_match.as_deref().unwrap_or_default());
            assert_ne!(v.md5, other.md5, "vector {} equals {}", v.id, other.id);
            let key = SecretString::from(v.key.clone());
            assert_ne!(sign(&v.query, v.body.as_bytes(), &key), other.md5);
            checked += 1;
        }
        assert_eq!(checked, 2, "O2 and O3 both carry must_not_match");
    }

    #[test]
    fn signature_is_lower_case_hex_of_32_digits() {
        let s = sign("trace_id=a", b"{}", &SecretString::from("k"));
        assert_eq!(s.len(), 32);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }
}
