//! Primary → fallback routing with a circuit breaker and an overall deadline.
//!
//! One attempt on the primary (per-attempt timeout), then **one** attempt on the fallback, both
//! within the overall deadline. Only a broken host sends a call to the fallback: no response
//! (connect error, timeout, reset, EOF, oversized body), HTTP 5xx or 429, or a 200 whose body is
//! not JSON. Any other answer, in particular a well-formed body with any `result_code`, is
//! definitive: asking the fallback would only let a rejected token try its luck twice.
//!
//! After a run of consecutive primary failures the breaker sends calls straight to the fallback
//! for a growing cool-down, then lets one probe through. Without a fallback host there is nowhere
//! else to go, so every call tries the primary and no breaker is kept.

use std::time::Duration;

use bytes::Bytes;
use gameauth_core::resilience::{
    BreakerConfig, BreakerDecision, BreakerState, CircuitBreaker, instant_after,
};
use gameauth_core::transport::{retry_after, send_with_timeout};
use gameauth_core::{HttpTransport, TransportErrorKind};
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use tokio::time::Instant;

use crate::envelope::is_json;
use crate::environment::ServedBy;
use crate::error::{AttemptFailure, HiveError, Unavailable};

/// A request ready to send to any host: path, headers and the body serialised once.
///
/// Deliberately not `Debug`: the body may hold the client secret or the certification key.
pub(crate) struct Prepared {
    pub(crate) path: &'static str,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Prepared {
    /// A JSON POST with the headers every Hive API takes (`Content-Type`, `ISCRYPT: 0`) added to
    /// `headers`.
    pub(crate) fn json(path: &'static str, mut headers: HeaderMap, body: Bytes) -> Self {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            HeaderName::from_static("iscrypt"),
            HeaderValue::from_static("0"),
        );
        Self {
            path,
            headers,
            body,
        }
    }

    fn to_request(&self, base: &str) -> Result<Request<Bytes>, AttemptFailure> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(format!("{base}{}", self.path))
            .body(self.body.clone())
            .map_err(|_| AttemptFailure::Transport(TransportErrorKind::InvalidRequest))?;
        *request.headers_mut() = self.headers.clone();
        Ok(request)
    }
}

/// Sends `prepared` to `base` once. `Ok` is an answer the caller must interpret; `Err` says the
/// host is broken.
pub(crate) async fn attempt(
    transport: &dyn HttpTransport,
    prepared: &Prepared,
    base: &str,
    timeout: Duration,
) -> Result<Response<Bytes>, AttemptFailure> {
    let request = prepared.to_request(base)?;
    let response = send_with_timeout(transport, request, timeout)
        .await
        .map_err(|e| AttemptFailure::Transport(e.kind()))?;
    let status = response.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return Err(AttemptFailure::Status(status.as_u16()));
    }
    if status == StatusCode::OK && !is_json(response.body()) {
        return Err(AttemptFailure::NotJson);
    }
    Ok(response)
}

/// Fails with [`HiveError::HttpStatus`] unless the answer is a 200.
pub(crate) fn expect_ok(response: &Response<Bytes>) -> Result<(), HiveError> {
    if response.status() == StatusCode::OK {
        Ok(())
    } else {
        Err(HiveError::HttpStatus {
            status: response.status().as_u16(),
            retry_after: retry_after(response.headers()),
        })
    }
}

/// Timing of a primary → fallback call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeouts {
    pub(crate) primary: Duration,
    pub(crate) fallback: Duration,
    pub(crate) deadline: Duration,
}

/// Routes calls between the primary and the fallback host.
#[derive(Debug)]
pub(crate) struct Failover {
    pub(crate) primary: String,
    pub(crate) fallback: Option<String>,
    pub(crate) breaker: Option<CircuitBreaker>,
    pub(crate) timeouts: Timeouts,
}

impl Failover {
    pub(crate) fn new(
        primary: String,
        fallback: Option<String>,
        breaker: BreakerConfig,
        timeouts: Timeouts,
    ) -> Self {
        let breaker = fallback.as_ref().map(|_| CircuitBreaker::new(breaker));
        Self {
            primary,
            fallback,
            breaker,
            timeouts,
        }
    }

    /// The breaker's state, `None` without a fallback host.
    pub(crate) fn breaker_state(&self) -> Option<BreakerState> {
        self.breaker.as_ref().map(CircuitBreaker::state)
    }

