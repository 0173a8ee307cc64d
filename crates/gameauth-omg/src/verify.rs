//! Verification of a signed OMG request, over the exact raw bytes and before any JSON parsing.
//!
//! Rules (the OMG contract and this SDK's decisions):
//! * the query is taken exactly as on the request line, before percent-decoding, and must be a
//!   single `trace_id=<value>` parameter: a missing, extra or duplicated parameter is rejected,
//!   which keeps the undelimited `query + body` concatenation from being re-split by an attacker;
//! * the `sign` header must be present and non-empty; either letter case of hex is accepted;
//! * the presented signature is hex-decoded, length-checked and compared in constant time;
//! * the current key verifies, and the previous key verifies until its rotation window closes;
//! * a ring with an empty key verifies nothing (anyone can sign with an empty key).

use std::time::SystemTime;

use gameauth_core::KeyRing;

use crate::sign::digest;

/// Name of the only query parameter an OMG request may carry.
pub const TRACE_ID_PARAM: &str = "trace_id";

/// Longest accepted `trace_id` value. OMG's are 12 to 14 characters; the bound only keeps
/// garbage out.
pub const MAX_TRACE_ID_LEN: usize = 64;

/// Why a signed request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The `sign` header is missing, empty, or present more than once.
    #[error("the sign header is missing or empty")]
    MissingSign,
    /// The query is not exactly one `trace_id` parameter with a plain value.
    #[error("the query must be exactly one trace_id parameter")]
    InvalidQuery,
    /// The signature does not match the request under any verifying key.
    #[error("signature does not match")]
    Mismatch,
    /// A key of the ring is empty: anyone can compute a signature under an empty key, so
    /// nothing verifies (a configuration error, never the sender's fault).
    #[error("the signature key is empty")]
    EmptyKey,
}

/// The `trace_id` value of a raw query that consists of exactly that one parameter.
///
/// The value must be 1 to [`MAX_TRACE_ID_LEN`] characters of the URL-unreserved set or percent
/// escapes; anything that a parser could split into more parameters (`&`, `;`, `=`) is refused.
pub fn trace_id(raw_query: &str) -> Result<&str, SignatureError> {
    let value = raw_query
        .strip_prefix(TRACE_ID_PARAM)
        .and_then(|rest| rest.strip_prefix('='))
        .ok_or(SignatureError::InvalidQuery)?;
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'%');
    if value.is_empty() || value.len() > MAX_TRACE_ID_LEN || !value.bytes().all(plain) {
        return Err(SignatureError::InvalidQuery);
    }
    Ok(value)
}

