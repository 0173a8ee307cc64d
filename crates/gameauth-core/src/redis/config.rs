//! Where Redis is and how to reach it: one endpoint, a primary found through Sentinel, or a
//! Cluster; TLS; the deadline; replica confirmation.

use std::fmt;
use std::time::Duration;

use redis::{ConnectionAddr, IntoConnectionInfo};
use secrecy::{ExposeSecret, SecretString};

use super::{RedisFailure, TlsConfig};

/// The timeout unless configured otherwise (see [`RedisConfig::timeout`]).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// How many replicas must acknowledge a write before a store answers it, and how long to wait
/// for them (Redis `WAIT`).
///
/// A store that is given a connection with replica confirmation sends `WAIT` after each write it
/// must not lose in a failover; fewer acknowledgements than [`replicas`](Self::replicas) within
/// [`timeout`](Self::timeout) is a [`RedisFailure::NotConfirmed`] (the write was applied on the
/// primary, but a failover may still lose it), which the stores answer like any Redis failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaAcks {
    replicas: u32,
    timeout: Duration,
}

impl ReplicaAcks {
    /// The longest accepted wait.
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

    /// `replicas` (at least 1) acknowledgements within `timeout` (1 ms to 60 s).
    ///
    /// # Errors
    /// [`RedisFailure::Config`] when a value is out of range.
    pub fn new(replicas: u32, timeout: Duration) -> Result<Self, RedisFailure> {
        if replicas == 0 {
            return Err(RedisFailure::Config(
                "replica confirmation needs at least one replica".into(),
            ));
        }
        if timeout < Duration::from_millis(1) || timeout > Self::MAX_TIMEOUT {
            return Err(RedisFailure::Config(
                "the replica confirmation timeout must be between 1 ms and 60 s".into(),
            ));
        }
        Ok(Self { replicas, timeout })
    }

    /// How many replicas must acknowledge.
    pub fn replicas(&self) -> u32 {
        self.replicas
    }

    /// How long to wait for them.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The timeout in whole milliseconds, as `WAIT` takes it (at least 1: `WAIT n 0` would block
    /// forever).
    pub(crate) fn timeout_ms(&self) -> u64 {
        u64::try_from(self.timeout.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// A primary found through Redis Sentinel.
///
/// ```
/// use gameauth_core::redis::SentinelConfig;
///
/// let sentinel = SentinelConfig::new("vl-primary", ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"])
///     .sentinel_password("sentinel-secret")
///     .primary_password("data-secret")
///     .primary_tls(true);
/// # let _ = sentinel;
/// ```
#[derive(Clone)]
pub struct SentinelConfig {
    pub(crate) service_name: String,
    pub(crate) sentinels: Vec<String>,
    pub(crate) sentinel_tls: bool,
    pub(crate) sentinel_username: Option<String>,
    pub(crate) sentinel_password: Option<SecretString>,
    pub(crate) primary_tls: bool,
    pub(crate) primary_username: Option<String>,
    pub(crate) primary_password: Option<SecretString>,
    pub(crate) database: i64,
}

impl fmt::Debug for SentinelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentinelConfig")
            .field("service_name", &self.service_name)
            .field("sentinels", &self.sentinels)
            .field("sentinel_tls", &self.sentinel_tls)
            .field("sentinel_auth", &self.sentinel_password.is_some())
            .field("primary_tls", &self.primary_tls)
            .field("primary_auth", &self.primary_password.is_some())
            .field("database", &self.database)
            .finish()
    }
}

impl SentinelConfig {
    /// The primary that the sentinels at `sentinels` (`host:port` each) know as
    /// `service_name`. Sentinels are asked in order; the primary they name is checked with
    /// `ROLE` before it is used.
    pub fn new(
        service_name: impl Into<String>,
        sentinels: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            service_name: service_name.into(),
            sentinels: sentinels.into_iter().map(Into::into).collect(),
            sentinel_tls: false,
            sentinel_username: None,
            sentinel_password: None,
            primary_tls: false,
            primary_username: None,
            primary_password: None,
            database: 0,
        }
    }

    /// Speak TLS to the sentinels (default: no).
    pub fn sentinel_tls(mut self, tls: bool) -> Self {
        self.sentinel_tls = tls;
        self
    }

