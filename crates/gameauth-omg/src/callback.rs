//! Inbound OMG callbacks (`POST {AGENT_URL}/api/luck/...`): verification and the
//! `verify_session` responder.
//!
//! [`CallbackVerifier`] works for any callback path. It checks, in this order and before any JSON
//! parsing: the body size, the single-`trace_id` query rule (any printable ASCII `trace_id` of up
//! to 128 bytes by default, a stricter [`TraceIdRule`] as a setting) and the signature (current
//! key, or the previous key inside its rotation window). Callbacks whose `timestamp` is signed and that move
//! no money (`verify_session`, `get_balance`) additionally pass a freshness window (default
//! ±300 s, configurable, can be disabled). `change_balance` relies on its `order_id` idempotency
//! instead, so [`CallbackVerifier::verify`] applies no window.
//!
//! [`VerifySessionResponder`] answers `verify_session` with the operator's own
//! [`TokenVerifier`] and produces the documented JSON answers as `http::Response<Bytes>`, so any
//! HTTP framework can send them.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gameauth_core::lenient::{
    decode_signed_object, i64_lenient, opt_i64_lenient, string_or_number,
};
use gameauth_core::{
    AuthError, Clock, DecodeError, KeyRing, PlayerToken, SystemClock, TokenVerifier, VerifyRequest,
};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::code::OmgCode;
use crate::error::Error;
use crate::request::JSON_CONTENT_TYPE;
use crate::sign::SIGN_HEADER;
use crate::verify::{SignatureError, TraceIdRule, verify};

/// Path of the `verify_session` callback on the operator's host.
pub const VERIFY_SESSION_PATH: &str = "/api/luck/user/verify_session";

/// Path of the `get_balance` callback on the operator's host.
pub const GET_BALANCE_PATH: &str = "/api/luck/balance/get_balance";

/// Path of the `change_balance` callback on the operator's host.
pub const CHANGE_BALANCE_PATH: &str = "/api/luck/balance/change_balance";

/// Largest callback body accepted: 1 MiB. Larger bodies answer HTTP 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Default freshness window of signed `timestamp`s: ±300 s.
pub const DEFAULT_FRESHNESS_WINDOW: Duration = Duration::from_secs(300);

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The body exceeds [`MAX_BODY_BYTES`].
    #[error("callback body is too large")]
    BodyTooLarge,
    /// The query, the `sign` header or the signature is wrong.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The signed body is not the documented JSON.
    #[error(transparent)]
    Malformed(#[from] DecodeError),
    /// The signed `timestamp` is outside the freshness window.
    #[error("timestamp is outside the freshness window")]
    Stale {
        /// The presented timestamp (Unix seconds).
        timestamp: i64,
        /// Our clock when it was checked (Unix seconds).
        now: i64,
    },
}

impl CallbackError {
    /// The code of the JSON answer.
    ///
    /// Every failure before the body is trusted answers `10002 sign invalid`, so a caller learns
    /// nothing about which check failed. A stale `timestamp` answers `10009 illegal parameter`:
    /// the signature was fine, but the request is refused, and OMG (which signs with the same
    /// clock every time) will not be helped by repeating it.
    pub fn code(&self) -> OmgCode {
        match self {
            Self::Signature(_) => OmgCode::SignInvalid,
            Self::BodyTooLarge | Self::Malformed(_) | Self::Stale { .. } => {
                OmgCode::IllegalParameter
            }
        }
    }

    /// The `outcome` label of the `gameauth_inbound_callbacks_total` metric for this refusal:
    /// `too_large`, `signature`, `malformed` or `stale`.
    pub fn outcome_label(&self) -> &'static str {
        match self {
            Self::BodyTooLarge => "too_large",
            Self::Signature(_) => "signature",
            Self::Malformed(_) => "malformed",
            Self::Stale { .. } => "stale",
        }
    }

    /// The answer to send: HTTP 413 for an oversized body, otherwise HTTP 200 with the JSON
    /// code (for example `{"code":10002,"msg":"sign invalid"}`).
    pub fn to_response(&self) -> Response<Bytes> {
        let (status, msg) = match self {
            Self::BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
            Self::Signature(_) => (StatusCode::OK, "sign invalid"),
            Self::Malformed(_) => (StatusCode::OK, "illegal parameter"),
            Self::Stale { .. } => (StatusCode::OK, "timestamp outside the accepted window"),
        };
        answer(status, self.code(), msg, None)
    }
}

