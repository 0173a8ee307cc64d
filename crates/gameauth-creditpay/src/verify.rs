//! Verification of what Credit Pay sends to the platform.
//!
//! Credit Pay signs inbound calls (the credit-limit query and webhooks) exactly like outbound
//! ones, over **the platform's own route path as configured in the Credit Pay backend** plus the
//! raw body. [`InboundVerifier`] checks that before anything parses the body, and collects the
//! unsigned headers (`token`, `trace`, `lang`, `timestamp`) for the handlers.

use crate::client::PROVIDER;
use gameauth_core::telemetry::inbound_callback;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use gameauth_core::sign::{hmac_sha1, verify_base64};
use gameauth_core::{Clock, KeyRing, PlayerToken, SystemClock};
use http::{HeaderMap, Method, Request, Response};
use secrecy::ExposeSecret;

use crate::error::{Error, SignatureError};
use crate::inbound::reply;
use crate::sign::{MISSPELT_SIGNATURE_HEADER, SIGNATURE_HEADER, check_signed_path};

/// The largest inbound body accepted by default: 1 MiB. Larger bodies are answered with 413.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The header carrying the platform's own `customer_token`.
pub const TOKEN_HEADER: &str = "token";
/// The header carrying Credit Pay's trace id.
pub const TRACE_HEADER: &str = "trace";
/// The header carrying the player's language.
pub const LANG_HEADER: &str = "lang";
/// The header carrying Credit Pay's send time (13-digit epoch milliseconds, **not signed**).
pub const TIMESTAMP_HEADER: &str = "timestamp";

/// Checks `presented` against the signature of `path` + `body` under every key `keys` accepts
/// at `now` (the current key, and the previous one inside its rotation window).
///
/// The comparison decodes the presented base64, checks its length and compares in constant time.
/// A ring with an empty key verifies nothing ([`SignatureError::EmptyKey`]).
///
/// # Errors
///
/// * [`SignatureError::EmptyKey`] when a key of the ring is empty;
/// * [`SignatureError::Empty`] when `presented` is empty;
/// * [`SignatureError::Mismatch`] when it matches no accepted key: not base64, the wrong length,
///   or a different MAC.
pub fn verify_signature(
    keys: &KeyRing,
    now: SystemTime,
    path: &str,
    body: &[u8],
    presented: &str,
) -> Result<(), SignatureError> {
    if keys.is_empty() {
        return Err(SignatureError::EmptyKey);
    }
    if presented.is_empty() {
        return Err(SignatureError::Empty);
    }
    let matched = keys.verifying_keys(now).any(|key| {
        let expected = hmac_sha1(key.expose_secret().as_bytes(), &[path.as_bytes(), body]);
        verify_base64(presented, &expected)
    });
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The presented signature: the `signature` header, or its misspelt form `signerature`.
///
/// Either header repeated (even with the same value), or both spellings with different values,
/// is refused rather than guessed; both spellings once each with the same value are accepted.
///
/// # Errors
///
/// * [`SignatureError::Missing`] when neither header is present;
/// * [`SignatureError::Repeated`] when either header occurs more than once, or both occur with
///   different values;
/// * [`SignatureError::Mismatch`] when the value is not UTF-8 (it cannot be a signature).
pub fn presented_signature(headers: &HeaderMap) -> Result<&str, SignatureError> {
    let mut found: Option<&[u8]> = None;
    for name in [SIGNATURE_HEADER, MISSPELT_SIGNATURE_HEADER] {
        let mut values = headers.get_all(name).iter();
        let Some(value) = values.next() else {
            continue;
        };
        if values.next().is_some() {
            return Err(SignatureError::Repeated);
        }
        match found {
            Some(prev) if prev != value.as_bytes() => return Err(SignatureError::Repeated),
            _ => found = Some(value.as_bytes()),
        }
    }
    let value = found.ok_or(SignatureError::Missing)?;
    // A signature is base64; anything non-UTF-8 cannot match.
    std::str::from_utf8(value).map_err(|_| SignatureError::Mismatch)
}

/// The unsigned headers of a verified inbound request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InboundHeaders {
    /// The `token` header: the `customer_token` the platform issued for this player.
    pub token: Option<PlayerToken>,
    /// Credit Pay's `trace` id, when it is printable ASCII.
    pub trace: Option<String>,
    /// The `lang` header, when it is printable ASCII.
    pub lang: Option<String>,
    /// The `timestamp` header as sent (13 digits expected). Informational only: it is not
    /// covered by the signature, so it is logged and never trusted.
    pub timestamp: Option<String>,
}

