//! Webhook de-duplication in Redis (feature `redis`), shared by every instance.
//!
//! One key per event id, `<prefix><event_id>`, written with `SET … NX PX <ttl>`: the first
//! instance to record an event wins atomically on the server, every other delivery of the same
//! event (on any instance) is a duplicate until the key expires. `forget` is a `DEL`.

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
/// use creditpay_auth::RedisDedupStore;
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
        })
    }

    /// The deadline of one operation (default [`DEFAULT_TIMEOUT`]); a late answer is an
    /// [`Error::Store`], so the webhook is not acknowledged and Credit Pay redelivers it.
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
        match tokio::time::timeout(self.timeout, command.query_async(&mut conn)).await {
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

#[async_trait]
impl WebhookDedupStore for RedisDedupStore {
    async fn record_if_new(&self, event_id: &str, ttl: Duration) -> Result<Recorded, Error> {
        let ttl_ms = u64::try_from(ttl.as_millis())
            .map_err(|_| Error::Store("ttl out of range".into()))?
            .max(1);
        let mut command = redis::cmd("SET");
        command
            .arg(self.key(event_id))
            .arg("1")
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms);
        // `OK` when this call wrote the key, nil when it was already there.
        let written: Option<String> = self.query(command).await?;
        Ok(if written.is_some() {
            Recorded::New
        } else {
            Recorded::Duplicate
        })
    }

    async fn forget(&self, event_id: &str) -> Result<(), Error> {
        let mut command = redis::cmd("DEL");
        command.arg(self.key(event_id));
        self.query::<u64>(command).await.map(drop)
    }
}
