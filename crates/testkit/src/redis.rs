//! A private `redis-server` per test, on a free loopback port.
//!
//! Tests of the Redis-backed stores start their own server ([`RedisServer::start_or_skip`]):
//! no persistence unless asked for ([`RedisServer::start_persistent_or_skip`]), stopped when the
//! handle drops. When `redis-server` is not on `PATH` the test is skipped with a line on stderr,
//! unless `GAMEAUTH_REQUIRE_REDIS=1` (set by CI), which turns the missing server into a failure.
//!
//! ```
//! let Some(redis) = testkit::redis::RedisServer::start_or_skip("doc example") else {
//!     return;
//! };
//! assert!(redis.url().starts_with("redis://127.0.0.1:"));
//! redis.kill();
//! assert!(!redis.answers_ping());
//! redis.restart();
//! assert!(redis.answers_ping());
//! ```

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The environment variable that turns a missing `redis-server` into a test failure.
pub const REQUIRE_REDIS_ENV: &str = "GAMEAUTH_REQUIRE_REDIS";

/// How long a starting server gets to answer `PING`.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// Attempts at finding a port that stays free until the server binds it.
const START_ATTEMPTS: usize = 5;

/// Where `redis-server` is, if it is on `PATH`.
pub fn find_redis_server() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
}

/// Whether a Redis test can run: `Some(path of redis-server)`, or `None` after printing
/// "skipped: redis-server not found" to stderr.
///
/// # Panics
/// When `redis-server` is missing and `GAMEAUTH_REQUIRE_REDIS=1`: CI must run these tests.
pub fn require_redis(test: &str) -> Option<PathBuf> {
    let required = std::env::var(REQUIRE_REDIS_ENV).is_ok_and(|v| v == "1");
    decide(find_redis_server(), required, test)
}

fn decide(found: Option<PathBuf>, required: bool, test: &str) -> Option<PathBuf> {
    match found {
        Some(path) => Some(path),
        None if required => panic!(
            "{test}: redis-server not found on PATH and {REQUIRE_REDIS_ENV}=1; \
             install it (Debian: apt-get install redis-server) or unset {REQUIRE_REDIS_ENV}"
        ),
        None => {
            eprintln!(
                "{test}: skipped: redis-server not found on PATH \
                 (install redis-server, or set {REQUIRE_REDIS_ENV}=1 to make this a failure)"
            );
            None
        }
    }
}

/// A `redis-server` child process on `127.0.0.1`, killed and cleaned up on drop.
#[derive(Debug)]
pub struct RedisServer {
    program: PathBuf,
    port: u16,
    dir: PathBuf,
    persistent: bool,
    child: Mutex<Option<Child>>,
}

