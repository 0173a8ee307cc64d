//! Real Redis deployments on loopback for the tests of the Redis-backed stores.
//!
//! * [`RedisServer`]: one private `redis-server` on a free port — plain, persistent
//!   ([`RedisServer::start_persistent_or_skip`]) or TLS with certificates made at test time
//!   ([`RedisServer::start_tls_or_skip`], [`TestCertificates`]) — stopped when the handle drops.
//! * [`SentinelSet`]: a primary, its replica and three sentinels.
//! * [`RedisCluster`]: three primaries and three replicas joined by `redis-cli --cluster create`.
//! * [`Deployment`]: any of the three, behind one interface, for tests that run on each.
//!
//! When a program is not on `PATH` the test is skipped with a line on stderr, unless
//! `GAMEAUTH_REQUIRE_REDIS=1` (set by CI), which turns the missing program into a failure.
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

mod certs;
mod cluster;
mod sentinel;
mod server;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use certs::TestCertificates;
pub use cluster::RedisCluster;
pub use sentinel::{DOWN_AFTER, SERVICE, SentinelSet};
pub use server::{RedisServer, ServerOptions};

/// The environment variable that turns a missing Redis program into a test failure.
pub const REQUIRE_REDIS_ENV: &str = "GAMEAUTH_REQUIRE_REDIS";

/// How long a starting server gets to answer `PING`.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// Attempts at finding a port that stays free until the server binds it.
const START_ATTEMPTS: usize = 5;

/// Where `program` is, if it is on `PATH`.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Where `redis-server` is, if it is on `PATH`.
pub fn find_redis_server() -> Option<PathBuf> {
    find_program("redis-server")
}

/// Whether a Redis test can run: `Some(path of redis-server)`, or `None` after printing
/// "skipped: redis-server not found" to stderr.
///
/// # Panics
/// When `redis-server` is missing and `GAMEAUTH_REQUIRE_REDIS=1`: CI must run these tests.
pub fn require_redis(test: &str) -> Option<PathBuf> {
    require_programs(test, &["redis-server"]).map(|mut found| found.remove(0))
}

/// Whether a test needing every program of `programs` can run: their paths in order, or `None`
/// after printing which is missing to stderr.
///
/// # Panics
/// When one is missing and `GAMEAUTH_REQUIRE_REDIS=1`.
pub fn require_programs(test: &str, programs: &[&str]) -> Option<Vec<PathBuf>> {
    let required = std::env::var(REQUIRE_REDIS_ENV).is_ok_and(|v| v == "1");
    let mut found = Vec::new();
    for program in programs {
        found.push(decide(find_program(program), program, required, test)?);
    }
    Some(found)
}

fn decide(found: Option<PathBuf>, program: &str, required: bool, test: &str) -> Option<PathBuf> {
    match found {
        Some(path) => Some(path),
        None if required => panic!(
            "{test}: {program} not found on PATH and {REQUIRE_REDIS_ENV}=1; install it \
             (Debian: apt-get install redis-server redis-sentinel redis-tools) or unset {REQUIRE_REDIS_ENV}"
        ),
        None => {
            eprintln!(
                "{test}: skipped: {program} not found on PATH \
                 (install it, or set {REQUIRE_REDIS_ENV}=1 to make this a failure)"
            );
            None
        }
    }
}

/// One of the deployments the Redis-backed stores must run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentKind {
    /// One TLS server requiring a client certificate.
    Tls,
    /// A primary, a replica and three sentinels.
    Sentinel,
    /// Three primaries and three replicas.
    Cluster,
}

/// A started deployment of one of the [`DeploymentKind`]s.
#[derive(Debug)]
pub enum Deployment {
    /// See [`DeploymentKind::Tls`].
    Tls(RedisServer),
    /// See [`DeploymentKind::Sentinel`].
    Sentinel(SentinelSet),
    /// See [`DeploymentKind::Cluster`].
    Cluster(RedisCluster),
}

impl Deployment {
    /// Starts a deployment of `kind`, or skips as its parts do.
    ///
    /// # Panics
    /// As the parts' `start_or_skip` do.
    pub fn start_or_skip(kind: DeploymentKind, test: &str) -> Option<Self> {
        Some(match kind {
            DeploymentKind::Tls => Self::Tls(RedisServer::start_tls_or_skip(test)?),
            DeploymentKind::Sentinel => Self::Sentinel(SentinelSet::start_or_skip(test)?),
            DeploymentKind::Cluster => Self::Cluster(RedisCluster::start_or_skip(test)?),
        })
    }

