//! Errors of the Hive client.
//!
//! A caller tells three situations apart: Hive said no to the player (`TokenRejected`,
//! `PlayerAccessTokenRejected`, `DistributedTokenInvalid`, `IdpRejected`, `PlayerIdpsRejected`),
//! our own server credentials are wrong
//! (`OAuthRejected`, `AccessTokenRejected`, `Config`), or Hive could not be reached
//! (`Unavailable`). An outage must never be shown to a player as "invalid token". No variant
//! holds a token, a secret, a URL or a body.

use std::time::Duration;

use gameauth_core::{AuthError, DecodeError};

use crate::code::{IdpCode, OAuthCode, PlayerIdpsCode, VerifyCode};
use crate::environment::ServedBy;

pub use gameauth_core::outbound::{AttemptFailure, Unavailable};

/// An error of the Hive client.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
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
    /// Hive refused the player's own OAuth 2.0 access token (`X-Access-Token` of v2
    /// verification in the default mode): code 2499, or a `token_validation` with a non-zero
    /// code. The player is not authenticated; nothing is retried.
    #[error("player access token rejected with code {code} by the {}: {message}", .served_by.as_str())]
    PlayerAccessTokenRejected {
        /// The code that said so (`2499`, or the `token_validation.result_code`).
        code: i64,
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
    /// Hive answered the token-validated IdP list with a code other than success: the token does
    /// not match the player (7000), the request was refused (4000), or another code.
    #[error("player token rejected by the IdP list with code {code} by the {}: {message}", .served_by.as_str())]
    PlayerIdpsRejected {
        /// The result code.
        code: PlayerIdpsCode,
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

impl From<Error> for AuthError {
    fn from(e: Error) -> Self {
        match e {
            Error::TokenRejected { code, message, .. } => {
                AuthError::rejected(code.as_i64(), message)
            }
            Error::PlayerAccessTokenRejected { code, message, .. } => {
                AuthError::rejected(code, message)
            }
            Error::PlayerIdpsRejected { code, message, .. } => {
                AuthError::rejected(code.as_i64(), message)
            }
            Error::DistributedTokenInvalid { message, .. } => {
                AuthError::rejected(VerifyCode::DistributedTokenInvalid.as_i64(), message)
            }
            Error::IdpRejected { code, message, .. } => AuthError::rejected(code.as_i64(), message),
            // Hive's own failure to issue a token is an outage; a refusal of our credentials is
            // our configuration. Neither is the player's fault, so neither becomes `Rejected`.
            Error::OAuthRejected {
                code: code @ (OAuthCode::InternalError | OAuthCode::Other(_)),
                ..
            } => AuthError::Unavailable(format!("server OAuth token not issued (code {code})")),
            Error::OAuthRejected { code, .. } => {
                AuthError::Config(format!("server OAuth token refused (code {code})"))
            }
            Error::AccessTokenRejected { code, .. } => {
                AuthError::Config(format!("server access token refused (code {code})"))
            }
            Error::Unavailable(u) => AuthError::Unavailable(u.to_string()),
            Error::HttpStatus {
                status,
                retry_after,
            } => AuthError::HttpStatus {
                status,
                retry_after,
            },
            Error::Decode(d) => AuthError::Decode(d),
            Error::InvalidInput(m) => AuthError::InvalidInput(m),
            Error::Config(m) => AuthError::Config(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn player_rejections_become_core_rejections_with_the_hive_code() {
        let e = AuthError::from(Error::TokenRejected {
            code: VerifyCode::InvalidToken,
            message: "invalid token".into(),
            served_by: ServedBy::Primary,
        });
        assert!(matches!(e, AuthError::Rejected { code: 7000, .. }));
        let e = AuthError::from(Error::DistributedTokenInvalid {
            message: "x".into(),
            served_by: ServedBy::Fallback,
        });
        assert!(matches!(e, AuthError::Rejected { code: 5001, .. }));
        let e = AuthError::from(Error::PlayerAccessTokenRejected {
            code: 2499,
            message: "JWT verification failed".into(),
            served_by: ServedBy::Primary,
        });
        assert!(matches!(e, AuthError::Rejected { code: 2499, .. }));
        let e = AuthError::from(Error::PlayerIdpsRejected {
            code: PlayerIdpsCode::VerificationFailed,
            message: "token mismatch".into(),
            served_by: ServedBy::Fallback,
        });
        assert!(matches!(e, AuthError::Rejected { code: 7000, .. }));
    }

    #[test]
    fn server_credential_and_outage_errors_never_become_rejections() {
        let config = AuthError::from(Error::OAuthRejected {
            code: OAuthCode::ClientAuthenticationFailed,
            message: "bad client".into(),
        });
        assert!(matches!(config, AuthError::Config(_)));
        let outage = AuthError::from(Error::OAuthRejected {
            code: OAuthCode::InternalError,
            message: "internal".into(),
        });
        assert!(matches!(outage, AuthError::Unavailable(_)));
        let down = AuthError::from(Error::Unavailable(Unavailable {
            primary: AttemptFailure::Transport(gameauth_core::TransportErrorKind::Timeout),
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