impl RedisServer {
    /// Starts a server without persistence, or skips (see [`require_redis`]).
    ///
    /// # Panics
    /// When the server cannot be started, or as [`require_redis`] does.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        require_redis(test).map(|program| Self::start(program, false))
    }

    /// Starts a server with an append-only file synced on every write (so a killed server
    /// restarts with every acknowledged write), or skips (see [`require_redis`]).
    ///
    /// # Panics
    /// When the server cannot be started, or as [`require_redis`] does.
    pub fn start_persistent_or_skip(test: &str) -> Option<Self> {
        require_redis(test).map(|program| Self::start(program, true))
    }

    /// Starts `program` on a free loopback port and waits until it answers `PING`.
    ///
    /// # Panics
    /// When no attempt gets a server answering within the deadline.
    pub fn start(program: PathBuf, persistent: bool) -> Self {
        let dir = private_dir();
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let server = Self {
                program: program.clone(),
                port,
                dir: dir.clone(),
                persistent,
                child: Mutex::new(None),
            };
            match server.spawn() {
                Ok(()) => return server,
                // Another process may have taken the port between probing and binding.
                Err(e) => last_error = e,
            }
        }
        panic!("cannot start redis-server: {last_error}");
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id of the running server, if it runs.
    pub fn pid(&self) -> Option<u32> {
        self.lock().as_ref().map(Child::id)
    }

    /// Kills the server with SIGKILL (as a crash would) and waits for it to exit.
    pub fn kill(&self) {
        if let Some(mut child) = self.lock().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory (so a persistent server reloads
    /// its data) and waits until it answers `PING`.
    ///
    /// # Panics
    /// When the server does not come back.
    pub fn restart(&self) {
        self.kill();
        if let Err(e) = self.spawn() {
            panic!("cannot restart redis-server: {e}");
        }
    }

    /// Stops the server from answering without closing its connections (SIGSTOP), as a hung
    /// server would.
    ///
    /// # Panics
    /// When the server is not running or the signal cannot be sent.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server answer again (SIGCONT).
    ///
    /// # Panics
    /// When the server is not running or the signal cannot be sent.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// Whether the server answers `PING` with `PONG` within a second.
    pub fn answers_ping(&self) -> bool {
        ping(self.port)
    }

    fn signal(&self, signal: &str) {
        let pid = self.pid().expect("redis-server is not running");
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {pid} failed");
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn spawn(&self) -> Result<(), String> {
        let log = self.dir.join("redis.log");
        let mut command = Command::new(&self.program);
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--protected-mode", "yes", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .args(["--save", ""]);
        if self.persistent {
            command.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            command.args(["--appendonly", "no"]);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if ping(self.port) {
                *self.lock() = Some(child);
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "redis-server on port {} exited with {status}: {}",
                    self.port,
                    log_tail(&log)
                ));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "redis-server on port {} did not answer PING within {START_DEADLINE:?}: {}",
                    self.port,
                    log_tail(&log)
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

fn private_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "testkit-redis-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    // A directory left by an earlier process with the same id holds nothing we want.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a directory for redis-server");
    dir
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let timeout = Some(Duration::from_secs(1));
    if stream.set_read_timeout(timeout).is_err() || stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_server_skips_unless_required() {
        assert_eq!(decide(None, false, "t"), None);
        let found = Some(PathBuf::from("/usr/bin/redis-server"));
        assert_eq!(decide(found.clone(), true, "t"), found);
    }

    #[test]
    #[should_panic(expected = "redis-server not found on PATH and GAMEAUTH_REQUIRE_REDIS=1")]
    fn missing_server_fails_when_required() {
        decide(None, true, "t");
    }

    #[test]
    fn server_answers_can_be_killed_restarted_paused_and_is_stopped_on_drop() {
        let Some(redis) = RedisServer::start_or_skip("testkit redis lifecycle") else {
            return;
        };
        let port = redis.port();
        assert!(redis.answers_ping());
        redis.pause();
        assert!(!redis.answers_ping(), "a paused server must not answer");
        redis.resume();
        assert!(redis.answers_ping());
        redis.kill();
        assert!(!redis.answers_ping());
        redis.restart();
        assert_eq!(redis.port(), port, "a restart keeps the port");
        assert!(redis.answers_ping());
        let dir = redis.dir.clone();
        drop(redis);
        assert!(!ping(port), "dropping the handle stops the server");
        assert!(!dir.exists(), "dropping the handle removes its directory");
    }

    #[test]
    fn persistent_server_keeps_writes_across_a_kill() {
        let Some(redis) = RedisServer::start_persistent_or_skip("testkit redis persistence") else {
            return;
        };
        let command = |parts: &[&str]| {
            let mut s = TcpStream::connect(("127.0.0.1", redis.port())).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut out = format!("*{}\r\n", parts.len());
            for p in parts {
                out.push_str(&format!("${}\r\n{p}\r\n", p.len()));
            }
            s.write_all(out.as_bytes()).unwrap();
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        };
        assert_eq!(command(&["SET", "k", "v"]), "+OK\r\n");
        redis.kill();
        redis.restart();
        assert_eq!(command(&["GET", "k"]), "$1\r\nv\r\n");
    }
}
