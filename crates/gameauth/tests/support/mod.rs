//! `gameauth vegaslounge serve` as a child process in process-level tests.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

pub(crate) mod vegaslounge;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running server, killed when dropped so a failing test never leaves it behind.
pub(crate) struct ServerProcess {
    pub(crate) child: Child,
    /// `http://ADDR` from the `listening on` line.
    pub(crate) base: String,
    /// What the server printed to stderr before it was ready.
    pub(crate) startup: Vec<String>,
    /// Later stderr lines; drained continuously so the server never blocks on a full pipe.
    pub(crate) stderr: mpsc::Receiver<String>,
}

impl ServerProcess {
    /// Runs `gameauth ARGS` (after `configure` set its environment) and waits for
    /// `listening on`.
    pub(crate) fn start(args: &[&str], configure: impl FnOnce(&mut Command)) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gameauth"));
        command.args(args);
        Self::spawn(command, configure)
    }

    /// Like [`start`](Self::start), with the process allowed at most `limit` open files
    /// (`ulimit -n`, then the shell replaces itself with the server).
    #[cfg(unix)]
    pub(crate) fn start_with_open_files_limit(
        limit: u32,
        args: &[&str],
        configure: impl FnOnce(&mut Command),
    ) -> Self {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_gameauth"))
            .args(args);
        Self::spawn(command, configure)
    }

    fn spawn(mut command: Command, configure: impl FnOnce(&mut Command)) -> Self {
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        configure(&mut command);
        let mut child = command.spawn().expect("spawn gameauth");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut startup = Vec::new();
        let base = loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    if let Some(addr) = line.strip_prefix("listening on ") {
                        break addr.to_owned();
                    }
                    startup.push(line);
                }
                Err(_) => panic!("no `listening on` line; stderr so far: {startup:#?}"),
            }
        };
        Self {
            child,
            base,
            startup,
            stderr: rx,
        }
    }

    /// Every stderr line not read yet, up to the end of the stream. Call after the process
    /// exited: the lines are forwarded by a reader thread, which may still be passing on the
    /// last ones when the exit is seen, so this waits for the stream's end, not for what has
    /// arrived so far.
    pub(crate) fn rest_of_stderr(&self) -> Vec<String> {
        let mut rest = Vec::new();
        loop {
            match self.stderr.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => rest.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => return rest,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("stderr did not end within 60 s; so far: {rest:#?}")
                }
            }
        }
    }

    /// Sends SIGTERM.
    pub(crate) fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
