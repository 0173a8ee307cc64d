//! `execute`: the one loop that sends a call under its policy.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use tokio::time::Instant;
use tracing::Instrument as _;

use crate::error::{TransportError, TransportErrorKind};
use crate::resilience::{BreakerDecision, instant_after};
use crate::telemetry::{self, HostRole, Outcome};
use crate::transport::{BaseUrl, HttpTransport, OutboundRequest, retry_after};

use super::policy::{CallKind, CallPolicy, Route};

/// Why one host did not give a usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptFailure {
    /// No HTTP response (connect error, timeout, reset, truncated response, oversized body).
    Transport(TransportErrorKind),
    /// An HTTP status that means the host is broken or overloaded (5xx or 429).
    Status(u16),
    /// An answer the call's reader found is not JSON at all (an HTML error page, a truncated
    /// document; see [`execute_read`]).
    NotJson,
    /// The primary was skipped because its circuit breaker is open.
    BreakerOpen,
    /// The overall deadline left no time for this attempt.
    DeadlineExceeded,
}

impl fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(kind) => write!(f, "transport failure ({kind:?})"),
            Self::Status(status) => write!(f, "HTTP status {status}"),
            Self::NotJson => f.write_str("response body is not JSON"),
            Self::BreakerOpen => f.write_str("skipped, circuit breaker open"),
            Self::DeadlineExceeded => f.write_str("no time left before the deadline"),
        }
    }
}

/// What happened on each host of a call that got no usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable {
    /// What happened on the primary host (its last attempt).
    pub primary: AttemptFailure,
    /// What happened on the fallback host; `None` when the call has none.
    pub fallback: Option<AttemptFailure>,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "primary: {}", self.primary)?;
        match self.fallback {
            Some(fallback) => write!(f, "; fallback: {fallback}"),
            None => f.write_str("; no fallback"),
        }
    }
}

/// A usable answer: any HTTP response the policy does not treat as a broken host, as the call's
/// reader made it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Answer<T = Response<Bytes>> {
    /// What the reader made of the response: with [`execute`], the response itself, for the
    /// provider to decode; with [`execute_read`], the reader's value.
    pub value: T,
    /// Which host answered.
    pub host: HostRole,
    /// Why the primary did not answer, when the fallback did.
    pub primary_failure: Option<AttemptFailure>,
}

/// What a reader of [`execute_read`] hands back for an answer that is not JSON at all (an HTML
/// error page, a truncated document): the host is broken, not answering. Boxed, as it is rare
/// and a reader's result should stay small.
#[derive(Debug)]
pub struct NotJson(pub Box<Response<Bytes>>);

impl NotJson {
    /// The answer that is not JSON.
    pub fn new(response: Response<Bytes>) -> Self {
        Self(Box::new(response))
    }
}

/// Why [`execute`] got no usable answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The last attempt got no response, and nothing that may have created state at the
    /// provider was sent (for a state-creating call: the request provably never left).
    #[error("transport failure: {error}")]
    Transport {
        /// The transport error of the last attempt.
        error: TransportError,
        /// What happened on each host.
        failures: Unavailable,
    },
    /// A state-creating call failed after the request may have reached the provider: it may
    /// or may not have acted. It must not be repeated blindly.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(TransportError),
    /// The deadline left no time for an attempt on a host that was still to be tried.
    #[error("deadline exceeded ({failures})")]
    Deadline {
        /// What happened on each host.
        failures: Unavailable,
    },
    /// Every host tried answered with a broken answer, or was skipped by its breaker.
    #[error("provider unavailable ({failures})")]
    Unavailable {
        /// What happened on each host.
        failures: Unavailable,
        /// The last broken answer, when the last host answered at all.
        last: Option<Response<Bytes>>,
    },
}

impl CallError {
    /// The error as a [`TransportError`], for a provider whose calls have one host and whose
    /// error type speaks of transport failures: the last attempt's error, or for a deadline or
    /// a host that answered only with broken answers an error of kind
    /// [`Timeout`](TransportErrorKind::Timeout) or [`Io`](TransportErrorKind::Io).
    pub fn into_transport_error(self) -> TransportError {
        match self {
            Self::Transport { error, .. } | Self::OutcomeUnknown(error) => error,
            Self::Deadline { .. } => TransportError::new(
                TransportErrorKind::Timeout,
                false,
                "the deadline left no time for an attempt",
            ),
            Self::Unavailable { failures, .. } => TransportError::new(
                TransportErrorKind::Io,
                true,
                format!("provider unavailable ({failures})"),
            ),
        }
    }

    /// What happened on each host, `None` for [`OutcomeUnknown`](Self::OutcomeUnknown).
    pub fn failures(&self) -> Option<Unavailable> {
        match self {
            Self::Transport { failures, .. }
            | Self::Deadline { failures }
            | Self::Unavailable { failures, .. } => Some(*failures),
            Self::OutcomeUnknown(_) => None,
        }
    }
}

