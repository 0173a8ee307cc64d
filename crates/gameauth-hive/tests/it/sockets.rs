//! Fault tests on real loopback sockets with the default `reqwest` transport: the primary
//! misbehaves at the TCP/HTTP level and the client must reach the fallback (or give a definitive
//! answer) within the deadline.

use std::time::{Duration, Instant};

use gameauth_core::TransportErrorKind;
use gameauth_hive::{
    AttemptFailure, BreakerConfig, BreakerState, Client, DEFAULT_DEADLINE, Error, ServedBy,
};
use testkit::{ChaosServer, Fault};
use wiremock::MockServer;

use crate::support::*;

/// Slack for scheduling on a busy machine; the deadline itself is enforced by the client.
const SLACK: Duration = Duration::from_secs(1);

const VERIFIED: &str = r#"{"result_code":0,"result_msg":"SUCCESS"}"#;

/// A fallback that verifies, expected `times` times. It also serves the OAuth token, so the
/// primary's faults never touch the token.
async fn fallback(times: u64) -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server, "server-jwt").await;
    mount_verified(&server, times).await;
    server
}

fn client(primary: &str, fallback: &MockServer) -> Client {
    builder()
        .primary_url(primary)
        .fallback_url(fallback.uri())
        .oauth_url(fallback.uri())
        .build()
        .unwrap()
}

/// The same with short attempt timeouts, for faults that stall.
fn quick_client(primary: &str, fallback: &MockServer) -> Client {
    builder()
        .primary_url(primary)
        .fallback_url(fallback.uri())
        .oauth_url(fallback.uri())
        .primary_timeout(Duration::from_millis(300))
        .fallback_timeout(Duration::from_millis(300))
        .deadline(Duration::from_millis(700))
        .build()
        .unwrap()
}

#[tokio::test]
async fn primary_accepts_and_never_answers_the_fallback_answers_within_the_deadline() {
    let primary = ChaosServer::start(Fault::Silent).await;
    let fallback = fallback(1).await;
    let client = client(&primary.base_url(), &fallback);
    let start = Instant::now();
    let v = client.verify_token(&params()).await.unwrap();
    let elapsed = start.elapsed();
    assert_eq!(v.served_by, ServedBy::Fallback);
    assert!(
        elapsed >= Duration::from_secs(2),
        "waited the primary timeout: {elapsed:?}"
    );
    assert!(elapsed < DEFAULT_DEADLINE + SLACK, "{elapsed:?}");
    assert_eq!(primary.requests(), 1);
    fallback.verify().await;
}

#[tokio::test]
async fn primary_refuses_connections_the_fallback_answers() {
    let primary = ChaosServer::start(Fault::Refuse).await;
    let fallback = fallback(1).await;
    let client = client(&primary.base_url(), &fallback);
    let v = client.verify_token(&params()).await.unwrap();
    assert_eq!(v.served_by, ServedBy::Fallback);
    fallback.verify().await;
}

