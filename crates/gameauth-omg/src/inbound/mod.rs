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
//! [`TokenVerifier`](gameauth_core::TokenVerifier) and produces the documented JSON answers as `http::Response<Bytes>`, so any
//! HTTP framework can send them.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gameauth_core::lenient::{
    decode_signed_object, i64_lenient, opt_i64_lenient, string_or_number,
};
use gameauth_core::{AuthError, Clock, DecodeError, KeyRing, PlayerToken, SystemClock};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::code::OmgCode;
use crate::error::Error;
use crate::request::JSON_CONTENT_TYPE;
use crate::sign::SIGN_HEADER;
use crate::verify::{SignatureError, TraceIdRule, verify};

mod responder;
#[cfg(test)]
mod tests;

pub use responder::VerifySessionResponder;

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

#[derive(Serialize)]
pub(crate) struct SessionData {
    pub(crate) uname: String,
    pub(crate) nickname: String,
    pub(crate) balance: String,
}

#[derive(Serialize)]
struct Answer<'a> {
    code: i64,
    msg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<SessionData>,
}

pub(crate) fn answer(
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
