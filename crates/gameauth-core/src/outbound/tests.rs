//! Tests of the call engine: the rules of each call kind, routing, and its metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};

use super::*;
use crate::error::{TransportError, TransportErrorKind};
use crate::resilience::{BreakerConfig, BreakerState, RetryPolicy};
use crate::transport::HttpTransport;
use crate::transport::testing::{Scripted, Step};

fn request() -> OutboundRequest {
    OutboundRequest::post(
        "/v1/call?trace_id=t",
        HeaderMap::new(),
        Bytes::from_static(b"{}"),
    )
}

fn single() -> Route {
    Route::single(BaseUrl::parse("http://127.0.0.1:9").unwrap())
}

fn answer(status: u16, body: &'static str) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from_static(body.as_bytes()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r
}

fn scripted(steps: Vec<Step>) -> Scripted {
    Scripted::new(steps)
}

fn refused() -> Step {
    Step::Fail(TransportError::new(
        TransportErrorKind::Connect,
        false,
        "refused",
    ))
}

fn connect_timeout() -> Step {
    Step::Fail(TransportError::new(
        TransportErrorKind::Timeout,
        false,
        "connect",
    ))
}

fn sent_timeout() -> Step {
    Step::Fail(TransportError::new(
        TransportErrorKind::Timeout,
        true,
        "read",
    ))
}

fn ok(status: u16, body: &'static str) -> Step {
    Step::Answer(status, body)
}

fn state_creating() -> CallPolicy {
    CallPolicy::new("test", "create", CallKind::StateCreating).with_retry(RetryPolicy::IDEMPOTENT)
}

fn idempotent() -> CallPolicy {
    CallPolicy::new("test", "read", CallKind::Idempotent).with_retry(RetryPolicy::IDEMPOTENT)
}

