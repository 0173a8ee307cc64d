//! A Redis Cluster of three primaries and three replicas on loopback, made with
//! `redis-cli --cluster create`.

use std::process::Command;
use std::time::Duration;

use redis::Value;

use super::{RedisServer, ServerOptions, query, require_programs, wait_until};

/// Three primaries, each with one replica.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts six cluster nodes, joins them with `redis-cli --cluster create … --cluster-replicas
    /// 1 --cluster-yes`, and waits until every node sees all 16384 slots served and its replicas
    /// in sync; or skips when `redis-server` or `redis-cli` is missing (a failure under
    /// `GAMEAUTH_REQUIRE_REDIS=1`).
    ///
    /// # Panics
    /// When a node does not start or the cluster does not become ready within 30 s.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        let programs = require_programs(test, &["redis-server", "redis-cli"])?;
        let (server, cli) = (programs[0].clone(), programs[1].clone());
        let nodes: Vec<RedisServer> = (0..6)
            .map(|_| {
                RedisServer::start_with(
                    server.clone(),
                    ServerOptions {
                        cluster: true,
                        ..ServerOptions::default()
                    },
                )
            })
            .collect();
        let output = Command::new(&cli)
            .arg("--cluster")
            .arg("create")
            .args(nodes.iter().map(RedisServer::address))
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let cluster = Self { nodes };
        let ready = wait_until(Duration::from_secs(30), || cluster.is_healthy());
        assert!(ready, "the cluster did not become ready");
        Some(cluster)
    }

    /// Whether every running node reports `cluster_state:ok` with all slots served, and every
    /// running replica is in sync with its primary.
    pub fn is_healthy(&self) -> bool {
        self.running().all(|n| {
            query::<String>(n.port(), &["CLUSTER", "INFO"]).is_ok_and(|info| {
                info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384")
            }) && query::<String>(n.port(), &["INFO", "replication"]).is_ok_and(|info| {
                info.contains("role:master") || info.contains("master_link_status:up")
            })
        })
    }

    /// Waits until [`is_healthy`](Self::is_healthy); returns whether that happened within `limit`.
    pub fn wait_until_healthy(&self, limit: Duration) -> bool {
        wait_until(limit, || self.is_healthy())
    }

    fn running(&self) -> impl Iterator<Item = &RedisServer> {
        self.nodes.iter().filter(|n| n.is_running())
    }

    /// `redis://127.0.0.1:<port>/` of every node.
    pub fn node_urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// A client configuration for the cluster (no replica confirmation).
    pub fn config(&self) -> gameauth_core::redis::RedisConfig {
        gameauth_core::redis::RedisConfig::cluster(self.node_urls())
    }

    /// The nodes.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// The port of the primary serving `slot`, as a running node sees it.
    pub fn primary_of_slot(&self, slot: u16) -> Option<u16> {
        self.running().find_map(|n| {
            let slots: Vec<Value> = query(n.port(), &["CLUSTER", "SLOTS"]).ok()?;
            slots.iter().find_map(|range| {
                let Value::Array(parts) = range else {
                    return None;
                };
                let start: i64 = redis::from_redis_value_ref(parts.first()?).ok()?;
                let end: i64 = redis::from_redis_value_ref(parts.get(1)?).ok()?;
                let Value::Array(node) = parts.get(2)? else {
                    return None;
                };
                let port: u16 = redis::from_redis_value_ref(node.get(1)?).ok()?;
                (start..=end).contains(&i64::from(slot)).then_some(port)
            })
        })
    }

    /// The replica of the primary on `primary`, among the running nodes.
    pub fn replica_of(&self, primary: u16) -> Option<&RedisServer> {
        self.running().find(|n| {
            query::<String>(n.port(), &["INFO", "replication"]).is_ok_and(|info| {
                info.contains("role:slave") && info.contains(&format!("master_port:{primary}\r\n"))
            })
        })
    }

    /// The node on `port`.
    pub fn node(&self, port: u16) -> Option<&RedisServer> {
        self.nodes.iter().find(|n| n.port() == port)
    }

    /// Kills the primary serving slot 0 with SIGKILL and returns its port.
    ///
    /// # Panics
    /// When no running node names a primary for slot 0.
    pub fn kill_a_primary(&self) -> u16 {
        let port = self.primary_of_slot(0).expect("a primary serves slot 0");
        self.nodes
            .iter()
            .find(|n| n.port() == port)
            .expect("the primary is one of the cluster's nodes")
            .kill();
        port
    }

    /// Starts the (killed) node on `port` again; it rejoins from its cluster configuration file,
    /// as a replica when its slots were failed over.
    ///
    /// # Panics
    /// When no node has that port or it does not come back.
    pub fn restart_node(&self, port: u16) {
        self.nodes
            .iter()
            .find(|n| n.port() == port)
            .expect("a node on that port")
            .restart();
    }

    /// Waits until a node other than `old` serves slot 0 and every running node reports a
    /// healthy cluster; returns whether that happened within `limit`.
    pub fn wait_for_failover(&self, old: u16, limit: Duration) -> bool {
        wait_until(limit, || {
            self.primary_of_slot(0).is_some_and(|p| p != old)
                && self.running().all(|n| {
                    query::<String>(n.port(), &["CLUSTER", "INFO"])
                        .is_ok_and(|info| info.contains("cluster_state:ok"))
                })
        })
    }
}
