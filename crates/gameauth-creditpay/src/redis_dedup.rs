//! Webhook de-duplication in Redis (feature `redis`), shared by every instance.
//!
//! One key per event id, `<prefix><event_id>`. A claim writes `processing` with the lease as
//! TTL, in one Lua script that first reads the key: the first delivery to claim an event wins
//! atomically on the server; while the claim lives, every other delivery (on any instance) finds
//! it in progress. `complete` writes `done` with the de-duplication TTL (`SET … PX`), after which
//! deliveries are duplicates; `forget` deletes the key only while it says `processing`.
//!
//! Every operation touches one key, so the store runs on one endpoint (`rediss://` for TLS),
//! behind Sentinel or on a Redis Cluster: open the connection with [`RedisConfig`]. Records are
//! not confirmed by replicas; a failover may forget the last moments' claims and records, and
//! the event is then processed once more, which the idempotent sink absorbs.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use gameauth_core::redis::{StoreScript, validate_key_prefix, validate_timeout, with_deadline};

pub use gameauth_core::redis::{
    RedisConfig, RedisConnection, RedisFailure, ReplicaAcks, SentinelConfig, TlsConfig,
};

use crate::error::Error;
use crate::webhook::{Recorded, WebhookDedupStore};

/// The key prefix unless configured otherwise.
pub const DEFAULT_PREFIX: &str = "cp:webhook:";

/// A [`WebhookDedupStore`] in Redis, on one endpoint, behind Sentinel or on a Cluster (every
/// operation touches one key).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use gameauth_creditpay::RedisDedupStore;
/// use gameauth_creditpay::redis_dedup::RedisConfig;
///
/// let conn = RedisConfig::single("redis://127.0.0.1:6379/").connect().await?;
/// let store = Arc::new(
///     RedisDedupStore::builder(conn)
///         .key_prefix("cp:webhook:")
///         .timeout(Duration::from_secs(2))
///         .build()?,
/// );
/// // WebhookHandler::builder().store(store) …
/// # let _ = store;
/// # Ok(()) }
/// ```
pub struct RedisDedupStore {
    conn: RedisConnection,
    prefix: String,
    timeout: Duration,
    claim: StoreScript,
    forget: StoreScript,
}

impl fmt::Debug for RedisDedupStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDedupStore")
            .field("key_prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RedisDedupStore`]; see [`RedisDedupStore::builder`].
pub struct RedisDedupStoreBuilder {
    conn: RedisConnection,
    prefix: String,
    timeout: Duration,
}

impl fmt::Debug for RedisDedupStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDedupStoreBuilder")
            .field("key_prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisDedupStoreBuilder {
    /// The prefix of every key (default [`DEFAULT_PREFIX`]): at most
    /// [`MAX_PREFIX_LEN`](gameauth_core::redis::MAX_PREFIX_LEN) characters from
    /// `A-Z a-z 0-9 : _ . -`. Instances that share de-duplication use the same one.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The deadline of one operation (default: the connection's timeout); a late answer is an
    /// [`Error::Store`], so the webhook is not acknowledged and Credit Pay redelivers it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks the prefix and the timeout.
    ///
    /// # Errors
    /// [`Error::Config`].
    pub fn build(self) -> Result<RedisDedupStore, Error> {
        validate_key_prefix(&self.prefix)?;
        validate_timeout(self.timeout)?;
        Ok(RedisDedupStore {
            conn: self.conn,
            prefix: self.prefix,
            timeout: self.timeout,
            claim: StoreScript::new(CLAIM),
            forget: StoreScript::new(FORGET),
        })
    }
}

impl RedisDedupStore {
    /// A builder over a connection the caller opened (with [`RedisConfig::connect`]).
    pub fn builder(conn: RedisConnection) -> RedisDedupStoreBuilder {
        RedisDedupStoreBuilder {
            timeout: conn.timeout(),
            conn,
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }

    fn key(&self, event_id: &str) -> String {
        format!("{}{event_id}", self.prefix)
    }
}

/// Claims an event unless it is processed or claimed. KEYS[1]: the event's key; ARGV[1]: the
/// lease in ms. Returns the key's previous value, or `new` after claiming it.
const CLAIM: &str = r"
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], 'processing', 'PX', ARGV[1])
return 'new'
";

/// Drops a claim, never a processed record. KEYS[1]: the event's key.
const FORGET: &str = r"
if redis.call('GET', KEYS[1]) == 'processing' then return redis.call('DEL', KEYS[1]) end
return 0
";

fn millis(d: Duration, what: &str) -> Result<u64, Error> {
    u64::try_from(d.as_millis())
        .map(|ms| ms.max(1))
        .map_err(|_| Error::Store(format!("{what} out of range")))
}

#[async_trait]
impl WebhookDedupStore for RedisDedupStore {
    async fn claim(&self, event_id: &str, lease: Duration) -> Result<Recorded, Error> {
        let lease_ms = millis(lease, "lease")?;
        let found: String = with_deadline(
            self.timeout,
            self.claim
                .prepare()
                .key(self.key(event_id))
                .arg(lease_ms)
                .run(&self.conn, "claiming an event failed"),
        )
        .await?;
        Ok(match found.as_str() {
            "new" => Recorded::New,
            "processing" => Recorded::InProgress,
            // `done`, or the `1` of records written before claims existed.
            _ => Recorded::Duplicate,
        })
    }

    async fn complete(&self, event_id: &str, ttl: Duration) -> Result<(), Error> {
        let mut command = redis::cmd("SET");
        command
            .arg(self.key(event_id))
            .arg("done")
            .arg("PX")
            .arg(millis(ttl, "ttl")?);
        let mut conn = self.conn.clone();
        with_deadline(self.timeout, async {
            command
                .query_async::<String>(&mut conn)
                .await
                .map(drop)
                .map_err(|e| gameauth_core::redis::unavailable("SET failed", &e).into())
        })
        .await
    }

    async fn forget(&self, event_id: &str) -> Result<(), Error> {
        with_deadline(
            self.timeout,
            self.forget
                .prepare()
                .key(self.key(event_id))
                .run::<u64>(&self.conn, "forgetting a claim failed"),
        )
        .await?;
        Ok(())
    }
}