    /// The ACL user for the sentinels (default: none, or `default` with a password).
    pub fn sentinel_username(mut self, username: impl Into<String>) -> Self {
        self.sentinel_username = Some(username.into());
        self
    }

    /// The sentinels' password (`requirepass`, or the ACL user's).
    pub fn sentinel_password(mut self, password: impl Into<String>) -> Self {
        self.sentinel_password = Some(SecretString::from(password.into()));
        self
    }

    /// Speak TLS to the primary (default: no).
    pub fn primary_tls(mut self, tls: bool) -> Self {
        self.primary_tls = tls;
        self
    }

    /// The ACL user on the primary.
    pub fn primary_username(mut self, username: impl Into<String>) -> Self {
        self.primary_username = Some(username.into());
        self
    }

    /// The primary's password.
    pub fn primary_password(mut self, password: impl Into<String>) -> Self {
        self.primary_password = Some(SecretString::from(password.into()));
        self
    }

    /// The database number on the primary (default 0).
    pub fn database(mut self, database: i64) -> Self {
        self.database = database;
        self
    }

    /// `(host, port)` of every sentinel.
    pub(crate) fn addresses(&self) -> Result<Vec<(String, u16)>, RedisFailure> {
        self.sentinels.iter().map(|a| host_port(a)).collect()
    }
}

/// Splits `host:port` (or `[v6]:port`).
fn host_port(address: &str) -> Result<(String, u16), RedisFailure> {
    let bad = || RedisFailure::Config(format!("sentinel address `{address}` is not host:port"));
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() || host.contains(['/', '@', ' ']) {
        return Err(bad());
    }
    let port: u16 = port.parse().map_err(|_| bad())?;
    if port == 0 {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

/// Where the data lives.
#[derive(Clone)]
pub(crate) enum Topology {
    Single(SecretString),
    Sentinel(SentinelConfig),
    Cluster(Vec<SecretString>),
}

/// How to reach Redis: the topology, TLS, the deadline and replica confirmation.
/// [`connect`](Self::connect) opens a [`RedisConnection`](super::RedisConnection).
///
/// URLs may carry a password (`redis://:password@host:6379/0`); they are kept as secrets and
/// never appear in `Debug` output or errors.
///
/// ```no_run
/// # async fn run() -> Result<(), gameauth_core::redis::RedisFailure> {
/// use std::time::Duration;
/// use gameauth_core::redis::{RedisConfig, ReplicaAcks, SentinelConfig, TlsConfig};
///
/// // One endpoint over TLS, trusting the system roots:
/// let single = RedisConfig::single("rediss://:secret@redis.internal:6380/0").connect().await?;
///
/// // A Sentinel-managed primary, every revocation confirmed by one replica:
/// let sentinel = RedisConfig::sentinel(SentinelConfig::new("vl", ["10.0.0.1:26379", "10.0.0.2:26379"]))
///     .replica_acks(ReplicaAcks::new(1, Duration::from_millis(500))?)
///     .connect()
///     .await?;
///
/// // A cluster over TLS with the operator's CA:
/// let cluster = RedisConfig::cluster(["rediss://:secret@10.0.1.1:7000", "rediss://:secret@10.0.1.2:7000"])
///     .tls(TlsConfig::system_roots().with_ca_file("/etc/gameauth/redis-ca.pem")?)
///     .timeout(Duration::from_secs(1))
///     .connect()
///     .await?;
/// # let _ = (single, sentinel, cluster);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisConfig {
    pub(crate) topology: Topology,
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) timeout: Duration,
    pub(crate) replica_acks: Option<ReplicaAcks>,
    pub(crate) client_cache: Option<ClientCache>,
}

