//! [`RedisConnection`]: one handle for every topology, with a second lane for writes that wait
//! for replicas, and a key scan that covers every primary of a cluster.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Client, Cmd, IntoConnectionInfo, Pipeline, ProtocolVersion, RedisFuture, Value};
use secrecy::ExposeSecret;

use super::cache::{CacheGuard, ping};
use super::config::Topology;
use super::sentinel::SentinelLane;
use super::{ClientCache, RedisConfig, RedisFailure, ReplicaAcks, TlsConfig, unavailable};

/// Which kind of deployment a [`RedisConnection`] speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopologyKind {
    /// One endpoint.
    Single,
    /// A primary found through Sentinel.
    Sentinel,
    /// A Redis Cluster.
    Cluster,
}

impl fmt::Display for TopologyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Single => "single endpoint",
            Self::Sentinel => "sentinel",
            Self::Cluster => "cluster",
        })
    }
}

/// Connection settings for one endpoint: `timeout` for each connection attempt, and a short
/// reconnection schedule (two quick retries) so a request waiting for a reconnection fails
/// within its deadline instead of queueing behind a long backoff.
///
/// Replies have no timeout of their own here: every store operation runs under its own deadline
/// ([`with_deadline`](super::with_deadline)), which also covers waiting for a reconnection, and
/// a second timer per command measurably slows the hot path (`docs/performance.md`, item 6).
/// Wrap commands you send yourself on a one-endpoint connection in `with_deadline` too.
pub fn manager_config(timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(None)
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
}

/// One multiplexed path to Redis.
#[derive(Clone)]
pub(super) enum Lane {
    Single(ConnectionManager),
    Sentinel(SentinelLane),
    Cluster(ClusterConnection),
}

impl Lane {
    /// Opens a lane; `cache` turns on the client cache (RESP3 with `CLIENT TRACKING`).
    async fn open(config: &RedisConfig, cache: Option<ClientCache>) -> Result<Self, RedisFailure> {
        let timeout = config.timeout;
        let tls = config.tls.as_ref();
        match &config.topology {
            Topology::Single(url) => {
                let mut info = url
                    .expose_secret()
                    .into_connection_info()
                    .map_err(|e| unavailable("settings rejected", &e))?;
                let mut manager = manager_config(timeout);
                if let Some(cache) = cache {
                    let settings = info
                        .redis_settings()
                        .clone()
                        .set_protocol(ProtocolVersion::RESP3);
                    info = info.set_redis_settings(settings);
                    manager = manager.set_cache_config(cache.redis_config());
                }
                let client = match tls.and_then(TlsConfig::certificates) {
                    Some(certs) => Client::build_with_tls(info, certs),
                    None => Client::open(info),
                }
                .map_err(|e| unavailable("settings rejected", &e))?;
                let conn = ConnectionManager::new_with_config(client, manager)
                    .await
                    .map_err(|e| unavailable("cannot connect", &e))?;
                Ok(Self::Single(conn))
            }
            Topology::Sentinel(sentinel) => Ok(Self::Sentinel(
                SentinelLane::connect(sentinel, tls, timeout, cache).await?,
            )),
            Topology::Cluster(nodes) => {
                let nodes = nodes
                    .iter()
                    .map(|n| n.expose_secret().into_connection_info())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| unavailable("cluster settings rejected", &e))?;
                let mut builder = ClusterClientBuilder::new(nodes)
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .retries(3)
                    .min_retry_wait(20)
                    .max_retry_wait(200);
                if let Some(certs) = tls.and_then(TlsConfig::certificates) {
                    builder = builder.certs(certs);
                }
                if let Some(cache) = cache {
                    builder = builder
                        .use_protocol(ProtocolVersion::RESP3)
                        .cache_config(cache.redis_config());
                }
                let conn = builder
                    .build()
                    .map_err(|e| unavailable("cluster settings rejected", &e))?
                    .get_async_connection()
                    .await
                    .map_err(|e| unavailable("cannot connect to the cluster", &e))?;
                Ok(Self::Cluster(conn))
            }
        }
    }

    fn as_dyn(&mut self) -> &mut (dyn ConnectionLike + Send) {
        match self {
            Self::Single(c) => c,
            Self::Sentinel(c) => c,
            Self::Cluster(c) => c,
        }
    }
}

