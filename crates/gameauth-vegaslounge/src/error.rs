//! Errors of the OAuth server core.
//!
//! Internally every failure is a [`Reason`]: finer than the RFC 6749 classes, so tests and logs can
//! tell an expired code from a replayed one. [`ErrorKind`] is the RFC 6749 / RFC 6750 class of a
//! reason. Turning either into a wire body (Vegas Lounge's `{"errorCode","error"}` or RFC style)
//! happens in exactly one place, [`crate::response`].
//!
//! No error carries a token, a code, a secret, a URL or a body: only static descriptions and
//! parameter names.

use std::time::Duration;

/// The RFC 6749 / RFC 6750 error class of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `invalid_request`: a parameter is missing, duplicated, too long or malformed.
    InvalidRequest,
    /// `invalid_client`: client authentication failed.
    InvalidClient,
    /// `invalid_grant`: the code or refresh token is invalid, expired, reused or not this client's.
    InvalidGrant,
    /// `unauthorized_client`: the client may not use this grant.
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `unsupported_response_type`.
    UnsupportedResponseType,
    /// `access_denied`: the player or the network is not allowed.
    AccessDenied,
    /// `invalid_token` (RFC 6750): the access token is missing, unknown or expired.
    InvalidToken,
    /// `slow_down`-like throttling of repeated failed client authentication (HTTP 429).
    TooManyRequests,
    /// `server_error`: a store or host hook failed; the request may succeed later.
    ServerError,
}

impl ErrorKind {
    /// The RFC error code string, e.g. `"invalid_grant"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::AccessDenied => "access_denied",
            Self::InvalidToken => "invalid_token",
            Self::TooManyRequests => "too_many_requests",
            Self::ServerError => "server_error",
        }
    }
}

