//! The crate's error type and its conversion into the core [`AuthError`].

use std::time::Duration;

use gameauth_core::outbound::CallError;
use gameauth_core::{AuthError, DecodeError, TransportError};

use crate::code::OmgCode;

/// What went wrong with a call to OMG.
///
/// No variant carries a URL, a header value, a body or a key.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No HTTP response was obtained (and, for a state-creating call, nothing was sent).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// OMG answered with an HTTP status other than 200.
    #[error("unexpected HTTP status {status}")]
    HttpStatus {
        /// The status code.
        status: u16,
        /// The server's `Retry-After`, when it sent one in seconds.
        retry_after: Option<Duration>,
    },
    /// OMG answered HTTP 200 with a non-success code.
    #[error("OMG rejected the request with code {code}: {message}")]
    Rejected {
        /// The typed code; unknown codes are [`OmgCode::Other`].
        code: OmgCode,
        /// OMG's message, sanitised.
        message: String,
    },
    /// The response is not the documented JSON (for example an HTML page with status 200).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The request was refused before sending because it cannot be valid.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The client is misconfigured.
    #[error("configuration error: {0}")]
    Config(String),
    /// The player token request was sent but no answer arrived: OMG may or may not have issued
    /// a token. It is not repeated automatically.
    #[error("outcome unknown: the request was sent but no answer arrived")]
    OutcomeUnknown,
}

impl Error {
    /// Whether repeating the same call later may succeed without any change on our side.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(t) => t.is_retryable(),
            Self::HttpStatus { status, .. } => *status == 429 || *status >= 500,
            Self::Rejected { code, .. } => *code == OmgCode::TooFrequent,
            _ => false,
        }
    }

    /// The error of a call that got no usable answer from the call engine.
    pub(crate) fn from_call(e: CallError) -> Self {
        match e {
            CallError::OutcomeUnknown(_) => Self::OutcomeUnknown,
            other => Self::Transport(other.into_transport_error()),
        }
    }

    /// The OMG code, when OMG rejected the request.
    pub fn code(&self) -> Option<OmgCode> {
        match self {
            Self::Rejected { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl From<Error> for AuthError {
    fn from(e: Error) -> Self {
        match e {
            Error::Transport(t) => AuthError::Transport(t),
            Error::HttpStatus {
                status,
                retry_after,
            } => AuthError::HttpStatus {
                status,
                retry_after,
            },
            Error::Rejected { code, message } => AuthError::rejected(code.as_i64(), message),
            Error::Decode(d) => AuthError::Decode(d),
            Error::InvalidInput(m) => AuthError::InvalidInput(m),
            Error::Config(m) => AuthError::Config(m),
            Error::OutcomeUnknown => AuthError::OutcomeUnknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_keep_their_numeric_code_in_the_core_error() {
        let e = Error::Rejected {
            code: OmgCode::Other(10099),
            message: "new".into(),
        };
        assert!(matches!(
            AuthError::from(e),
            AuthError::Rejected { code: 10099, .. }
        ));
        let e = Error::Rejected {
            code: OmgCode::SignInvalid,
            message: "sign invalid".into(),
        };
        assert!(matches!(
            AuthError::from(e),
            AuthError::Rejected { code: 10002, .. }
        ));
    }

    #[test]
    fn every_variant_converts_to_its_core_counterpart() {
        let status = Error::HttpStatus {
            status: 503,
            retry_after: Some(Duration::from_secs(2)),
        };
        assert!(matches!(
            AuthError::from(status),
            AuthError::HttpStatus { status: 503, retry_after: Some(d) } if d == Duration::from_secs(2)
        ));
        assert!(matches!(
            AuthError::from(Error::OutcomeUnknown),
            AuthError::OutcomeUnknown
        ));
        assert!(matches!(
            AuthError::from(Error::InvalidInput("x".into())),
            AuthError::InvalidInput(_)
        ));
        assert!(matches!(
            AuthError::from(Error::Config("x".into())),
            AuthError::Config(_)
        ));
        assert!(matches!(
            AuthError::from(Error::Decode(DecodeError::new("$", "invalid JSON"))),
            AuthError::Decode(_)
        ));
    }

    #[test]
    fn retryable_classification() {
        assert!(
            Error::HttpStatus {
                status: 502,
                retry_after: None
            }
            .is_retryable()
        );
        assert!(
            Error::HttpStatus {
                status: 429,
                retry_after: None
            }
            .is_retryable()
        );
        assert!(
            !Error::HttpStatus {
                status: 400,
                retry_after: None
            }
            .is_retryable()
        );
        assert!(!Error::OutcomeUnknown.is_retryable());
        assert!(
            !Error::Rejected {
                code: OmgCode::SignInvalid,
                message: String::new()
            }
            .is_retryable()
        );
    }
}