impl ConnectionLike for Lane {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.as_dyn().req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        self.as_dyn().req_packed_commands(pipeline, offset, count)
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Sentinel(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// A connection to Redis on any topology, cheap to clone and safe to share: every clone
/// multiplexes over the same connections. Pass it (by `&mut` on a clone) wherever the `redis`
/// crate takes an async connection.
///
/// It reconnects by itself: one endpoint after a lost connection, Sentinel to the primary the
/// sentinels name after a failover, Cluster to the node that now serves a slot. Behind Sentinel
/// and on a Cluster a reply that takes longer than the timeout is an error (so a hung primary is
/// noticed and the sentinels are asked again); on one endpoint the caller's deadline bounds it
/// (see [`manager_config`]).
///
/// With [`ReplicaAcks`], writes that wait for replicas
/// ([`RedisConnection::confirmed_pipeline`], [`ScriptCall::run_confirmed`](super::ScriptCall::run_confirmed))
/// go through a second connection, so a `WAIT` never holds up the reads multiplexed on the first.
#[derive(Clone)]
pub struct RedisConnection {
    pub(super) main: Lane,
    pub(super) confirm: Option<(Lane, ReplicaAcks)>,
    /// With a client cache: the heartbeat's proof that cached reads are current.
    cache: Option<Arc<CacheGuard>>,
    kind: TopologyKind,
    timeout: Duration,
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConnection")
            .field("topology", &self.kind)
            .field("timeout", &self.timeout)
            .field("replica_acks", &self.replica_acks())
            .field("client_cache", &self.cache.is_some())
            .finish()
    }
}

impl RedisConfig {
    /// Checks the settings ([`validate`](Self::validate)), connects, and checks that Redis
    /// answers; the whole attempt is bounded by four times the timeout.
    ///
    /// # Errors
    /// [`RedisFailure::Config`] for bad settings, [`RedisFailure::Unavailable`] when Redis
    /// cannot be reached. Neither quotes a URL or a password.
    pub async fn connect(&self) -> Result<RedisConnection, RedisFailure> {
        self.validate()?;
        if let Some(acks) = self.replica_acks
            && acks.timeout() >= self.timeout
        {
            return Err(RedisFailure::Config(
                "the replica confirmation timeout must be shorter than the Redis timeout".into(),
            ));
        }
        let kind = match self.topology {
            Topology::Single(_) => TopologyKind::Single,
            Topology::Sentinel(_) => TopologyKind::Sentinel,
            Topology::Cluster(_) => TopologyKind::Cluster,
        };
        let opening = async {
            let main = Lane::open(self, self.client_cache).await?;
            let confirm = match self.replica_acks {
                Some(acks) => Some((Lane::open(self, None).await?, acks)),
                None => None,
            };
            let mut conn = RedisConnection {
                main,
                confirm,
                cache: None,
                kind,
                timeout: self.timeout,
            };
            let pinged = Instant::now();
            redis::cmd("PING")
                .query_async::<()>(&mut conn)
                .await
                .map_err(|e| unavailable("PING failed", &e))?;
            if self.client_cache.is_some() {
                conn.cache = Some(CacheGuard::start(conn.main.clone(), pinged, self.timeout));
            }
            Ok(conn)
        };
        tokio::time::timeout(self.timeout.saturating_mul(4), opening)
            .await
            .unwrap_or_else(|_| {
                Err(RedisFailure::Unavailable(
                    "cannot connect: timed out".into(),
                ))
            })
    }
}

/// [`RedisConfig::single`]`(url)` with `timeout`, connected: the one-endpoint shorthand.
///
/// # Errors
/// As [`RedisConfig::connect`].
pub async fn connect(url: &str, timeout: Duration) -> Result<RedisConnection, RedisFailure> {
    RedisConfig::single(url).timeout(timeout).connect().await
}

impl RedisConnection {
    /// The kind of deployment.
    pub fn topology(&self) -> TopologyKind {
        self.kind
    }

