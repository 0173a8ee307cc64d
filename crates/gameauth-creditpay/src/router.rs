//! axum routes for the inbound side (feature `axum`).
//!
//! The routes read the body with a hard size cap (413 beyond it) and a read deadline (408), then
//! hand the raw request to [`CreditLimitHandler`] or [`WebhookHandler`]. Mount them with
//! `Router::merge`; each is served at its handler's configured route path.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::routing::post;
use bytes::Bytes;
use gameauth_core::inbound::{BodyError, read_body};
use http::StatusCode;

use crate::client::PROVIDER;
use crate::inbound::credit_limit::CreditLimitHandler;
use crate::inbound::reply;
use crate::webhook::WebhookHandler;

/// How long a client may take to send the whole body.
pub const BODY_READ_TIMEOUT: Duration = gameauth_core::inbound::DEFAULT_BODY_READ_TIMEOUT;

/// A router serving `POST <route path>` with the credit-limit handler.
pub fn credit_limit_router(handler: Arc<CreditLimitHandler>) -> Router {
    let path = handler.route_path().to_owned();
    Router::new().route(
        &path,
        post(move |request: Request| {
            let handler = Arc::clone(&handler);
            async move {
                match read_request(request, handler.max_body_bytes(), "credit_limit").await {
                    Ok(request) => into_axum(handler.handle(request).await),
                    Err(refused) => into_axum(refused),
                }
            }
        }),
    )
}

/// A router serving `POST <route path>` with the webhook handler.
pub fn webhook_router(handler: Arc<WebhookHandler>) -> Router {
    let path = handler.route_path().to_owned();
    Router::new().route(
        &path,
        post(move |request: Request| {
            let handler = Arc::clone(&handler);
            async move {
                match read_request(request, handler.max_body_bytes(), "webhook").await {
                    Ok(request) => into_axum(handler.handle(request).await),
                    Err(refused) => into_axum(refused),
                }
            }
        }),
    )
}

/// Reads an axum request into an `http::Request<Bytes>`, refusing bodies over `limit` bytes
/// (413, a declared `Content-Length` before reading anything) without buffering them and bodies that take longer than [`BODY_READ_TIMEOUT`] (408).
///
/// # Errors
///
/// Returns the ready failure response to send instead: `413 Payload Too Large` when the declared
/// `Content-Length` or the body exceeds `limit` bytes, `408 Request Timeout` when it is not complete within
/// [`BODY_READ_TIMEOUT`], and `400 Bad Request` when reading it fails otherwise.
/// A refusal is counted in `gameauth_inbound_callbacks_total{provider="creditpay",kind}` with
/// `kind` the route's label (`credit_limit` or `webhook`).
///
/// # Errors
///
/// As above.
pub async fn read_request(
    request: Request,
    limit: usize,
    kind: &'static str,
) -> Result<http::Request<Bytes>, http::Response<Bytes>> {
    let (parts, body) = request.into_parts();
    match read_body(&parts.headers, body, limit, BODY_READ_TIMEOUT).await {
        Ok(bytes) => Ok(http::Request::from_parts(parts, bytes)),
        Err(e) => {
            gameauth_core::telemetry::inbound_callback(PROVIDER, kind, e.outcome_label());
            Err(match e {
                BodyError::TooLarge => {
                    reply::failure(StatusCode::PAYLOAD_TOO_LARGE, "body too large")
                }
                BodyError::TimedOut => {
                    reply::failure(StatusCode::REQUEST_TIMEOUT, "body not received in time")
                }
                _ => reply::failure(StatusCode::BAD_REQUEST, "unreadable body"),
            })
        }
    }
}

/// Converts a handler's answer into an axum response.
pub fn into_axum(response: http::Response<Bytes>) -> axum::response::Response {
    response.map(axum::body::Body::from)
}