/// Server-assisted client-side caching of the reads a store marks as cacheable (Redis
/// `CLIENT TRACKING` in opt-in mode over RESP3, through the `redis` crate's cache); off unless
/// configured with [`RedisConfig::client_cache`].
///
/// Redis remembers which keys the connection read and pushes an invalidation on that
/// connection when any client changes or deletes one of them; the cached answer is dropped
/// when the invalidation arrives, when its key's TTL runs out, after [`max_age`](Self::max_age),
/// and all at once whenever the connection is re-established. What a cached read can miss:
///
/// - a change made through another connection, until its invalidation has crossed the network
///   (normally well under a millisecond after that write completed);
/// - when a read's reply and an invalidation of the same key arrive together, the `redis` crate
///   may store the reply after applying the invalidation: that answer then stays until
///   [`max_age`](Self::max_age) (default 1 s), which therefore bounds how long a change made
///   elsewhere can go unseen;
/// - nothing more when Redis stops answering: a read uses the cache only while Redis answered
///   the connection's heartbeat (a `PING` every 200 ms) sent in the last second; after that it
///   goes to Redis and fails like a read without a cache.
///
/// Changes made through the same connection are seen by its next read: a store's scripts
/// return only after the invalidations they caused have arrived.
///
/// Needs Redis 6 or later (RESP3); a server that refuses `HELLO 3` or `CLIENT TRACKING` fails
/// [`RedisConfig::connect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientCache {
    entries: usize,
    max_age: Duration,
}

impl ClientCache {
    /// The longest accepted [`max_age`](Self::max_age).
    pub const MAX_AGE: Duration = Duration::from_secs(60);

    /// The default [`max_age`](Self::max_age).
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(1);

    /// A cache of at most `entries` answers (at least 1), each kept at most
    /// [`DEFAULT_MAX_AGE`](Self::DEFAULT_MAX_AGE).
    ///
    /// # Errors
    /// [`RedisFailure::Config`] when `entries` is 0.
    pub fn new(entries: usize) -> Result<Self, RedisFailure> {
        if entries == 0 {
            return Err(RedisFailure::Config(
                "the Redis client cache needs room for at least one entry".into(),
            ));
        }
        Ok(Self {
            entries,
            max_age: Self::DEFAULT_MAX_AGE,
        })
    }

    /// The longest an answer is kept even without an invalidation (1 ms to
    /// [`MAX_AGE`](Self::MAX_AGE)).
    ///
    /// # Errors
    /// [`RedisFailure::Config`] when `max_age` is out of range.
    pub fn max_age(mut self, max_age: Duration) -> Result<Self, RedisFailure> {
        if max_age < Duration::from_millis(1) || max_age > Self::MAX_AGE {
            return Err(RedisFailure::Config(format!(
                "the Redis client cache's max age must be between 1 ms and {} s",
                Self::MAX_AGE.as_secs()
            )));
        }
        self.max_age = max_age;
        Ok(self)
    }

    /// How many answers it holds at most.
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// How long an answer is kept at most.
    pub fn configured_max_age(&self) -> Duration {
        self.max_age
    }

    pub(crate) fn redis_config(&self) -> redis::caching::CacheConfig {
        redis::caching::CacheConfig::new()
            .set_mode(redis::caching::CacheMode::OptIn)
            .set_size(
                std::num::NonZeroUsize::new(self.entries).unwrap_or(std::num::NonZeroUsize::MIN),
            )
            .set_default_client_ttl(self.max_age)
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RedisConfig");
        match &self.topology {
            Topology::Single(_) => d.field("topology", &"single"),
            Topology::Sentinel(s) => d.field("sentinel", s),
            Topology::Cluster(nodes) => d.field("cluster_nodes", &nodes.len()),
        };
        d.field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .field("replica_acks", &self.replica_acks)
            .field("client_cache", &self.client_cache)
            .finish()
    }
}

impl RedisConfig {
    fn with(topology: Topology) -> Self {
        Self {
            topology,
            tls: None,
            timeout: DEFAULT_TIMEOUT,
            replica_acks: None,
            client_cache: None,
        }
    }

    /// One endpoint: `redis://[[user]:password@]host[:port][/db]`, `rediss://…` (TLS) or
    /// `redis+unix:///path[?db=n]`. It reconnects by itself when the connection is lost.
    pub fn single(url: impl Into<String>) -> Self {
        Self::with(Topology::Single(SecretString::from(url.into())))
    }

    /// A primary found through Sentinel; after a failover the connection follows the new
    /// primary.
    pub fn sentinel(sentinel: SentinelConfig) -> Self {
        Self::with(Topology::Sentinel(sentinel))
    }

