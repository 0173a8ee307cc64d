//! Helpers shared by the fuzz targets: how an input is cut into fields, how fields become HTTP
//! parts, a runtime for the async APIs, and independent signature oracles.
//!
//! # Input framing
//!
//! Every target reads its input as fields separated by a NUL byte (`0x00`); the last field takes
//! the rest of the input, so it may contain NUL bytes itself. A field missing because the input
//! has too few separators is `None`. Seeds are written the same way by `cargo xtask fuzz --seed`.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use md5::{Digest, Md5};
use serde_json::value::RawValue;
use sha1::Sha1;

/// The byte that separates the fields of an input.
pub const SEPARATOR: u8 = 0;

/// Splits `data` into at most `N` fields at its first `N - 1` separators.
pub fn fields<const N: usize>(data: &[u8]) -> [Option<&[u8]>; N] {
    let mut out = [None; N];
    let mut rest = Some(data);
    for (i, slot) in out.iter_mut().enumerate() {
        let Some(r) = rest else { break };
        if i + 1 == N {
            *slot = Some(r);
            break;
        }
        match r.iter().position(|&b| b == SEPARATOR) {
            Some(at) => {
                *slot = Some(&r[..at]);
                rest = Some(&r[at + 1..]);
            }
            None => {
                *slot = Some(r);
                rest = None;
            }
        }
    }
    out
}

/// A field as text: invalid UTF-8 is replaced, so every input still reaches the code under test.
pub fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

/// Headers from lines of `name:value` (one optional space after the colon is dropped).
///
/// Lines whose name or value `http` refuses are skipped; repeated names are appended, so the
/// code under test sees repeated headers too.
pub fn headers(block: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in block.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            map.append(name, value);
        }
    }
    map
}

/// A status from ASCII digits; anything that is not a valid status is 200, so most inputs
/// exercise the body decoders.
pub fn status(field: Option<&[u8]>) -> StatusCode {
    field
        .and_then(|f| std::str::from_utf8(f).ok())
        .and_then(|s| s.trim().parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::OK)
}

/// An HTTP response with `status` and `body`.
pub fn response(status: StatusCode, body: &[u8]) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::copy_from_slice(body));
    *response.status_mut() = status;
    response
}

/// Runs `future` to completion on this thread's runtime.
///
/// The runtime's clock is paused and advances by itself whenever every task waits, so the
/// clients' retry pauses and deadlines cost no real time and every run is deterministic.
pub fn block_on<F: Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a current-thread runtime");
    }
    RUNTIME.with(|rt| rt.block_on(future))
}

/// `seconds` after the Unix epoch.
pub fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

/// The OMG signature computed independently of the SDK: lower-case hex of
/// `md5(query + body + key)`.
pub fn omg_oracle(query: &str, body: &[u8], key: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(query.as_bytes());
    md5.update(body);
    md5.update(key.as_bytes());
    hex::encode(md5.finalize())
}

