//! Verification of a signed OMG request, over the exact raw bytes and before any JSON parsing.
//!
//! Rules (the OMG contract and this SDK's decisions):
//! * the query is taken exactly as on the request line, before percent-decoding, and must be a
//!   single `trace_id=<value>` parameter: a missing, extra or duplicated parameter is rejected,
//!   which keeps the undelimited `query + body` concatenation from being re-split by an attacker;
//! * the `trace_id` value follows a [`TraceIdRule`]: by default any printable ASCII of up to 128
//!   bytes, since OMG documents neither an alphabet nor a length;
//! * the `sign` header must be present and non-empty; either letter case of hex is accepted;
//! * the presented signature is hex-decoded, length-checked and compared in constant time;
//! * the current key verifies, and the previous key verifies until its rotation window closes;
//! * a ring with an empty key verifies nothing (anyone can sign with an empty key).

use std::time::SystemTime;

use gameauth_core::KeyRing;

use crate::error::Error;
use crate::sign::digest;

/// Name of the only query parameter an OMG request may carry.
pub const TRACE_ID_PARAM: &str = "trace_id";

/// Why a signed request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The `sign` header is missing, empty, or present more than once.
    #[error("the sign header is missing or empty")]
    MissingSign,
    /// The query is not exactly one `trace_id` parameter whose value follows the
    /// [`TraceIdRule`].
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

/// The characters a `trace_id` may consist of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceIdAlphabet {
    /// Any printable ASCII character (space to `~`), raw or percent-encoded; a raw `&` ends the
    /// parameter, so it must arrive encoded (`%26`). The default.
    PrintableAscii,
    /// RFC 3986 unreserved characters only (`A`–`Z`, `a`–`z`, `0`–`9`, `-`, `.`, `_`, `~`),
    /// with no percent escapes.
    Unreserved,
    /// Letters and digits only, like every `trace_id` in OMG's examples.
    Alphanumeric,
}

/// What an inbound `trace_id` must look like: an alphabet and a maximum length in bytes.
///
/// OMG's pages say only that the id is "unique and randomly generated"; their examples are 12
/// to 14 lowercase letters and digits. The default accepts any printable ASCII up to
/// [`TraceIdRule::MAX_LEN`] bytes (counted after percent-decoding); a stricter rule is a setting
/// ([`CallbackVerifierBuilder::trace_id_rule`](crate::inbound::CallbackVerifierBuilder::trace_id_rule)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceIdRule {
    alphabet: TraceIdAlphabet,
    max_len: usize,
}

impl Default for TraceIdRule {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TraceIdRule {
    /// The longest `trace_id` any rule accepts, in bytes.
    pub const MAX_LEN: usize = 128;

    /// Any printable ASCII, up to [`MAX_LEN`](Self::MAX_LEN) bytes.
    pub const DEFAULT: Self = Self {
        alphabet: TraceIdAlphabet::PrintableAscii,
        max_len: Self::MAX_LEN,
    };

    /// A rule; `max_len` must be between 1 and [`MAX_LEN`](Self::MAX_LEN).
    ///
    /// # Errors
    ///
    /// Returns [`Error::Config`] when `max_len` is 0 or greater than [`MAX_LEN`](Self::MAX_LEN).
    pub fn new(alphabet: TraceIdAlphabet, max_len: usize) -> Result<Self, Error> {
        if !(1..=Self::MAX_LEN).contains(&max_len) {
            return Err(Error::Config(format!(
                "the trace_id length limit must be between 1 and {}",
                Self::MAX_LEN
            )));
        }
        Ok(Self { alphabet, max_len })
    }

    /// The alphabet.
    pub fn alphabet(self) -> TraceIdAlphabet {
        self.alphabet
    }

    /// The maximum length in bytes (after percent-decoding).
    pub fn max_len(self) -> usize {
        self.max_len
    }

