//! Failure counters in Redis (feature `redis`), shared by every instance.
//!
//! One hash per key, `<prefix>throttle:client:<tag>` or `<prefix>throttle:ip:<tag>` (the tag is
//! the first 128 bits of SHA-256 of the client id or the address), holding the window's start
//! and its failure count, with a TTL that ends with the window. Counting is one Lua script per
//! key; checking reads every key in one pipeline.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{ThrottleConfig, ThrottleKey, ThrottleStore};
use crate::error::{ConfigError, StoreError};
use crate::store::redis::{
    ConnectionManager, DEFAULT_TIMEOUT, short_hash, unavailable, validate_key_prefix, with_deadline,
};

/// A [`ThrottleStore`] in Redis: a client or an address over its limit is refused by every
/// instance, not only by the one that counted the failures.
pub struct RedisThrottleStore {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    script: ::redis::Script,
}

impl fmt::Debug for RedisThrottleStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisThrottleStore")
            .field("key_prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RedisThrottleStore`]; see [`RedisThrottleStore::builder`].
pub struct RedisThrottleStoreBuilder {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
}

impl fmt::Debug for RedisThrottleStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisThrottleStoreBuilder")
            .field("key_prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisThrottleStoreBuilder {
    /// The prefix of every key (default `vl:`), with the alphabet of
    /// [`RedisStoreBuilder::key_prefix`](crate::store::redis::RedisStoreBuilder::key_prefix).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The deadline of one operation (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks the prefix and the timeout.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] when the prefix fails
    /// [`validate_key_prefix`](crate::store::redis::validate_key_prefix) or the timeout is zero.
    pub fn build(self) -> Result<RedisThrottleStore, ConfigError> {
        validate_key_prefix(&self.prefix)?;
        if self.timeout.is_zero() {
            return Err(ConfigError("the Redis timeout must be positive".into()));
        }
        Ok(RedisThrottleStore {
            conn: self.conn,
            prefix: self.prefix,
            timeout: self.timeout,
            script: ::redis::Script::new(include_str!("record_failure.lua")),
        })
    }
}

impl RedisThrottleStore {
    /// A builder over a connection the caller opened (for example with
    /// [`connect`](crate::store::redis::connect)).
    pub fn builder(conn: ConnectionManager) -> RedisThrottleStoreBuilder {
        RedisThrottleStoreBuilder {
            conn,
            prefix: "vl:".to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    fn key(&self, key: &ThrottleKey) -> String {
        match key {
            ThrottleKey::Client(id) => format!("{}throttle:client:{}", self.prefix, short_hash(id)),
            ThrottleKey::Ip(ip) => {
                format!("{}throttle:ip:{}", self.prefix, short_hash(&ip.to_string()))
            }
        }
    }
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn window_ms(config: &ThrottleConfig) -> u64 {
    u64::try_from(config.window.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[async_trait]
impl ThrottleStore for RedisThrottleStore {
    async fn blocked_for(
        &self,
        keys: &[ThrottleKey],
        config: &ThrottleConfig,
        now: SystemTime,
    ) -> Result<Option<Duration>, StoreError> {
        if keys.is_empty() {
            return Ok(None);
        }
        with_deadline(self.timeout, async {
            let mut pipe = ::redis::pipe();
            for key in keys {
                pipe.cmd("HMGET")
                    .arg(self.key(key))
                    .arg("start")
                    .arg("failures");
            }
            let mut conn = self.conn.clone();
            let windows: Vec<(Option<u64>, Option<u32>)> = pipe
                .query_async(&mut conn)
                .await
                .map_err(|e| unavailable("HMGET failed", &e))?;
            let now = millis(now);
            let window = window_ms(config);
            Ok(windows
                .into_iter()
                .filter_map(|(start, failures)| Some((start?, failures?)))
                .filter(|(_, failures)| *failures >= config.max_failures)
                .map(|(start, _)| start.saturating_add(window).saturating_sub(now))
                .filter(|ms| *ms > 0)
                .max()
                .map(Duration::from_millis))
        })
        .await
    }

    async fn record_failure(
        &self,
        keys: &[ThrottleKey],
        config: &ThrottleConfig,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        with_deadline(self.timeout, async {
            let now = millis(now);
            let window = window_ms(config);
            for key in keys {
                let mut conn = self.conn.clone();
                self.script
                    .key(self.key(key))
                    .arg(now)
                    .arg(window)
                    .invoke_async::<u64>(&mut conn)
                    .await
                    .map_err(|e| unavailable("counting a failure failed", &e))?;
            }
            Ok(())
        })
        .await
    }
}