    /// A Redis Cluster, discovered from `nodes` (URLs of some of its nodes, `redis://` or
    /// `rediss://`, all with the same scheme and credentials).
    pub fn cluster(nodes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self::with(Topology::Cluster(
            nodes
                .into_iter()
                .map(|n| SecretString::from(n.into()))
                .collect(),
        ))
    }

    /// Certificates for every TLS connection (default: the system roots, no client
    /// certificate). TLS itself is chosen by `rediss://` (or [`SentinelConfig::primary_tls`] /
    /// [`SentinelConfig::sentinel_tls`]); setting certificates while nothing uses TLS is an
    /// error at [`connect`](Self::connect).
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The deadline of one connection attempt and, behind Sentinel and on a Cluster, of one
    /// reply (default [`DEFAULT_TIMEOUT`]); the stores use it as their operation deadline too.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Confirm the writes a store must not lose by replicas (see [`ReplicaAcks`]); off by
    /// default.
    pub fn replica_acks(mut self, acks: ReplicaAcks) -> Self {
        self.replica_acks = Some(acks);
        self
    }

    /// Cache the reads a store marks as cacheable on this connection, invalidated by Redis (see
    /// [`ClientCache`]); off by default. Only reads use it: writes and scripts always go to
    /// Redis.
    pub fn client_cache(mut self, cache: ClientCache) -> Self {
        self.client_cache = Some(cache);
        self
    }

    /// The configured client cache.
    pub fn configured_client_cache(&self) -> Option<ClientCache> {
        self.client_cache
    }

    /// The configured deadline.
    pub fn configured_timeout(&self) -> Duration {
        self.timeout
    }

    /// The configured replica confirmation.
    pub fn configured_replica_acks(&self) -> Option<ReplicaAcks> {
        self.replica_acks
    }

    /// Checks the settings without connecting: URLs parse, TLS is not turned insecure,
    /// certificates are given only when something uses TLS, the timeout is positive.
    ///
    /// # Errors
    /// [`RedisFailure::Config`], never quoting a URL.
    pub fn validate(&self) -> Result<(), RedisFailure> {
        if self.timeout.is_zero() {
            return Err(RedisFailure::Config(
                "the Redis timeout must be positive".into(),
            ));
        }
        let uses_tls = match &self.topology {
            Topology::Single(url) => {
                let addr = parse_url(url, "the Redis URL")?;
                is_tls(&addr)
            }
            Topology::Cluster(nodes) => {
                if nodes.is_empty() {
                    return Err(RedisFailure::Config(
                        "a Redis Cluster needs at least one node URL".into(),
                    ));
                }
                let mut schemes = Vec::new();
                for node in nodes {
                    let addr = parse_url(node, "a Redis Cluster node URL")?;
                    if matches!(addr, ConnectionAddr::Unix(_)) {
                        return Err(RedisFailure::Config(
                            "Redis Cluster nodes are reached over TCP, not a Unix socket".into(),
                        ));
                    }
                    schemes.push(is_tls(&addr));
                }
                if schemes.iter().any(|t| *t != schemes[0]) {
                    return Err(RedisFailure::Config(
                        "Redis Cluster node URLs must all be redis:// or all rediss://".into(),
                    ));
                }
                schemes[0]
            }
            Topology::Sentinel(s) => {
                if s.service_name.is_empty() {
                    return Err(RedisFailure::Config(
                        "the Sentinel service name must not be empty".into(),
                    ));
                }
                if s.sentinels.is_empty() {
                    return Err(RedisFailure::Config(
                        "Sentinel needs at least one sentinel address".into(),
                    ));
                }
                s.addresses()?;
                s.sentinel_tls || s.primary_tls
            }
        };
        if self.tls.is_some() && !uses_tls {
            return Err(RedisFailure::Config(
                "TLS certificates are configured but no Redis address uses TLS (rediss://)".into(),
            ));
        }
        Ok(())
    }
}

/// Parses a URL into its address without ever quoting it.
pub(crate) fn parse_url(url: &SecretString, what: &str) -> Result<ConnectionAddr, RedisFailure> {
    let info = url.expose_secret().into_connection_info().map_err(|_| {
        RedisFailure::Config(format!(
            "{what} is not a valid redis://, rediss:// or redis+unix:// URL"
        ))
    })?;
    let addr = info.addr().clone();
    if let ConnectionAddr::TcpTls { insecure: true, .. } = addr {
        return Err(RedisFailure::Config(format!(
            "{what}: certificate verification cannot be turned off (#insecure)"
        )));
    }
    Ok(addr)
}