    /// Which kind it is.
    pub fn kind(&self) -> DeploymentKind {
        match self {
            Self::Tls(_) => DeploymentKind::Tls,
            Self::Sentinel(_) => DeploymentKind::Sentinel,
            Self::Cluster(_) => DeploymentKind::Cluster,
        }
    }

    /// A client configuration that reaches it (TLS with the test CA and client certificate);
    /// no replica confirmation.
    ///
    /// # Panics
    /// When a TLS server has no certificates (it always has).
    pub fn config(&self) -> gameauth_core::redis::RedisConfig {
        match self {
            Self::Tls(server) => gameauth_core::redis::RedisConfig::single(server.url()).tls(
                server
                    .certificates()
                    .expect("a TLS server has certificates")
                    .client_tls(),
            ),
            Self::Sentinel(set) => set.config(),
            Self::Cluster(cluster) => cluster.config(),
        }
    }

    /// Whether it has replicas (so replica confirmation can be asked for).
    pub fn has_replicas(&self) -> bool {
        !matches!(self, Self::Tls(_))
    }
}

/// Sends one command to the plain port `port` and reads its reply (1 s timeouts).
///
/// # Errors
/// When the server cannot be reached or answers with an error or another type.
pub fn query<T: redis::FromRedisValue>(port: u16, parts: &[&str]) -> redis::RedisResult<T> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let mut conn = client.get_connection_with_timeout(Duration::from_secs(1))?;
    conn.set_read_timeout(Some(Duration::from_secs(1)))?;
    conn.set_write_timeout(Some(Duration::from_secs(1)))?;
    let mut command = redis::cmd(parts[0]);
    for part in &parts[1..] {
        command.arg(*part);
    }
    command.query(&mut conn)
}

/// Polls `check` every 100 ms until it holds or `limit` passes; returns whether it held.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A free loopback port; with `bus`, one whose cluster bus port (+10000) is free too.
fn free_port(bus: bool) -> u16 {
    for _ in 0..1000 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("no free loopback port");
        if !bus
            || port
                .checked_add(10_000)
                .is_some_and(|bus| TcpListener::bind(("127.0.0.1", bus)).is_ok())
        {
            return port;
        }
    }
    panic!("no free loopback port with a free cluster bus port");
}

fn private_dir(kind: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "testkit-{kind}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    // A directory left by an earlier process with the same id holds nothing we want.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a private directory");
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

/// Waits until the process `child` (`what`, logging to `log`) answers `PING` on `port`; kills it
/// when it does not within [`START_DEADLINE`].
fn await_ping(mut child: Child, what: &str, port: u16, log: &Path) -> Result<Child, String> {
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        if ping(port) {
            return Ok(child);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{what} on port {port} exited with {status}: {}",
                log_tail(log)
            ));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{what} on port {port} did not answer PING within {START_DEADLINE:?}: {}",
                log_tail(log)
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
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
    fn missing_program_skips_unless_required() {
        assert_eq!(decide(None, "redis-server", false, "t"), None);
        let found = Some(PathBuf::from("/usr/bin/redis-server"));
        assert_eq!(decide(found.clone(), "redis-server", true, "t"), found);
    }

    #[test]
    #[should_panic(expected = "redis-sentinel not found on PATH and GAMEAUTH_REQUIRE_REDIS=1")]
    fn missing_program_fails_when_required() {
        decide(None, "redis-sentinel", true, "t");
    }

    #[test]
    fn cluster_ports_leave_room_for_the_bus() {
        for _ in 0..20 {
            assert!(free_port(true) <= u16::MAX - 10_000);
        }
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
        assert_eq!(
            query::<String>(redis.port(), &["SET", "k", "v"]).unwrap(),
            "OK"
        );
        redis.kill();
        redis.restart();
        assert_eq!(query::<String>(redis.port(), &["GET", "k"]).unwrap(), "v");
    }

    #[test]
    fn tls_server_listens_on_a_second_port_with_test_certificates() {
        let Some(redis) = RedisServer::start_tls_or_skip("testkit redis tls") else {
            return;
        };
        let tls_port = redis.tls_port().expect("a TLS port");
        assert_eq!(redis.url(), format!("rediss://127.0.0.1:{tls_port}/"));
        assert!(redis.certificates().is_some_and(|c| c.ca().is_file()));
        // The TLS port does not speak plain RESP.
        assert!(!ping(tls_port));
    }
}
