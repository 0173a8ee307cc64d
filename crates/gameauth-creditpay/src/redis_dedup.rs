//! Webhook de-duplication in Redis (feature `redis`), shared by every instance.
//!
//! One key per event id, `<prefix><event_id>`. A claim writes `processing` with the lease as
//! TTL, in one Lua script that first reads the key: the first delivery to claim an event wins
//! atomically on the server; while the claim lives, every other delivery (on any instance) finds
//! it in progress. `complete` writes `done` with the de-duplication TTL (`SET … PX`), after which
//! deliveries are duplicates; `forget` deletes the key only while it says `processing`.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

pub use redis::aio::ConnectionManager;

use crate::error::Error;
use crate::webhook::{Recorded, WebhookDedupStore};

/// Deadline of one operation unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest accepted key prefix.
pub const MAX_PREFIX_LEN: usize = 64;

/// A [`WebhookDedupStore`] in Redis.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use gameauth_creditpay::RedisDedupStore;
///
/// let client = redis::Client::open("redis://127.0.0.1:6379/")?;
/// let conn = redis::aio::ConnectionManager::new(client).await?;
/// let store = Arc::new(RedisDedupStore::new(conn, "cp:webhook:")?);
/// // WebhookHandler::builder().store(store) …
/// # let _ = store;
/// # Ok(()) }
/// ```
pub struct RedisDedupStore {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    claim: redis::Script,
    forget: redis::Script,
}

impl fmt::Debug for RedisDedupStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDedupStore")
            .field("key_prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisDedupStore {
    /// A store over a connection the caller opened. `prefix` is at most [`MAX_PREFIX_LEN`]
    /// characters from `A-Z a-z 0-9 : _ . -`; instances that share de-duplication use the same
    /// one.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Config`] when `prefix` is longer than [`MAX_PREFIX_LEN`] bytes or has a
    /// character outside `A-Z a-z 0-9 : _ . -`.
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> Result<Self, Error> {
        let prefix = prefix.into();
        if prefix.len() > MAX_PREFIX_LEN
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'.' | b'-'))
        {
            return Err(Error::Config(format!(
                "the Redis key prefix must be at most {MAX_PREFIX_LEN} characters from A-Z a-z 0-9 : _ . -"
            )));
        }
        Ok(Self {
            conn,
            prefix,
            timeout: DEFAULT_TIMEOUT,
            claim: redis::Script::new(CLAIM),
            forget: redis::Script::new(FORGET),
        })
    }

    /// The deadline of one operation (default [`DEFAULT_TIMEOUT`]); a late answer is an
    /// [`Error::Store`], so the webhook is not acknowledged and Credit Pay redelivers it.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Config`] when `timeout` is zero.
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, Error> {
        if timeout.is_zero() {
            return Err(Error::Config("the Redis timeout must be positive".into()));
        }
        self.timeout = timeout;
        Ok(self)
    }

    fn key(&self, event_id: &str) -> String {
        format!("{}{event_id}", self.prefix)
    }

    async fn query<T: redis::FromRedisValue>(&self, command: redis::Cmd) -> Result<T, Error> {
        let mut conn = self.conn.clone();
        self.within(command.query_async(&mut conn)).await
    }

    /// Runs a script (loading it again after a `SCRIPT FLUSH`) within the deadline.
    async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, Error> {
        let mut conn = self.conn.clone();
        self.within(invocation.invoke_async(&mut conn)).await
    }

    /// One Redis operation within the deadline, its failure as [`Error::Store`].
    async fn within<T>(
        &self,
        operation: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.timeout, operation).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(Error::Store(format!("Redis failed: {}", describe(&e)))),
            Err(_) => Err(Error::Store("Redis did not answer in time".into())),
        }
    }
}

/// A description of a Redis error without keys, values or addresses.
fn describe(err: &redis::RedisError) -> &'static str {
    if err.is_timeout() {
        "timed out"
    } else if err.is_connection_refusal() {
        "connection refused"
    } else if err.is_connection_dropped() {
        "connection lost"
    } else if err.is_io_error() {
        "I/O error"
    } else {
        "unexpected error"
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
        let mut invocation = self.claim.key(self.key(event_id));
        invocation.arg(lease_ms);
        let found: String = self.invoke(&invocation).await?;
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
        self.query::<String>(command).await.map(drop)
    }

    async fn forget(&self, event_id: &str) -> Result<(), Error> {
        let invocation = self.forget.key(self.key(event_id));
        self.invoke::<u64>(&invocation).await.map(drop)
    }
}
