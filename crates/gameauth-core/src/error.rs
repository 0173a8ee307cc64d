//! The error model shared by the core traits.
//!
//! Errors are shaped by what a caller does next: retry (transport), tell the player (rejection),
//! fix the integration (signature, decode, invalid input, config), or reconcile with the provider
//! ("outcome unknown" for a state-creating call that timed out after it was sent).
//!
//! No error carries a URL, a header value, a body or a secret: URLs hold trace ids and tokens, and
//! bodies hold player data.

use std::time::Duration;

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be established (refused, unreachable, DNS, TLS handshake).
    /// Nothing was sent.
    Connect,
    /// The attempt ran out of time.
    Timeout,
    /// The connection broke after it was established (reset, EOF, malformed response).
    Io,
    /// The response body was larger than the configured cap.
    BodyTooLarge,
    /// The request could not be built (bad URL or header); nothing was sent.
    InvalidRequest,
}

/// A failure to get an HTTP response.
#[derive(Debug, Clone, thiserror::Error)]
#[error("transport error ({kind:?}): {message}")]
pub struct TransportError {
    kind: TransportErrorKind,
    request_sent: bool,
    message: String,
}

impl TransportError {
    /// A new error. `message` must not contain URLs, header values or bodies.
    pub fn new(kind: TransportErrorKind, request_sent: bool, message: impl Into<String>) -> Self {
        Self {
            kind,
            request_sent,
            message: message.into(),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// Whether any byte of the request may have reached the server. `false` only when the
    /// connection was never established, so a state-creating call may safely be repeated.
    pub fn request_sent(&self) -> bool {
        self.request_sent
    }

    /// Whether this was a timeout.
    pub fn is_timeout(&self) -> bool {
        self.kind == TransportErrorKind::Timeout
    }

    /// Whether this was a connection failure.
    pub fn is_connect(&self) -> bool {
        self.kind == TransportErrorKind::Connect
    }

    /// Whether the same request may succeed when sent again: after a connection failure, a
    /// timeout or a broken connection, yes; after an answer over the size cap (it would be too
    /// large again) or a request that could not be built, no.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            TransportErrorKind::Connect | TransportErrorKind::Timeout | TransportErrorKind::Io
        )
    }
}

/// A response that could not be decoded.
///
/// Carries the path of the offending field (e.g. `data.balance`) and a short reason, never the
/// raw body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode response at `{path}`: {reason}")]
pub struct DecodeError {
    /// Path of the field, `$` for the document itself.
    pub path: String,
    /// What was wrong with it.
    pub reason: String,
}

impl DecodeError {
    /// A new decode error. Both parts go through [`sanitize_message`]: a path can carry keys of
    /// the provider's JSON (`data.<key>`), which must not bring line breaks or control characters
    /// into error texts and logs, nor unbounded length.
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: sanitize_message(&path.into()),
            reason: sanitize_message(&reason.into()),
        }
    }

    /// Builds a decode error from a `serde_json` error without quoting the input.
    pub fn from_json(err: &serde_json::Error) -> Self {
        // serde_json's messages name the expected type and the position, not the input text,
        // except for "unknown variant `x`", whose value comes from the provider, not a secret.
        Self::new(
            "$",
            format!(
                "{} at line {} column {}",
                classify(err),
                err.line(),
                err.column()
            ),
        )
    }
}

fn classify(err: &serde_json::Error) -> &'static str {
    match err.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unexpected JSON shape",
        serde_json::error::Category::Eof => "truncated JSON",
    }
}