    /// The configured deadline of one connection attempt and one reply.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The replica confirmation, when configured.
    pub fn replica_acks(&self) -> Option<ReplicaAcks> {
        self.confirm.as_ref().map(|(_, acks)| *acks)
    }

    /// Whether the connection has a client cache ([`RedisConfig::client_cache`]).
    pub fn has_client_cache(&self) -> bool {
        self.cache.is_some()
    }

    /// Lets the client cache answer `cmd` (a read of one key, such as `GET` or `HGET`) when the
    /// connection has one and Redis answered its heartbeat in the last second; otherwise `cmd`
    /// goes to Redis as usual. See [`ClientCache`] for what a cached answer may miss.
    pub fn cacheable_read<'c>(&self, cmd: &'c mut Cmd) -> &'c mut Cmd {
        if self.cache.as_ref().is_some_and(|g| g.trusted()) {
            cmd.set_cache_config(redis::CommandCacheConfig::new());
        }
        cmd
    }

    /// After a write on the confirmation lane: a `PING` on the cached lane (every primary on a
    /// Cluster), whose answer comes after the invalidations that write caused, so this
    /// instance's next read sees it.
    pub(super) async fn sync_cache(&self, what: &str) -> Result<(), RedisFailure> {
        if self.cache.is_none() {
            return Ok(());
        }
        let mut lane = self.main.clone();
        ping(&mut lane).await.map_err(|e| unavailable(what, &e))
    }

    /// Sends `pipeline` and, with replica confirmation configured, `WAIT` right after it on
    /// the same connection; fewer acknowledgements than required is
    /// [`RedisFailure::NotConfirmed`]. Returns the pipeline's own replies.
    ///
    /// The pipeline's keys must share one cluster slot (a hash tag), as every multi-key
    /// operation on a cluster must.
    ///
    /// # Errors
    /// [`RedisFailure::Unavailable`] when a command fails; `NotConfirmed` as above.
    pub async fn confirmed_pipeline(
        &self,
        pipeline: &Pipeline,
        what: &str,
    ) -> Result<Vec<Value>, RedisFailure> {
        let Some((lane, acks)) = &self.confirm else {
            let mut lane = self.main.clone();
            return pipeline
                .query_async(&mut lane)
                .await
                .map_err(|e| unavailable(what, &e));
        };
        let mut confirmed = pipeline.clone();
        confirmed
            .cmd("WAIT")
            .arg(acks.replicas())
            .arg(acks.timeout_ms());
        let mut lane = lane.clone();
        let mut replies: Vec<Value> = confirmed
            .query_async(&mut lane)
            .await
            .map_err(|e| unavailable(what, &e))?;
        let acked = replies.pop();
        check_acks(acked.as_ref(), *acks)?;
        self.sync_cache(what).await?;
        Ok(replies)
    }

    /// The keys matching `pattern` (a `SCAN` pattern), in steps of about `count`: pass
    /// [`ScanCursor::start`], then each returned cursor until it [is done](ScanCursor::is_done).
    /// On a cluster it walks every primary in turn.
    ///
    /// # Errors
    /// [`RedisFailure::Unavailable`].
    pub async fn scan_step(
        &self,
        cursor: ScanCursor,
        pattern: &str,
        count: usize,
    ) -> Result<(ScanCursor, Vec<String>), RedisFailure> {
        let mut command = redis::cmd("SCAN");
        command
            .arg(cursor.position)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(count);
        let Lane::Cluster(cluster) = &self.main else {
            let mut lane = self.main.clone();
            let (next, keys): (u64, Vec<String>) = command
                .query_async(&mut lane)
                .await
                .map_err(|e| unavailable("SCAN failed", &e))?;
            return Ok((
                ScanCursor {
                    position: next,
                    done: next == 0,
                    ..cursor
                },
                keys,
            ));
        };
        let mut cluster = cluster.clone();
        let primaries = match cursor.primaries {
            Some(p) => p,
            None => primaries(&mut cluster).await?,
        };
        let Some((host, port)) = primaries.get(cursor.node).cloned() else {
            return Ok((ScanCursor::done(), Vec::new()));
        };
        let reply = cluster
            .route_command(
                command,
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port }),
            )
            .await
            .map_err(|e| unavailable("SCAN failed", &e))?;
        let (next, keys): (u64, Vec<String>) =
            redis::from_redis_value(reply).map_err(|e| unavailable("SCAN failed", &e.into()))?;
        let (node, position) = if next == 0 {
            (cursor.node + 1, 0)
        } else {
            (cursor.node, next)
        };
        Ok((
            ScanCursor {
                position,
                node,
                done: node >= primaries.len(),
                primaries: Some(primaries),
            },
            keys,
        ))
    }
}

