//! Where secrets come from: an environment variable, or a file named by a `--*-file` flag.
//!
//! Never from a flag value, which would land in shell history and in the process list. A file
//! wins over the variable when both are given. One trailing line break is dropped from a file
//! (`echo "$KEY" > key.txt` writes one); everything else is the secret as written. A missing or
//! empty secret is a usage error that names the variable and the flag; the value itself is never
//! printed.

use std::path::Path;

use gameauth_core::secrecy::SecretString;

use crate::output::Failure;

/// Reads a secret that the command cannot run without.
pub(crate) fn required(
    env: &str,
    flag: &str,
    file: Option<&Path>,
) -> Result<SecretString, Failure> {
    optional(env, flag, file)?.ok_or_else(|| {
        Failure::usage(format!(
            "{env} is not set: export {env}=… or pass {flag} <PATH>"
        ))
    })
}

/// Reads a secret the command can run without: `None` when neither source is given.
pub(crate) fn optional(
    env: &str,
    flag: &str,
    file: Option<&Path>,
) -> Result<Option<SecretString>, Failure> {
    if let Some(path) = file {
        return from_file(flag, path).map(Some);
    }
    match std::env::var(env) {
        Ok(value) if value.is_empty() => Err(Failure::usage(format!("{env} is empty"))),
        Ok(value) => Ok(Some(SecretString::from(value))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Failure::usage(format!("{env} is not valid UTF-8")))
        }
    }
}

/// Reads a setting that is not secret but comes from the environment (`HIVE_CLIENT_ID`).
pub(crate) fn required_env(env: &str) -> Result<String, Failure> {
    match std::env::var(env) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        Ok(_) => Err(Failure::usage(format!("{env} is empty"))),
        Err(std::env::VarError::NotPresent) => {
            Err(Failure::usage(format!("{env} is not set: export {env}=…")))
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Failure::usage(format!("{env} is not valid UTF-8")))
        }
    }
}

fn from_file(flag: &str, path: &Path) -> Result<SecretString, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::usage(format!(
            "cannot read the {flag} file {}: {}",
            path.display(),
            io_reason(&e)
        ))
    })?;
    let value = strip_line_break(&text);
    if value.is_empty() {
        return Err(Failure::usage(format!(
            "the {flag} file {} is empty",
            path.display()
        )));
    }
    Ok(SecretString::from(value.to_owned()))
}

/// Drops one trailing `\n` or `\r\n`.
fn strip_line_break(text: &str) -> &str {
    text.strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(text)
}

/// An I/O error without the file contents (they are never part of it, but the kind reads better
/// than the OS message alone for invalid UTF-8).
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::InvalidData {
        "not valid UTF-8 text".to_owned()
    } else {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_trailing_line_break_is_dropped() {
        assert_eq!(strip_line_break("key\n"), "key");
        assert_eq!(strip_line_break("key\r\n"), "key");
        assert_eq!(strip_line_break("key\n\n"), "key\n");
        assert_eq!(strip_line_break("key"), "key");
        assert_eq!(strip_line_break(" key "), " key ");
    }
}
