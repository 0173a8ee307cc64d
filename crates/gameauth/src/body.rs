//! The request body of the signing commands: `--body <STRING>` or `--body-file <PATH>` (`-` for
//! standard input).
//!
//! Signatures cover the exact bytes on the wire, so the body is used exactly as given: a file is
//! read byte for byte, a trailing newline included (a note on stderr says so, because editors and
//! `echo` add one that the real request usually does not carry).

use std::path::PathBuf;

use clap::Args;

use crate::output::Failure;
use crate::secrets::read_input;

/// Exactly one of `--body` and `--body-file`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct BodyArgs {
    /// The exact request body text (UTF-8).
    #[arg(long, value_name = "STRING", allow_hyphen_values = true)]
    body: Option<String>,
    /// A file holding the exact request body bytes (read as is, trailing newline included);
    /// - for stdin.
    #[arg(long, value_name = "PATH")]
    body_file: Option<PathBuf>,
}

impl BodyArgs {
    /// The body bytes.
    pub(crate) fn read(&self) -> Result<Vec<u8>, Failure> {
        match (&self.body, &self.body_file) {
            (Some(text), _) => Ok(text.as_bytes().to_vec()),
            (None, Some(path)) => {
                let bytes = read_input("--body-file", path).map_err(Failure::usage)?;
                if bytes.ends_with(b"\n") {
                    let source = if path.as_os_str() == "-" {
                        "standard input".to_owned()
                    } else {
                        path.display().to_string()
                    };
                    eprintln!(
                        "note: {source} ends with a line break, which is part of the signed body"
                    );
                }
                Ok(bytes)
            }
            (None, None) => Err(Failure::usage("give --body or --body-file")),
        }
    }
}

/// The body as text for `--explain`; bytes that are not UTF-8 are shown as U+FFFD.
pub(crate) fn display(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if matches!(text, std::borrow::Cow::Owned(_)) {
        eprintln!("note: the body is not valid UTF-8; string_to_sign shows it with U+FFFD");
    }
    text.into_owned()
}
