//! Errors of the Hive client.
//!
//! A caller tells three situations apart: Hive said no to the player (`TokenRejected`,
//! `DistributedTokenInvalid`, `IdpRejected`), our own server credentials are wrong
//! (`OAuthRejected`, `AccessTokenRejected`, `Config`), or Hive could not be reached
//! (`Unavailable`). An outage must never be shown to a player as "invalid token". No variant
//! holds a token, a secret, a URL or a body.

use std::fmt;
use std::time::Duration;

use gameauth_core::{AuthError, DecodeError, TransportErrorKind};

use crate::code::{IdpCode, OAuthCode, VerifyCode};
use crate::environment::ServedBy;

/// Why one attempt on one host did not produce an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptFailure {
    /// No HTTP response (connect error, timeout, reset, truncated response, oversized body).
    Transport(TransportErrorKind),
    /// An HTTP status that calls for the fallback (5xx or 429).
    Status(u16),
    /// A 200 whose body is not JSON (an HTML error page, a truncated document).
    NotJson,
    /// The primary was skipped because its circuit breaker is open.
    BreakerOpen,
    /// The overall deadline left no time for this attempt.
    DeadlineExceeded,
}

impl fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(kind) => write!(f, "transport failure ({kind:?})"),
            Self::Status(status) => write!(f, "HTTP status {status}"),
            Self::NotJson => f.write_str("response body is not JSON"),
            Self::BreakerOpen => f.write_str("skipped, circuit breaker open"),
            Self::DeadlineExceeded => f.write_str("no time left before the deadline"),
        }
    }
}

/// Every host that could answer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable {
    /// What happened on the primary host (the last attempt, for the retried OAuth token).
    pub primary: AttemptFailure,
    /// What happened on the fallback host; `None` when there is none for this call (sandbox,
    /// custom hosts without a fallback, the OAuth token).
    pub fallback: Option<AttemptFailure>,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "primary: {}", self.primary)?;
        match self.fallback {
            Some(fallback) => write!(f, "; fallback: {fallback}"),
            None => f.write_str("; no fallback"),
        }
    }
}

/// An error of the Hive client.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum HiveError {
    /// Hive answered token verification with a code other than success: the player is not
    /// authenticated.
    #[error("player token rejected with code {code} by the {}: {message}", .served_by.as_str())]
    TokenRejected {
        /// The result code.
        code: VerifyCode,
        /// Hive's message, sanitised.
        message: String,
        /// Which host answered.
        served_by: ServedBy,
    },
    /// Code 5001: the token is invalid in the distributed environment. Reported on its own
    /// because it is the fallback host's view, which may lag the primary.
    #[error("player token invalid in the distributed environment (5001): {message}")]
    DistributedTokenInvalid {
        /// Hive's message, sanitised.
        message: String,
        /// Which host answered.
        served_by: ServedBy,
    },
    /// Hive answered the IdP list with a code other than success.
    #[error("IdP list refused with code {code} by the {}: {message}", .served_by.as_str())]
    IdpRejected {
        /// The result code.
        code: IdpCode,
        /// Hive's message, sanitised.
        message: String,
        /// Which host answered.
        served_by: ServedBy,
    },
    /// Hive refused to issue a server OAuth token (wrong client id/secret, no permission, …).
    #[error("server OAuth token refused with code {code}: {message}")]
    OAuthRejected {
        /// The result code.
        code: OAuthCode,
        /// Hive's message, sanitised.
        message: String,
    },
    /// Hive refused our server access token even after a freshly fetched one.
    #[error("server access token refused after a refresh (code {code}): {message}")]
    AccessTokenRejected {
        /// The code that said so (`2499`, or the `token_validation.result_code`).
        code: i64,
        /// Hive's message, sanitised.
        message: String,
    },
    /// No host answered in time.
    #[error("Hive unavailable ({0})")]
    Unavailable(Unavailable),
    /// Hive answered with an HTTP status that is neither success nor a reason to try the fallback
    /// (3xx, 4xx other than 429): nothing to retry elsewhere.
    #[error("unexpected HTTP status {status}")]
    HttpStatus {
        /// The status code.
        status: u16,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The answer is JSON but not of the documented shape.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The request was refused before sending.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The client is misconfigured.
    #[error("configuration error: {0}")]
    Config(String),
}

impl From<HiveError> for AuthError {
    fn from(e: HiveError) -> Self {
        match e {
            HiveError::TokenRejected { code, message, .. } => {
                AuthError::rejected(code.as_i64(), message)
            }
            HiveError::DistributedTokenInvalid { message, .. } => {
                AuthError::rejected(VerifyCode::DistributedTokenInvalid.as_i64(), message)
            }
            HiveError::IdpRejected { code, message, .. } => {
                AuthError::rejected(code.as_i64(), message)
            }
            // Hive's own failure to issue a token is an outage; a refusal of our credentials is
            // our configuration. Neither is the player's fault, so neither becomes `Rejected`.
            HiveError::OAuthRejected {
                code: code @ (OAuthCode::InternalError | OAuthCode::Other(_)),
                ..
            } => AuthError::Unavailable(format!("server OAuth token not issued (code {code})")),
            HiveError::OAuthRejected { code, .. } => {
                AuthError::Config(format!("server OAuth token refused (code {code})"))
            }
            HiveError::AccessTokenRejected { code, .. } => {
                AuthError::Config(format!("server access token refused (code {code})"))
            }
            HiveError::Unavailable(u) => AuthError::Unavailable(u.to_string()),
            HiveError::HttpStatus {
                status,
                retry_after,
            } => AuthError::HttpStatus {
                status,
                retry_after,
            },
            HiveError::Decode(d) => AuthError::Decode(d),
            HiveError::InvalidInput(m) => AuthError::InvalidInput(m),
            HiveError::Config(m) => AuthError::Config(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn player_rejections_become_core_rejections_with_the_hive_code() {
        let e = AuthError::from(HiveError::TokenRejected {
            code: VerifyCode::InvalidToken,
            message: "invalid token".into(),
            served_by: ServedBy::Primary,
        });
        assert!(matches!(e, AuthError::Rejected { code: 7000, .. }));
        let e = AuthError::from(HiveError::DistributedTokenInvalid {
            message: "x".into(),
            served_by: ServedBy::Fallback,
        });
        assert!(matches!(e, AuthError::Rejected { code: 5001, .. }));
    }

    #[test]
    fn server_credential_and_outage_errors_never_become_rejections() {
        let config = AuthError::from(HiveError::OAuthRejected {
            code: OAuthCode::ClientAuthenticationFailed,
            message: "bad client".into(),
        });
        assert!(matches!(config, AuthError::Config(_)));
        let outage = AuthError::from(HiveError::OAuthRejected {
            code: OAuthCode::InternalError,
            message: "internal".into(),
        });
        assert!(matches!(outage, AuthError::Unavailable(_)));
        let down = AuthError::from(HiveError::Unavailable(Unavailable {
            primary: AttemptFailure::Transport(TransportErrorKind::Timeout),
            fallback: Some(AttemptFailure::Status(503)),
        }));
        match down {
            AuthError::Unavailable(m) => {
                assert_eq!(
                    m,
                    "primary: transport failure (Timeout); fallback: HTTP status 503"
                );
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
}