    /// The raw `trace_id` value of a raw query that consists of exactly that one parameter
    /// (`trace_id=<value>`, no `&`), when the value follows this rule.
    ///
    /// The value is returned as on the request line, percent escapes included.
    ///
    /// # Errors
    ///
    /// Returns [`SignatureError::InvalidQuery`] when `raw_query` is not exactly one
    /// `trace_id=<value>` parameter (another name, no `=`, a second parameter after `&`), or the
    /// value is empty, has a character outside the rule's alphabet, or is longer than its
    /// maximum length.
    pub fn trace_id(self, raw_query: &str) -> Result<&str, SignatureError> {
        let value = raw_query
            .strip_prefix(TRACE_ID_PARAM)
            .and_then(|rest| rest.strip_prefix('='))
            .ok_or(SignatureError::InvalidQuery)?;
        let len = match self.alphabet {
            TraceIdAlphabet::PrintableAscii => printable_len(value),
            TraceIdAlphabet::Unreserved => value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
                .then_some(value.len()),
            TraceIdAlphabet::Alphanumeric => value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric())
                .then_some(value.len()),
        };
        match len {
            Some(n) if (1..=self.max_len).contains(&n) => Ok(value),
            _ => Err(SignatureError::InvalidQuery),
        }
    }
}

/// The decoded length of a raw query value whose characters are all printable ASCII, or `None`.
///
/// Raw bytes must be visible ASCII other than `&` (which would start a second parameter) and
/// `#`; a `%` with two hex digits is one decoded byte, which must be printable ASCII (space
/// included); any other `%` is a literal percent sign, as WHATWG URL parsing reads it.
fn printable_len(value: &str) -> Option<usize> {
    if !value
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'&' && b != b'#')
    {
        return None;
    }
    let mut len = 0;
    for b in percent_encoding::percent_decode(value.as_bytes()) {
        if !(b' '..=b'~').contains(&b) {
            return None;
        }
        len += 1;
    }
    Some(len)
}

