//! The one place where internal errors become wire answers.
//!
//! Vegas Lounge expects `{"errorCode": <int>, "error": "<text>"}` with the HTTP statuses of its
//! error table; RFC 6749 clients expect `{"error": "<class>", "error_description": "<text>"}`.
//! [`ErrorStyle`] picks one. Texts are fixed strings: never an echo of the input, never CR/LF/TAB.

use std::time::Duration;

use http::StatusCode;
use serde::Serialize;

use crate::error::{ErrorKind, OAuthError, Reason};

/// Which error body the server emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ErrorStyle {
    /// Vegas Lounge's `{"errorCode": n, "error": "text"}` with its table's statuses (the default).
    #[default]
    VegasLounge,
    /// RFC 6749 / RFC 6750 `{"error": "class", "error_description": "text"}`.
    Rfc6749,
}

/// Vegas Lounge's `errorCode` 1001 text.
pub const VL_TEXT_1001: &str = "Authorization code is not valid.";
/// Vegas Lounge's text for an expired authorization code (token section of the docs).
pub const VL_TEXT_CODE_EXPIRED: &str = "Authorization code has expired";
/// Vegas Lounge's `errorCode` 1003 text, used for "service unavailable".
pub const VL_TEXT_UNAVAILABLE: &str = "Service unavailable";
/// Vegas Lounge's `errorCode` 1004 text.
pub const VL_TEXT_1004: &str = "Auth token has expired";
/// Vegas Lounge's `errorCode` 1005 text.
pub const VL_TEXT_1005: &str = "The account is disabled.";
/// Vegas Lounge's `errorCode` 1007 text.
pub const VL_TEXT_1007: &str = "Validation error. Don't retry.";

/// How an error looks on the wire: status, Vegas Lounge code and text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlError {
    /// HTTP status in the Vegas Lounge style.
    pub status: StatusCode,
    /// Vegas Lounge `errorCode`.
    pub code: u16,
    /// Vegas Lounge `error` text.
    pub text: &'static str,
}

/// The Vegas Lounge mapping of an error (the table of the contract, plus our decisions for
/// situations the table does not list: 403, 405, 408, 413, 429, 503).
pub fn vegaslounge_error(err: &OAuthError) -> VlError {
    let (status, code, text) = match err.reason() {
        Reason::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, 1007, VL_TEXT_1007),
        Reason::BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, 1007, VL_TEXT_1007),
        Reason::BodyTimeout => (StatusCode::REQUEST_TIMEOUT, 1007, VL_TEXT_1007),
        Reason::CodeExpired => (StatusCode::UNAUTHORIZED, 1001, VL_TEXT_CODE_EXPIRED),
        Reason::TokenExpired => (StatusCode::UNAUTHORIZED, 1004, VL_TEXT_1004),
        Reason::AccountDisabled => (StatusCode::UNAUTHORIZED, 1005, VL_TEXT_1005),
        Reason::IpNotAllowed => (StatusCode::FORBIDDEN, 1001, err.description()),
        Reason::AccessDenied => (StatusCode::FORBIDDEN, 1001, err.description()),
        Reason::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, 1001, err.description()),
        _ => match err.kind() {
            ErrorKind::InvalidRequest
            | ErrorKind::UnsupportedGrantType
            | ErrorKind::UnsupportedResponseType => (StatusCode::BAD_REQUEST, 1007, VL_TEXT_1007),
            ErrorKind::InvalidClient
            | ErrorKind::InvalidGrant
            | ErrorKind::UnauthorizedClient
            | ErrorKind::InvalidToken
            | ErrorKind::AccessDenied
            | ErrorKind::TooManyRequests => (StatusCode::UNAUTHORIZED, 1001, VL_TEXT_1001),
            ErrorKind::ServerError => (StatusCode::SERVICE_UNAVAILABLE, 1003, VL_TEXT_UNAVAILABLE),
        },
    };
    VlError { status, code, text }
}