fn is_tls(addr: &ConnectionAddr) -> bool {
    matches!(addr, ConnectionAddr::TcpTls { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_settings_are_checked_without_quoting_them() {
        assert!(
            RedisConfig::single("redis://127.0.0.1:6379/0")
                .validate()
                .is_ok()
        );
        assert!(RedisConfig::single("rediss://h:6380/").validate().is_ok());
        assert!(
            RedisConfig::single("redis+unix:///run/redis.sock")
                .validate()
                .is_ok()
        );
        for bad in [
            "http://:pw-leak@h/",
            "rediss://:pw-leak@h/#insecure",
            "nonsense pw-leak",
        ] {
            let err = RedisConfig::single(bad).validate().unwrap_err();
            assert!(!err.to_string().contains("pw-leak"), "{err}");
        }
        let err = RedisConfig::single("redis://h/")
            .tls(TlsConfig::system_roots())
            .validate()
            .unwrap_err();
        assert!(
            err.to_string().contains("no Redis address uses TLS"),
            "{err}"
        );
        assert!(
            RedisConfig::single("redis://h/")
                .timeout(Duration::ZERO)
                .validate()
                .is_err()
        );
        assert!(
            RedisConfig::cluster(["redis://a:1", "rediss://b:2"])
                .validate()
                .is_err()
        );
        assert!(
            RedisConfig::cluster(Vec::<String>::new())
                .validate()
                .is_err()
        );
        assert!(
            RedisConfig::cluster(["redis+unix:///x"])
                .validate()
                .is_err()
        );
        assert!(
            RedisConfig::cluster(["rediss://a:1", "rediss://b:2"])
                .tls(TlsConfig::system_roots())
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn sentinel_addresses_are_host_and_port() {
        let ok = SentinelConfig::new("m", ["127.0.0.1:26379", "[::1]:26380", "sentinel-1:1"]);
        assert_eq!(
            ok.addresses().unwrap(),
            vec![
                ("127.0.0.1".to_owned(), 26379),
                ("::1".to_owned(), 26380),
                ("sentinel-1".to_owned(), 1)
            ]
        );
        for bad in ["h", "h:0", "h:x", ":1", "redis://h:1", "u@h:1"] {
            assert!(
                RedisConfig::sentinel(SentinelConfig::new("m", [bad]))
                    .validate()
                    .is_err(),
                "{bad}"
            );
        }
        assert!(
            RedisConfig::sentinel(SentinelConfig::new("", ["h:1"]))
                .validate()
                .is_err()
        );
        assert!(
            RedisConfig::sentinel(SentinelConfig::new("m", Vec::<String>::new()))
                .validate()
                .is_err()
        );
        assert!(
            RedisConfig::sentinel(SentinelConfig::new("m", ["h:1"]))
                .tls(TlsConfig::system_roots())
                .validate()
                .is_err()
        );
        assert!(
            RedisConfig::sentinel(SentinelConfig::new("m", ["h:1"]).primary_tls(true))
                .tls(TlsConfig::system_roots())
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn debug_shows_no_password() {
        let config = RedisConfig::sentinel(
            SentinelConfig::new("m", ["h:1"])
                .sentinel_password("s-secret")
                .primary_password("p-secret"),
        );
        let text = format!("{config:?}");
        assert!(!text.contains("secret"), "{text}");
        let text = format!("{:?}", RedisConfig::single("redis://:u-secret@h/"));
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn replica_acks_are_bounded() {
        assert!(ReplicaAcks::new(0, Duration::from_millis(100)).is_err());
        assert!(ReplicaAcks::new(1, Duration::ZERO).is_err());
        assert!(ReplicaAcks::new(1, Duration::from_secs(61)).is_err());
        let acks = ReplicaAcks::new(2, Duration::from_micros(1500)).unwrap();
        assert_eq!((acks.replicas(), acks.timeout_ms()), (2, 1));
    }
}