/// Checks the reply of `WAIT`.
pub(crate) fn check_acks(reply: Option<&Value>, acks: ReplicaAcks) -> Result<(), RedisFailure> {
    let acked = match reply {
        Some(Value::Int(n)) => *n,
        _ => {
            return Err(RedisFailure::Unavailable(
                "WAIT returned an unexpected reply".into(),
            ));
        }
    };
    if acked < i64::from(acks.replicas()) {
        return Err(RedisFailure::NotConfirmed(format!(
            "{acked} of {} replicas acknowledged within {} ms",
            acks.replicas(),
            acks.timeout_ms()
        )));
    }
    Ok(())
}

/// The `(host, port)` of every primary, from `CLUSTER SLOTS`.
async fn primaries(cluster: &mut ClusterConnection) -> Result<Vec<(String, u16)>, RedisFailure> {
    let slots: Vec<Value> = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(cluster)
        .await
        .map_err(|e| unavailable("CLUSTER SLOTS failed", &e))?;
    let mut out: Vec<(String, u16)> = Vec::new();
    for range in slots {
        // [start, end, [host, port, id, ...], replicas...]
        let Value::Array(parts) = range else { continue };
        let Some(Value::Array(node)) = parts.get(2) else {
            continue;
        };
        let (Some(host), Some(port)) = (node.first(), node.get(1)) else {
            continue;
        };
        let host: String = redis::from_redis_value_ref(host)
            .map_err(|e| unavailable("CLUSTER SLOTS failed", &e.into()))?;
        let port: u16 = redis::from_redis_value_ref(port)
            .map_err(|e| unavailable("CLUSTER SLOTS failed", &e.into()))?;
        if !out.contains(&(host.clone(), port)) {
            out.push((host, port));
        }
    }
    Ok(out)
}

/// Where a [`RedisConnection::scan_step`] walk stands.
#[derive(Debug, Clone, Default)]
pub struct ScanCursor {
    position: u64,
    node: usize,
    done: bool,
    primaries: Option<Vec<(String, u16)>>,
}

impl ScanCursor {
    /// The start of a walk.
    pub fn start() -> Self {
        Self::default()
    }

    fn done() -> Self {
        Self {
            done: true,
            ..Self::default()
        }
    }

    /// Whether the walk has covered every key.
    pub fn is_done(&self) -> bool {
        self.done
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.main.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        self.main.req_packed_commands(pipeline, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.main.get_db()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_replies_are_checked() {
        let acks = ReplicaAcks::new(1, Duration::from_millis(100)).unwrap();
        assert!(check_acks(Some(&Value::Int(1)), acks).is_ok());
        assert!(check_acks(Some(&Value::Int(2)), acks).is_ok());
        let err = check_acks(Some(&Value::Int(0)), acks).unwrap_err();
        assert!(matches!(err, RedisFailure::NotConfirmed(_)), "{err}");
        assert_eq!(
            err.to_string(),
            "Redis write not confirmed: 0 of 1 replicas acknowledged within 100 ms"
        );
        assert!(matches!(
            check_acks(Some(&Value::Nil), acks),
            Err(RedisFailure::Unavailable(_))
        ));
    }
}