impl From<CallbackError> for AuthError {
    fn from(e: CallbackError) -> Self {
        match e {
            CallbackError::Signature(_) => AuthError::Signature,
            CallbackError::Malformed(d) => AuthError::Decode(d),
            other => AuthError::InvalidInput(other.to_string()),
        }
    }
}

/// A callback whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedCallback {
    /// OMG's `trace_id`, as on the request line.
    pub trace_id: String,
}

/// A verified, fresh `verify_session` callback.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifySession {
    /// OMG's `trace_id`.
    pub trace_id: String,
    /// The merchant id OMG called for.
    pub app_id: String,
    /// The signed timestamp (Unix seconds).
    pub timestamp: i64,
    /// The operator's own session token, as sent to `/api/usr/ingame`.
    pub operator_player_session: PlayerToken,
    /// The game being opened.
    pub game_id: Option<i64>,
    /// The player's IP address as OMG saw it.
    pub ip: Option<String>,
    /// Free text the operator attached to the launch.
    pub custom_parameter: Option<String>,
}

#[derive(Deserialize)]
struct VerifySessionBody {
    #[serde(deserialize_with = "string_or_number")]
    app_id: String,
    #[serde(deserialize_with = "i64_lenient")]
    timestamp: i64,
    operator_player_session: PlayerToken,
    #[serde(default, deserialize_with = "opt_i64_lenient")]
    game_id: Option<i64>,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    custom_parameter: Option<String>,
}

#[derive(Deserialize)]
struct Timestamped {
    #[serde(deserialize_with = "i64_lenient")]
    timestamp: i64,
}

/// Verifies OMG callbacks for any path.
#[derive(Clone)]
pub struct CallbackVerifier {
    keys: KeyRing,
    clock: Arc<dyn Clock>,
    freshness: Option<Duration>,
    trace_id_rule: TraceIdRule,
}

impl std::fmt::Debug for CallbackVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackVerifier")
            .field("keys", &self.keys)
            .field("freshness", &self.freshness)
            .field("trace_id_rule", &self.trace_id_rule)
            .finish_non_exhaustive()
    }
}

impl CallbackVerifier {
    /// A builder; a key is required.
    pub fn builder() -> CallbackVerifierBuilder {
        CallbackVerifierBuilder::default()
    }

    /// Checks size, query rule and signature, without parsing the body: for any callback,
    /// including `change_balance`, which needs no freshness window.
    ///
    /// `raw_query` is the query exactly as on the request line (`request.uri().query()`), `body`
    /// the exact body bytes and `sign` the `sign` header (see [`sign_header`]).
    ///
    /// # Errors
    ///
    /// * [`CallbackError::BodyTooLarge`] when `body` exceeds [`MAX_BODY_BYTES`] (1 MiB),
    ///   checked first;
    /// * [`CallbackError::Signature`] when `sign` is missing or empty
    ///   ([`MissingSign`](SignatureError::MissingSign)), the query is not exactly one
    ///   `trace_id` following the configured [`TraceIdRule`]
    ///   ([`InvalidQuery`](SignatureError::InvalidQuery)), or the signature matches neither the
    ///   current key nor the previous key inside its rotation window
    ///   ([`Mismatch`](SignatureError::Mismatch)); see [`crate::verify::verify`].
    pub fn verify(
        &self,
        raw_query: Option<&str>,
        body: &[u8],
        sign: Option<&str>,
    ) -> Result<VerifiedCallback, CallbackError> {
        counted("callback", self.check_signature(raw_query, body, sign))
    }

