//! Throttling of repeated failed client authentication, per client id and per caller IP.
//!
//! A fixed window per key: after `max_failures` failures inside `window`, further attempts with
//! that key are refused with 429 until the window ends. The state is per process (a Redis-backed
//! counter can replace it when several instances share the load).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

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

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ThrottleKey {
    Client(String),
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: SystemTime,
    failures: u32,
}

#[derive(Debug)]
pub(crate) struct Throttle {
    config: ThrottleConfig,
    windows: Mutex<HashMap<ThrottleKey, Window>>,
}

impl Throttle {
    pub(crate) fn new(config: ThrottleConfig) -> Self {
        Self {
            config,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` when any key is over its limit.
    pub(crate) fn check(&self, keys: &[ThrottleKey], now: SystemTime) -> Result<(), Duration> {
        if self.config.max_failures == 0 {
            return Ok(());
        }
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let wait = keys
            .iter()
            .filter_map(|k| windows.get(k))
            .filter(|w| w.failures >= self.config.max_failures)
            .filter_map(|w| (w.start + self.config.window).duration_since(now).ok())
            .filter(|d| !d.is_zero())
            .max();
        match wait {
            Some(d) => Err(d),
            None => Ok(()),
        }
    }

    pub(crate) fn record_failure(&self, keys: Vec<ThrottleKey>, now: SystemTime) {
        if self.config.max_failures == 0 {
            return;
        }
        let window = self.config.window;
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() >= PRUNE_AT {
            windows.retain(|_, w| w.start + window > now);
        }
        for key in keys {
            let w = windows.entry(key).or_insert(Window {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_beyond_the_limit_are_refused_until_the_window_ends() {
        let t = Throttle::new(ThrottleConfig::new(2, Duration::from_secs(60)));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let keys = vec![ThrottleKey::Client("VL001".into())];
        assert!(t.check(&keys, t0).is_ok());
        t.record_failure(keys.clone(), t0);
        t.record_failure(keys.clone(), t0 + Duration::from_secs(10));
        assert_eq!(
            t.check(&keys, t0 + Duration::from_secs(20)),
            Err(Duration::from_secs(40))
        );
        assert!(t.check(&[ThrottleKey::Client("VL002".into())], t0).is_ok());
        assert!(t.check(&keys, t0 + Duration::from_secs(60)).is_ok());
    }
}
