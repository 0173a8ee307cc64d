//! The crate's error type and its conversion into the core [`AuthError`].

use std::time::Duration;

use gameauth_core::{AuthError, DecodeError, TransportError};

use crate::code::ResponseCode;

/// Why an inbound signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// Neither `signature` nor `signerature` was sent.
    #[error("signature header missing")]
    Missing,
    /// The signature header was sent more than once, or under both spellings with different
    /// values.
    #[error("signature header repeated")]
    Repeated,
    /// The header was present but empty.
    #[error("signature header empty")]
    Empty,
    /// The value is not the signature of the configured path and the raw body under any key
    /// currently accepted (wrong size, malformed base64 or a different MAC).
    #[error("signature mismatch")]
    Mismatch,
    /// A key of the ring is empty: anyone can compute a signature under an empty key, so
    /// nothing verifies (a configuration error, never the sender's fault).
    #[error("the signature key is empty")]
    EmptyKey,
}

/// Everything that can go wrong talking to Credit Pay or checking what it sends.
///
/// No variant carries a URL, a header value, a body or a key.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request was refused before anything was sent: the input can never be valid.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The client or handler is misconfigured.
    #[error("configuration error: {0}")]
    Config(String),
    /// No HTTP response was obtained, and no byte of the request may have reached Credit Pay
    /// (or the failure is not ambiguous about it).
    #[error(transparent)]
    Transport(TransportError),
    /// `identify/auth` was sent but no answer arrived in time (or the connection broke after
    /// sending): Credit Pay may or may not have issued a code. Do not blindly repeat the call.
    #[error("outcome unknown: the request was sent but no answer arrived")]
    OutcomeUnknown,
    /// Credit Pay answered with an HTTP status other than 200.
    #[error("unexpected HTTP status {status}")]
    HttpStatus {
        /// The status code.
        status: u16,
        /// The server's `Retry-After`, when it sent one in seconds.
        retry_after: Option<Duration>,
    },
    /// Credit Pay answered HTTP 200 with a non-zero `code`.
    #[error("Credit Pay answered code {}: {message}", .code.as_i64())]
    Rejected {
        /// The typed code.
        code: ResponseCode,
        /// Credit Pay's `msg`, sanitised.
        message: String,
    },
    /// The response (or an inbound body) did not match the documented shape.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// An inbound signature did not verify.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// An inbound body exceeded the size limit.
    #[error("body exceeds {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The webhook de-duplication store failed; the delivery must not be acknowledged.
    #[error("store unavailable: {0}")]
    Store(String),
}

#[cfg(feature = "redis")]
impl From<gameauth_core::redis::RedisFailure> for Error {
    fn from(failure: gameauth_core::redis::RedisFailure) -> Self {
        match failure {
            gameauth_core::redis::RedisFailure::Config(m) => Error::Config(m),
            other => Error::Store(other.to_string()),
        }
    }
}

impl From<Error> for AuthError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidInput(m) => AuthError::InvalidInput(m),
            Error::Config(m) => AuthError::Config(m),
            Error::Transport(t) => AuthError::Transport(t),
            Error::OutcomeUnknown => AuthError::OutcomeUnknown,
            Error::HttpStatus {
                status,
                retry_after,
            } => AuthError::HttpStatus {
                status,
                retry_after,
            },
            Error::Rejected { code, message } => AuthError::rejected(code.as_i64(), message),
            Error::Decode(d) => AuthError::Decode(d),
            Error::Signature(_) => AuthError::Signature,
            Error::BodyTooLarge { limit } => {
                AuthError::InvalidInput(format!("body exceeds {limit} bytes"))
            }
            Error::Store(m) => AuthError::Store(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_500_is_the_typed_server_error_and_others_are_kept() {
        assert_eq!(ResponseCode::from_i64(500), ResponseCode::ServerError);
        assert_eq!(ResponseCode::from_i64(4001), ResponseCode::Other(4001));
        assert_eq!(ResponseCode::Other(-7).as_i64(), -7);
        assert_eq!(ResponseCode::ServerError.to_string(), "500 (server error)");
        // The error's text keeps the bare number.
        let e = Error::Rejected {
            code: ResponseCode::ServerError,
            message: "busy".into(),
        };
        assert_eq!(e.to_string(), "Credit Pay answered code 500: busy");
    }

    #[test]
    fn errors_convert_into_the_core_error_by_meaning() {
        let e: AuthError = Error::OutcomeUnknown.into();
        assert!(matches!(e, AuthError::OutcomeUnknown));
        let e: AuthError = Error::Rejected {
            code: ResponseCode::Other(4001),
            message: "bad".into(),
        }
        .into();
        assert!(matches!(e, AuthError::Rejected { code: 4001, .. }));
        let e: AuthError = Error::Signature(SignatureError::Mismatch).into();
        assert!(matches!(e, AuthError::Signature));
        let e: AuthError = Error::Store("down".into()).into();
        assert!(matches!(e, AuthError::Store(_)));
    }
}