#[tokio::test]
async fn both_hosts_silent_is_unavailable_within_the_deadline() {
    let primary = ChaosServer::start(Fault::Silent).await;
    let silent = ChaosServer::start(Fault::Silent).await;
    let tokens = MockServer::start().await;
    mount_token(&tokens, "server-jwt").await;
    let client = builder()
        .primary_url(primary.base_url())
        .fallback_url(silent.base_url())
        .oauth_url(tokens.uri())
        .build()
        .unwrap();
    let start = Instant::now();
    let err = client.verify_token(&params()).await.unwrap_err();
    assert!(
        start.elapsed() < DEFAULT_DEADLINE + SLACK,
        "{:?}",
        start.elapsed()
    );
    match err {
        Error::Unavailable(u) => {
            assert_eq!(
                u.primary,
                AttemptFailure::Transport(TransportErrorKind::Timeout)
            );
            assert_eq!(
                u.fallback,
                Some(AttemptFailure::Transport(TransportErrorKind::Timeout))
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((primary.requests(), silent.requests()), (1, 1));
}

#[tokio::test]
async fn both_hosts_refusing_is_unavailable() {
    let primary = ChaosServer::start(Fault::Refuse).await;
    let fallback = ChaosServer::start(Fault::Refuse).await;
    let tokens = MockServer::start().await;
    mount_token(&tokens, "server-jwt").await;
    let client = builder()
        .primary_url(primary.base_url())
        .fallback_url(fallback.base_url())
        .oauth_url(tokens.uri())
        .build()
        .unwrap();
    match client.verify_token(&params()).await {
        Err(Error::Unavailable(u)) => {
            assert_eq!(
                u.primary,
                AttemptFailure::Transport(TransportErrorKind::Connect)
            );
            assert_eq!(
                u.fallback,
                Some(AttemptFailure::Transport(TransportErrorKind::Connect))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn every_broken_primary_answer_goes_to_the_fallback() {
    let faults = [
        Fault::Status(500),
        Fault::Status(502),
        Fault::Status(503),
        Fault::Status(504),
        Fault::TooManyRequests {
            retry_after_secs: 3,
        },
        Fault::Html200,
        Fault::json(r#"{"result_code":0,"res"#),
        Fault::ShortBody,
        Fault::HugeBody,
        Fault::ResetAfterRequest,
        Fault::PartialStatusLine,
        Fault::HeadersThenStall,
        Fault::Silent,
    ];
    for fault in faults {
        let primary = ChaosServer::start(fault.clone()).await;
        let fallback = fallback(1).await;
        let v = quick_client(&primary.base_url(), &fallback)
            .verify_token(&params())
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: {e:?}"));
        assert_eq!(v.served_by, ServedBy::Fallback, "{fault:?}");
        assert_eq!(primary.requests(), 1, "{fault:?}");
        fallback.verify().await;
    }
}

/// Whether an error is the one a case expects.
type IsExpected = fn(&Error) -> bool;

#[tokio::test]
async fn definitive_primary_answers_never_go_to_the_fallback() {
    let cases: Vec<(Fault, IsExpected)> = vec![
        (Fault::Status(400), |e| {
            matches!(e, Error::HttpStatus { status: 400, .. })
        }),
        (Fault::Status(401), |e| {
            matches!(e, Error::HttpStatus { status: 401, .. })
        }),
        (Fault::Status(403), |e| {
            matches!(e, Error::HttpStatus { status: 403, .. })
        }),
        (Fault::Status(404), |e| {
            matches!(e, Error::HttpStatus { status: 404, .. })
        }),
        (
            Fault::json(r#"{"result_code":{"x":1}}"#),
            |e| matches!(e, Error::Decode(d) if d.path == "result_code"),
        ),
        (Fault::json(r#"{"result_msg":"SUCCESS"}"#), |e| {
            matches!(e, Error::Decode(_))
        }),
        (
            Fault::json(r#"{"result_code":7000,"result_msg":"invalid token"}"#),
            |e| {
                matches!(
                    e,
                    Error::TokenRejected {
                        served_by: ServedBy::Primary,
                        ..
                    }
                )
            },
        ),
    ];
    for (fault, expected) in cases {
        let primary = ChaosServer::start(fault.clone()).await;
        let fallback = fallback(0).await;
        let err = quick_client(&primary.base_url(), &fallback)
            .verify_token(&params())
            .await
            .unwrap_err();
        assert!(expected(&err), "{fault:?}: {err:?}");
        assert_eq!(
            primary.requests(),
            1,
            "{fault:?}: not followed, not repeated"
        );
        fallback.verify().await;
    }
}

#[tokio::test]
async fn breaker_opens_after_5_failures_and_closes_after_a_successful_probe() {
    let mut faults = vec![Fault::ResetAfterRequest; 5];
    faults.push(Fault::json(VERIFIED));
    let primary = ChaosServer::start_sequence(faults).await;
    let fallback = fallback(6).await;
    let client = builder()
        .primary_url(primary.base_url())
        .fallback_url(fallback.uri())
        .oauth_url(fallback.uri())
        .breaker(BreakerConfig {
            failure_threshold: 5,
            initial_cooldown: Duration::from_millis(300),
            max_cooldown: Duration::from_secs(2),
        })
        .build()
        .unwrap();
    for i in 1..=5 {
        let v = client.verify_token(&params()).await.unwrap();
        assert_eq!(v.served_by, ServedBy::Fallback);
        assert_eq!(primary.accepted(), i);
    }
    assert_eq!(client.breaker_state(), Some(BreakerState::Open));

    let v = client.verify_token(&params()).await.unwrap();
    assert_eq!(v.served_by, ServedBy::Fallback);
    assert_eq!(
        primary.accepted(),
        5,
        "the 6th call does not touch the primary"
    );

    tokio::time::sleep(Duration::from_millis(350)).await;
    let v = client.verify_token(&params()).await.unwrap();
    assert_eq!(
        v.served_by,
        ServedBy::Primary,
        "the half-open probe reached the primary"
    );
    assert_eq!(primary.accepted(), 6);
    assert_eq!(client.breaker_state(), Some(BreakerState::Closed));
    let v = client.verify_token(&params()).await.unwrap();
    assert_eq!(v.served_by, ServedBy::Primary);
    assert_eq!(primary.accepted(), 7);
    fallback.verify().await;
}

#[tokio::test]
async fn a_token_cached_before_the_primary_broke_still_serves_the_fallback() {
    let primary = ChaosServer::start_sequence(vec![
        Fault::json(r#"{"result_code":0,"data":{"access_token":"server-jwt"}}"#),
        Fault::json(VERIFIED),
        Fault::Html200,
    ])
    .await;
    let fallback = MockServer::start().await;
    mount_verified(&fallback, 1).await;
    let client = server_builder()
        .primary_url(primary.base_url())
        .fallback_url(fallback.uri())
        .primary_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let first = client.verify_token(&server_params()).await.unwrap();
    assert_eq!(first.served_by, ServedBy::Primary);
    let second = client.verify_token(&server_params()).await.unwrap();
    assert_eq!(second.served_by, ServedBy::Fallback);
    assert_eq!(
        primary.requests(),
        3,
        "token, verify, broken verify: no new token"
    );
    fallback.verify().await;
}

#[tokio::test]
async fn a_redirect_is_neither_followed_nor_sent_to_the_fallback() {
    let elsewhere = MockServer::start().await;
    mount_verified(&elsewhere, 0).await;
    let primary = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/v2/game/token/get-token"))
        .respond_with(wiremock::ResponseTemplate::new(302).insert_header(
            "location",
            format!("{}/v2/game/token/get-token", elsewhere.uri()).as_str(),
        ))
        .expect(1)
        .mount(&primary)
        .await;
    let fallback = fallback(0).await;
    let err = client(&primary.uri(), &fallback)
        .verify_token(&params())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::HttpStatus { status: 302, .. }),
        "{err:?}"
    );
    primary.verify().await;
    elsewhere.verify().await;
    fallback.verify().await;
}