    fn check_signature(
        &self,
        raw_query: Option<&str>,
        body: &[u8],
        sign: Option<&str>,
    ) -> Result<VerifiedCallback, CallbackError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(CallbackError::BodyTooLarge);
        }
        let trace = verify(
            self.trace_id_rule,
            raw_query,
            body,
            sign,
            &self.keys,
            self.clock.now(),
        )?;
        Ok(VerifiedCallback {
            trace_id: trace.to_owned(),
        })
    }

    /// [`verify`](Self::verify), then the freshness window on the body's `timestamp`: for
    /// `get_balance` and other callbacks that move no money.
    ///
    /// # Errors
    ///
    /// * [`CallbackError::BodyTooLarge`] when `body` exceeds [`MAX_BODY_BYTES`] (1 MiB),
    ///   checked first;
    /// * [`CallbackError::Signature`] when `sign` is missing or empty
    ///   ([`MissingSign`](SignatureError::MissingSign)), the query is not exactly one
    ///   `trace_id` following the configured [`TraceIdRule`]
    ///   ([`InvalidQuery`](SignatureError::InvalidQuery)), or the signature matches neither the
    ///   current key nor the previous key inside its rotation window
    ///   ([`Mismatch`](SignatureError::Mismatch)); see [`crate::verify::verify`];
    /// * [`CallbackError::Malformed`] when any object in the signed body repeats a key (same
    ///   value or not), or the body is not a JSON object with an integer `timestamp` (a number or
    ///   a string holding one);
    /// * [`CallbackError::Stale`] when that `timestamp` is outside the freshness window (see
    ///   [`check_freshness`](Self::check_freshness)).
    pub fn verify_fresh(
        &self,
        raw_query: Option<&str>,
        body: &[u8],
        sign: Option<&str>,
    ) -> Result<VerifiedCallback, CallbackError> {
        counted("callback", {
            self.check_signature(raw_query, body, sign)
                .and_then(|verified| {
                    let Timestamped { timestamp } = decode_signed_object(body)?;
                    self.check_freshness(timestamp)?;
                    Ok(verified)
                })
        })
    }

    /// Verifies a `verify_session` callback: signature, then the documented body, then the
    /// freshness window.
    ///
    /// # Errors
    ///
    /// * [`CallbackError::BodyTooLarge`] when `body` exceeds [`MAX_BODY_BYTES`] (1 MiB),
    ///   checked first;
    /// * [`CallbackError::Signature`] when `sign` is missing or empty
    ///   ([`MissingSign`](SignatureError::MissingSign)), the query is not exactly one
    ///   `trace_id` following the configured [`TraceIdRule`]
    ///   ([`InvalidQuery`](SignatureError::InvalidQuery)), or the signature matches neither the
    ///   current key nor the previous key inside its rotation window
    ///   ([`Mismatch`](SignatureError::Mismatch)); see [`crate::verify::verify`];
    /// * [`CallbackError::Malformed`] when any object in the signed body repeats a key (same
    ///   value or not), or the body is not a JSON object with `app_id` (a string or number), an integer `timestamp`, a string `operator_player_session` and, when
    ///   present and not `null`, an integer `game_id` and string `ip` and `custom_parameter`;
    /// * [`CallbackError::Stale`] when `timestamp` is outside the freshness window (see
    ///   [`check_freshness`](Self::check_freshness)).
    pub fn verify_session(
        &self,
        raw_query: Option<&str>,
        body: &[u8],
        sign: Option<&str>,
    ) -> Result<VerifySession, CallbackError> {
        counted("verify_session", self.check_session(raw_query, body, sign))
    }

    fn check_session(
        &self,
        raw_query: Option<&str>,
        body: &[u8],
        sign: Option<&str>,
    ) -> Result<VerifySession, CallbackError> {
        let VerifiedCallback { trace_id } = self.check_signature(raw_query, body, sign)?;
        let b: VerifySessionBody = decode_signed_object(body)?;
        self.check_freshness(b.timestamp)?;
        Ok(VerifySession {
            trace_id,
            app_id: b.app_id,
            timestamp: b.timestamp,
            operator_player_session: b.operator_player_session,
            game_id: b.game_id,
            ip: b.ip,
            custom_parameter: b.custom_parameter,
        })
    }

    /// Whether `timestamp` (Unix seconds) is inside the freshness window, when one is set.
    ///
    /// # Errors
    ///
    /// Returns [`CallbackError::Stale`] when a window is set and `timestamp` is more than the
    /// window away from the clock, in either direction; never fails without a window.
    pub fn check_freshness(&self, timestamp: i64) -> Result<(), CallbackError> {
        let Some(window) = self.freshness else {
            return Ok(());
        };
        let now = self.clock.unix_seconds();
        let window = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
        if now.abs_diff(timestamp) > window.unsigned_abs() {
            return Err(CallbackError::Stale { timestamp, now });
        }
        Ok(())
    }
}

