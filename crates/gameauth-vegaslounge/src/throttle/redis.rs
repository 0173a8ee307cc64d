//! Failure counters in Redis (feature `redis`), shared by every instance.
//!
//! One hash per key, `<prefix>throttle:client:<tag>`, `<prefix>throttle:ip:<tag>` or
//! `<prefix>throttle:account:<tag>` (the tag is the first 128 bits of SHA-256 of the client id,
//! the address or the login name), holding the window's start and its attempt count, with a TTL
//! that ends with the window.
//!
//! Reserving is one Lua script per key (check and count in one step, so concurrent attempts on
//! every instance can never pass a full key); releasing is another. Keys are reserved one after
//! the other, each in its own script, so each may live in its own cluster slot: when a later key
//! is full, the places already taken are given back. Until they are, a concurrent attempt may
//! see those keys one place fuller than they are: the limit can only be stricter, never looser.
//! Counts are not confirmed by replicas: a failover may forget a few attempts.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{ThrottleConfig, ThrottleKey, ThrottleStore};
use crate::error::{ConfigError, StoreError};
use gameauth_core::redis::{StoreScript, validate_timeout, with_deadline};

use crate::store::redis::{RedisConnection, short_hash, validate_key_prefix};

/// A [`ThrottleStore`] in Redis: a client or an address over its limit is refused by every
/// instance, not only by the one that counted the failures.
pub struct RedisThrottleStore {
    conn: RedisConnection,
    prefix: String,
    timeout: Duration,
    reserve: StoreScript,
    release: StoreScript,
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
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] when the prefix fails
    /// [`validate_key_prefix`](crate::store::redis::validate_key_prefix) or the timeout is zero.
    pub fn build(self) -> Result<RedisThrottleStore, ConfigError> {
        validate_key_prefix(&self.prefix)?;
        validate_timeout(self.timeout)?;
        Ok(RedisThrottleStore {
            conn: self.conn,
            prefix: self.prefix,
            timeout: self.timeout,
            reserve: StoreScript::new(include_str!("reserve.lua")),
            release: StoreScript::new(include_str!("release.lua")),
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
            ThrottleKey::Account(name) => {
                format!("{}throttle:account:{}", self.prefix, short_hash(name))
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

impl RedisThrottleStore {
    async fn release_each(
        &self,
        keys: &[ThrottleKey],
        reserved_at: SystemTime,
    ) -> Result<(), StoreError> {
        for key in keys {
            self.release
                .prepare()
                .key(self.key(key))
                .arg(millis(reserved_at))
                .run::<u64>(&self.conn, "releasing an attempt failed")
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl ThrottleStore for RedisThrottleStore {
    async fn reserve(
        &self,
        keys: &[ThrottleKey],
        config: &ThrottleConfig,
        now: SystemTime,
    ) -> Result<Option<Duration>, StoreError> {
        with_deadline(self.timeout, async {
            let window = window_ms(config);
            for (i, key) in keys.iter().enumerate() {
                let wait_ms: u64 = self
                    .reserve
                    .prepare()
                    .key(self.key(key))
                    .arg(millis(now))
                    .arg(window)
                    .arg(config.max_failures)
                    .run(&self.conn, "reserving an attempt failed")
                    .await?;
                if wait_ms > 0 {
                    self.release_each(&keys[..i], now).await?;
                    return Ok(Some(Duration::from_millis(wait_ms)));
                }
            }
            Ok(None)
        })
        .await
    }

    async fn release(
        &self,
        keys: &[ThrottleKey],
        _config: &ThrottleConfig,
        reserved_at: SystemTime,
    ) -> Result<(), StoreError> {
        with_deadline(self.timeout, self.release_each(keys, reserved_at)).await
    }
}
