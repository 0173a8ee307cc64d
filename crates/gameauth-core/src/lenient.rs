//! Lenient decoding helpers for provider JSON.
//!
//! Providers send the same field as a string in one example and a number in another (`app_id`,
//! `balance`, `player_id`), and amounts must stay exact. These helpers read the raw JSON token so
//! a number like `42766.25` is kept as the text `"42766.25"`, never via `f64`.
//!
//! Signed bodies are decoded strictly: [`decode_signed_object`] refuses any object that repeats a
//! key, so the bytes a signature covers can only mean one thing.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::error::DecodeError;

/// Decodes `bytes` as `T`, reporting the path of the first offending field but never the input.
///
/// # Errors
///
/// Returns a [`DecodeError`] when `bytes` is not exactly one JSON document of the shape of `T`:
/// invalid or truncated JSON, trailing data after the document, a missing or mistyped field, or
/// a value a field's own decoder refuses. Its `path` names the first offending field (`$` for
/// the document itself); its `reason` never quotes the input.
pub fn decode_json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    // Tracking the path costs more than the parse itself (about 40% of a Hive verification's
    // CPU, see the performance notes), and only a failure needs it: decode plainly first and
    // repeat with tracking only to explain an error. Both accept exactly the same input.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = DecodeError::from_json(e.inner());
        DecodeError::new(
            if path == "." { "$".to_owned() } else { path },
            inner.reason,
        )
    })?;
    de.end().map_err(|e| DecodeError::from_json(&e))?;
    Ok(value)
}

/// Like [`decode_json`], for a document that must be a JSON object, as every provider envelope
/// and inbound body is.
///
/// Derived struct decoders also read a JSON array in field order (`[0]` as
/// `{"result_code":0}`); no provider sends that, and a verifier must never accept it.
///
/// # Errors
///
/// Returns a [`DecodeError`] at `$` ("expected a JSON object") when the first non-whitespace
/// byte of `bytes` is not `{` (an array, a scalar, empty input), and otherwise the errors of
/// [`decode_json`].
pub fn decode_object<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => decode_json(bytes),
        _ => Err(DecodeError::new("$", "expected a JSON object")),
    }
}

/// Like [`decode_object`], for a body whose signature was verified: refuses it first when any
/// object in it, at any depth, repeats a key, whatever the values (see [`check_unique_keys`]).
///
/// JSON parsers disagree about repeated keys (the first wins, the last wins, or an error), so a
/// signed body with one could be read differently by the SDK and by whatever else reads it.
///
/// # Errors
///
/// A [`DecodeError`] whose path names the repeated key when any object repeats one (see
/// [`check_unique_keys`]); otherwise the errors of [`decode_object`].
pub fn decode_signed_object<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    check_unique_keys(bytes)?;
    decode_object(bytes)
}

/// Refuses a JSON document in which any object repeats a key. Keys are compared as decoded text,
/// so `"a"` and `"\u0061"` are the same key. The error's path names the repeated key.
///
/// # Errors
///
/// A [`DecodeError`] with the reason "a key is repeated" and the key's path when an object
/// repeats a key; a [`DecodeError`] as from [`decode_json`] when `bytes` is not one well-formed
/// JSON document.
pub fn check_unique_keys(bytes: &[u8]) -> Result<(), DecodeError> {
    let repeated = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut track = serde_path_to_error::Track::new();
    let result = UniqueKeys {
        repeated: &repeated,
    }
    .deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track))
    .and_then(|()| de.end());
    match (result, repeated.into_inner()) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(key)) => {
            let parent = track.path().to_string();
            let path = if parent == "." {
                key
            } else {
                format!("{parent}.{key}")
            };
            Err(DecodeError::new(path, "a key is repeated"))
        }
        (Err(e), None) => Err(DecodeError::from_json(&e)),
    }
}

/// Walks a document, refusing repeated keys; records the first repeated key.
#[derive(Clone, Copy)]
struct UniqueKeys<'a> {
    repeated: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                *self.repeated.borrow_mut() = Some(key);
                return Err(A::Error::custom("a key is repeated"));
            }
            seen.insert(key);
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