/// Counts `result` in `gameauth_inbound_callbacks_total{provider="omg",kind}`.
fn counted<T>(kind: &'static str, result: Result<T, CallbackError>) -> Result<T, CallbackError> {
    let outcome = match &result {
        Ok(_) => "accepted",
        Err(e) => e.outcome_label(),
    };
    gameauth_core::telemetry::inbound_callback(crate::client::PROVIDER, kind, outcome);
    result
}

/// Builder of a [`CallbackVerifier`].
#[derive(Default)]
pub struct CallbackVerifierBuilder {
    keys: Option<KeyRing>,
    clock: Option<Arc<dyn Clock>>,
    freshness: Option<Option<Duration>>,
    trace_id_rule: TraceIdRule,
}

impl std::fmt::Debug for CallbackVerifierBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackVerifierBuilder")
            .field("keys", &self.keys)
            .field("freshness", &self.freshness)
            .field("trace_id_rule", &self.trace_id_rule)
            .finish_non_exhaustive()
    }
}

impl CallbackVerifierBuilder {
    /// The signature key (the same key the client signs with).
    pub fn key(self, key: SecretString) -> Self {
        self.key_ring(KeyRing::new(key))
    }

    /// The keys: the current one, and the previous one during a rotation window.
    pub fn key_ring(mut self, keys: KeyRing) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The clock for the freshness window and key rotation (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Accept `timestamp`s at most `window` away from our clock (default ±300 s); a wider window
    /// tolerates more clock skew between OMG and this host.
    pub fn freshness_window(mut self, window: Duration) -> Self {
        self.freshness = Some(Some(window));
        self
    }

    /// Accept any `timestamp`.
    pub fn without_freshness_window(mut self) -> Self {
        self.freshness = Some(None);
        self
    }

    /// What an inbound `trace_id` must look like (default [`TraceIdRule::DEFAULT`]: any
    /// printable ASCII of up to 128 bytes, since OMG documents no alphabet or length).
    pub fn trace_id_rule(mut self, rule: TraceIdRule) -> Self {
        self.trace_id_rule = rule;
        self
    }

    /// Validates the settings and builds the verifier.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Config`] when no key is set, or the current or the previous key is empty.
    pub fn build(self) -> Result<CallbackVerifier, Error> {
        let keys = self.keys.filter(|k| !k.is_empty()).ok_or_else(|| {
            Error::Config(
                "non-empty signature keys are required (the current one and any previous one)"
                    .into(),
            )
        })?;
        Ok(CallbackVerifier {
            keys,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            freshness: self.freshness.unwrap_or(Some(DEFAULT_FRESHNESS_WINDOW)),
            trace_id_rule: self.trace_id_rule,
        })
    }
}

/// The `sign` header of a request: `None` when it is missing, repeated or not visible ASCII.
pub fn sign_header(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(SIGN_HEADER).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()
}

/// Answers `verify_session` callbacks from the operator's own session store.
///
/// | situation | answer |
/// |---|---|
/// | body over 1 MiB | HTTP 413 |
/// | missing/bad `sign`, bad query | `10002 sign invalid` (before the body is parsed) |
/// | body not the documented JSON | `10009 illegal parameter` |
/// | `timestamp` outside the window | `10009 illegal parameter` |
/// | operator verifier: `Rejected` or `InvalidInput` | `10011` (token verification failed) |
/// | operator verifier: any other error, or no/invalid balance | `10015 internal error` |
/// | success | `code 1` with `uname`, `nickname`, `balance` |
///
/// An outage of the operator's store is never a success and never a rejection, so OMG retries.
#[derive(Clone)]
pub struct VerifySessionResponder {
    verifier: CallbackVerifier,
    sessions: Arc<dyn TokenVerifier>,
}

impl std::fmt::Debug for VerifySessionResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifySessionResponder")
            .field("verifier", &self.verifier)
            .field("sessions", &self.sessions.provider())
            .finish()
    }
}

