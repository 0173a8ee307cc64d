//! The HTTP answers of the inbound handlers, as framework-neutral `http::Response<Bytes>`.

use bytes::Bytes;
use gameauth_core::AuthError;
use http::{HeaderValue, Response, StatusCode};

use crate::error::Error;

/// A JSON answer with `status`.
pub(crate) fn json(status: StatusCode, body: Bytes) -> Response<Bytes> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// An error answer `{"code":<status>,"msg":"<message>"}`; `message` is a fixed text of ours.
pub(crate) fn failure(status: StatusCode, message: &str) -> Response<Bytes> {
    let body = serde_json::json!({ "code": status.as_u16(), "msg": message });
    json(status, Bytes::from(body.to_string()))
}

/// The answer to a request that failed inbound verification or decoding.
pub(crate) fn for_error(err: &Error) -> Response<Bytes> {
    match err {
        Error::BodyTooLarge { .. } => failure(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
        Error::Signature(_) => failure(StatusCode::UNAUTHORIZED, "invalid signature"),
        Error::Decode(_) | Error::InvalidInput(_) => {
            failure(StatusCode::BAD_REQUEST, "malformed request")
        }
        Error::Store(_) => failure(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable"),
        _ => failure(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

/// The answer when a host hook (token verifier, credit-limit source, webhook sink) failed.
///
/// An outage is 503 so Credit Pay retries; only a definitive rejection is 403.
pub(crate) fn for_host_error(err: &AuthError) -> Response<Bytes> {
    match err {
        AuthError::Rejected { .. } => failure(StatusCode::FORBIDDEN, "rejected"),
        AuthError::Store(_)
        | AuthError::Unavailable(_)
        | AuthError::Transport(_)
        | AuthError::OutcomeUnknown => {
            failure(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable")
        }
        _ => failure(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

/// 405 for anything but POST.
pub(crate) fn method_not_allowed() -> Response<Bytes> {
    let mut r = failure(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    r.headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static("POST"));
    r
}