/// Verifies inbound Credit Pay requests for one configured route.
#[derive(Debug, Clone)]
pub struct InboundVerifier {
    route_path: String,
    keys: KeyRing,
    clock: Arc<dyn Clock>,
    max_body_bytes: usize,
}

impl InboundVerifier {
    /// A verifier for requests Credit Pay signs over `route_path` (the path configured in the
    /// Credit Pay backend, e.g. `/api/v1/credit-pay/notify`) with the signature key(s) in `keys`.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Config`] when `route_path` is not a signed path (see
    /// [`check_signed_path`]) or a key of `keys` is empty (the current one, or a previous one).
    pub fn new(route_path: impl Into<String>, keys: KeyRing) -> Result<Self, Error> {
        let route_path = route_path.into();
        check_signed_path(&route_path)?;
        if keys.is_empty() {
            return Err(Error::Config(
                "signature keys must not be empty (the current one and any previous one)".into(),
            ));
        }
        Ok(Self {
            route_path,
            keys,
            clock: Arc::new(SystemClock),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        })
    }

    /// Uses `clock` to decide whether a previous key is still inside its rotation window.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Caps inbound bodies at `limit` bytes (default 1 MiB).
    pub fn with_max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// The configured route path (the signed path).
    pub fn route_path(&self) -> &str {
        &self.route_path
    }

    /// The body size limit in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// Admits a raw inbound request for a handler: POST only (405), then the size (413) and the
    /// signature (401) checked before anything parses the body. `Err` is the answer to send;
    /// a refusal is counted in `gameauth_inbound_callbacks_total` with `route_kind` as `kind`.
    pub(crate) fn admit(
        &self,
        request: Request<Bytes>,
        route_kind: &'static str,
    ) -> Result<(InboundHeaders, Bytes), Box<Response<Bytes>>> {
        if request.method() != Method::POST {
            inbound_callback(PROVIDER, route_kind, "method");
            return Err(Box::new(reply::method_not_allowed()));
        }
        let (parts, body) = request.into_parts();
        match self.verify(&parts.headers, &body) {
            Ok(headers) => Ok((headers, body)),
            Err(e) => {
                tracing::warn!(error = %e, route_kind, "Credit Pay request refused");
                let outcome = match e {
                    Error::BodyTooLarge { .. } => "too_large",
                    _ => "signature",
                };
                inbound_callback(PROVIDER, route_kind, outcome);
                Err(Box::new(reply::for_error(&e)))
            }
        }
    }

    /// Checks the size and the signature of a raw inbound request and collects its unsigned
    /// headers. Call this before parsing the body.
    ///
    /// # Errors
    ///
    /// * [`Error::BodyTooLarge`] when `body` exceeds the [size limit](Self::max_body_bytes),
    ///   checked first;
    /// * [`Error::Signature`] when the signature header is missing, repeated or not UTF-8 (see
    ///   [`presented_signature`]), empty, or matches none of the accepted keys (see
    ///   [`verify_signature`]).
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<InboundHeaders, Error> {
        if body.len() > self.max_body_bytes {
            return Err(Error::BodyTooLarge {
                limit: self.max_body_bytes,
            });
        }
        let presented = presented_signature(headers)?;
        verify_signature(
            &self.keys,
            self.clock.now(),
            &self.route_path,
            body,
            presented,
        )?;
        let timestamp = printable(headers, TIMESTAMP_HEADER);
        let trace = printable(headers, TRACE_HEADER);
        let timestamp_shape = match timestamp.as_deref() {
            None => "absent",
            Some(t) if t.len() == 13 && t.bytes().all(|b| b.is_ascii_digit()) => "ms",
            Some(_) => "malformed",
        };
        tracing::debug!(
            route = %self.route_path,
            trace = trace.as_deref().unwrap_or(""),
            timestamp = if timestamp_shape == "ms" { timestamp.as_deref().unwrap_or("") } else { "" },
            timestamp_shape,
            "Credit Pay request signature verified (timestamp is unsigned, logged only)"
        );
        Ok(InboundHeaders {
            token: headers
                .get(TOKEN_HEADER)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(PlayerToken::new),
            trace,
            lang: printable(headers, LANG_HEADER),
            timestamp,
        })
    }
}

/// A header value that is short printable ASCII, so it is safe to log and hand on.
fn printable(headers: &HeaderMap, name: &str) -> Option<String> {
    let v = headers.get(name)?.to_str().ok()?;
    is_token_text(v, 128).then(|| v.to_owned())
}

