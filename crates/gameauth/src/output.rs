//! What a command prints and how it exits.
//!
//! Every command except `vegaslounge serve` prints exactly one JSON object on stdout, whether it
//! succeeds or not, and writes human diagnostics to stderr. Exit codes: 0 success, 1 the provider
//! or the check said no, 2 usage, configuration or transport failure.
//!
//! A failure prints `{"error":{"kind":…,"message":…}}` (plus `code` for `provider`, `status` for
//! `http_status`) unless the command's contract gives it its own shape (`{"valid":false}`,
//! `{"verified":false,…}`). The kinds:
//!
//! | kind | exit | meaning |
//! |---|---|---|
//! | `provider` | 1 | the provider answered with an error code (`code`, `message`) |
//! | `usage` | 2 | a flag value, a missing or empty secret, an unreadable file, input refused before sending |
//! | `config` | 2 | the client configuration was refused, or the provider refused our own credentials |
//! | `unavailable` | 2 | no answer: connection refused, timeout, every host failed |
//! | `outcome_unknown` | 2 | a state-creating request was sent but no answer arrived |
//! | `http_status` | 2 | the provider answered with an HTTP status outside the protocol (`status`) |
//! | `decode` | 2 | the answer is not of the documented shape |

use std::io::Write;

use gameauth_core::{AuthError, TransportErrorKind};
use serde_json::{Value, json};

use crate::error::CliError;

/// Exit code when the provider or the check said no.
pub(crate) const REFUSED: u8 = 1;
/// Exit code of usage, configuration and transport failures.
pub(crate) const FAILED: u8 = 2;

/// The class of a failure, printed as `error.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Provider,
    Usage,
    Config,
    Unavailable,
    OutcomeUnknown,
    HttpStatus,
    Decode,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::Usage => "usage",
            Self::Config => "config",
            Self::Unavailable => "unavailable",
            Self::OutcomeUnknown => "outcome_unknown",
            Self::HttpStatus => "http_status",
            Self::Decode => "decode",
        }
    }

    fn exit_code(self) -> u8 {
        match self {
            Self::Provider => REFUSED,
            _ => FAILED,
        }
    }
}

/// A command that did not succeed: the JSON it prints, its exit code and a one-line diagnostic.
#[derive(Debug)]
pub(crate) struct Failure {
    exit: u8,
    body: Value,
    message: String,
}

impl Failure {
    /// `{"error":{"kind":…,"message":…}}` with the exit code of `kind`.
    pub(crate) fn error(kind: Kind, message: impl Into<String>) -> Self {
        let message = message.into();
        let body = json!({ "error": { "kind": kind.as_str(), "message": message } });
        Self {
            exit: kind.exit_code(),
            body,
            message,
        }
    }

    /// A usage error (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::error(Kind::Usage, message)
    }

    /// A "no" whose JSON the command contract defines (exit 1).
    pub(crate) fn refused(body: Value, message: impl Into<String>) -> Self {
        Self {
            exit: REFUSED,
            body,
            message: message.into(),
        }
    }

    /// Adds a field to the `error` object.
    pub(crate) fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        if let Some(error) = self.body.get_mut("error").and_then(Value::as_object_mut) {
            error.insert(key.to_owned(), value.into());
        }
        self
    }
}

impl From<AuthError> for Failure {
    fn from(e: AuthError) -> Self {
        let message = e.to_string();
        match e {
            AuthError::Rejected { code, message } => {
                Self::error(Kind::Provider, message).with("code", code)
            }
            AuthError::Transport(t) if t.kind() == TransportErrorKind::InvalidRequest => {
                Self::usage(message)
            }
            AuthError::Transport(_) | AuthError::Unavailable(_) | AuthError::Store(_) => {
                Self::error(Kind::Unavailable, message)
            }
            AuthError::OutcomeUnknown => Self::error(Kind::OutcomeUnknown, message),
            AuthError::HttpStatus { status, .. } => {
                Self::error(Kind::HttpStatus, message).with("status", status)
            }
            AuthError::Decode(_) => Self::error(Kind::Decode, message),
            AuthError::InvalidInput(_) => Self::usage(message),
            AuthError::Signature => Self::error(Kind::Provider, message),
            // `Config` and any variant added to the non-exhaustive core error later.
            _ => Self::error(Kind::Config, message),
        }
    }
}

/// Prints the command's JSON answer on stdout and turns a failure into the process error.
pub(crate) fn finish(result: Result<Value, Failure>) -> Result<(), CliError> {
    match result {
        Ok(value) => {
            print_json(&value);
            Ok(())
        }
        Err(failure) => {
            print_json(&failure.body);
            Err(CliError::Reported {
                code: failure.exit,
                message: failure.message,
            })
        }
    }
}

/// Prints the JSON of a usage failure found before any command ran (clap's argument errors).
pub(crate) fn print_usage_error(message: &str) {
    print_json(&Failure::usage(message).body);
}

fn print_json(value: &Value) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (`gameauth … | head -c0`) must not turn into a panic.
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use gameauth_core::{DecodeError, TransportError};

    #[test]
    fn provider_rejections_exit_1_with_code_and_message() {
        let f = Failure::from(AuthError::rejected(10002, "sign invalid"));
        assert_eq!(f.exit, REFUSED);
        assert_eq!(
            f.body,
            json!({"error": {"kind": "provider", "code": 10002, "message": "sign invalid"}})
        );
    }

    #[test]
    fn transport_and_decode_failures_exit_2() {
        let connect = AuthError::Transport(TransportError::new(
            TransportErrorKind::Connect,
            false,
            "connection refused",
        ));
        let f = Failure::from(connect);
        assert_eq!(f.exit, FAILED);
        assert_eq!(f.body["error"]["kind"], "unavailable");

        let f = Failure::from(AuthError::Decode(DecodeError::new("data", "missing")));
        assert_eq!(
            (f.exit, f.body["error"]["kind"].clone()),
            (2, "decode".into())
        );

        let f = Failure::from(AuthError::HttpStatus {
            status: 502,
            retry_after: None,
        });
        assert_eq!(f.body["error"]["status"], 502);
        assert_eq!(f.body["error"]["kind"], "http_status");

        let f = Failure::from(AuthError::OutcomeUnknown);
        assert_eq!(f.body["error"]["kind"], "outcome_unknown");
        let f = Failure::from(AuthError::Config("bad".into()));
        assert_eq!(
            (f.exit, f.body["error"]["kind"].clone()),
            (2, "config".into())
        );
        let f = Failure::from(AuthError::InvalidInput("bad".into()));
        assert_eq!(
            (f.exit, f.body["error"]["kind"].clone()),
            (2, "usage".into())
        );
    }
}