/// How one host ended.
enum HostEnd<T> {
    Answer(T),
    OutcomeUnknown(TransportError),
    /// The last attempt got no response.
    Transport(TransportError),
    /// The last attempt got a broken answer.
    Broken(AttemptFailure, Response<Bytes>),
    /// A state-creating call's answer was not JSON: the call ends there, never repeated.
    Unreadable(Response<Bytes>),
    /// No time was left for the first attempt.
    NoTime,
}

impl<T> HostEnd<T> {
    fn failure(&self) -> AttemptFailure {
        match self {
            Self::Transport(e) | Self::OutcomeUnknown(e) => AttemptFailure::Transport(e.kind()),
            Self::Broken(f, _) => *f,
            Self::Unreadable(_) => AttemptFailure::NotJson,
            Self::NoTime => AttemptFailure::DeadlineExceeded,
            // Not a failure; never asked.
            Self::Answer(_) => AttemptFailure::DeadlineExceeded,
        }
    }

    fn into_error(self, failures: Unavailable) -> CallError {
        match self {
            Self::Transport(error) => CallError::Transport { error, failures },
            Self::OutcomeUnknown(e) => CallError::OutcomeUnknown(e),
            Self::Broken(_, last) | Self::Unreadable(last) => CallError::Unavailable {
                failures,
                last: Some(last),
            },
            Self::NoTime | Self::Answer(_) => CallError::Deadline { failures },
        }
    }
}

/// Sends `request` under `policy` along `route`, within the policy's deadline and, when given,
/// `outer` (the deadline of a larger operation this call is part of).
///
/// On each host the request is attempted as the [`CallKind`] and the retry policy allow, each
/// attempt within the attempt timeout and what is left of the deadline. A broken primary (no
/// response, or a broken answer of an idempotent call) hands the call to the fallback, if the
/// route has one, for the same number of attempts; the breaker on the primary learns from
/// every primary attempt. Every attempt is counted in the metrics of [`crate::telemetry`] and
/// traced in a `gameauth.outbound` span.
///
/// # Errors
///
/// A [`CallError`]: [`Transport`](CallError::Transport) when the last attempt got no response,
/// [`OutcomeUnknown`](CallError::OutcomeUnknown) when a state-creating call may have been
/// sent, [`Deadline`](CallError::Deadline) when no time was left for a host still to try, and
/// [`Unavailable`](CallError::Unavailable) when every host answered broken or was skipped.
pub async fn execute(
    transport: &dyn HttpTransport,
    route: &Route,
    policy: &CallPolicy,
    request: &OutboundRequest,
    outer: Option<Instant>,
) -> Result<Answer, CallError> {
    execute_read(transport, route, policy, request, outer, Ok).await
}

