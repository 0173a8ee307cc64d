//! A primary, its replica and three sentinels on loopback, with a failover on demand.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use super::{
    RedisServer, ServerOptions, await_ping, free_port, private_dir, query, require_programs,
    wait_until,
};

/// The service name the sentinels monitor.
pub const SERVICE: &str = "gameauth-test";

/// How long the sentinels wait before they call an unanswering primary down.
pub const DOWN_AFTER: Duration = Duration::from_millis(1000);

/// A primary, one replica and three sentinels (quorum 2), all on loopback.
#[derive(Debug)]
pub struct SentinelSet {
    servers: Vec<RedisServer>,
    sentinels: Vec<SentinelProcess>,
}

impl SentinelSet {
    /// Starts the set and waits until the replica is in sync and every sentinel knows the
    /// replica and the two other sentinels; or skips when `redis-server` or `redis-sentinel`
    /// is missing (a failure under `GAMEAUTH_REQUIRE_REDIS=1`).
    ///
    /// # Panics
    /// When a process does not start or the set does not become ready within 30 s.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        let programs = require_programs(test, &["redis-server", "redis-sentinel"])?;
        let (server, sentinel) = (programs[0].clone(), programs[1].clone());
        let primary = RedisServer::start_with(server.clone(), ServerOptions::default());
        let replica = RedisServer::start_with(
            server,
            ServerOptions {
                replica_of: Some(primary.port()),
                ..ServerOptions::default()
            },
        );
        let synced = wait_until(Duration::from_secs(30), || {
            query::<String>(replica.port(), &["INFO", "replication"])
                .is_ok_and(|info| info.contains("master_link_status:up"))
        });
        assert!(synced, "the replica did not sync with its primary");
        let sentinels = (0..3)
            .map(|_| SentinelProcess::start(&sentinel, primary.port()))
            .collect::<Vec<_>>();
        let set = Self {
            servers: vec![primary, replica],
            sentinels,
        };
        let ready = wait_until(Duration::from_secs(30), || {
            set.sentinels.iter().all(|s| {
                query::<Vec<String>>(s.port, &["SENTINEL", "MASTER", SERVICE]).is_ok_and(|fields| {
                    field(&fields, "num-slaves").is_some_and(|n| n >= 1)
                        && field(&fields, "num-other-sentinels").is_some_and(|n| n >= 2)
                })
            })
        });
        assert!(
            ready,
            "the sentinels did not discover the replica and each other"
        );
        Some(set)
    }

    /// `127.0.0.1:<port>` of each sentinel.
    pub fn sentinel_addresses(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect()
    }

    /// A client configuration for the set (no replica confirmation).
    pub fn config(&self) -> gameauth_core::redis::RedisConfig {
        gameauth_core::redis::RedisConfig::sentinel(gameauth_core::redis::SentinelConfig::new(
            SERVICE,
            self.sentinel_addresses(),
        ))
    }

    /// The port of the primary the first answering sentinel names.
    pub fn primary_port(&self) -> Option<u16> {
        self.sentinels.iter().find_map(|s| {
            query::<(String, u16)>(s.port, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE])
                .ok()
                .map(|(_, port)| port)
        })
    }

    /// The data servers (the first started as the primary, the second as its replica).
    pub fn servers(&self) -> &[RedisServer] {
        &self.servers
    }

    /// The server on `port`.
    pub fn server(&self, port: u16) -> Option<&RedisServer> {
        self.servers.iter().find(|s| s.port() == port)
    }

    /// The data server that is not the current primary.
    pub fn replica(&self) -> Option<&RedisServer> {
        let primary = self.primary_port()?;
        self.servers.iter().find(|s| s.port() != primary)
    }

    /// Kills the current primary with SIGKILL and returns its port.
    ///
    /// # Panics
    /// When no sentinel names a running primary.
    pub fn kill_primary(&self) -> u16 {
        let port = self.primary_port().expect("a sentinel names the primary");
        self.server(port)
            .expect("the primary is one of the set's servers")
            .kill();
        port
    }

    /// Waits until the sentinels name a primary other than `old` that answers; returns
    /// whether that happened within `limit`.
    pub fn wait_for_new_primary(&self, old: u16, limit: Duration) -> bool {
        wait_until(limit, || {
            self.primary_port()
                .is_some_and(|p| p != old && self.server(p).is_some_and(RedisServer::answers_ping))
        })
    }

    /// Who is what, for a failure message: each server's replication role and link, and each
    /// sentinel's primary.
    pub fn describe(&self) -> String {
        let mut out = Vec::new();
        for s in &self.servers {
            let info = query::<String>(s.port(), &["INFO", "replication"]).unwrap_or_default();
            let summary: Vec<&str> = info
                .lines()
                .filter(|l| {
                    l.starts_with("role:")
                        || l.starts_with("master_port:")
                        || l.starts_with("master_link_status:")
                        || l.starts_with("connected_slaves:")
                })
                .collect();
            out.push(format!("server {}: {}", s.port(), summary.join(" ")));
        }
        for s in &self.sentinels {
            let primary =
                query::<(String, u16)>(s.port, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE]);
            out.push(format!("sentinel {}: primary {primary:?}", s.port));
        }
        out.join("; ")
    }

    /// Waits until the server on `port` is a replica in sync with its primary; returns whether
    /// that happened within `limit`.
    pub fn wait_for_replica(&self, port: u16, limit: Duration) -> bool {
        wait_until(limit, || {
            query::<String>(port, &["INFO", "replication"]).is_ok_and(|info| {
                info.contains("role:slave") && info.contains("master_link_status:up")
            })
        })
    }
}

fn field(fields: &[String], name: &str) -> Option<u64> {
    fields
        .chunks(2)
        .find(|kv| kv[0] == name)
        .and_then(|kv| kv.get(1))
        .and_then(|v| v.parse().ok())
}

/// One `redis-sentinel` process with its own configuration file.
#[derive(Debug)]
struct SentinelProcess {
    port: u16,
    dir: PathBuf,
    child: Mutex<Option<Child>>,
}

impl SentinelProcess {
    fn start(program: &PathBuf, primary: u16) -> Self {
        let dir = private_dir("sentinel");
        let mut last_error = String::new();
        for _ in 0..super::START_ATTEMPTS {
            let port = free_port(false);
            match Self::spawn(program, &dir, port, primary) {
                Ok(child) => {
                    return Self {
                        port,
                        dir,
                        child: Mutex::new(Some(child)),
                    };
                }
                Err(e) => last_error = e,
            }
        }
        panic!("cannot start redis-sentinel: {last_error}");
    }

    fn spawn(
        program: &PathBuf,
        dir: &std::path::Path,
        port: u16,
        primary: u16,
    ) -> Result<Child, String> {
        let conf = dir.join("sentinel.conf");
        let log = dir.join("sentinel.log");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\n\
                 dir {dir}\nlogfile {log}\n\
                 sentinel monitor {SERVICE} 127.0.0.1 {primary} 2\n\
                 sentinel down-after-milliseconds {SERVICE} {down}\n\
                 sentinel failover-timeout {SERVICE} 10000\n\
                 sentinel parallel-syncs {SERVICE} 1\n",
                dir = dir.display(),
                log = log.display(),
                down = DOWN_AFTER.as_millis(),
            ),
        )
        .map_err(|e| format!("cannot write the sentinel configuration: {e}"))?;
        let child = Command::new(program)
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        await_ping(child, "redis-sentinel", port, &log)
    }
}

impl Drop for SentinelProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
