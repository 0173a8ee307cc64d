//! An axum handler and router for the `verify_session` callback (feature `axum`).
//!
//! The handler reads the raw query from the request line (`request.uri().query()`), the `sign`
//! header and at most 1 MiB of body (413 beyond, 408 when the body does not arrive within
//! [`BODY_TIMEOUT`]), then hands them to the [`VerifySessionResponder`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::post;
use gameauth_core::inbound::{BodyError, read_body};
use http::StatusCode;

use crate::client::PROVIDER;
use crate::inbound::{MAX_BODY_BYTES, VERIFY_SESSION_PATH, VerifySessionResponder, sign_header};

/// Time allowed for the whole callback body to arrive.
pub const BODY_TIMEOUT: Duration = gameauth_core::inbound::DEFAULT_BODY_READ_TIMEOUT;

/// A router serving `POST /api/luck/user/verify_session` with `responder`.
pub fn verify_session_router(responder: Arc<VerifySessionResponder>) -> Router {
    Router::new()
        .route(VERIFY_SESSION_PATH, post(verify_session_handler))
        .with_state(responder)
}

/// The handler behind [`verify_session_router`], for mounting on a path of your choice.
pub async fn verify_session_handler(
    State(responder): State<Arc<VerifySessionResponder>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match read_body(&parts.headers, body, MAX_BODY_BYTES, BODY_TIMEOUT).await {
        Ok(bytes) => bytes,
        Err(e) => {
            gameauth_core::telemetry::inbound_callback(
                PROVIDER,
                "verify_session",
                e.outcome_label(),
            );
            return status(match e {
                BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                BodyError::TimedOut => StatusCode::REQUEST_TIMEOUT,
                _ => StatusCode::BAD_REQUEST,
            });
        }
    };
    responder
        .respond(parts.uri.query(), &bytes, sign_header(&parts.headers))
        .await
        .map(Body::from)
}

fn status(code: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = code;
    r
}