/// Verifies a signed request and returns its `trace_id`.
///
/// `raw_query` is the query exactly as on the request line without the `?` (`None` when the
/// request line has none), `body` the exact body bytes and `sign` the `sign` header value.
/// `now` selects the keys of `keys` that still verify. A ring with an empty key verifies nothing
/// ([`SignatureError::EmptyKey`]).
pub fn verify<'q>(
    raw_query: Option<&'q str>,
    body: &[u8],
    sign: Option<&str>,
    keys: &KeyRing,
    now: SystemTime,
) -> Result<&'q str, SignatureError> {
    if keys.is_empty() {
        return Err(SignatureError::EmptyKey);
    }
    let sign = sign
        .filter(|s| !s.is_empty())
        .ok_or(SignatureError::MissingSign)?;
    let query = raw_query.ok_or(SignatureError::InvalidQuery)?;
    let trace = trace_id(query)?;
    let matched = keys
        .verifying_keys(now)
        .any(|key| gameauth_core::sign::verify_hex(sign, &digest(query, body, key)));
    if matched {
        Ok(trace)
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use secrecy::SecretString;

    use crate::sign::sign;

    const KEY: &str = "39a6581c31ef3203a22edb2daa2ab6d1";
    const O1_QUERY: &str = "trace_id=dhf1aboc1iio";
    const O1_BODY: &str = r#"{"player_logon_token":"b27cfe9b-f01c-11ee-a0b5-000c2901d9cc","account_id":"1002402","timestamp":1711971655}"#;
    const O1_SIGN: &str = "e3f8dc79e875e46f6755ef540c2d24f3";

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_711_971_655)
    }

    fn ring() -> KeyRing {
        KeyRing::new(SecretString::from(KEY))
    }

    fn check(
        query: Option<&str>,
        body: &str,
        sign: Option<&str>,
    ) -> Result<String, SignatureError> {
        verify(query, body.as_bytes(), sign, &ring(), now()).map(str::to_owned)
    }

    #[test]
    fn official_vector_verifies_and_yields_the_trace_id() {
        assert_eq!(
            check(Some(O1_QUERY), O1_BODY, Some(O1_SIGN)).unwrap(),
            "dhf1aboc1iio"
        );
    }

    #[test]
    fn upper_case_hex_is_accepted() {
        let upper = O1_SIGN.to_ascii_uppercase();
        assert!(check(Some(O1_QUERY), O1_BODY, Some(&upper)).is_ok());
    }

    #[test]
    fn a_flipped_bit_is_rejected() {
        let mut bytes = O1_SIGN.as_bytes().to_vec();
        bytes[31] = if bytes[31] == b'3' { b'2' } else { b'3' };
        let flipped = String::from_utf8(bytes).unwrap();
        assert_eq!(
            check(Some(O1_QUERY), O1_BODY, Some(&flipped)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn truncated_and_extended_signatures_are_rejected() {
        for bad in [
            &O1_SIGN[..31],
            &O1_SIGN[..30],
            &format!("{O1_SIGN}0"),
            &format!("{O1_SIGN}00"),
        ] {
            assert_eq!(
                check(Some(O1_QUERY), O1_BODY, Some(bad)),
                Err(SignatureError::Mismatch),
                "{bad}"
            );
        }
    }

    #[test]
    fn non_hex_signature_is_rejected() {
        let bad = format!("{}zz", &O1_SIGN[..30]);
        assert_eq!(
            check(Some(O1_QUERY), O1_BODY, Some(&bad)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn re_serialised_json_is_rejected() {
        let spaced = O1_BODY
            .replace("\":\"", "\": \"")
            .replace("\",\"", "\", \"");
        assert_ne!(spaced, O1_BODY);
        assert_eq!(
            check(Some(O1_QUERY), &spaced, Some(O1_SIGN)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_free_verification_refuses_an_empty_key() {
        let empty = SecretString::from("");
        // A signature made with the empty key, which anyone can compute.
        let forged = sign(O1_QUERY, O1_BODY.as_bytes(), &empty);
        let refused = verify(
            Some(O1_QUERY),
            O1_BODY.as_bytes(),
            Some(&forged),
            &KeyRing::new(empty.clone()),
            now(),
        );
        assert_eq!(refused, Err(SignatureError::EmptyKey));
        let with_empty_previous = ring().with_previous(empty, now() + Duration::from_secs(60));
        let refused = verify(
            Some(O1_QUERY),
            O1_BODY.as_bytes(),
            Some(O1_SIGN),
            &with_empty_previous,
            now(),
        );
        assert_eq!(refused, Err(SignatureError::EmptyKey));
    }

    #[test]
    fn query_with_leading_question_mark_is_rejected() {
        let with_mark = format!("?{O1_QUERY}");
        assert_eq!(
            check(Some(&with_mark), O1_BODY, Some(O1_SIGN)),
            Err(SignatureError::InvalidQuery)
        );
        // Even when signed over the wrong query (vector O3), it is refused before hashing.
        assert_eq!(
            check(
                Some(&with_mark),
                O1_BODY,
                Some("5bcbfeb52f1dfb860177935e08e446f0")
            ),
            Err(SignatureError::InvalidQuery)
        );
    }

    #[test]
    fn extra_or_duplicated_query_parameters_are_rejected() {
        let key = SecretString::from(KEY);
        for query in [
            "trace_id=dhf1aboc1iio&x=1",
            "x=1&trace_id=dhf1aboc1iio",
            "trace_id=dhf1aboc1iio&trace_id=other",
            "trace_id=dhf1aboc1iio;x=1",
            "trace_id=a=b",
            "trace_id=dhf1aboc1iio&",
        ] {
            // Correctly signed over the whole query, still refused.
            let s = sign(query, O1_BODY.as_bytes(), &key);
            assert_eq!(
                check(Some(query), O1_BODY, Some(&s)),
                Err(SignatureError::InvalidQuery),
                "{query}"
            );
        }
    }

    #[test]
    fn missing_query_or_trace_id_is_rejected() {
        let key = SecretString::from(KEY);
        for query in [
            "",
            "trace_id=",
            "trace_id",
            "TRACE_ID=abc",
            "trace%5Fid=abc",
            "other=abc",
        ] {
            let s = sign(query, O1_BODY.as_bytes(), &key);
            assert_eq!(
                check(Some(query), O1_BODY, Some(&s)),
                Err(SignatureError::InvalidQuery),
                "{query}"
            );
        }
        assert_eq!(
            check(None, O1_BODY, Some(O1_SIGN)),
            Err(SignatureError::InvalidQuery)
        );
        let long = format!("trace_id={}", "a".repeat(MAX_TRACE_ID_LEN + 1));
        assert_eq!(trace_id(&long), Err(SignatureError::InvalidQuery));
    }

    #[test]
    fn missing_sign_header_is_rejected() {
        assert_eq!(
            check(Some(O1_QUERY), O1_BODY, None),
            Err(SignatureError::MissingSign)
        );
    }

    #[test]
    fn empty_sign_is_rejected() {
        assert_eq!(
            check(Some(O1_QUERY), O1_BODY, Some("")),
            Err(SignatureError::MissingSign)
        );
    }

    #[test]
    fn previous_key_verifies_only_inside_its_rotation_window() {
        let old = SecretString::from(KEY);
        let until = now() + Duration::from_secs(60);
        let rotated = KeyRing::new(SecretString::from("new-key")).with_previous(old, until);
        let body = O1_BODY.as_bytes();
        assert!(verify(Some(O1_QUERY), body, Some(O1_SIGN), &rotated, now()).is_ok());
        assert!(verify(Some(O1_QUERY), body, Some(O1_SIGN), &rotated, until).is_ok());
        assert_eq!(
            verify(
                Some(O1_QUERY),
                body,
                Some(O1_SIGN),
                &rotated,
                until + Duration::from_secs(1)
            ),
            Err(SignatureError::Mismatch)
        );
        let with_new = sign(O1_QUERY, body, &SecretString::from("new-key"));
        assert!(
            verify(
                Some(O1_QUERY),
                body,
                Some(&with_new),
                &rotated,
                until + Duration::from_secs(1)
            )
            .is_ok()
        );
    }

    #[test]
    fn percent_encoded_trace_ids_are_kept_raw() {
        assert_eq!(trace_id("trace_id=ab%2Dcd").unwrap(), "ab%2Dcd");
    }
}