/// Why a request failed, precisely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// A required parameter is absent (its name).
    MissingParameter(&'static str),
    /// A parameter appears more than once (its name, when it is one we know).
    DuplicateParameter(&'static str),
    /// A parameter is longer than the contract allows (its name).
    ParameterTooLong(&'static str),
    /// A parameter has a value outside its syntax (its name).
    MalformedParameter(&'static str),
    /// Credentials or codes were sent in the URL query.
    CredentialsInQuery,
    /// Body credentials and HTTP Basic were both used.
    MultipleClientAuthentication,
    /// The `Authorization` header is not a well-formed Basic or Bearer credential.
    MalformedAuthorization,
    /// The token endpoint needs `application/x-www-form-urlencoded`.
    UnsupportedMediaType,
    /// The HTTP method is not served on this path.
    MethodNotAllowed,
    /// The request body is larger than the limit.
    BodyTooLarge,
    /// The request body did not arrive within the body deadline.
    BodyTimeout,
    /// No client credentials were presented.
    ClientAuthenticationMissing,
    /// The client id is unknown or its secret is wrong (deliberately not told apart).
    ClientAuthenticationFailed,
    /// The authorization request names a client that is not registered.
    UnknownClient,
    /// The authorization request's `redirect_uri` is not registered for the client (exactly).
    RedirectUriMismatch,
    /// `response_type` is not `code`.
    UnsupportedResponseType,
    /// `grant_type` is not `authorization_code` or `refresh_token`.
    UnsupportedGrantType,
    /// The authorization code is unknown.
    CodeInvalid,
    /// The authorization code has expired.
    CodeExpired,
    /// The authorization code was already used; its grant has been revoked.
    CodeReplayed,
    /// The code belongs to another client or another redirect URI.
    CodeMismatch,
    /// The PKCE code verifier is missing, malformed or does not match the code's challenge, or
    /// was sent for a code issued without one.
    PkceMismatch,
    /// The refresh token is unknown (or its grant was revoked).
    RefreshTokenInvalid,
    /// The refresh token has expired.
    RefreshTokenExpired,
    /// An already rotated refresh token came back after the grace window; the grant is revoked.
    RefreshTokenReused,
    /// The refresh token belongs to another client.
    RefreshTokenMismatch,
    /// No access token was presented.
    TokenMissing,
    /// The access token is unknown, revoked, another client's, or not an access token.
    TokenInvalid,
    /// The access token has expired.
    TokenExpired,
    /// The player's account is disabled.
    AccountDisabled,
    /// The player refused or may not authorize this client.
    AccessDenied,
    /// The caller's IP address is not on the allow-list.
    IpNotAllowed,
    /// Too many failed client authentications; retry after the given time.
    Throttled(Duration),
    /// The grant store failed; nothing can be said about the presented credential.
    StoreUnavailable,
    /// A host hook (session, account or client registry) failed.
    HookFailed,
    /// An internal invariant broke (e.g. a sealed grace answer did not open).
    Internal,
}

/// A failed OAuth request: a [`Reason`] with its RFC class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}", self.kind().as_str(), self.description())]
pub struct OAuthError {
    reason: Reason,
}

impl OAuthError {
    /// An error for `reason`.
    pub fn new(reason: Reason) -> Self {
        Self { reason }
    }

    /// The precise reason.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The RFC error class.
    pub fn kind(&self) -> ErrorKind {
        match self.reason {
            Reason::MissingParameter(_)
            | Reason::DuplicateParameter(_)
            | Reason::ParameterTooLong(_)
            | Reason::MalformedParameter(_)
            | Reason::CredentialsInQuery
            | Reason::MultipleClientAuthentication
            | Reason::MalformedAuthorization
            | Reason::UnsupportedMediaType
            | Reason::MethodNotAllowed
            | Reason::BodyTooLarge
            | Reason::BodyTimeout
            | Reason::RedirectUriMismatch => ErrorKind::InvalidRequest,
            Reason::ClientAuthenticationMissing
            | Reason::ClientAuthenticationFailed
            | Reason::UnknownClient => ErrorKind::InvalidClient,
            Reason::UnsupportedResponseType => ErrorKind::UnsupportedResponseType,
            Reason::UnsupportedGrantType => ErrorKind::UnsupportedGrantType,
            Reason::CodeInvalid
            | Reason::CodeExpired
            | Reason::CodeReplayed
            | Reason::CodeMismatch
            | Reason::PkceMismatch
            | Reason::RefreshTokenInvalid
            | Reason::RefreshTokenExpired
            | Reason::RefreshTokenReused
            | Reason::RefreshTokenMismatch => ErrorKind::InvalidGrant,
            Reason::TokenMissing | Reason::TokenInvalid | Reason::TokenExpired => {
                ErrorKind::InvalidToken
            }
            Reason::AccountDisabled | Reason::AccessDenied | Reason::IpNotAllowed => {
                ErrorKind::AccessDenied
            }
            Reason::Throttled(_) => ErrorKind::TooManyRequests,
            Reason::StoreUnavailable | Reason::HookFailed | Reason::Internal => {
                ErrorKind::ServerError
            }
        }
    }

    /// How long the caller should wait, for throttling errors.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.reason {
            Reason::Throttled(d) => Some(d),
            _ => None,
        }
    }

    /// A short, fixed, human-readable description: no input is ever quoted.
    pub fn description(&self) -> &'static str {
        match self.reason {
            Reason::MissingParameter(_) => "a required parameter is missing",
            Reason::DuplicateParameter(_) => "a parameter is repeated",
            Reason::ParameterTooLong(_) => "a parameter is too long",
            Reason::MalformedParameter(_) => "a parameter is malformed",
            Reason::CredentialsInQuery => "credentials must not be sent in the URL query",
            Reason::MultipleClientAuthentication => {
                "more than one client authentication method was used"
            }
            Reason::MalformedAuthorization => "the Authorization header is malformed",
            Reason::UnsupportedMediaType => "the body must be application/x-www-form-urlencoded",
            Reason::MethodNotAllowed => "method not allowed",
            Reason::BodyTooLarge => "the request body is too large",
            Reason::BodyTimeout => "the request body did not arrive in time",
            Reason::ClientAuthenticationMissing => "client authentication is required",
            Reason::ClientAuthenticationFailed => "client authentication failed",
            Reason::UnknownClient => "the client is not registered",
            Reason::RedirectUriMismatch => "the redirect URI is not registered for this client",
            Reason::UnsupportedResponseType => "response_type must be code",
            Reason::UnsupportedGrantType => "the grant type is not supported",
            Reason::CodeInvalid => "the authorization code is not valid",
            Reason::CodeExpired => "the authorization code has expired",
            Reason::CodeReplayed => "the authorization code was already used",
            Reason::CodeMismatch => "the authorization code was issued to another client",
            Reason::PkceMismatch => "the code verifier does not match the code challenge",
            Reason::RefreshTokenInvalid => "the refresh token is not valid",
            Reason::RefreshTokenExpired => "the refresh token has expired",
            Reason::RefreshTokenReused => "the refresh token was already used",
            Reason::RefreshTokenMismatch => "the refresh token was issued to another client",
            Reason::TokenMissing => "an access token is required",
            Reason::TokenInvalid => "the access token is not valid",
            Reason::TokenExpired => "the access token has expired",
            Reason::AccountDisabled => "the account is disabled",
            Reason::AccessDenied => "access denied",
            Reason::IpNotAllowed => "the caller's address is not allowed",
            Reason::Throttled(_) => "too many failed attempts, retry later",
            Reason::StoreUnavailable | Reason::HookFailed | Reason::Internal => {
                "the service is temporarily unavailable"
            }
        }
    }
}

