//! Resilience shared by the provider clients: retry policy as data, a circuit breaker for
//! primary→fallback routing, and a single-flight expiring cache for server tokens.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::clock::Clock;

/// The furthest [`instant_after`] reaches: about 30 years, beyond any deadline a call needs.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);

/// `start + span`, with `span` capped at about 30 years so that a configured `Duration::MAX`
/// (meaning "no practical limit") cannot overflow the clock.
///
/// ```
/// use std::time::Duration;
/// use gameauth_core::resilience::instant_after;
/// use tokio::time::Instant;
///
/// let now = Instant::now();
/// assert_eq!(instant_after(now, Duration::from_secs(5)), now + Duration::from_secs(5));
/// assert!(instant_after(now, Duration::MAX) > now + Duration::from_secs(20 * 365 * 86_400));
/// ```
pub fn instant_after(start: Instant, span: Duration) -> Instant {
    start + span.min(FAR_FUTURE)
}

/// How often and how patiently to repeat an idempotent call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, including the first (1 = no retry).
    pub max_attempts: u32,
    /// Backoff before the second attempt.
    pub initial_backoff: Duration,
    /// Upper bound of the exponential backoff.
    pub max_backoff: Duration,
    /// Upper bound of an honoured `Retry-After`; a longer one ends the retries.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// No retry at all: for calls that create state at the provider.
    pub const NONE: Self = Self {
        max_attempts: 1,
        initial_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
        max_retry_after: Duration::ZERO,
    };

    /// The policy for idempotent reads: 3 attempts, jittered backoff 100 ms → 2 s, `Retry-After`
    /// honoured up to 10 s.
    pub const IDEMPOTENT: Self = Self {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(2),
        max_retry_after: Duration::from_secs(10),
    };

    /// The wait before attempt number `next_attempt` (2 for the first retry), or `None` when no
    /// further attempt should be made.
    ///
    /// Without `Retry-After` the wait is drawn uniformly from the upper half of the exponential
    /// step ("equal jitter"), so concurrent clients spread out but never retry immediately.
    pub fn backoff(&self, next_attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if next_attempt < 2 || next_attempt > self.max_attempts {
            return None;
        }
        if let Some(ra) = retry_after {
            return (ra <= self.max_retry_after).then_some(ra);
        }
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << (next_attempt - 2).min(16))
            .min(self.max_backoff);
        let half = exp / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        let extra = if jitter_ms == 0 {
            0
        } else {
            let mut b = [0u8; 8];
            crate::ids::fill_random(&mut b);
            u64::from_le_bytes(b) % jitter_ms.saturating_add(1)
        };
        Some(half.saturating_add(Duration::from_millis(extra)))
    }
}

/// Settings of a [`CircuitBreaker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// First cool-down once open.
    pub initial_cooldown: Duration,
    /// Largest cool-down after repeated failed probes (each failed probe doubles it).
    pub max_cooldown: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            initial_cooldown: Duration::from_secs(30),
            max_cooldown: Duration::from_secs(300),
        }
    }
}

/// What the breaker allows for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerDecision {
    /// Closed: use the primary.
    Allow,
    /// Half-open: this call is the single probe of the primary.
    Probe,
    /// Open: skip the primary.
    Reject,
}

/// The observable state of a [`CircuitBreaker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go to the primary.
    Closed,
    /// Calls skip the primary until the cool-down ends.
    Open,
    /// The cool-down ended; one probe may go to the primary.
    HalfOpen,
}

#[derive(Debug)]
struct BreakerInner {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    cooldown: Duration,
    probe_started: Option<Instant>,
}