/// The normalised error of [`TokenIssuer`](crate::TokenIssuer) and
/// [`TokenVerifier`](crate::TokenVerifier).
///
/// Provider crates keep richer, typed errors of their own and convert into this one.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No HTTP response was obtained.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The provider answered with an HTTP status that is not part of the protocol's success path.
    #[error("unexpected HTTP status {status}")]
    HttpStatus {
        /// The status code.
        status: u16,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The provider (or the operator's own verifier) said no.
    #[error("rejected with code {code}: {message}")]
    Rejected {
        /// The provider's numeric code.
        code: i64,
        /// The provider's message, sanitised.
        message: String,
    },
    /// A signature did not verify.
    #[error("signature invalid")]
    Signature,
    /// The response did not match the documented shape.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The request was refused before sending: the input cannot be valid.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The client is misconfigured.
    #[error("configuration error: {0}")]
    Config(String),
    /// A state-creating call timed out after it was sent: the provider may or may not have acted.
    /// Do not blindly repeat it; reconcile first.
    #[error("outcome unknown: the request was sent but no answer arrived in time")]
    OutcomeUnknown,
    /// Every host that could answer failed (primary and fallback, or the breaker is open).
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// The operator's own store failed; the answer must not be treated as a rejection.
    #[error("store unavailable: {0}")]
    Store(String),
}

impl AuthError {
    /// A rejection with a code and message.
    pub fn rejected(code: i64, message: impl Into<String>) -> Self {
        Self::Rejected {
            code,
            message: sanitize_message(&message.into()),
        }
    }

    /// The message of a configuration error (its text without the `configuration error:`
    /// prefix), or the error's text for any other kind: for a provider crate that reports a core
    /// helper's refusal (the default transport) as its own configuration error.
    pub fn config_message(self) -> String {
        match self {
            Self::Config(m) => m,
            other => other.to_string(),
        }
    }

    /// Whether repeating the same call later may succeed without any change on our side.
    ///
    /// For a transport failure, see [`TransportError::is_retryable`].
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(t) => t.is_retryable(),
            Self::Unavailable(_) | Self::Store(_) => true,
            Self::HttpStatus { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// Limits a provider- or host-supplied message to printable text of bounded length, so it is safe
/// to log and to put on the wire (no CR/LF/TAB, no control characters).
pub fn sanitize_message(message: &str) -> String {
    const MAX: usize = 256;
    let mut out = String::with_capacity(message.len().min(MAX));
    for c in message.chars() {
        if out.len() + c.len_utf8() > MAX {
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_sanitised() {
        assert_eq!(sanitize_message("a\r\nb\tc"), "a  b c");
        assert_eq!(sanitize_message(&"x".repeat(1000)).len(), 256);
    }

    #[test]
    fn decode_error_parts_are_sanitised() {
        let e = DecodeError::new(format!("data.a\r\nb\t{}", "k".repeat(1000)), "bad\nvalue");
        let text = e.to_string();
        assert!(!text.contains(['\r', '\n', '\t']), "{text:?}");
        assert!(e.path.starts_with("data.a  b "), "{:?}", e.path);
        assert_eq!(e.path.len(), 256);
        assert_eq!(e.reason, "bad value");
    }

    #[test]
    fn decode_error_from_json_does_not_quote_input() {
        let err = serde_json::from_str::<u32>("\"sentinel-secret\"").unwrap_err();
        let d = DecodeError::from_json(&err);
        assert!(!d.to_string().contains("sentinel"));
    }

    #[test]
    fn retryable_classification() {
        assert!(
            AuthError::HttpStatus {
                status: 503,
                retry_after: None
            }
            .is_retryable()
        );
        assert!(
            AuthError::HttpStatus {
                status: 429,
                retry_after: None
            }
            .is_retryable()
        );
        assert!(
            !AuthError::HttpStatus {
                status: 404,
                retry_after: None
            }
            .is_retryable()
        );
        assert!(!AuthError::OutcomeUnknown.is_retryable());
        assert!(!AuthError::rejected(7000, "invalid token").is_retryable());
        for (kind, retryable) in [
            (TransportErrorKind::Connect, true),
            (TransportErrorKind::Timeout, true),
            (TransportErrorKind::Io, true),
            (TransportErrorKind::BodyTooLarge, false),
            (TransportErrorKind::InvalidRequest, false),
        ] {
            let err = AuthError::Transport(TransportError::new(kind, true, "x"));
            assert_eq!(err.is_retryable(), retryable, "{kind:?}");
        }
    }
}