/// The HTTP status of an error in the RFC 6749 style.
pub fn rfc_status(err: &OAuthError) -> StatusCode {
    match err.reason() {
        Reason::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Reason::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Reason::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
        _ => match err.kind() {
            ErrorKind::InvalidClient | ErrorKind::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorKind::AccessDenied => StatusCode::FORBIDDEN,
            ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::ServerError => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::InvalidRequest
            | ErrorKind::InvalidGrant
            | ErrorKind::UnauthorizedClient
            | ErrorKind::UnsupportedGrantType
            | ErrorKind::UnsupportedResponseType => StatusCode::BAD_REQUEST,
        },
    }
}

/// An error rendered for the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body.
    pub body: String,
    /// `Retry-After` in whole seconds, for throttling.
    pub retry_after_secs: Option<u64>,
}

#[derive(Serialize)]
struct VlBody<'a> {
    #[serde(rename = "errorCode")]
    error_code: u16,
    error: &'a str,
}

#[derive(Serialize)]
struct RfcBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// Renders `err` in `style`.
pub fn render_error(err: &OAuthError, style: ErrorStyle) -> ErrorResponse {
    let (status, body) = match style {
        ErrorStyle::VegasLounge => {
            let vl = vegaslounge_error(err);
            let body = VlBody {
                error_code: vl.code,
                error: vl.text,
            };
            (vl.status, to_json(&body))
        }
        ErrorStyle::Rfc6749 => {
            let body = RfcBody {
                error: err.kind().as_str(),
                error_description: err.description(),
            };
            (rfc_status(err), to_json(&body))
        }
    };
    ErrorResponse {
        status,
        body,
        retry_after_secs: err.retry_after().map(ceil_secs),
    }
}

fn ceil_secs(d: Duration) -> u64 {
    let s = d.as_secs();
    if d.subsec_nanos() > 0 {
        s + 1
    } else {
        s.max(1)
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Serialising a struct of strings and integers into a String cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| String::from("{}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vl(r: Reason) -> (u16, String) {
        let e = render_error(&OAuthError::new(r), ErrorStyle::VegasLounge);
        (e.status.as_u16(), e.body)
    }

    #[test]
    fn vegaslounge_table_statuses_and_codes() {
        assert_eq!(
            vl(Reason::CodeReplayed),
            (
                401,
                r#"{"errorCode":1001,"error":"Authorization code is not valid."}"#.into()
            )
        );
        assert_eq!(
            vl(Reason::CodeExpired),
            (
                401,
                r#"{"errorCode":1001,"error":"Authorization code has expired"}"#.into()
            )
        );
        assert_eq!(
            vl(Reason::TokenExpired),
            (
                401,
                r#"{"errorCode":1004,"error":"Auth token has expired"}"#.into()
            )
        );
        assert_eq!(
            vl(Reason::AccountDisabled),
            (
                401,
                r#"{"errorCode":1005,"error":"The account is disabled."}"#.into()
            )
        );
        assert_eq!(
            vl(Reason::UnsupportedGrantType),
            (
                400,
                r#"{"errorCode":1007,"error":"Validation error. Don't retry."}"#.into()
            )
        );
        assert_eq!(vl(Reason::ClientAuthenticationFailed).0, 401);
        assert_eq!(vl(Reason::StoreUnavailable).0, 503);
    }

    #[test]
    fn rfc_style_uses_error_and_description() {
        let e = render_error(&OAuthError::new(Reason::CodeReplayed), ErrorStyle::Rfc6749);
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            e.body,
            r#"{"error":"invalid_grant","error_description":"the authorization code was already used"}"#
        );
        let e = render_error(
            &OAuthError::new(Reason::ClientAuthenticationFailed),
            ErrorStyle::Rfc6749,
        );
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn throttling_carries_retry_after_rounded_up() {
        let e = render_error(
            &OAuthError::new(Reason::Throttled(Duration::from_millis(1500))),
            ErrorStyle::VegasLounge,
        );
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.retry_after_secs, Some(2));
    }
}