/// A consecutive-failure circuit breaker with a growing cool-down and a single half-open probe.
///
/// Time is tokio's monotonic clock, so tests can pause and advance it.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    inner: Arc<Mutex<BreakerInner>>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            inner: Arc::new(Mutex::new(BreakerInner {
                consecutive_failures: 0,
                open_until: None,
                cooldown: config.initial_cooldown,
                probe_started: None,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Decides whether the next call may use the primary.
    pub fn decide(&self) -> BreakerDecision {
        let now = Instant::now();
        let mut s = self.lock();
        let Some(until) = s.open_until else {
            return BreakerDecision::Allow;
        };
        if now < until {
            return BreakerDecision::Reject;
        }
        // A probe whose caller vanished (dropped future) must not wedge the breaker: after one
        // more cool-down another probe is allowed.
        let probe_stale = s
            .probe_started
            .is_some_and(|t| now.duration_since(t) >= s.cooldown);
        if s.probe_started.is_none() || probe_stale {
            s.probe_started = Some(now);
            BreakerDecision::Probe
        } else {
            BreakerDecision::Reject
        }
    }

    /// Records a successful primary call: closes the breaker.
    pub fn record_success(&self) {
        let mut s = self.lock();
        s.consecutive_failures = 0;
        s.open_until = None;
        s.probe_started = None;
        s.cooldown = self.config.initial_cooldown;
    }

    /// Records a failed primary call.
    pub fn record_failure(&self) {
        let now = Instant::now();
        let mut s = self.lock();
        if s.probe_started.take().is_some() {
            // The probe failed: open again for a longer cool-down.
            s.cooldown = s.cooldown.saturating_mul(2).min(self.config.max_cooldown);
            s.open_until = Some(instant_after(now, s.cooldown));
            return;
        }
        s.consecutive_failures = s.consecutive_failures.saturating_add(1);
        if s.open_until.is_none() && s.consecutive_failures >= self.config.failure_threshold {
            s.cooldown = self.config.initial_cooldown;
            s.open_until = Some(instant_after(now, s.cooldown));
        }
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        let s = self.lock();
        match s.open_until {
            None => BreakerState::Closed,
            Some(until) if Instant::now() < until => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }
}

#[derive(Debug)]
struct CacheSlot<T> {
    value: T,
    expires_at: SystemTime,
    generation: u64,
}

/// A cached value with its generation, as returned by [`ExpiringCache::get_or_refresh`].
#[derive(Debug, Clone)]
pub struct Cached<T> {
    /// The value.
    pub value: T,
    /// Identifies this fetch; pass it to [`ExpiringCache::invalidate`] to drop exactly this value.
    pub generation: u64,
}

/// A single-flight, expiring cache of one value (e.g. a server OAuth token).
///
/// A value is refreshed `refresh_ahead` before it expires. However many tasks ask at once, one
/// fetch runs; the others wait for it, except that callers holding a still-valid value during a
/// refresh-ahead get that value without waiting. When a fetch fails, the callers that were
/// already waiting for it get its error instead of each repeating the fetch against a host that
/// just failed; a caller arriving later starts a new fetch.
#[derive(Debug)]
pub struct ExpiringCache<T, E> {
    slot: Mutex<Option<CacheSlot<T>>>,
    refresh: tokio::sync::Mutex<()>,
    /// Number of fetches finished so far, and the error of the last one if it failed.
    finished: Mutex<(u64, Option<E>)>,
    refresh_ahead: Duration,
    clock: Arc<dyn Clock>,
}