    /// Sends `prepared` to the primary and, if the primary is broken or skipped, to the fallback,
    /// within the routing deadline and, when given, by `outer` (the deadline of a whole call that
    /// also fetched a server token or repeats after a refused one).
    pub(crate) async fn send_within(
        &self,
        transport: &dyn HttpTransport,
        prepared: &Prepared,
        outer: Option<Instant>,
    ) -> Result<(Response<Bytes>, ServedBy), HiveError> {
        let own = instant_after(Instant::now(), self.timeouts.deadline);
        let deadline = outer.map_or(own, |o| o.min(own));
        if remaining(deadline).is_zero() {
            return Err(unavailable(AttemptFailure::DeadlineExceeded, None));
        }
        let decision = self
            .breaker
            .as_ref()
            .map_or(BreakerDecision::Allow, CircuitBreaker::decide);
        let primary_failure = if decision == BreakerDecision::Reject {
            AttemptFailure::BreakerOpen
        } else {
            let timeout = self.timeouts.primary.min(remaining(deadline));
            match attempt(transport, prepared, &self.primary, timeout).await {
                Ok(response) => {
                    if let Some(b) = &self.breaker {
                        b.record_success();
                    }
                    return Ok((response, ServedBy::Primary));
                }
                Err(failure) => {
                    if let Some(b) = &self.breaker {
                        b.record_failure();
                    }
                    failure
                }
            }
        };
        let Some(fallback) = &self.fallback else {
            return Err(unavailable(primary_failure, None));
        };
        let left = remaining(deadline);
        if left.is_zero() {
            return Err(unavailable(
                primary_failure,
                Some(AttemptFailure::DeadlineExceeded),
            ));
        }
        let timeout = self.timeouts.fallback.min(left);
        match attempt(transport, prepared, fallback, timeout).await {
            Ok(response) => Ok((response, ServedBy::Fallback)),
            Err(failure) => Err(unavailable(primary_failure, Some(failure))),
        }
    }
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

pub(crate) fn unavailable(primary: AttemptFailure, fallback: Option<AttemptFailure>) -> HiveError {
    HiveError::Unavailable(Unavailable { primary, fallback })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gameauth_core::TransportError;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn prepared() -> Prepared {
        Prepared::json(
            "/v2/game/token/get-token",
            HeaderMap::new(),
            Bytes::from_static(b"{}"),
        )
    }

    fn timeouts() -> Timeouts {
        Timeouts {
            primary: Duration::from_secs(2),
            fallback: Duration::from_secs(2),
            deadline: Duration::from_millis(4500),
        }
    }

    fn answer(status: u16, body: &'static str) -> Response<Bytes> {
        let mut r = Response::new(Bytes::from_static(body.as_bytes()));
        *r.status_mut() = StatusCode::from_u16(status).unwrap();
        r
    }

    /// A transport answering by host: `primary` for the primary base URL, `fallback` otherwise.
    fn by_host(
        primary: impl Fn() -> Result<Response<Bytes>, TransportError> + Send + Sync + 'static,
        fallback: impl Fn() -> Result<Response<Bytes>, TransportError> + Send + Sync + 'static,
    ) -> impl HttpTransport {
        let primary = Arc::new(primary);
        let fallback = Arc::new(fallback);
        move |req: Request<Bytes>| {
            let is_primary = req.uri().host() == Some("primary.test");
            let (p, f) = (primary.clone(), fallback.clone());
            async move { if is_primary { p() } else { f() } }
        }
    }

    fn failover() -> Failover {
        Failover::new(
            "http://primary.test".into(),
            Some("http://fallback.test".into()),
            BreakerConfig::default(),
            timeouts(),
        )
    }

    #[tokio::test]
    async fn fallback_triggers_are_5xx_429_non_json_200_and_transport_failures() {
        let triggers: Vec<(AttemptFailure, Box<dyn Fn() -> _ + Send + Sync>)> = vec![
            (
                AttemptFailure::Status(503),
                Box::new(|| Ok(answer(503, ""))),
            ),
            (
                AttemptFailure::Status(500),
                Box::new(|| Ok(answer(500, "{}"))),
            ),
            (
                AttemptFailure::Status(429),
                Box::new(|| Ok(answer(429, ""))),
            ),
            (
                AttemptFailure::NotJson,
                Box::new(|| Ok(answer(200, "<html>oops</html>"))),
            ),
            (
                AttemptFailure::NotJson,
                Box::new(|| Ok(answer(200, r#"{"result_code":0,"#))),
            ),
            (
                AttemptFailure::Transport(TransportErrorKind::Io),
                Box::new(|| Err(TransportError::new(TransportErrorKind::Io, true, "reset"))),
            ),
        ];
        for (expected, primary) in triggers {
            let t = by_host(primary, || Ok(answer(200, r#"{"result_code":0}"#)));
            let (r, served_by) = failover().send_within(&t, &prepared(), None).await.unwrap();
            assert_eq!(served_by, ServedBy::Fallback, "{expected:?}");
            assert_eq!(r.body().as_ref(), br#"{"result_code":0}"#);
        }
    }

    #[tokio::test]
    async fn definitive_answers_never_go_to_the_fallback() {
        for (status, body) in [
            (200, r#"{"result_code":7000,"result_msg":"invalid token"}"#),
            (200, r#"{"result_code":4000}"#),
            (200, r#"{"unexpected":"shape"}"#),
            (404, "not found"),
            (302, ""),
        ] {
            let fallback_calls = Arc::new(AtomicUsize::new(0));
            let calls = fallback_calls.clone();
            let t = by_host(
                move || Ok(answer(status, body)),
                move || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok(answer(200, "{}"))
                },
            );
            let (r, served_by) = failover().send_within(&t, &prepared(), None).await.unwrap();
            assert_eq!(
                (r.status().as_u16(), served_by),
                (status, ServedBy::Primary)
            );
            assert_eq!(fallback_calls.load(Ordering::SeqCst), 0, "{status} {body}");
        }
    }

    #[tokio::test]
    async fn without_a_fallback_a_broken_primary_is_unavailable() {
        let f = Failover::new(
            "http://primary.test".into(),
            None,
            BreakerConfig::default(),
            timeouts(),
        );
        let t = by_host(|| Ok(answer(502, "")), || panic!("no fallback host"));
        match f.send_within(&t, &prepared(), None).await {
            Err(HiveError::Unavailable(u)) => {
                assert_eq!(u.primary, AttemptFailure::Status(502));
                assert_eq!(u.fallback, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(f.breaker_state(), None);
    }

    #[test]
    fn expect_ok_reports_status_and_retry_after() {
        let mut r = answer(403, "");
        r.headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from_static("7"));
        match expect_ok(&r) {
            Err(HiveError::HttpStatus {
                status: 403,
                retry_after,
            }) => assert_eq!(retry_after, Some(Duration::from_secs(7))),
            other => panic!("{other:?}"),
        }
        assert!(expect_ok(&answer(200, "{}")).is_ok());
    }
}
