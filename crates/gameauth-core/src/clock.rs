//! Injected time.
//!
//! Signatures, token expiry and freshness windows all depend on "now". Clients take an
//! `Arc<dyn Clock>` so tests and fixtures can freeze time; production uses [`SystemClock`].

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// Whole seconds since the Unix epoch (negative before 1970).
    fn unix_seconds(&self) -> i64 {
        unix_millis(self.now()).div_euclid(1000)
    }

    /// Milliseconds since the Unix epoch.
    fn unix_millis(&self) -> i64 {
        unix_millis(self.now())
    }
}

/// Milliseconds since the Unix epoch for any `SystemTime`, saturating at the `i64` range.
pub fn unix_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |m| -m),
    }
}

/// The `SystemTime` for a number of seconds since the Unix epoch.
pub fn from_unix_seconds(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to: for tests and recorded fixtures.
///
/// Clones share the same time, so a test can keep one handle and advance the clock that a client
/// holds.
#[derive(Debug, Clone)]
pub struct ManualClock {
    millis: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock frozen at `unix_seconds`.
    pub fn at_unix_seconds(unix_seconds: i64) -> Self {
        Self::at_unix_millis(unix_seconds.saturating_mul(1000))
    }

    /// A clock frozen at `unix_millis`.
    pub fn at_unix_millis(unix_millis: i64) -> Self {
        Self {
            millis: Arc::new(AtomicI64::new(unix_millis)),
        }
    }

    /// Moves the clock forward (or backward, for a negative step).
    pub fn advance(&self, by: Duration) {
        let step = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.millis.fetch_add(step, Ordering::SeqCst);
    }

    /// Sets the clock to `unix_seconds`.
    pub fn set_unix_seconds(&self, unix_seconds: i64) {
        self.millis
            .store(unix_seconds.saturating_mul(1000), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        let ms = self.millis.load(Ordering::SeqCst);
        if ms >= 0 {
            UNIX_EPOCH + Duration::from_millis(ms.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_time() {
        let clock = ManualClock::at_unix_seconds(1_711_971_655);
        let handle = clock.clone();
        assert_eq!(clock.unix_seconds(), 1_711_971_655);
        handle.advance(Duration::from_millis(1500));
        assert_eq!(clock.unix_seconds(), 1_711_971_656);
        assert_eq!(clock.unix_millis(), 1_711_971_656_500);
    }

    #[test]
    fn unix_seconds_round_trip() {
        assert_eq!(unix_millis(from_unix_seconds(42)), 42_000);
        assert_eq!(unix_millis(from_unix_seconds(-2)), -2_000);
    }
}