impl VerifySessionResponder {
    /// A responder that checks callbacks with `verifier` and sessions with `sessions` (the
    /// operator's own [`TokenVerifier`] for `operator_player_session`).
    ///
    /// `sessions` must return the player's balance (an exact decimal) with the player: OMG's
    /// answer requires it.
    pub fn new(verifier: CallbackVerifier, sessions: Arc<dyn TokenVerifier>) -> Self {
        Self { verifier, sessions }
    }

    /// Answers a `verify_session` request given as its raw parts.
    pub async fn respond(
        &self,
        raw_query: Option<&str>,
        body: &[u8],
        sign: Option<&str>,
    ) -> Response<Bytes> {
        let callback = match self.verifier.verify_session(raw_query, body, sign) {
            Ok(c) => c,
            Err(e) => return e.to_response(),
        };
        if callback.operator_player_session.is_empty() {
            return token_rejected();
        }
        let mut request = VerifyRequest::new(callback.operator_player_session)
            .with_attribute("app_id", callback.app_id);
        if let Some(ip) = callback.ip {
            if let Ok(addr) = ip.parse::<IpAddr>() {
                request = request.with_client_ip(addr);
            }
            request = request.with_attribute("ip", ip);
        }
        if let Some(game_id) = callback.game_id {
            request = request.with_attribute("game_id", game_id.to_string());
        }
        if let Some(custom) = callback.custom_parameter {
            request = request.with_attribute("custom_parameter", custom);
        }
        match self.sessions.verify(&request).await {
            Ok(player) => {
                let Some(balance) = player
                    .balance
                    .filter(|b| gameauth_core::lenient::is_decimal(b))
                else {
                    return internal_error();
                };
                let nickname = player
                    .display_name
                    .unwrap_or_else(|| player.player_id.clone());
                let data = SessionData {
                    uname: player.player_id,
                    nickname,
                    balance,
                };
                answer(StatusCode::OK, OmgCode::CallbackSuccess, "ok", Some(data))
            }
            Err(AuthError::Rejected { .. } | AuthError::InvalidInput(_)) => token_rejected(),
            Err(_) => internal_error(),
        }
    }

    /// Answers a `verify_session` request: the raw query from the request line, the `sign`
    /// header and the body bytes.
    pub async fn respond_to(&self, request: &Request<Bytes>) -> Response<Bytes> {
        self.respond(
            request.uri().query(),
            request.body(),
            sign_header(request.headers()),
        )
        .await
    }
}

fn token_rejected() -> Response<Bytes> {
    answer(
        StatusCode::OK,
        OmgCode::TokenVerificationFailed,
        "player login token verification failed",
        None,
    )
}

fn internal_error() -> Response<Bytes> {
    answer(
        StatusCode::OK,
        OmgCode::InternalError,
        "internal error",
        None,
    )
}

#[derive(Serialize)]
struct SessionData {
    uname: String,
    nickname: String,
    balance: String,
}

#[derive(Serialize)]
struct Answer<'a> {
    code: i64,
    msg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<SessionData>,
}

