//! `gameauth` as a process: every command, its JSON on stdout, its diagnostics on stderr and its
//! exit codes (0 success, 1 the provider or the check said no, 2 usage, configuration or
//! transport failure). Provider calls go to local mock servers; `vegaslounge check` runs against a
//! real `gameauth vegaslounge serve` child process and against a scripted stand-in operator.

mod check;
mod creditpay;
mod hive;
mod omg;
mod shell;
mod signatures;
#[path = "../support/mod.rs"]
mod support;
mod usage;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// What one run of the binary produced.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// stdout as the single JSON object every command prints.
    pub(crate) fn json(&self) -> Value {
        let line = self.stdout.trim_end_matches('\n');
        assert!(
            !line.contains('\n'),
            "stdout must be one JSON object on one line: {:?}",
            self.stdout
        );
        let value: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.stdout));
        assert!(value.is_object(), "stdout is not a JSON object: {value}");
        value
    }

    /// Asserts the exit code, showing both streams when it differs.
    pub(crate) fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code; stdout: {:?}; stderr: {:?}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts that `text` appears on neither stream.
    pub(crate) fn never_shows(&self, text: &str) {
        assert!(
            !self.stdout.contains(text),
            "stdout shows {text:?}: {}",
            self.stdout
        );
        assert!(
            !self.stderr.contains(text),
            "stderr shows {text:?}: {}",
            self.stderr
        );
    }
}

/// Runs `gameauth` with exactly the given environment (nothing inherited) and no input.
pub(crate) fn gameauth(args: &[&str], envs: &[(&str, &str)]) -> Run {
    gameauth_with_stdin(args, envs, None)
}

/// [`gameauth`] with `stdin` written to its standard input, when given.
pub(crate) fn gameauth_with_stdin(
    args: &[&str],
    envs: &[(&str, &str)],
    stdin: Option<&[u8]>,
) -> Run {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gameauth"))
        .args(args)
        .env_clear()
        .envs(envs.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gameauth");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        // A command that never reads its input may exit first: a broken pipe is not a failure.
        let _ = pipe.write_all(bytes);
    }
    let output = child.wait_with_output().expect("wait for gameauth");
    Run {
        code: output
            .status
            .code()
            .expect("exit code (not killed by a signal)"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// [`gameauth`] from async tests, off the runtime's threads so mock servers keep answering.
pub(crate) async fn gameauth_async(args: &[&str], envs: &[(&str, &str)]) -> Run {
    gameauth_async_with_stdin(args, envs, None).await
}

/// [`gameauth_with_stdin`] from async tests.
pub(crate) async fn gameauth_async_with_stdin(
    args: &[&str],
    envs: &[(&str, &str)],
    stdin: Option<&[u8]>,
) -> Run {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let envs: Vec<(String, String)> = envs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let stdin = stdin.map(<[u8]>::to_vec);
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        gameauth_with_stdin(&args, &envs, stdin.as_deref())
    })
    .await
    .expect("gameauth run")
}

/// A base URL on which nothing listens.
pub(crate) fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A file that is removed when dropped.
pub(crate) struct TempFile(pub(crate) PathBuf);

impl TempFile {
    pub(crate) fn with(contents: &[u8]) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "gameauth-cli-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, contents).expect("write temp file");
        Self(path)
    }

    pub(crate) fn path(&self) -> &str {
        self.0.to_str().expect("UTF-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
