//! One `redis-server` child process on loopback: plain, persistent, TLS, a replica, or a
//! cluster node.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::{
    START_ATTEMPTS, TestCertificates, await_ping, free_port, ping, private_dir, require_redis,
};

/// How a [`RedisServer`] runs.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Append-only file synced on every write, so a killed server restarts with every
    /// acknowledged write.
    pub persistent: bool,
    /// Serve TLS with these certificates on a second port ([`RedisServer::url`] names it),
    /// requiring a client certificate signed by the same CA.
    pub tls: Option<Arc<TestCertificates>>,
    /// Replicate the server on this loopback port.
    pub replica_of: Option<u16>,
    /// Run as a Redis Cluster node (its bus port is the port + 10000).
    pub cluster: bool,
}

/// A `redis-server` child process on `127.0.0.1`, killed and cleaned up on drop.
///
/// The plain port always listens, for the harness's own checks; with TLS, clients use
/// [`url`](Self::url) (`rediss://`), which names the TLS port.
#[derive(Debug)]
pub struct RedisServer {
    program: PathBuf,
    port: u16,
    tls_port: Option<u16>,
    pub(super) dir: PathBuf,
    options: ServerOptions,
    /// Replaces `options.replica_of` once the server was restarted as another's replica.
    replica_of: Mutex<Option<u16>>,
    child: Mutex<Option<Child>>,
}

impl RedisServer {
    /// Starts a server without persistence, or skips (see [`require_redis`]).
    ///
    /// # Panics
    /// When the server cannot be started, or as [`require_redis`] does.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        require_redis(test).map(|program| Self::start_with(program, ServerOptions::default()))
    }

    /// Starts a server with an append-only file synced on every write (so a killed server
    /// restarts with every acknowledged write), or skips (see [`require_redis`]).
    ///
    /// # Panics
    /// When the server cannot be started, or as [`require_redis`] does.
    pub fn start_persistent_or_skip(test: &str) -> Option<Self> {
        require_redis(test).map(|program| {
            Self::start_with(
                program,
                ServerOptions {
                    persistent: true,
                    ..ServerOptions::default()
                },
            )
        })
    }

    /// Starts a TLS server with fresh certificates (see [`ServerOptions::tls`]), or skips.
    ///
    /// # Panics
    /// When the server cannot be started, or as [`require_redis`] does.
    pub fn start_tls_or_skip(test: &str) -> Option<Self> {
        require_redis(test).map(|program| {
            Self::start_with(
                program,
                ServerOptions {
                    tls: Some(Arc::new(TestCertificates::generate())),
                    ..ServerOptions::default()
                },
            )
        })
    }

    /// Starts `program` (`persistent` as in [`ServerOptions`]) on a free loopback port and waits
    /// until it answers `PING`.
    ///
    /// # Panics
    /// When no attempt gets a server answering within the deadline.
    pub fn start(program: PathBuf, persistent: bool) -> Self {
        Self::start_with(
            program,
            ServerOptions {
                persistent,
                ..ServerOptions::default()
            },
        )
    }

    /// Starts `program` with `options` on free loopback ports and waits until it answers `PING`.
    ///
    /// # Panics
    /// When no attempt gets a server answering within the deadline.
    pub fn start_with(program: PathBuf, options: ServerOptions) -> Self {
        let dir = private_dir("redis");
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port(options.cluster);
            let tls_port = options.tls.is_some().then(|| free_port(false));
            let server = Self {
                program: program.clone(),
                port,
                tls_port,
                dir: dir.clone(),
                options: options.clone(),
                replica_of: Mutex::new(options.replica_of),
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

    /// `redis://127.0.0.1:<port>/`, or `rediss://127.0.0.1:<tls port>/` for a TLS server.
    pub fn url(&self) -> String {
        match self.tls_port {
            Some(port) => format!("rediss://127.0.0.1:{port}/"),
            None => format!("redis://127.0.0.1:{}/", self.port),
        }
    }

    /// `127.0.0.1:<port>` of the plain port.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The plain TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TLS port, for a TLS server.
    pub fn tls_port(&self) -> Option<u16> {
        self.tls_port
    }

    /// The certificates of a TLS server.
    pub fn certificates(&self) -> Option<&TestCertificates> {
        self.options.tls.as_deref()
    }

    /// The process id of the running server, if it runs.
    pub fn pid(&self) -> Option<u32> {
        self.lock().as_ref().map(Child::id)
    }

    /// Whether the process runs.
    pub fn is_running(&self) -> bool {
        self.lock().is_some()
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

    /// Starts the (killed) server again as a replica of the server on `primary`, as an operator
    /// brings a failed primary back after a failover; waits until it answers `PING`.
    ///
    /// # Panics
    /// When the server does not come back.
    pub fn restart_as_replica_of(&self, primary: u16) {
        *self.replica_of.lock().unwrap_or_else(|p| p.into_inner()) = Some(primary);
        self.restart();
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

    /// Cuts the server's replicas off, as a network partition between them would: a password is
    /// set (connections already open keep working; new ones, like a replica's reconnection, are
    /// refused) and the replication links are closed. The replicas keep what they had received.
    ///
    /// # Panics
    /// When the server does not accept the commands.
    pub fn cut_off_replicas(&self) {
        // One connection: the password applies to connections opened after it is set.
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .expect("a loopback URL");
        let mut conn = client
            .get_connection_with_timeout(Duration::from_secs(1))
            .expect("connect to the primary");
        let set: String = redis::cmd("CONFIG")
            .arg(&["SET", "requirepass", "replicas-cut-off"][..])
            .query(&mut conn)
            .expect("CONFIG SET requirepass");
        assert_eq!(set, "OK");
        let _: i64 = redis::cmd("CLIENT")
            .arg(&["KILL", "TYPE", "replica"][..])
            .query(&mut conn)
            .expect("CLIENT KILL TYPE replica");
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

    fn lock(&self) -> MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn spawn(&self) -> Result<(), String> {
        let log = self.dir.join(format!("redis-{}.log", self.port));
        let mut command = Command::new(&self.program);
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--protected-mode", "yes", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .args(["--save", ""])
            // A replica (re)joining gets its full copy at once, not after the default 5 s wait.
            .args(["--repl-diskless-sync-delay", "0"]);
        if self.options.persistent {
            command.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            command.args(["--appendonly", "no"]);
        }
        if let (Some(certs), Some(port)) = (&self.options.tls, self.tls_port) {
            command
                .args(["--tls-port", &port.to_string()])
                .arg("--tls-cert-file")
                .arg(certs.server_cert())
                .arg("--tls-key-file")
                .arg(certs.server_key())
                .arg("--tls-ca-cert-file")
                .arg(certs.ca())
                .args(["--tls-auth-clients", "yes"]);
        }
        let replica_of = *self.replica_of.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(primary) = replica_of {
            command.args(["--replicaof", "127.0.0.1", &primary.to_string()]);
        }
        if self.options.cluster {
            command
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "1000"])
                .arg("--cluster-config-file")
                .arg(self.dir.join(format!("nodes-{}.conf", self.port)));
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        *self.lock() = Some(await_ping(child, "redis-server", self.port, &log)?);
        Ok(())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