/// The bytes of a raw query value after percent-decoding, computed independently of the SDK: a
/// `%` with two hex digits is one byte, anything else (a lone `%` too) is itself.
pub fn percent_decoded(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| bytes[i] == b'%' && h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// The raw Credit Pay signature computed independently of the SDK:
/// `HMAC-SHA1(key, path + body)`.
pub fn creditpay_oracle_raw(key: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(path.as_bytes());
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// The Credit Pay `signature` header value computed independently of the SDK.
pub fn creditpay_oracle(key: &str, path: &str, body: &[u8]) -> String {
    STANDARD.encode(creditpay_oracle_raw(key, path, body))
}

/// Standard base64 decoding, for checking a signature the SDK accepted.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// The raw JSON text of member `name` of the JSON object `body`. A body that is not a JSON
/// object (an array in particular, which derived decoders would read in field order) has no
/// members: the SDK refuses it.
fn raw_member(body: &[u8], name: &str) -> Option<Box<RawValue>> {
    serde_json::from_str::<BTreeMap<String, Box<RawValue>>>(&lossy(body))
        .ok()?
        .remove(name)
}

/// The integer value of member `name` of the JSON object `body` (see [`raw_member`]), read with
/// the providers' lenient number rule: a number token, or a string holding one, surrounding
/// spaces ignored.
pub fn json_integer(body: &[u8], name: &str) -> Option<i64> {
    let token = raw_member(body, name)?;
    let text = match token.get().as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(token.get()).ok()?,
        _ => token.get().to_owned(),
    };
    text.trim().parse().ok()
}

/// The string value of member `name` of the JSON object `body` (see [`raw_member`]).
pub fn json_string(body: &[u8], name: &str) -> Option<String> {
    serde_json::from_str(raw_member(body, name)?.get()).ok()
}

/// `body` as text for the oracles. serde_json skips the strings of members a decoder ignores
/// without checking their UTF-8, so the SDK may accept such bodies; replacing invalid sequences
/// keeps the oracles from calling those bodies malformed.
fn lossy(body: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(body)
}

/// Whether `body` is one JSON object. Only the syntax is checked: numbers too large for `f64`
/// are still JSON.
pub fn json_record(body: &[u8]) -> bool {
    serde_json::from_str::<Box<RawValue>>(&lossy(body)).is_ok_and(|raw| raw.get().starts_with('{'))
}

/// Whether member `name` of the JSON object `body` is the integer `want` (see [`json_integer`]).
pub fn json_code_is(body: &[u8], name: &str, want: i64) -> bool {
    json_integer(body, name) == Some(want)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_split_at_the_first_separators_and_the_last_keeps_the_rest() {
        assert_eq!(
            fields::<3>(b"a\0b\0c\0d"),
            [Some(&b"a"[..]), Some(&b"b"[..]), Some(&b"c\0d"[..])]
        );
        assert_eq!(fields::<3>(b"a"), [Some(&b"a"[..]), None, None]);
        assert_eq!(fields::<2>(b""), [Some(&b""[..]), None]);
    }

    #[test]
    fn header_lines_become_a_map_and_bad_lines_are_skipped() {
        let map = headers(b"sign: abc\nbad line\nx:1\nx:2\n\xff:v");
        assert_eq!(map["sign"], "abc");
        assert_eq!(map.get_all("x").iter().count(), 2);
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn json_integers_are_read_leniently() {
        assert_eq!(json_integer(br#"{"code":"0"}"#, "code"), Some(0));
        assert_eq!(json_integer(br#"{"code":-0}"#, "code"), Some(0));
        assert_eq!(json_integer(br#"{"code":1.5}"#, "code"), None);
        assert_eq!(
            json_integer(b"[7]", "code"),
            None,
            "an array is not an object"
        );
        assert_eq!(json_integer(b"{}", "code"), None);
        assert_eq!(json_string(br#"["A", 1]"#, "type"), None);
        assert_eq!(
            json_string(br#"{"type":"B"}"#, "type").as_deref(),
            Some("B")
        );
        assert!(!json_record(b"[]") && json_record(b" {\"a\":1e999999} ") && !json_record(b"1"));
    }

    #[test]
    fn oracles_reproduce_the_documented_vectors() {
        assert_eq!(
            omg_oracle(
                "trace_id=dhf1aboc1iio",
                br#"{"player_logon_token":"b27cfe9b-f01c-11ee-a0b5-000c2901d9cc","account_id":"1002402","timestamp":1711971655}"#,
                "39a6581c31ef3203a22edb2daa2ab6d1"
            ),
            "e3f8dc79e875e46f6755ef540c2d24f3"
        );
        assert_eq!(
            creditpay_oracle(
                "18dd8a3c8003d2adcd13cb9981618bedd759a19f697a46d270542c6023479a08f541a5fa7f2e09a6f93cab7fe5de3b1b465abxxx",
                "/api/v1/credit-pay/notify",
                br#"{"type":"GET_DEFAULT_ACCOUNT_CREDIT_LIMIT","data":{"tag":"","currency":"CNY","digits":"2"}}"#
            ),
            "RfwkEphl9gGxt2CwuXlLzHgCAyg="
        );
    }
}