/// As [`execute`], with `read` making the provider's value of each answer the policy does not
/// count as broken by its status, so the answer is decoded once, by the provider, and the
/// decoding also decides whether a host is broken.
///
/// `read` gets every such answer (any status: a non-200 is for it to report) and returns its
/// value, or [`NotJson`] for an answer that is not JSON at all. For an idempotent call that is
/// a broken answer ([`AttemptFailure::NotJson`]): repeated, and sent to the fallback, like a
/// 5xx. For a state-creating call it ends the call as [`CallError::Unavailable`] with the
/// answer as `last`: the provider answered, so it is never repeated.
///
/// # Errors
///
/// As [`execute`].
pub async fn execute_read<T>(
    transport: &dyn HttpTransport,
    route: &Route,
    policy: &CallPolicy,
    request: &OutboundRequest,
    outer: Option<Instant>,
    read: impl Fn(Response<Bytes>) -> Result<T, NotJson>,
) -> Result<Answer<T>, CallError> {
    let own = instant_after(Instant::now(), policy.deadline);
    let deadline = outer.map_or(own, |o| o.min(own));
    if remaining(deadline).is_zero() {
        return Err(CallError::Deadline {
            failures: Unavailable {
                primary: AttemptFailure::DeadlineExceeded,
                fallback: None,
            },
        });
    }
    let decision = route.breaker.as_ref().map_or(BreakerDecision::Allow, |b| {
        let d = b.breaker.decide();
        b.observe();
        d
    });
    let primary = if decision == BreakerDecision::Reject {
        None
    } else {
        let end = on_host(
            transport,
            policy,
            request,
            &read,
            Host {
                base: &route.primary,
                role: HostRole::Primary,
                attempt_timeout: policy.attempt_timeout,
            },
            deadline,
        )
        .await;
        if let Some(b) = &route.breaker {
            match end {
                HostEnd::Answer(_) => b.breaker.record_success(),
                _ => b.breaker.record_failure(),
            }
            b.observe();
        }
        match end {
            HostEnd::Answer(value) => {
                return Ok(Answer {
                    value,
                    host: HostRole::Primary,
                    primary_failure: None,
                });
            }
            HostEnd::OutcomeUnknown(e) => return Err(CallError::OutcomeUnknown(e)),
            end @ HostEnd::Unreadable(_) => {
                let failures = Unavailable {
                    primary: end.failure(),
                    fallback: None,
                };
                return Err(end.into_error(failures));
            }
            end => Some(end),
        }
    };
    let primary_failure = primary
        .as_ref()
        .map_or(AttemptFailure::BreakerOpen, HostEnd::failure);
    let Some(fallback) = &route.fallback else {
        let failures = Unavailable {
            primary: primary_failure,
            fallback: None,
        };
        return Err(match primary {
            Some(end) => end.into_error(failures),
            None => CallError::Unavailable {
                failures,
                last: None,
            },
        });
    };
    let end = on_host(
        transport,
        policy,
        request,
        &read,
        Host {
            base: &fallback.url,
            role: HostRole::Fallback,
            attempt_timeout: fallback.attempt_timeout,
        },
        deadline,
    )
    .await;
    match end {
        HostEnd::Answer(value) => Ok(Answer {
            value,
            host: HostRole::Fallback,
            primary_failure: Some(primary_failure),
        }),
        end => {
            let failures = Unavailable {
                primary: primary_failure,
                fallback: Some(end.failure()),
            };
            Err(end.into_error(failures))
        }
    }
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// Whether the status of `response` means a broken host (5xx, 429; idempotent calls only).
fn broken(policy: &CallPolicy, response: &Response<Bytes>) -> Option<AttemptFailure> {
    if policy.kind == CallKind::StateCreating {
        return None;
    }
    let status = response.status();
    (status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS)
        .then(|| AttemptFailure::Status(status.as_u16()))
}

/// Whether `body` is syntactically one JSON document: for a reader of [`execute_read`] to tell
/// an answer that is not JSON from JSON it cannot decode, on its error path.
pub fn is_json(body: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

/// One host of a route, as [`on_host`] tries it.
struct Host<'a> {
    base: &'a BaseUrl,
    role: HostRole,
    attempt_timeout: Duration,
}

/// The attempts on one host.
async fn on_host<T>(
    transport: &dyn HttpTransport,
    policy: &CallPolicy,
    request: &OutboundRequest,
    read: &impl Fn(Response<Bytes>) -> Result<T, NotJson>,
    host: Host<'_>,
    deadline: Instant,
) -> HostEnd<T> {
    let Host {
        base,
        role,
        attempt_timeout,
    } = host;
    let mut attempt: u32 = 1;
    loop {
        let left = remaining(deadline);
        if left.is_zero() {
            return HostEnd::NoTime;
        }
        let span = tracing::debug_span!(
            "gameauth.outbound",
            provider = policy.provider,
            endpoint = policy.endpoint,
            http.request.method = %request.method(),
            server.address = base.host(),
            http.request.resend_count = attempt - 1,
            http.response.status_code = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = transport
            .send_outbound(base, request, attempt_timeout.min(left))
            .instrument(span.clone())
            .await;
        let (end, outcome, retry_after) = match result {
            Ok(response) => {
                span.record("http.response.status_code", response.status().as_u16());
                let verdict = match broken(policy, &response) {
                    Some(failure) => Err((failure, response)),
                    None => read(response).map_err(|NotJson(r)| (AttemptFailure::NotJson, *r)),
                };
                match verdict {
                    Ok(value) => (HostEnd::Answer(value), Outcome::Success, None),
                    Err((_, response)) if policy.kind == CallKind::StateCreating => {
                        (HostEnd::Unreadable(response), Outcome::Refused, None)
                    }
                    Err((failure, response)) => {
                        let ra = retry_after(response.headers());
                        (HostEnd::Broken(failure, response), Outcome::Refused, ra)
                    }
                }
            }
            Err(e) if policy.kind == CallKind::StateCreating && e.request_sent() => {
                (HostEnd::OutcomeUnknown(e), Outcome::OutcomeUnknown, None)
            }
            Err(e) if e.is_timeout() => (HostEnd::Transport(e), Outcome::Timeout, None),
            Err(e) => (HostEnd::Transport(e), Outcome::Transport, None),
        };
        span.record("outcome", outcome.as_str());
        telemetry::outbound_attempt(
            policy.provider,
            policy.endpoint,
            role,
            outcome,
            started.elapsed(),
        );
        let repeatable = match &end {
            HostEnd::Broken(..) => true,
            HostEnd::Transport(e) => e.is_retryable(),
            _ => false,
        };
        if !repeatable {
            return end;
        }
        attempt += 1;
        let retry_after = retry_after.filter(|_| !policy.retry.max_retry_after.is_zero());
        let Some(wait) = policy.retry.backoff(attempt, retry_after) else {
            return end;
        };
        if Instant::now() + wait >= deadline {
            return end;
        }
        tracing::debug!(
            provider = policy.provider,
            endpoint = policy.endpoint,
            attempt,
            "retrying an outbound call"
        );
        tokio::time::sleep(wait).await;
    }
}
