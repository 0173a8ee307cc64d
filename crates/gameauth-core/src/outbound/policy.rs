//! What a call is allowed to do, as data: its kind, retries, timeouts and hosts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use crate::resilience::{BreakerConfig, BreakerState, CircuitBreaker, RetryPolicy};

use crate::telemetry as metrics;
use crate::transport::BaseUrl;

/// Whether repeating a call may do something twice at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// The call creates state (a token, a one-time code). It is repeated only when the request
    /// provably never left: a transport error with
    /// [`request_sent() == false`](crate::TransportError::request_sent) that
    /// [is retryable](crate::TransportError::is_retryable), which a connection failure and a
    /// connect-phase timeout are. Any failure after the request may have been sent is
    /// [`CallError::OutcomeUnknown`](super::CallError::OutcomeUnknown); any HTTP answer is
    /// returned as it is.
    StateCreating,
    /// The call only reads: it is repeated after a retryable transport failure and after a
    /// broken answer (HTTP 5xx or 429, or what the call's reader finds is not JSON, see
    /// [`execute_read`](super::execute_read)), and may go to a fallback host.
    Idempotent,
}

/// How one call is made: its kind, retries, timeouts and metric labels.
///
/// ```
/// use std::time::Duration;
/// use gameauth_core::outbound::{CallKind, CallPolicy};
/// use gameauth_core::resilience::RetryPolicy;
///
/// let policy = CallPolicy::new("omg", "enter_game", CallKind::Idempotent)
///     .with_retry(RetryPolicy::IDEMPOTENT)
///     .with_attempt_timeout(Duration::from_secs(5))
///     .with_deadline(Duration::from_secs(10));
/// assert_eq!(policy.retry.max_attempts, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallPolicy {
    /// The `provider` label of metrics and spans (`omg`, `creditpay`, `hive`).
    pub provider: &'static str,
    /// The `endpoint` label: a fixed name of the operation, never a URL.
    pub endpoint: &'static str,
    /// State-creating or idempotent.
    pub kind: CallKind,
    /// Attempts and backoff on one host. A `Retry-After` is honoured only when
    /// [`max_retry_after`](RetryPolicy::max_retry_after) is not zero.
    pub retry: RetryPolicy,
    /// Time for one attempt on the primary host (connect, send, read the capped body).
    pub attempt_timeout: Duration,
    /// Time for the whole call: every attempt and backoff on every host.
    pub deadline: Duration,
}

impl CallPolicy {
    /// A policy without retries, with a 10 s attempt timeout and deadline.
    pub const fn new(provider: &'static str, endpoint: &'static str, kind: CallKind) -> Self {
        Self {
            provider,
            endpoint,
            kind,
            retry: RetryPolicy::NONE,
            attempt_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(10),
        }
    }

    /// Sets the retry policy.
    pub const fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the per-attempt timeout.
    pub const fn with_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// Sets the overall deadline.
    pub const fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }
}

/// The fallback host of a [`Route`].
#[derive(Debug, Clone)]
pub struct FallbackHost {
    /// Its base URL.
    pub url: BaseUrl,
    /// Time for one attempt on it.
    pub attempt_timeout: Duration,
}

/// Where a call goes: a primary host and an optional fallback with a circuit breaker on the
/// primary.
///
/// Only a broken primary sends a call to the fallback: no response, or a broken answer (see
/// [`CallKind::Idempotent`]). After a run of consecutive primary failures the breaker sends calls
/// straight to the fallback for a growing cool-down, then lets one probe through. Without a
/// fallback there is nowhere else to go, so every call tries the primary and no breaker is kept.
#[derive(Debug, Clone)]
pub struct Route {
    pub(super) primary: BaseUrl,
    pub(super) fallback: Option<FallbackHost>,
    pub(super) breaker: Option<Breaker>,
}

impl Route {
    /// One host.
    pub fn single(primary: BaseUrl) -> Self {
        Self {
            primary,
            fallback: None,
            breaker: None,
        }
    }

    /// A primary and, when `fallback` is given, a fallback behind a breaker configured by
    /// `breaker`; `provider` labels the breaker's metrics.
    pub fn with_fallback(
        provider: &'static str,
        primary: BaseUrl,
        fallback: Option<FallbackHost>,
        breaker: BreakerConfig,
    ) -> Self {
        let breaker = fallback.as_ref().map(|_| Breaker::new(provider, breaker));
        Self {
            primary,
            fallback,
            breaker,
        }
    }

    /// The primary host.
    pub fn primary(&self) -> &BaseUrl {
        &self.primary
    }

    /// The fallback host, if any.
    pub fn fallback(&self) -> Option<&FallbackHost> {
        self.fallback.as_ref()
    }

    /// The breaker's state, `None` without a fallback host.
    pub fn breaker_state(&self) -> Option<BreakerState> {
        self.breaker.as_ref().map(|b| b.breaker.state())
    }
}

/// A circuit breaker that reports its state changes as metrics.
#[derive(Debug, Clone)]
pub(super) struct Breaker {
    pub(super) breaker: CircuitBreaker,
    provider: &'static str,
    /// The state last reported (`metrics::breaker_state_value`).
    reported: Arc<AtomicU8>,
}

impl Breaker {
    fn new(provider: &'static str, config: BreakerConfig) -> Self {
        metrics::breaker_state(provider, BreakerState::Closed);
        Self {
            breaker: CircuitBreaker::new(config),
            provider,
            reported: Arc::new(AtomicU8::new(metrics::breaker_state_value(
                BreakerState::Closed,
            ))),
        }
    }

    /// Reports the current state if it changed since the last report.
    pub(super) fn observe(&self) {
        let state = self.breaker.state();
        let value = metrics::breaker_state_value(state);
        if self.reported.swap(value, Ordering::Relaxed) != value {
            metrics::breaker_transition(self.provider, state);
        }
    }
}