#[tokio::test(start_paused = true)]
async fn a_state_creating_call_is_repeated_after_a_refused_connection() {
    let t = scripted(vec![refused(), ok(200, "{}")]);
    let a = execute(&t, &single(), &state_creating(), &request(), None)
        .await
        .unwrap();
    assert_eq!(a.value.status(), 200);
    assert_eq!(t.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_state_creating_call_is_repeated_after_a_connect_timeout_with_nothing_sent() {
    let t = scripted(vec![connect_timeout(), ok(200, "{}")]);
    let a = execute(&t, &single(), &state_creating(), &request(), None)
        .await
        .unwrap();
    assert_eq!(a.value.status(), 200);
    assert_eq!(t.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_state_creating_call_that_may_have_been_sent_is_outcome_unknown() {
    for step in [
        sent_timeout(),
        Step::Fail(TransportError::new(TransportErrorKind::Io, true, "reset")),
        Step::Fail(TransportError::new(
            TransportErrorKind::BodyTooLarge,
            true,
            "big",
        )),
    ] {
        let t = scripted(vec![step, ok(200, "{}")]);
        let e = execute(&t, &single(), &state_creating(), &request(), None)
            .await
            .unwrap_err();
        assert!(matches!(e, CallError::OutcomeUnknown(_)), "{e:?}");
        assert_eq!(t.calls(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_state_creating_call_returns_any_answer_without_repeating_it() {
    let t = scripted(vec![ok(503, "busy"), ok(200, "{}")]);
    let a = execute(&t, &single(), &state_creating(), &request(), None)
        .await
        .unwrap();
    assert_eq!(a.value.status(), 503);
    assert_eq!(t.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_on_every_attempt_is_a_transport_error() {
    let t = scripted(vec![refused()]);
    let e = execute(&t, &single(), &state_creating(), &request(), None)
        .await
        .unwrap_err();
    match e {
        CallError::Transport { error, failures } => {
            assert!(error.is_connect());
            assert_eq!(
                failures.primary,
                AttemptFailure::Transport(TransportErrorKind::Connect)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn an_idempotent_call_is_repeated_after_overload_and_timeouts() {
    let t = scripted(vec![ok(503, ""), sent_timeout(), ok(200, "{}")]);
    let a = execute(&t, &single(), &idempotent(), &request(), None)
        .await
        .unwrap();
    assert_eq!(a.value.status(), 200);
    assert_eq!(t.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn an_idempotent_call_returns_the_last_broken_answer_when_attempts_run_out() {
    let t = scripted(vec![ok(502, "bad gateway")]);
    match execute(&t, &single(), &idempotent(), &request(), None).await {
        Err(CallError::Unavailable { failures, last }) => {
            assert_eq!(failures.primary, AttemptFailure::Status(502));
            assert_eq!(last.unwrap().body().as_ref(), b"bad gateway");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_beyond_the_bound_ends_the_retries() {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let t = move |_req: Request<Bytes>| {
        counter.fetch_add(1, Ordering::SeqCst);
        async {
            let mut r = answer(429, "");
            r.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("60"),
            );
            Ok::<_, TransportError>(r)
        }
    };
    let e = execute(&t, &single(), &idempotent(), &request(), None).await;
    assert!(matches!(e, Err(CallError::Unavailable { .. })));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn definitive_answers_are_returned_at_once() {
    for status in [200, 400, 404, 302] {
        let t = scripted(vec![ok(status, "{}")]);
        let a = execute(&t, &single(), &idempotent(), &request(), None)
            .await
            .unwrap();
        assert_eq!(a.value.status().as_u16(), status);
        assert_eq!(t.calls(), 1);
    }
}

/// A reader that decodes `{"code": n}` and finds anything that is not JSON broken.
fn code(response: Response<Bytes>) -> Result<(u16, Option<i64>), NotJson> {
    #[derive(serde::Deserialize)]
    struct Body {
        code: i64,
    }
    match serde_json::from_slice::<Body>(response.body()) {
        Ok(body) => Ok((response.status().as_u16(), Some(body.code))),
        Err(_) if !is_json(response.body()) => Err(NotJson::new(response)),
        Err(_) => Ok((response.status().as_u16(), None)),
    }
}

#[tokio::test(start_paused = true)]
async fn a_reader_makes_the_value_of_every_definitive_answer() {
    for (status, body, value) in [
        (200, r#"{"code":7}"#, (200, Some(7))),
        (404, r#"{"code":1}"#, (404, Some(1))),
        (200, r#"{"other":1}"#, (200, None)),
    ] {
        let t = scripted(vec![ok(status, body)]);
        let a = execute_read(&t, &single(), &idempotent(), &request(), None, code)
            .await
            .unwrap();
        assert_eq!(a.value, value);
        assert_eq!(t.calls(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn what_a_reader_finds_is_not_json_is_repeated_for_an_idempotent_call() {
    let t = scripted(vec![ok(200, "<html>"), ok(200, r#"{"code":0}"#)]);
    let a = execute_read(&t, &single(), &idempotent(), &request(), None, code)
        .await
        .unwrap();
    assert_eq!(a.value, (200, Some(0)));
    assert_eq!(t.calls(), 2);
    let t = scripted(vec![ok(200, "<html>")]);
    match execute_read(&t, &single(), &idempotent(), &request(), None, code).await {
        Err(CallError::Unavailable { failures, last }) => {
            assert_eq!(failures.primary, AttemptFailure::NotJson);
            assert_eq!(last.unwrap().body().as_ref(), b"<html>");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn what_a_reader_finds_is_not_json_ends_a_state_creating_call_without_the_fallback() {
    let (t, fallback_calls) = by_host(ok(200, "<html>"), ok(200, r#"{"code":0}"#));
    let policy = CallPolicy::new("test", "create", CallKind::StateCreating)
        .with_retry(RetryPolicy::IDEMPOTENT);
    match execute_read(&t, &routed(), &policy, &request(), None, code).await {
        Err(CallError::Unavailable { failures, last }) => {
            assert_eq!(
                failures,
                Unavailable {
                    primary: AttemptFailure::NotJson,
                    fallback: None
                }
            );
            assert_eq!(last.unwrap().body().as_ref(), b"<html>");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fallback_calls.calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_spent_outer_deadline_sends_nothing() {
    let t = scripted(vec![ok(200, "{}")]);
    let e = execute(
        &t,
        &single(),
        &idempotent(),
        &request(),
        Some(tokio::time::Instant::now()),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, CallError::Deadline { .. }), "{e:?}");
    assert_eq!(t.calls(), 0);
}

/// A transport answering by host: `primary` for 127.0.0.1, `fallback` otherwise; the second
/// value counts the fallback's calls.
fn by_host(primary: Step, fallback: Step) -> (impl HttpTransport, Arc<Scripted>) {
    let (p, f) = (
        Arc::new(scripted(vec![primary])),
        Arc::new(scripted(vec![fallback])),
    );
    let fallback_calls = f.clone();
    let t = move |req: Request<Bytes>| {
        let host = if req.uri().host() == Some("127.0.0.1") {
            p.clone()
        } else {
            f.clone()
        };
        async move { host.send(req).await }
    };
    (t, fallback_calls)
}

fn routed() -> Route {
    Route::with_fallback(
        "test",
        BaseUrl::parse("http://127.0.0.1:9").unwrap(),
        Some(FallbackHost {
            url: BaseUrl::parse("http://localhost:9").unwrap(),
            attempt_timeout: Duration::from_secs(2),
        }),
        BreakerConfig::default(),
    )
}

fn hive_like() -> CallPolicy {
    CallPolicy::new("test", "verify", CallKind::Idempotent)
        .with_attempt_timeout(Duration::from_secs(2))
        .with_deadline(Duration::from_millis(4500))
}

/// A reader that finds a 200 that is not JSON broken, and keeps every other answer.
fn json(response: Response<Bytes>) -> Result<Response<Bytes>, NotJson> {
    if response.status() == StatusCode::OK && !is_json(response.body()) {
        Err(NotJson::new(response))
    } else {
        Ok(response)
    }
}

#[tokio::test(start_paused = true)]
async fn a_broken_primary_hands_the_call_to_the_fallback() {
    for primary in [ok(503, ""), ok(200, "<html>"), sent_timeout(), refused()] {
        let (t, fallback_calls) = by_host(primary, ok(200, "{}"));
        let a = execute_read(&t, &routed(), &hive_like(), &request(), None, json)
            .await
            .unwrap();
        assert_eq!(a.host, crate::telemetry::HostRole::Fallback);
        assert!(a.primary_failure.is_some());
        assert_eq!(fallback_calls.calls(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_definitive_answer_never_goes_to_the_fallback() {
    let (t, fallback_calls) = by_host(ok(200, r#"{"result_code":7000}"#), ok(200, "{}"));
    let a = execute_read(&t, &routed(), &hive_like(), &request(), None, json)
        .await
        .unwrap();
    assert_eq!(a.host, crate::telemetry::HostRole::Primary);
    assert_eq!(fallback_calls.calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn both_hosts_broken_is_unavailable_with_both_failures() {
    let (t, _) = by_host(ok(502, ""), sent_timeout());
    match execute_read(&t, &routed(), &hive_like(), &request(), None, json).await {
        Err(CallError::Transport { failures, .. }) => assert_eq!(
            failures,
            Unavailable {
                primary: AttemptFailure::Status(502),
                fallback: Some(AttemptFailure::Transport(TransportErrorKind::Timeout)),
            }
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_breaker_opens_and_skips_the_primary() {
    let route = routed();
    let (t, _) = by_host(ok(503, ""), ok(200, "{}"));
    for _ in 0..5 {
        execute_read(&t, &route, &hive_like(), &request(), None, json)
            .await
            .unwrap();
    }
    assert_eq!(route.breaker_state(), Some(BreakerState::Open));
    let a = execute_read(&t, &route, &hive_like(), &request(), None, json)
        .await
        .unwrap();
    assert_eq!(a.primary_failure, Some(AttemptFailure::BreakerOpen));
}

#[cfg(feature = "test-util")]
#[test]
fn attempts_and_breaker_changes_are_counted() {
    let captured = crate::telemetry::testing::capture(true, async {
        let route = routed();
        let (t, _) = by_host(ok(503, ""), ok(200, "{}"));
        for _ in 0..6 {
            execute_read(&t, &route, &hive_like(), &request(), None, json)
                .await
                .unwrap();
        }
    });
    let v = |name, labels: &[(&str, &str)]| captured.value(name, labels);
    let name = crate::telemetry::OUTBOUND_REQUESTS;
    // Five primary attempts before the breaker opened, then one skipped.
    assert_eq!(v(name, &[("outcome", "refused"), ("host", "primary")]), 5);
    assert_eq!(v(name, &[("outcome", "success"), ("host", "fallback")]), 6);
    assert_eq!(
        v(crate::telemetry::OUTBOUND_DURATION, &[("host", "primary")]),
        5
    );
    assert_eq!(
        v(crate::telemetry::BREAKER_TRANSITIONS, &[("to", "open")]),
        1
    );
    assert_eq!(
        v(crate::telemetry::BREAKER_STATE, &[("provider", "test")]),
        2
    );
}
