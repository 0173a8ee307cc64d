//! Errors of the command-line tool and their exit codes.

/// A failure that ends a command.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The configuration is wrong (exit 2).
    #[error("configuration error: {0}")]
    Config(String),
    /// An I/O failure such as a port that cannot be bound (exit 2).
    #[error("{0}")]
    Io(String),
    /// The command already printed its JSON answer on stdout and ends with `code` (1: the
    /// provider or the check said no; 2: usage, configuration or transport failure).
    #[error("{message}")]
    Reported {
        /// The process exit code.
        code: u8,
        /// A one-line diagnostic for stderr.
        message: String,
    },
}

impl CliError {
    /// The process exit code: 2 for usage, configuration and transport failures.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) | Self::Io(_) => 2,
            Self::Reported { code, .. } => *code,
        }
    }
}