/// Non-empty, at most `max` bytes, printable ASCII without spaces: safe to log and to use in a
/// store key.
pub(crate) fn is_token_text(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && text.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::sign;
    use gameauth_core::ManualClock;
    use http::HeaderValue;
    use secrecy::SecretString;
    use std::time::Duration;

    const KEY: &str = "18dd8a3c8003d2adcd13cb9981618bedd759a19f697a46d270542c6023479a08f541a5fa7f2e09a6f93cab7fe5de3b1b465abxxx";
    const ROUTE: &str = "/api/v1/credit-pay/notify";
    const BODY: &str = r#"{"type":"GET_DEFAULT_ACCOUNT_CREDIT_LIMIT","data":{"tag":"","currency":"CNY","digits":"2"}}"#;
    const C6: &str = "RfwkEphl9gGxt2CwuXlLzHgCAyg=";

    fn ring() -> KeyRing {
        KeyRing::new(SecretString::from(KEY))
    }

    fn verifier() -> InboundVerifier {
        InboundVerifier::new(ROUTE, ring()).expect("valid config")
    }

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value).expect("value"),
        );
        h
    }

    fn check(sig: &str) -> Result<(), SignatureError> {
        verify_signature(&ring(), SystemTime::now(), ROUTE, BODY.as_bytes(), sig)
    }

    #[test]
    fn the_credit_limit_vector_verifies() {
        assert_eq!(check(C6), Ok(()));
        assert!(
            verifier()
                .verify(&headers("signature", C6), BODY.as_bytes())
                .is_ok()
        );
    }

    #[test]
    fn one_flipped_bit_fails() {
        let mut raw =
            gameauth_core::sign::hmac_sha1(KEY.as_bytes(), &[ROUTE.as_bytes(), BODY.as_bytes()]);
        raw[7] ^= 0x01;
        let flipped = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw);
        assert_eq!(check(&flipped), Err(SignatureError::Mismatch));
    }

    #[test]
    fn truncated_and_extended_signatures_fail() {
        assert_eq!(check(&C6[..27]), Err(SignatureError::Mismatch));
        assert_eq!(check(&C6[..26]), Err(SignatureError::Mismatch));
        assert_eq!(check(&format!("{C6}A")), Err(SignatureError::Mismatch));
        assert_eq!(check(&format!("{C6}AAAA")), Err(SignatureError::Mismatch));
    }

    #[test]
    fn re_serialised_json_fails() {
        let value: serde_json::Value = serde_json::from_str(BODY).expect("json");
        let pretty = serde_json::to_string_pretty(&value).expect("json");
        let spaced = BODY.replace(':', ": ");
        for body in [pretty, spaced] {
            assert_eq!(
                verify_signature(&ring(), SystemTime::now(), ROUTE, body.as_bytes(), C6),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn the_free_verification_refuses_an_empty_key() {
        let empty = SecretString::from("");
        // A signature made with the empty key, which anyone can compute.
        let forged = sign(&empty, ROUTE, BODY.as_bytes());
        let now = SystemTime::now();
        assert_eq!(
            verify_signature(
                &KeyRing::new(empty.clone()),
                now,
                ROUTE,
                BODY.as_bytes(),
                &forged
            ),
            Err(SignatureError::EmptyKey)
        );
        let with_empty_previous = ring().with_previous(empty, now + Duration::from_secs(60));
        assert_eq!(
            verify_signature(&with_empty_previous, now, ROUTE, BODY.as_bytes(), C6),
            Err(SignatureError::EmptyKey)
        );
    }

    #[test]
    fn wrong_path_prefix_fails() {
        let prefixed = sign(
            &SecretString::from(KEY),
            "/dg/api/v1/credit-pay/notify",
            BODY.as_bytes(),
        );
        assert_eq!(check(&prefixed), Err(SignatureError::Mismatch));
        let v = InboundVerifier::new("/dg/api/v1/credit-pay/notify", ring()).expect("config");
        assert!(matches!(
            v.verify(&headers("signature", C6), BODY.as_bytes()),
            Err(Error::Signature(SignatureError::Mismatch))
        ));
    }

    #[test]
    fn query_included_fails() {
        let with_query = sign(
            &SecretString::from(KEY),
            &format!("{ROUTE}?plat_id=1"),
            BODY.as_bytes(),
        );
        assert_eq!(check(&with_query), Err(SignatureError::Mismatch));
        assert!(InboundVerifier::new(format!("{ROUTE}?plat_id=1"), ring()).is_err());
    }

    #[test]
    fn old_key_verifies_only_inside_its_window() {
        let until = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let keys = KeyRing::new(SecretString::from("new-key"))
            .with_previous(SecretString::from(KEY), until);
        let clock = ManualClock::at_unix_seconds(1_700_000_000);
        let v = InboundVerifier::new(ROUTE, keys)
            .expect("config")
            .with_clock(Arc::new(clock.clone()));
        assert!(v.verify(&headers("signature", C6), BODY.as_bytes()).is_ok());
        clock.advance(Duration::from_secs(1));
        assert!(matches!(
            v.verify(&headers("signature", C6), BODY.as_bytes()),
            Err(Error::Signature(SignatureError::Mismatch))
        ));
    }

    #[test]
    fn current_key_signs_and_verifies_during_rotation() {
        let until = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let keys =
            KeyRing::new(SecretString::from(KEY)).with_previous(SecretString::from("old"), until);
        let v = InboundVerifier::new(ROUTE, keys)
            .expect("config")
            .with_clock(Arc::new(ManualClock::at_unix_seconds(1_800_000_000)));
        assert!(v.verify(&headers("signature", C6), BODY.as_bytes()).is_ok());
    }

    #[test]
    fn missing_header_fails() {
        assert!(matches!(
            verifier().verify(&HeaderMap::new(), BODY.as_bytes()),
            Err(Error::Signature(SignatureError::Missing))
        ));
    }

    #[test]
    fn empty_signature_fails() {
        assert_eq!(check(""), Err(SignatureError::Empty));
        assert!(matches!(
            verifier().verify(&headers("signature", ""), BODY.as_bytes()),
            Err(Error::Signature(SignatureError::Empty))
        ));
    }

    #[test]
    fn misspelt_signerature_header_is_accepted() {
        assert!(
            verifier()
                .verify(&headers("signerature", C6), BODY.as_bytes())
                .is_ok()
        );
    }

    #[test]
    fn repeated_or_conflicting_signature_headers_are_refused() {
        let mut h = headers("signature", C6);
        h.append(
            "signature",
            HeaderValue::from_static("AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        );
        assert_eq!(presented_signature(&h), Err(SignatureError::Repeated));
        let mut h = headers("signature", C6);
        h.append(
            "signerature",
            HeaderValue::from_static("AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        );
        assert_eq!(presented_signature(&h), Err(SignatureError::Repeated));
        let mut h = headers("signature", C6);
        h.append("signerature", HeaderValue::from_static(C6));
        assert_eq!(presented_signature(&h), Ok(C6));
        // The same name twice is refused even with the same value, under either spelling.
        for name in ["signature", "signerature"] {
            let mut h = headers(name, C6);
            h.append(name, HeaderValue::from_static(C6));
            assert_eq!(
                presented_signature(&h),
                Err(SignatureError::Repeated),
                "{name}"
            );
        }
    }

    #[test]
    fn bodies_over_the_limit_are_refused_before_verifying() {
        let v = verifier().with_max_body_bytes(16);
        assert!(matches!(
            v.verify(&headers("signature", C6), BODY.as_bytes()),
            Err(Error::BodyTooLarge { limit: 16 })
        ));
    }

    #[test]
    fn unsigned_headers_are_collected_and_the_token_is_a_secret() {
        let mut h = headers("signature", C6);
        h.insert("token", HeaderValue::from_static("sentinel-token"));
        h.insert("trace", HeaderValue::from_static("tr-1"));
        h.insert("lang", HeaderValue::from_static("zh-CN"));
        h.insert("timestamp", HeaderValue::from_static("1732521424191"));
        let got = verifier().verify(&h, BODY.as_bytes()).expect("verifies");
        assert!(
            got.token
                .as_ref()
                .is_some_and(|t| t.ct_eq("sentinel-token"))
        );
        assert_eq!(got.trace.as_deref(), Some("tr-1"));
        assert_eq!(got.lang.as_deref(), Some("zh-CN"));
        assert_eq!(got.timestamp.as_deref(), Some("1732521424191"));
        assert!(!format!("{got:?}").contains("sentinel"));
    }

    #[test]
    fn configuration_is_validated() {
        assert!(InboundVerifier::new("notify", ring()).is_err());
        assert!(InboundVerifier::new(ROUTE, KeyRing::new(SecretString::from(""))).is_err());
    }
}