/// Text of a JSON string or number token: `"10013"` and `10013` both give `10013`.
///
/// # Errors
///
/// Returns `D::Error` when the value is neither a JSON string nor a JSON number (`null`, a
/// boolean, an object or an array), or when `d` cannot lend the raw JSON text, which only
/// `serde_json` reading from a slice or a `str` (as [`decode_json`] does) can.
pub fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let raw: &RawValue = Deserialize::deserialize(d)?;
    raw_text(raw).map(Cow::into_owned).map_err(D::Error::custom)
}

/// Like [`string_or_number`] for an optional field (`null` or absent give `None`).
///
/// # Errors
///
/// Returns `D::Error` for a value other than `null`, a string or a number, and when `d` cannot
/// lend the raw JSON text, as [`string_or_number`].
pub fn opt_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let raw: Option<&RawValue> = Deserialize::deserialize(d)?;
    match raw {
        None => Ok(None),
        Some(r) if r.get() == "null" => Ok(None),
        Some(r) => raw_text(r)
            .map(|t| Some(t.into_owned()))
            .map_err(D::Error::custom),
    }
}

/// Like [`opt_string_or_number`], borrowing the text from the input when it has no escapes, so
/// reading it allocates nothing. For fields that are usually only looked at on an error path
/// (a provider's result message, say).
///
/// # Errors
///
/// As [`opt_string_or_number`].
pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    let raw: Option<&'de RawValue> = Deserialize::deserialize(d)?;
    match raw {
        None => Ok(None),
        Some(r) if r.get() == "null" => Ok(None),
        Some(r) => raw_text(r).map(Some).map_err(D::Error::custom),
    }
}

/// An exact decimal from a JSON string or number (`"42766.25"` or `42766.25`).
///
/// # Errors
///
/// Returns `D::Error` in the cases of [`string_or_number`], and ("expected a decimal amount")
/// when the text is not a plain decimal per [`is_decimal`]: an exponent (`1e5`), a `+`, spaces,
/// `NaN` or an empty string.
pub fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = string_or_number(d)?;
    if is_decimal(&text) {
        Ok(text)
    } else {
        Err(D::Error::custom("expected a decimal amount"))
    }
}

/// An `i64` from a JSON number or a string holding one.
///
/// # Errors
///
/// Returns `D::Error` in the cases of [`string_or_number`], and ("expected an integer") when
/// the text, trimmed, is not an `i64`: a fraction, an exponent or a value out of range.
pub fn i64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let raw: &RawValue = Deserialize::deserialize(d)?;
    let text = raw_text(raw).map_err(D::Error::custom)?;
    text.trim()
        .parse()
        .map_err(|_| D::Error::custom("expected an integer"))
}

/// Like [`i64_lenient`] for an optional field.
///
/// # Errors
///
/// Returns `D::Error` for a value other than `null` in the cases of [`i64_lenient`].
pub fn opt_i64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match opt_text(d)? {
        None => Ok(None),
        Some(t) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom("expected an integer")),
    }
}

/// The text of a string or number token, borrowed from the input unless the string has escapes.
fn raw_text(raw: &RawValue) -> Result<Cow<'_, str>, &'static str> {
    let s = raw.get();
    match s.as_bytes().first() {
        Some(b'"') => match serde_json::from_str::<&str>(s) {
            Ok(plain) => Ok(Cow::Borrowed(plain)),
            // Only a string with escapes cannot be borrowed.
            Err(_) => serde_json::from_str::<String>(s)
                .map(Cow::Owned)
                .map_err(|_| "invalid string"),
        },
        Some(b'-' | b'0'..=b'9') => Ok(Cow::Borrowed(s)),
        _ => Err("expected a string or a number"),
    }
}

