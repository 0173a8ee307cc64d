//! Throttling of repeated failed client authentication, per client id and per caller IP.
//!
//! A fixed window per key: at most `max_failures` attempts may fail inside `window`; once a key
//! holds that many, further attempts with it are refused with 429 until the window ends.
//!
//! The limit is exact under concurrency: an attempt *reserves* its place in every key's count
//! atomically before the secret is checked, and gives it back when the secret was right. A
//! burst of concurrent guesses therefore gets exactly `max_failures` checks, never more; the
//! price is that concurrent attempts with the right secret also need a free place while they
//! are being checked (microseconds each). The counters live in a [`ThrottleStore`]: per process
//! by default ([`MemoryThrottleStore`]), or shared by every instance (`RedisThrottleStore`,
//! feature `redis`).

#[cfg(feature = "redis")]
pub(crate) mod redis;

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::StoreError;
use crate::metrics::store_call;

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

/// What failures are counted per: a registered client id, the caller's IP address, or a login
/// name of a host's own login form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThrottleKey {
    /// A registered client id.
    Client(String),
    /// The caller's IP address.
    Ip(IpAddr),
    /// A login name (for hosts that throttle their own login forms with the same store).
    Account(String),
}

/// Where the attempt counters live. Both methods get the limits and the time from the caller,
/// so every instance sharing a store applies the same windows.
#[async_trait]
pub trait ThrottleStore: Send + Sync + fmt::Debug {
    /// Reserves one attempt under every key of `keys`. When any key already holds
    /// `config.max_failures` attempts in its current window, nothing is reserved and the
    /// answer is how long the caller must wait (until a full key's window ends); otherwise every key's count grows by one (a key whose window ended starts a new
    /// one) and the answer is `None`.
    ///
    /// Each key's check-and-count must be atomic, so that concurrent attempts can never pass a
    /// full key.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] when the counters cannot be read or written (connection lost,
    /// timeout); [`OAuthServer::authenticate_client`](crate::OAuthServer::authenticate_client)
    /// then fails with [`Reason::StoreUnavailable`](crate::error::Reason::StoreUnavailable) rather
    /// than let the attempt through unthrottled.
    async fn reserve(
        &self,
        keys: &[ThrottleKey],
        config: &ThrottleConfig,
        now: SystemTime,
    ) -> Result<Option<Duration>, StoreError>;

    /// Gives back a reservation made at `reserved_at` under `keys`: the attempt succeeded. A key
    /// whose window started after `reserved_at` (the reservation's window ended) is left alone.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] when the reservation cannot be given back. The authentication
    /// still succeeds (it is logged): an unreleased place only makes the limit stricter until
    /// its window ends.
    async fn release(
        &self,
        keys: &[ThrottleKey],
        config: &ThrottleConfig,
        reserved_at: SystemTime,
    ) -> Result<(), StoreError>;

    /// The `store` label of the store metrics ([`crate::metrics`]): a short fixed name such as
    /// `memory` or `redis`. The default is `custom`.
    fn backend(&self) -> &'static str {
        "custom"
    }
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
    async fn reserve(
        &self,
        keys: &[ThrottleKey],
        config: &ThrottleConfig,
        now: SystemTime,
    ) -> Result<Option<Duration>, StoreError> {
        let window = config.window;
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() >= PRUNE_AT {
            windows.retain(|_, w| w.start + window > now);
        }
        let wait = keys
            .iter()
            .filter_map(|k| windows.get(k))
            .filter(|w| w.start + window > now && w.failures >= config.max_failures)
            .filter_map(|w| (w.start + window).duration_since(now).ok())
            .max();
        if wait.is_some() {
            return Ok(wait);
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
        Ok(None)
    }

    async fn release(
        &self,
        keys: &[ThrottleKey],
        _config: &ThrottleConfig,
        reserved_at: SystemTime,
    ) -> Result<(), StoreError> {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        for key in keys {
            if let Some(w) = windows.get_mut(key)
                && w.start <= reserved_at
            {
                w.failures = w.failures.saturating_sub(1);
            }
        }
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

/// What a [`Throttle`] guards: the `kind` label of
/// [`THROTTLED_TOTAL`](crate::metrics::THROTTLED_TOTAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThrottleKind {
    /// Client authentication on the token endpoint (the server's own throttle).
    ClientAuth,
    /// A host's own login form.
    Login,
}

impl ThrottleKind {
    /// The label value: `client_auth` or `login`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientAuth => "client_auth",
            Self::Login => "login",
        }
    }
}

/// A throttle: limits and the store that holds the counters. The server keeps one for client
/// authentication; a host can keep another for its own login form (with a store of its own,
/// since both count per address).
#[derive(Debug)]
pub struct Throttle {
    config: ThrottleConfig,
    store: Arc<dyn ThrottleStore>,
    kind: ThrottleKind,
}

