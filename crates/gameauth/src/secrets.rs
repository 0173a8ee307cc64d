//! Where secrets come from.
//!
//! Our own keys and credentials come from an environment variable or a file named by a
//! `--*-file` flag, never from a flag value, which would land in shell history and in the process
//! list. A player's token, access token or one-time code ([`Credential`]) may also be given as a
//! flag value, for quick checks by hand; the file and the variable keep it out of `ps`.
//!
//! A flag wins over a file, a file over the variable. A file named `-` is standard input (one per
//! command). One trailing line break is dropped from a file (`echo "$KEY" > key.txt` writes one);
//! everything else is the value as written. A missing or empty value is a usage error that names
//! its sources; the value itself is never printed.

use std::io::Read as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use gameauth_core::secrecy::SecretString;

use crate::output::Failure;

/// A player's credential that a command takes: a login token, an access token, a one-time code.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Credential {
    /// The flag that takes the value itself, e.g. `--token`.
    pub(crate) flag: &'static str,
    /// The flag that takes a file holding the value (`-` = standard input), e.g. `--token-file`.
    pub(crate) file_flag: &'static str,
    /// The environment variable that may hold the value, e.g. `HIVE_PLAYER_TOKEN`.
    pub(crate) env: &'static str,
}

impl Credential {
    /// The value from the flag, else from the file, else from the variable; `None` when none of
    /// them is given.
    pub(crate) fn optional(
        &self,
        value: Option<&str>,
        file: Option<&Path>,
    ) -> Result<Option<SecretString>, Failure> {
        match (value, file) {
            (Some(_), Some(_)) => Err(Failure::usage(format!(
                "give {} or {}, not both",
                self.flag, self.file_flag
            ))),
            (Some(""), None) => Err(Failure::usage(format!("{} is empty", self.flag))),
            (Some(v), None) => Ok(Some(SecretString::from(v.to_owned()))),
            (None, file) => optional(self.env, self.file_flag, file),
        }
    }

    /// The value, which the command cannot run without.
    pub(crate) fn required(
        &self,
        value: Option<&str>,
        file: Option<&Path>,
    ) -> Result<SecretString, Failure> {
        self.optional(value, file)?.ok_or_else(|| {
            Failure::usage(format!(
                "{} is required: give {} <VALUE>, {} <PATH> (- for stdin) or export {}=…",
                self.flag, self.flag, self.file_flag, self.env
            ))
        })
    }
}

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

/// Whether a `-` file has already consumed standard input in this process.
static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

/// Reads the file a `flag` names, `-` meaning standard input (which only one flag per process
/// may take). The error is a one-line message naming the flag and the file, never the contents.
pub(crate) fn read_input(flag: &str, path: &Path) -> Result<Vec<u8>, String> {
    if path == Path::new("-") {
        if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
            return Err(format!(
                "{flag} -: standard input is already read by another flag; only one value can \
                 come from it"
            ));
        }
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read {flag} from standard input: {}", io_reason(&e)))?;
        Ok(bytes)
    } else {
        std::fs::read(path).map_err(|e| {
            format!(
                "cannot read the {flag} file {}: {}",
                path.display(),
                io_reason(&e)
            )
        })
    }
}

/// [`read_input`] as UTF-8 text.
pub(crate) fn read_input_text(flag: &str, path: &Path) -> Result<String, String> {
    String::from_utf8(read_input(flag, path)?).map_err(|_| {
        let source = if path == Path::new("-") {
            "standard input".to_owned()
        } else {
            format!("file {}", path.display())
        };
        format!("the {flag} {source} is not valid UTF-8 text")
    })
}

fn from_file(flag: &str, path: &Path) -> Result<SecretString, Failure> {
    let text = read_input_text(flag, path).map_err(Failure::usage)?;
    let value = strip_line_break(&text);
    if value.is_empty() {
        let source = if path == Path::new("-") {
            "standard input".to_owned()
        } else {
            format!("file {}", path.display())
        };
        return Err(Failure::usage(format!("the {flag} {source} is empty")));
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

    const CODE: Credential = Credential {
        flag: "--code",
        file_flag: "--code-file",
        env: "GAMEAUTH_TEST_CODE_NEVER_SET",
    };

    fn exposed(value: Option<SecretString>) -> Option<String> {
        value.map(|v| gameauth_core::secrecy::ExposeSecret::expose_secret(&v).to_owned())
    }

    #[test]
    fn a_credential_comes_from_its_flag_then_its_file() {
        let dir = std::env::temp_dir().join(format!("gameauth-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("code");
        std::fs::write(&file, "-code-from-file\n").unwrap();
        assert_eq!(
            exposed(CODE.optional(Some("-flag-code"), None).unwrap()).as_deref(),
            Some("-flag-code")
        );
        assert_eq!(
            exposed(CODE.optional(None, Some(&file)).unwrap()).as_deref(),
            Some("-code-from-file")
        );
        assert_eq!(exposed(CODE.optional(None, None).unwrap()), None);
        let both = CODE.optional(Some("c"), Some(&file)).unwrap_err();
        assert!(format!("{both:?}").contains("not both"), "{both:?}");
        let empty = CODE.optional(Some(""), None).unwrap_err();
        assert!(
            format!("{empty:?}").contains("--code is empty"),
            "{empty:?}"
        );
        let missing = CODE.required(None, None).unwrap_err();
        let text = format!("{missing:?}");
        for source in ["--code <VALUE>", "--code-file <PATH>", CODE.env] {
            assert!(text.contains(source), "{text}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