impl<T: Clone, E: Clone> ExpiringCache<T, E> {
    /// An empty cache that refreshes `refresh_ahead` before expiry.
    pub fn new(refresh_ahead: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            slot: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
            finished: Mutex::new((0, None)),
            refresh_ahead,
            clock,
        }
    }

    fn finished(&self) -> std::sync::MutexGuard<'_, (u64, Option<E>)> {
        self.finished.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<CacheSlot<T>>> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Some(fresh)` when no refresh is due, `Err(Some(usable))` when a refresh is due but the
    /// value has not expired yet, `Err(None)` when nothing usable is cached.
    fn lookup(&self) -> Result<Cached<T>, Option<Cached<T>>> {
        let now = self.clock.now();
        let slot = self.slot();
        match slot.as_ref() {
            Some(s)
                if now
                    .checked_add(self.refresh_ahead)
                    .is_some_and(|t| t < s.expires_at) =>
            {
                Ok(Cached {
                    value: s.value.clone(),
                    generation: s.generation,
                })
            }
            Some(s) if now < s.expires_at => Err(Some(Cached {
                value: s.value.clone(),
                generation: s.generation,
            })),
            _ => Err(None),
        }
    }

    /// The cached value when no refresh is due, without waiting; `None` when a caller should
    /// go through [`get_or_refresh`](Self::get_or_refresh).
    pub fn fresh(&self) -> Option<Cached<T>> {
        self.lookup().ok()
    }

    /// The cached value, fetching a new one with `fetch` when needed. `fetch` returns the value
    /// and the instant it expires.
    ///
    /// If a refresh-ahead fetch fails while the old value is still valid, the old value is
    /// returned; otherwise the fetch error is.
    ///
    /// # Errors
    ///
    /// Returns the fetch error `E` when no still-valid value is cached and either this call's
    /// `fetch` failed, or a fetch that finished while this call waited for it failed (then that
    /// error is shared and `fetch` is not called). With a still-valid value in its refresh-ahead
    /// period, a failed fetch returns that value instead; the cache adds no errors of its own.
    pub async fn get_or_refresh<F, Fut>(&self, fetch: F) -> Result<Cached<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(T, SystemTime), E>>,
    {
        let usable = match self.lookup() {
            Ok(fresh) => return Ok(fresh),
            Err(usable) => usable,
        };
        let fetches_before = self.finished().0;
        let _guard = match (&usable, self.refresh.try_lock()) {
            (_, Ok(g)) => g,
            (Some(v), Err(_)) => return Ok(v.clone()),
            (None, Err(_)) => self.refresh.lock().await,
        };
        // Whoever held the refresh lock before us may have refreshed already.
        let usable = match self.lookup() {
            Ok(fresh) => return Ok(fresh),
            Err(usable) => usable,
        };
        // A fetch that finished while we waited and failed: share its error.
        if let (n, Some(e)) = &*self.finished()
            && *n > fetches_before
        {
            return usable.ok_or_else(|| e.clone());
        }
        let result = fetch().await;
        {
            let mut finished = self.finished();
            finished.0 += 1;
            finished.1 = result.as_ref().err().cloned();
        }
        match result {
            Ok((value, expires_at)) => {
                let mut slot = self.slot();
                let generation = slot.as_ref().map_or(1, |s| s.generation + 1);
                *slot = Some(CacheSlot {
                    value: value.clone(),
                    expires_at,
                    generation,
                });
                Ok(Cached { value, generation })
            }
            Err(e) => usable.ok_or(e),
        }
    }

    /// Drops the cached value if it is still the one of `generation` (a value the server just
    /// refused), so the next call fetches a new one. A newer value is kept.
    pub fn invalidate(&self, generation: u64) {
        let mut slot = self.slot();
        if slot.as_ref().is_some_and(|s| s.generation == generation) {
            // Keep the generation counter moving so a stale invalidate cannot hit the next value.
            if let Some(s) = slot.as_mut() {
                s.expires_at = SystemTime::UNIX_EPOCH;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn retry_backoff_grows_and_respects_bounds() {
        let p = RetryPolicy::IDEMPOTENT;
        let d2 = p.backoff(2, None).unwrap();
        assert!(d2 >= Duration::from_millis(50) && d2 <= Duration::from_millis(100));
        let d3 = p.backoff(3, None).unwrap();
        assert!(d3 >= Duration::from_millis(100) && d3 <= Duration::from_millis(200));
        assert_eq!(p.backoff(4, None), None);
        assert_eq!(
            p.backoff(2, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(p.backoff(2, Some(Duration::from_secs(11))), None);
        assert_eq!(RetryPolicy::NONE.backoff(2, None), None);
    }

    #[tokio::test(start_paused = true)]
    async fn breaker_opens_after_threshold_probes_once_and_grows_cooldown() {
        let b = CircuitBreaker::new(BreakerConfig::default());
        for _ in 0..4 {
            assert_eq!(b.decide(), BreakerDecision::Allow);
            b.record_failure();
        }
        assert_eq!(b.state(), BreakerState::Closed);
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.decide(), BreakerDecision::Reject);

        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.decide(), BreakerDecision::Probe);
        assert_eq!(
            b.decide(),
            BreakerDecision::Reject,
            "only one probe at a time"
        );
        b.record_failure();
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(
            b.decide(),
            BreakerDecision::Reject,
            "cool-down doubled to 60 s"
        );
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(b.decide(), BreakerDecision::Probe);
        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.decide(), BreakerDecision::Allow);
    }

    #[test]
    fn retry_backoff_with_unbounded_settings_does_not_overflow() {
        let p = RetryPolicy {
            max_attempts: u32::MAX,
            initial_backoff: Duration::MAX,
            max_backoff: Duration::MAX,
            max_retry_after: Duration::MAX,
        };
        for attempt in [2, 3, 40, u32::MAX] {
            let wait = p.backoff(attempt, None).unwrap();
            assert!(wait >= Duration::MAX / 2, "{wait:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn breaker_with_unbounded_cooldowns_does_not_overflow() {
        let b = CircuitBreaker::new(BreakerConfig {
            failure_threshold: 1,
            initial_cooldown: Duration::MAX,
            max_cooldown: Duration::MAX,
        });
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Open);
        tokio::time::advance(Duration::from_secs(10 * 365 * 86_400)).await;
        assert_eq!(b.decide(), BreakerDecision::Reject);
        // The open time is capped at about 30 years; then a failed probe doubles the
        // cool-down, which saturates instead of overflowing.
        tokio::time::advance(Duration::from_secs(21 * 365 * 86_400)).await;
        assert_eq!(b.decide(), BreakerDecision::Probe);
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.decide(), BreakerDecision::Reject);
    }

    #[test]
    fn instant_after_caps_the_span() {
        let now = Instant::now();
        assert_eq!(
            instant_after(now, Duration::from_secs(7)),
            now + Duration::from_secs(7)
        );
        assert_eq!(instant_after(now, Duration::MAX), now + FAR_FUTURE);
    }

    #[tokio::test]
    async fn cache_fetches_once_for_concurrent_waiters() {
        let clock = ManualClock::at_unix_seconds(1_000);
        let cache = Arc::new(ExpiringCache::<String, ()>::new(
            Duration::from_secs(60),
            Arc::new(clock.clone()),
        ));
        let fetches = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let cache = cache.clone();
            let fetches = fetches.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_refresh(|| async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>(("tok".to_owned(), clock_at(4_600)))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().value, "tok");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    fn clock_at(secs: i64) -> SystemTime {
        crate::clock::from_unix_seconds(secs)
    }

    #[tokio::test]
    async fn cache_refreshes_ahead_and_invalidates_by_generation() {
        let clock = ManualClock::at_unix_seconds(1_000);
        let cache =
            ExpiringCache::<u32, &str>::new(Duration::from_secs(60), Arc::new(clock.clone()));
        let a = cache
            .get_or_refresh(|| async { Ok((1, clock_at(2_000))) })
            .await
            .unwrap();
        assert_eq!(a.value, 1);
        clock.set_unix_seconds(1_950); // inside the refresh-ahead window
        let b = cache
            .get_or_refresh(|| async { Ok((2, clock_at(3_000))) })
            .await
            .unwrap();
        assert_eq!(b.value, 2);
        cache.invalidate(a.generation); // stale generation: ignored
        let c = cache
            .get_or_refresh(|| async { Ok((3, clock_at(3_000))) })
            .await
            .unwrap();
        assert_eq!(c.value, 2);
        cache.invalidate(c.generation);
        let d = cache
            .get_or_refresh(|| async { Ok((4, clock_at(3_000))) })
            .await
            .unwrap();
        assert_eq!(d.value, 4);
    }

    #[tokio::test]
    async fn an_unbounded_refresh_ahead_always_refreshes() {
        let clock = ManualClock::at_unix_seconds(1_000);
        let cache = ExpiringCache::<u32, &str>::new(Duration::MAX, Arc::new(clock.clone()));
        for expected in 1..=3 {
            let got = cache
                .get_or_refresh(|| async move { Ok((expected, clock_at(2_000))) })
                .await
                .unwrap();
            assert_eq!(got.value, expected);
        }
    }

    #[tokio::test]
    async fn failed_refresh_ahead_keeps_the_still_valid_value() {
        let clock = ManualClock::at_unix_seconds(1_000);
        let cache =
            ExpiringCache::<u32, &str>::new(Duration::from_secs(60), Arc::new(clock.clone()));
        cache
            .get_or_refresh(|| async { Ok((1, clock_at(2_000))) })
            .await
            .unwrap();
        clock.set_unix_seconds(1_990);
        let v = cache.get_or_refresh(|| async { Err("down") }).await;
        assert_eq!(v.unwrap().value, 1);
        clock.set_unix_seconds(2_001);
        let v = cache.get_or_refresh(|| async { Err("down") }).await;
        assert_eq!(v.unwrap_err(), "down");
    }
}

#[cfg(test)]
mod shared_failure_tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn waiters_queued_behind_a_failed_fetch_share_its_error_then_a_new_call_fetches() {
        let clock = ManualClock::at_unix_seconds(1_000);
        let cache = Arc::new(ExpiringCache::<u32, String>::new(
            Duration::from_secs(60),
            Arc::new(clock),
        ));
        let fetches = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let cache = cache.clone();
            let fetches = fetches.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_refresh(|| async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Err::<(u32, SystemTime), _>("host down".to_owned())
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap_err(), "host down");
        }
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            1,
            "one fetch for all waiters"
        );
        let later = cache
            .get_or_refresh(|| async { Ok((7, crate::clock::from_unix_seconds(5_000))) })
            .await
            .unwrap();
        assert_eq!(
            later.value, 7,
            "a caller arriving after the failure fetches again"
        );
    }
}