/// Whether `s` is a plain decimal number: optional `-`, digits, optional `.` and digits.
/// Exponents, `+`, spaces, `NaN` and empty strings are not.
pub fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Sample {
        #[serde(deserialize_with = "string_or_number")]
        app_id: String,
        #[serde(deserialize_with = "decimal")]
        balance: String,
        #[serde(default, deserialize_with = "opt_i64_lenient")]
        player_id: Option<i64>,
    }

    #[test]
    fn accepts_strings_and_numbers_and_keeps_decimals_exact() {
        let a: Sample =
            decode_json(br#"{"app_id":10013,"balance":42766.25,"player_id":"21"}"#).unwrap();
        assert_eq!(a.app_id, "10013");
        assert_eq!(a.balance, "42766.25");
        assert_eq!(a.player_id, Some(21));
        let b: Sample =
            decode_json(br#"{"app_id":"10013","balance":"12345678901234567.1234"}"#).unwrap();
        assert_eq!(b.balance, "12345678901234567.1234");
        assert_eq!(b.player_id, None);
    }

    #[test]
    fn decode_errors_name_the_field_not_the_value() {
        let err = decode_json::<Sample>(br#"{"app_id":"1","balance":"sentinel"}"#).unwrap_err();
        assert_eq!(err.path, "balance");
        assert!(!err.to_string().contains("sentinel"));
        let err = decode_json::<Sample>(b"<html>").unwrap_err();
        assert_eq!(err.path, "$");
    }

    #[test]
    fn a_provider_key_in_the_path_cannot_break_the_error_text() {
        // A fuzzing finding: the path of a failure inside a map names the map's key as sent.
        let body = br#"{"data":{"a\r\nX-Injected: 1":1e999999}}"#;
        let err = decode_json::<serde_json::Map<String, serde_json::Value>>(body).unwrap_err();
        assert!(!err.to_string().contains(['\r', '\n']), "{err}");
        assert_eq!(err.path, "data.a  X-Injected: 1");
    }

    #[test]
    fn trailing_input_is_refused_with_or_without_path_tracking() {
        let err = decode_json::<Sample>(br#"{"app_id":"1","balance":"2"} x"#).unwrap_err();
        assert_eq!(err.path, "$");
        let err = decode_json::<Sample>(br#"{"app_id":"1","balance":"2"}{}"#).unwrap_err();
        assert_eq!(err.path, "$");
    }

    #[test]
    fn an_object_decoder_refuses_arrays_in_field_order() {
        // A derived decoder alone would read this as app_id "1", balance "2".
        assert!(decode_json::<Sample>(br#"["1","2"]"#).is_ok());
        let err = decode_object::<Sample>(br#" ["1","2"]"#).unwrap_err();
        assert_eq!(
            (err.path.as_str(), err.reason.as_str()),
            ("$", "expected a JSON object")
        );
        assert!(decode_object::<Sample>(b"").is_err());
        let ok: Sample = decode_object(br#" {"app_id":"1","balance":"2"}"#).unwrap();
        assert_eq!(ok.balance, "2");
    }

    #[test]
    fn any_repeated_key_in_a_signed_body_is_refused_same_value_or_not() {
        #[derive(Debug, Deserialize)]
        struct Body {
            #[allow(dead_code)]
            a: String,
        }
        for (body, path) in [
            (&br#"{"a":"1","a":"1"}"#[..], "a"),
            (br#"{"a":"1","a":"2"}"#, "a"),
            (br#"{"a":"1","x":1,"x":1}"#, "x"),
            (br#"{"a":"1","data":{"k":null,"k":null}}"#, "data.k"),
            (br#"{"a":"1","list":[{"k":1},{"k":1,"k":2}]}"#, "list[1].k"),
            (br#"{"a":"1","\u0061":"1"}"#, "a"),
        ] {
            let err = decode_signed_object::<Body>(body).unwrap_err();
            assert_eq!(
                (err.path.as_str(), err.reason.as_str()),
                (path, "a key is repeated"),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        // The same keys in different objects are not repeats.
        let ok: Body =
            decode_signed_object(br#"{"a":"1","o":{"a":1},"p":[{"a":1},{"a":2}]}"#).unwrap();
        assert_eq!(ok.a, "1");
        // Other faults are reported as before.
        assert_eq!(
            decode_signed_object::<Body>(br#"{"a":1"#).unwrap_err().path,
            "$"
        );
        assert!(decode_signed_object::<Body>(b"[]").is_err());
    }

    #[test]
    fn decimal_syntax() {
        for ok in ["0", "1.5", "-3", "405.64"] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", ".5", "1.", "1e5", "+1", "NaN", " 1", "1.2.3"] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }
}