impl Throttle {
    /// Limits `config` over the counters in `store`; `max_failures == 0` disables it. Its
    /// refusals count as [`ThrottleKind::ClientAuth`] unless [`with_kind`](Self::with_kind) says
    /// otherwise.
    pub fn new(config: ThrottleConfig, store: Arc<dyn ThrottleStore>) -> Self {
        Self {
            config,
            store,
            kind: ThrottleKind::ClientAuth,
        }
    }

    /// What the throttle guards, for the metrics (a host's login form: [`ThrottleKind::Login`]).
    #[must_use]
    pub fn with_kind(mut self, kind: ThrottleKind) -> Self {
        self.kind = kind;
        self
    }

    /// Reserves an attempt under `keys`: `Some(wait)` when any key is at its limit (see
    /// [`ThrottleStore::reserve`]). Check the credential only after `None`.
    ///
    /// # Errors
    ///
    /// The store's [`StoreError`] when the counters cannot be read or written.
    pub async fn reserve(
        &self,
        keys: &[ThrottleKey],
        now: SystemTime,
    ) -> Result<Option<Duration>, StoreError> {
        if self.config.max_failures == 0 || keys.is_empty() {
            return Ok(None);
        }
        let wait = store_call(
            self.store.backend(),
            "throttle_reserve",
            self.store.reserve(keys, &self.config, now),
        )
        .await?;
        if wait.is_some() {
            crate::metrics::throttled(self.kind.as_str());
        }
        Ok(wait)
    }

    /// Gives back the reservation of a successful attempt made at `reserved_at`.
    ///
    /// # Errors
    ///
    /// The store's [`StoreError`] when the reservation cannot be given back.
    pub async fn release(
        &self,
        keys: &[ThrottleKey],
        reserved_at: SystemTime,
    ) -> Result<(), StoreError> {
        if self.config.max_failures == 0 || keys.is_empty() {
            return Ok(());
        }
        store_call(
            self.store.backend(),
            "throttle_release",
            self.store.release(keys, &self.config, reserved_at),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(max: u32) -> Throttle {
        Throttle::new(
            ThrottleConfig::new(max, Duration::from_secs(60)),
            Arc::new(MemoryThrottleStore::new()),
        )
    }

    #[tokio::test]
    async fn attempts_beyond_the_limit_are_refused_until_the_window_ends() {
        let t = throttle(2);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let keys = vec![ThrottleKey::Client("VL001".into())];
        assert_eq!(t.reserve(&keys, t0).await, Ok(None));
        assert_eq!(
            t.reserve(&keys, t0 + Duration::from_secs(10)).await,
            Ok(None)
        );
        assert_eq!(
            t.reserve(&keys, t0 + Duration::from_secs(20)).await,
            Ok(Some(Duration::from_secs(40)))
        );
        let other = [ThrottleKey::Client("VL002".into())];
        assert_eq!(t.reserve(&other, t0).await, Ok(None));
        assert_eq!(
            t.reserve(&keys, t0 + Duration::from_secs(60)).await,
            Ok(None),
            "a new window"
        );
    }

    #[tokio::test]
    async fn a_released_reservation_does_not_count() {
        let t = throttle(2);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let keys = [
            ThrottleKey::Ip("127.0.0.1".parse().unwrap()),
            ThrottleKey::Client("VL001".into()),
        ];
        for _ in 0..5 {
            assert_eq!(t.reserve(&keys, t0).await, Ok(None));
            t.release(&keys, t0).await.unwrap();
        }
        assert_eq!(t.reserve(&keys, t0).await, Ok(None));
        assert_eq!(t.reserve(&keys, t0).await, Ok(None));
        assert!(t.reserve(&keys, t0).await.unwrap().is_some());
        // A refused reservation took nothing: releasing one of the two failures frees a place.
        t.release(&keys, t0).await.unwrap();
        assert_eq!(t.reserve(&keys, t0).await, Ok(None));
    }

    #[tokio::test]
    async fn a_release_after_the_window_ended_leaves_the_new_window_alone() {
        let t = throttle(1);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let keys = [ThrottleKey::Client("VL001".into())];
        assert_eq!(t.reserve(&keys, t0).await, Ok(None));
        let t61 = t0 + Duration::from_secs(61);
        assert_eq!(t.reserve(&keys, t61).await, Ok(None));
        t.release(&keys, t0).await.unwrap();
        assert!(t.reserve(&keys, t61).await.unwrap().is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_reservations_never_exceed_the_limit() {
        let t = Arc::new(throttle(10));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let keys = [
            ThrottleKey::Ip("127.0.0.1".parse().unwrap()),
            ThrottleKey::Client("VL001".into()),
        ];
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let (t, keys) = (t.clone(), keys.clone());
                tokio::spawn(async move { t.reserve(&keys, t0).await })
            })
            .collect();
        let mut admitted = 0;
        for task in tasks {
            if task.await.unwrap().unwrap().is_none() {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 10);
    }
}
