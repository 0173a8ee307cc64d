//! [`VerifySessionResponder`]: the `verify_session` answers from the operator's own sessions.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use gameauth_core::{AuthError, TokenVerifier, VerifyRequest};
use http::{Request, Response, StatusCode};

use super::{CallbackVerifier, SessionData, answer, sign_header};
use crate::code::OmgCode;

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