impl From<Reason> for OAuthError {
    fn from(reason: Reason) -> Self {
        Self::new(reason)
    }
}

impl From<StoreError> for OAuthError {
    fn from(err: StoreError) -> Self {
        tracing::warn!(error = %err, "grant store failed");
        Self::new(Reason::StoreUnavailable)
    }
}

impl From<HookError> for OAuthError {
    fn from(err: HookError) -> Self {
        tracing::warn!(error = %err, "host hook failed");
        Self::new(Reason::HookFailed)
    }
}

/// The grant store could not answer (connection lost, timeout, script error).
///
/// Distinct from every "no" the store gives: a caller must never turn it into `invalid_grant`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("grant store unavailable: {message}")]
#[non_exhaustive]
pub struct StoreError {
    /// What failed, without keys, values or tokens.
    pub message: String,
}

impl StoreError {
    /// A store failure described by `message` (sanitised; never put keys or tokens in it).
    pub fn unavailable(message: impl AsRef<str>) -> Self {
        Self {
            message: gameauth_core::error::sanitize_message(message.as_ref()),
        }
    }
}

#[cfg(feature = "redis")]
impl From<gameauth_core::redis::RedisFailure> for StoreError {
    fn from(failure: gameauth_core::redis::RedisFailure) -> Self {
        Self::unavailable(failure.to_string())
    }
}

#[cfg(feature = "redis")]
impl From<gameauth_core::redis::RedisFailure> for ConfigError {
    fn from(failure: gameauth_core::redis::RedisFailure) -> Self {
        Self(failure.detail().to_owned())
    }
}

/// A host hook (session lookup, account directory, client registry) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("host hook failed: {message}")]
#[non_exhaustive]
pub struct HookError {
    /// What failed, without secrets.
    pub message: String,
}

impl HookError {
    /// A hook failure described by `message` (sanitised).
    pub fn new(message: impl AsRef<str>) -> Self {
        Self {
            message: gameauth_core::error::sanitize_message(message.as_ref()),
        }
    }
}

/// The server was configured wrongly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_are_server_errors_never_invalid_grant() {
        let e = OAuthError::from(StoreError::unavailable("connection reset"));
        assert_eq!(e.kind(), ErrorKind::ServerError);
        assert_eq!(e.reason(), Reason::StoreUnavailable);
    }

    #[test]
    fn descriptions_have_no_control_characters() {
        let reasons = [
            Reason::MissingParameter("code"),
            Reason::CodeReplayed,
            Reason::Throttled(Duration::from_secs(3)),
            Reason::StoreUnavailable,
        ];
        for r in reasons {
            let d = OAuthError::new(r).description();
            assert!(!d.chars().any(char::is_control), "{d}");
        }
    }

    #[test]
    fn hook_error_messages_are_sanitised() {
        assert_eq!(HookError::new("a\r\nb").message, "a  b");
    }
}