fn answer(
    status: StatusCode,
    code: OmgCode,
    msg: &str,
    data: Option<SessionData>,
) -> Response<Bytes> {
    let answer = Answer {
        code: code.as_i64(),
        msg,
        data,
    };
    // Serialising plain strings and integers cannot fail; the fallback keeps that an
    // internal error instead of a panic.
    let body = serde_json::to_vec(&answer)
        .unwrap_or_else(|_| br#"{"code":10015,"msg":"internal error"}"#.to_vec());
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use gameauth_core::ManualClock;

    const O5_QUERY: &str = "trace_id=omgtrace000001";
    const O5_BODY: &str = r#"{"app_id":"10013","timestamp":1711954264,"operator_player_session":"50f15a92-ee8d-11ee-9a61-00ff3fae08f7","ip":"127.0.0.1","custom_parameter":"","game_id":1}"#;
    const O5_SIGN: &str = "ce6993bb75920fd40b14125702a87501";

    fn verifier(clock: &ManualClock) -> CallbackVerifier {
        CallbackVerifier::builder()
            .key(SecretString::from("39a6581c31ef3203a22edb2daa2ab6d1"))
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap()
    }

    #[test]
    fn verify_session_vector_o5_verifies_and_decodes() {
        let clock = ManualClock::at_unix_seconds(1_711_954_264);
        let s = verifier(&clock)
            .verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
            .unwrap();
        assert_eq!(s.trace_id, "omgtrace000001");
        assert_eq!(s.app_id, "10013");
        assert_eq!(s.game_id, Some(1));
        assert_eq!(s.ip.as_deref(), Some("127.0.0.1"));
        assert!(
            s.operator_player_session
                .ct_eq("50f15a92-ee8d-11ee-9a61-00ff3fae08f7")
        );
    }

    #[test]
    fn freshness_window_is_300_seconds_either_way_by_default() {
        let clock = ManualClock::at_unix_seconds(1_711_954_264 + 300);
        let v = verifier(&clock);
        assert!(
            v.verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
                .is_ok()
        );
        clock.set_unix_seconds(1_711_954_264 + 301);
        assert_eq!(
            v.verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
                .unwrap_err(),
            CallbackError::Stale {
                timestamp: 1_711_954_264,
                now: 1_711_954_565
            }
        );
        clock.set_unix_seconds(1_711_954_264 - 301);
        assert!(
            v.verify_fresh(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
                .is_err()
        );
    }

    #[test]
    fn freshness_window_is_configurable_and_can_be_disabled() {
        let clock = ManualClock::at_unix_seconds(1_711_954_264 + 100);
        let key = SecretString::from("39a6581c31ef3203a22edb2daa2ab6d1");
        let narrow = CallbackVerifier::builder()
            .key(key.clone())
            .clock(Arc::new(clock.clone()))
            .freshness_window(Duration::from_secs(60))
            .build()
            .unwrap();
        assert!(matches!(
            narrow.verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN)),
            Err(CallbackError::Stale { .. })
        ));
        let off = CallbackVerifier::builder()
            .key(key)
            .clock(Arc::new(ManualClock::at_unix_seconds(0)))
            .without_freshness_window()
            .build()
            .unwrap();
        assert!(
            off.verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
                .is_ok()
        );
    }

    #[test]
    fn freshness_window_can_be_widened() {
        let clock = ManualClock::at_unix_seconds(1_711_954_264 - 3600);
        let wide = CallbackVerifier::builder()
            .key(SecretString::from("39a6581c31ef3203a22edb2daa2ab6d1"))
            .clock(Arc::new(clock.clone()))
            .freshness_window(Duration::from_secs(3600))
            .build()
            .unwrap();
        assert!(
            wide.verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
                .is_ok()
        );
        clock.set_unix_seconds(1_711_954_264 + 3601);
        assert!(matches!(
            wide.verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN)),
            Err(CallbackError::Stale { .. })
        ));
        let widest = CallbackVerifier::builder()
            .key(SecretString::from("39a6581c31ef3203a22edb2daa2ab6d1"))
            .clock(Arc::new(ManualClock::at_unix_seconds(0)))
            .freshness_window(Duration::MAX)
            .build()
            .unwrap();
        assert!(
            widest
                .verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
                .is_ok()
        );
    }

    #[test]
    fn a_stricter_trace_id_rule_refuses_what_the_default_accepts() {
        use crate::verify::TraceIdAlphabet;
        let clock = ManualClock::at_unix_seconds(1_711_954_264);
        let key = SecretString::from("39a6581c31ef3203a22edb2daa2ab6d1");
        let query = "trace_id=omg:trace/0001";
        let sign = crate::sign::sign(query, O5_BODY.as_bytes(), &key);
        assert!(
            verifier(&clock)
                .verify_session(Some(query), O5_BODY.as_bytes(), Some(&sign))
                .is_ok()
        );
        let strict = CallbackVerifier::builder()
            .key(key)
            .clock(Arc::new(clock))
            .trace_id_rule(TraceIdRule::new(TraceIdAlphabet::Alphanumeric, 14).unwrap())
            .build()
            .unwrap();
        assert_eq!(
            strict
                .verify_session(Some(query), O5_BODY.as_bytes(), Some(&sign))
                .unwrap_err(),
            CallbackError::Signature(SignatureError::InvalidQuery)
        );
        assert!(
            strict
                .verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
                .is_ok()
        );
    }

    #[test]
    fn change_balance_style_verification_applies_no_window() {
        let clock = ManualClock::at_unix_seconds(2_000_000_000);
        let v = verifier(&clock);
        assert!(
            v.verify(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
                .is_ok()
        );
        assert!(
            v.verify_fresh(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
                .is_err()
        );
    }

    #[test]
    fn signature_is_checked_before_the_body_is_parsed() {
        let clock = ManualClock::at_unix_seconds(1_711_954_264);
        let err = verifier(&clock)
            .verify_session(Some(O5_QUERY), b"<html>not json", Some(O5_SIGN))
            .unwrap_err();
        assert_eq!(err, CallbackError::Signature(SignatureError::Mismatch));
    }

    #[test]
    fn oversized_body_is_refused_before_hashing() {
        let clock = ManualClock::at_unix_seconds(1_711_954_264);
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        let err = verifier(&clock)
            .verify(Some(O5_QUERY), &big, Some(O5_SIGN))
            .unwrap_err();
        assert_eq!(err, CallbackError::BodyTooLarge);
        assert_eq!(err.to_response().status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn sign_header_must_be_present_once() {
        let mut h = HeaderMap::new();
        assert_eq!(sign_header(&h), None);
        h.append("sign", HeaderValue::from_static("abc"));
        assert_eq!(sign_header(&h), Some("abc"));
        h.append("sign", HeaderValue::from_static("def"));
        assert_eq!(sign_header(&h), None);
    }

    #[test]
    fn verifier_debug_does_not_show_the_key() {
        let clock = ManualClock::at_unix_seconds(0);
        assert_eq!(
            format!("{:?}", verifier(&clock)),
            "CallbackVerifier { keys: KeyRing { current: \"[redacted]\", previous_valid_until: None }, \
             freshness: Some(300s), trace_id_rule: TraceIdRule { alphabet: PrintableAscii, \
             max_len: 128 }, .. }"
        );
        let b = CallbackVerifier::builder().key(SecretString::from("sentinel"));
        assert!(!format!("{b:?}").contains("sentinel"));
    }

    #[test]
    fn verify_session_debug_does_not_show_the_session_token() {
        let clock = ManualClock::at_unix_seconds(1_711_954_264);
        let s = verifier(&clock)
            .verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
            .unwrap();
        assert_eq!(
            format!("{s:?}"),
            "VerifySession { trace_id: \"omgtrace000001\", app_id: \"10013\", timestamp: 1711954264, \
             operator_player_session: PlayerToken([redacted]), game_id: Some(1), \
             ip: Some(\"127.0.0.1\"), custom_parameter: Some(\"\") }"
        );
    }
}
