//! Throttling of repeated failed client authentication, per client id and per caller IP.
//!
//! A fixed window per key: after `max_failures` failures inside `window`, further attempts with
//! that key are refused with 429 until the window ends. The counters live in a [`ThrottleStore`]:
//! per process by default ([`MemoryThrottleStore`]), or shared by every instance
//! (`RedisThrottleStore`, feature `redis`).

#[cfg(feature = "redis")]
pub(crate) mod redis;

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::StoreError;

/// Throttling limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThrottleConfig {
    /// Failed authentications allowed per key and window; `0` disables throttling.
    pub max_failures: u32,
    /// The window length.
    pub window: Duration,
}

impl Default for ThrottleConfig {
    /// 10 failures per minute.
    fn default() -> Self {
        Self {
            max_failures: 10,
            window: Duration::from_secs(60),
        }
    }
}

impl ThrottleConfig {
    /// `max_failures` per `window`.
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
        }
    }
}

/// Keys never held longer than this many entries without pruning expired windows.
const PRUNE_AT: usize = 10_000;

/// What failures are counted per: a registered client id, or the caller's IP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThrottleKey {
    /// A registered client id.
    Client(String),
    /// The caller's IP address.
    Ip(IpAddr),
}

/// Where the failure counters live. Both methods get the limits and the current time from the
/// server, so every instance sharing a store applies the same windows.
#[async_trait]
pub trait ThrottleStore: Send + Sync + fmt::Debug {
    /// How long the caller must wait: the longest remaining window among `keys` that already
    /// hold `config.max_failures` failures, or `None`.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] when the counters cannot be read (connection lost, timeout);
    /// [`OAuthServer::authenticate_client`](crate::OAuthServer::authenticate_client) then fails
    /// with [`Reason::StoreUnavailable`](crate::error::Reason::StoreUnavailable) rather than let
    /// the attempt through unthrottled.
    async fn blocked_for(
        &self,
        keys: &[ThrottleKey],
        config: &ThrottleConfig,
        now: SystemTime,
    ) -> Result<Option<Duration>, StoreError>;

    /// Counts one failure for each of `keys`, starting a new window for a key whose window ended.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] when the failure cannot be counted; the authentication then
    /// fails with [`Reason::StoreUnavailable`](crate::error::Reason::StoreUnavailable) instead of
    /// `invalid_client`.
    async fn record_failure(
        &self,
        keys: &[ThrottleKey],
        config: &ThrottleConfig,
        now: SystemTime,
    ) -> Result<(), StoreError>;
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: SystemTime,
    failures: u32,
}

/// Failure counters in process memory: the default, for a single instance.
#[derive(Debug, Default)]
pub struct MemoryThrottleStore {
    windows: Mutex<HashMap<ThrottleKey, Window>>,
}

impl MemoryThrottleStore {
    /// No failures counted yet.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ThrottleStore for MemoryThrottleStore {
    async fn blocked_for(
        &self,
        keys: &[ThrottleKey],
        config: &ThrottleConfig,
        now: SystemTime,
    ) -> Result<Option<Duration>, StoreError> {
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(keys
            .iter()
            .filter_map(|k| windows.get(k))
            .filter(|w| w.failures >= config.max_failures)
            .filter_map(|w| (w.start + config.window).duration_since(now).ok())
            .filter(|d| !d.is_zero())
            .max())
    }

    async fn record_failure(
        &self,
        keys: &[ThrottleKey],
        config: &ThrottleConfig,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let window = config.window;
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() >= PRUNE_AT {
            windows.retain(|_, w| w.start + window > now);
        }
        for key in keys {
            let w = windows.entry(key.clone()).or_insert(Window {
                start: now,
                failures: 0,
            });
            if w.start + window <= now {
                *w = Window {
                    start: now,
                    failures: 0,
                };
            }
            w.failures = w.failures.saturating_add(1);
        }
        Ok(())
    }
}

/// The server's throttle: its limits and the store that holds the counters.
#[derive(Debug)]
pub(crate) struct Throttle {
    config: ThrottleConfig,
    store: Arc<dyn ThrottleStore>,
}

impl Throttle {
    pub(crate) fn new(config: ThrottleConfig, store: Arc<dyn ThrottleStore>) -> Self {
        Self { config, store }
    }

    /// `Some(wait)` when any key is over its limit.
    pub(crate) async fn blocked_for(
        &self,
        keys: &[ThrottleKey],
        now: SystemTime,
    ) -> Result<Option<Duration>, StoreError> {
        if self.config.max_failures == 0 {
            return Ok(None);
        }
        self.store.blocked_for(keys, &self.config, now).await
    }

    pub(crate) async fn record_failure(
        &self,
        keys: &[ThrottleKey],
        now: SystemTime,
    ) -> Result<(), StoreError> {
        if self.config.max_failures == 0 {
            return Ok(());
        }
        self.store.record_failure(keys, &self.config, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failures_beyond_the_limit_are_refused_until_the_window_ends() {
        let t = Throttle::new(
            ThrottleConfig::new(2, Duration::from_secs(60)),
            Arc::new(MemoryThrottleStore::new()),
        );
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let keys = vec![ThrottleKey::Client("VL001".into())];
        assert_eq!(t.blocked_for(&keys, t0).await, Ok(None));
        t.record_failure(&keys, t0).await.unwrap();
        t.record_failure(&keys, t0 + Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(
            t.blocked_for(&keys, t0 + Duration::from_secs(20)).await,
            Ok(Some(Duration::from_secs(40)))
        );
        let other = [ThrottleKey::Client("VL002".into())];
        assert_eq!(t.blocked_for(&other, t0).await, Ok(None));
        assert_eq!(
            t.blocked_for(&keys, t0 + Duration::from_secs(60)).await,
            Ok(None)
        );
    }
}