/// Verifies a signed request and returns its `trace_id`.
///
/// `rule` is what the `trace_id` must look like ([`TraceIdRule::DEFAULT`] unless configured),
/// `raw_query` is the query exactly as on the request line without the `?` (`None` when the
/// request line has none), `body` the exact body bytes and `sign` the `sign` header value.
/// `now` selects the keys of `keys` that still verify.
///
/// # Errors
///
/// Checked in this order:
/// * [`SignatureError::EmptyKey`] when a key of `keys` is empty: such a ring verifies nothing;
/// * [`SignatureError::MissingSign`] when `sign` is `None` or empty;
/// * [`SignatureError::InvalidQuery`] when `raw_query` is `None` or does not follow `rule` (see
///   [`TraceIdRule::trace_id`]);
/// * [`SignatureError::Mismatch`] when `sign` is not, in either letter case, the
///   [`sign`](crate::sign::sign) of `raw_query` and `body` under any key of `keys` that verifies
///   at `now` (the current key, and the previous one inside its rotation window), including a
///   `sign` that is not hex or has the wrong length.
pub fn verify<'q>(
    rule: TraceIdRule,
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
    let trace = rule.trace_id(query)?;
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
        verify(
            TraceIdRule::DEFAULT,
            query,
            body.as_bytes(),
            sign,
            &ring(),
            now(),
        )
        .map(str::to_owned)
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
            TraceIdRule::DEFAULT,
            Some(O1_QUERY),
            O1_BODY.as_bytes(),
            Some(&forged),
            &KeyRing::new(empty.clone()),
            now(),
        );
        assert_eq!(refused, Err(SignatureError::EmptyKey));
        let with_empty_previous = ring().with_previous(empty, now() + Duration::from_secs(60));
        let refused = verify(
            TraceIdRule::DEFAULT,
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
        let long = format!("trace_id={}", "a".repeat(TraceIdRule::MAX_LEN + 1));
        assert_eq!(
            TraceIdRule::DEFAULT.trace_id(&long),
            Err(SignatureError::InvalidQuery)
        );
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
        assert!(
            verify(
                TraceIdRule::DEFAULT,
                Some(O1_QUERY),
                body,
                Some(O1_SIGN),
                &rotated,
                now()
            )
            .is_ok()
        );
        assert!(
            verify(
                TraceIdRule::DEFAULT,
                Some(O1_QUERY),
                body,
                Some(O1_SIGN),
                &rotated,
                until
            )
            .is_ok()
        );
        assert_eq!(
            verify(
                TraceIdRule::DEFAULT,
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
                TraceIdRule::DEFAULT,
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
        assert_eq!(
            TraceIdRule::DEFAULT.trace_id("trace_id=ab%2Dcd").unwrap(),
            "ab%2Dcd"
        );
    }

    fn accepts(rule: TraceIdRule, value: &str) -> bool {
        rule.trace_id(&format!("trace_id={value}")).is_ok()
    }

    #[test]
    fn any_printable_ascii_trace_id_is_accepted_by_default() {
        let raw: String = (b'!'..=b'~')
            .filter(|b| !matches!(b, b'&' | b'#'))
            .map(char::from)
            .collect();
        assert!(accepts(TraceIdRule::DEFAULT, &raw), "{raw}");
        for encoded in ["a%20b", "a+b", "a%26b", "a%23b", "a%25b", "%7E", "%7e"] {
            assert!(accepts(TraceIdRule::DEFAULT, encoded), "{encoded}");
        }
        // Neither `;` nor a second `=` separates parameters: both belong to the value.
        assert_eq!(
            TraceIdRule::DEFAULT.trace_id("trace_id=a;x=1").unwrap(),
            "a;x=1"
        );
    }

    #[test]
    fn default_trace_id_length_is_128_bytes_after_percent_decoding() {
        assert!(accepts(TraceIdRule::DEFAULT, &"a".repeat(128)));
        assert!(!accepts(TraceIdRule::DEFAULT, &"a".repeat(129)));
        // 128 escaped bytes are 384 on the request line and still 128 bytes of trace_id.
        assert!(accepts(TraceIdRule::DEFAULT, &"%3A".repeat(128)));
        assert!(!accepts(TraceIdRule::DEFAULT, &"%3A".repeat(129)));
    }

    #[test]
    fn a_percent_sign_without_two_hex_digits_is_a_literal_percent() {
        assert!(accepts(TraceIdRule::DEFAULT, "50%"));
        assert!(accepts(TraceIdRule::DEFAULT, "50%zz"));
        assert!(accepts(TraceIdRule::DEFAULT, "%+f"));
        assert!(!accepts(
            TraceIdRule::DEFAULT,
            &format!("{}%", "a".repeat(128))
        ));
    }

    #[test]
    fn control_and_non_ascii_trace_ids_are_refused_by_default() {
        for bad in [
            "a%00b",
            "a%0Ab",
            "a%7Fb",
            "a%C3%A9",
            "caf\u{e9}",
            "a b",
            "a\tb",
            "a\u{7f}b",
            "",
        ] {
            assert!(!accepts(TraceIdRule::DEFAULT, bad), "{bad:?}");
        }
    }

    #[test]
    fn a_raw_ampersand_or_hash_is_refused_by_default() {
        assert!(!accepts(TraceIdRule::DEFAULT, "a&b"));
        assert!(!accepts(TraceIdRule::DEFAULT, "a#b"));
    }

    #[test]
    fn stricter_rules_are_settings() {
        let unreserved = TraceIdRule::new(TraceIdAlphabet::Unreserved, 64).unwrap();
        assert!(accepts(unreserved, "k3n9x0q2m7ab-._~"));
        for bad in ["a:b", "a%2Db", "a+b", "a;b", &"a".repeat(65)] {
            assert!(!accepts(unreserved, bad), "{bad}");
        }
        let examples = TraceIdRule::new(TraceIdAlphabet::Alphanumeric, 14).unwrap();
        assert!(accepts(examples, "omgtrace000001"));
        assert!(!accepts(examples, "omgtrace0000001"));
        assert!(!accepts(examples, "dhf1-aboc1iio"));
        assert_eq!(examples.alphabet(), TraceIdAlphabet::Alphanumeric);
        assert_eq!(examples.max_len(), 14);
    }

    #[test]
    fn a_rule_longer_than_128_bytes_or_empty_is_a_configuration_error() {
        for len in [0, TraceIdRule::MAX_LEN + 1] {
            assert!(matches!(
                TraceIdRule::new(TraceIdAlphabet::PrintableAscii, len),
                Err(Error::Config(_))
            ));
        }
        assert_eq!(TraceIdRule::default(), TraceIdRule::DEFAULT);
    }

    #[test]
    fn a_long_printable_trace_id_is_signed_and_verified_as_sent() {
        let key = SecretString::from(KEY);
        let query = format!("trace_id={}", "Zz9:/@!$'()*+,;=-._~%20".repeat(5));
        let s = sign(&query, O1_BODY.as_bytes(), &key);
        assert_eq!(
            check(Some(&query), O1_BODY, Some(&s)).unwrap(),
            &query["trace_id=".len()..]
        );
        let strict = TraceIdRule::new(TraceIdAlphabet::Unreserved, 128).unwrap();
        assert_eq!(
            verify(
                strict,
                Some(&query),
                O1_BODY.as_bytes(),
                Some(&s),
                &ring(),
                now()
            ),
            Err(SignatureError::InvalidQuery)
        );
    }
}
