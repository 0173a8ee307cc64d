//! Failure counters in Redis (feature `redis`), shared by every instance.
//!
//! One hash per key, `<prefix>throttle:client:<tag>` or `<prefix>throttle:ip:<tag>` (the tag is
//! the first 128 bits of SHA-256 of the client id or the address), holding the window's start
//! and its failure count, with a TTL that ends with the window. Counting is one Lua script per
//! key; checking reads every key at once (one command per key, as each key has its own cluster
//! slot). Counts are not confirmed by replicas: a failover may forget a few failures.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{ThrottleConfig, ThrottleKey, ThrottleStore};
use crate::error::{ConfigError, StoreError};
use gameauth_core::redis::{StoreScript, unavailable, validate_timeout, with_deadline};

use crate::store::redis::{RedisConnection, short_hash, validate_key_prefix};

/// A [`ThrottleStore`] in Redis: a client or an address over its limit is refused by every
/// instance, not only by the one that counted the failures.
pub struct RedisThrottleStore {
    conn: RedisConnection,
    prefix: String,
    timeout: Duration,
    script: StoreScript,
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
    conn: RedisConnection,
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

    /// The deadline of one operation (default: the connection's timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks the prefix and the timeout.
    pub fn build(self) -> Result<RedisThrottleStore, ConfigError> {
        validate_key_prefix(&self.prefix)?;
        validate_timeout(self.timeout)?;
        Ok(RedisThrottleStore {
            conn: self.conn,
            prefix: self.prefix,
            timeout: self.timeout,
            script: StoreScript::new(include_str!("record_failure.lua")),
        })
    }
}

impl RedisThrottleStore {
    /// A builder over a connection the caller opened (for example with
    /// [`RedisConfig::connect`](crate::store::redis::RedisConfig::connect)).
    pub fn builder(conn: RedisConnection) -> RedisThrottleStoreBuilder {
        RedisThrottleStoreBuilder {
            timeout: conn.timeout(),
            conn,
            prefix: "vl:".to_owned(),
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
            let reads = keys.iter().map(|key| {
                let mut conn = self.conn.clone();
                let mut command = ::redis::cmd("HMGET");
                command.arg(self.key(key)).arg("start").arg("failures");
                async move {
                    command
                        .query_async::<(Option<u64>, Option<u32>)>(&mut conn)
                        .await
                        .map_err(|e| StoreError::from(unavailable("HMGET failed", &e)))
                }
            });
            let windows = futures::future::try_join_all(reads).await?;
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
                self.script
                    .prepare()
                    .key(self.key(key))
                    .arg(now)
                    .arg(window)
                    .run::<u64>(&self.conn, "counting a failure failed")
                    .await?;
            }
            Ok(())
        })
        .await
    }
}
