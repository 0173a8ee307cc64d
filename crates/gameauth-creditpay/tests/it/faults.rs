//! `identify/auth` against misbehaving servers on real loopback sockets: it creates state at
//! Credit Pay, so it is never repeated once a byte may have been sent.

use std::time::{Duration, Instant};

use gameauth_core::TransportErrorKind;
use gameauth_creditpay::{Client, Error};
use testkit::{ChaosServer, Fault};

use crate::support::*;

const TIMEOUT: Duration = Duration::from_millis(500);

fn client(server: &ChaosServer) -> Client {
    client_builder(&format!("{}/dg", server.base_url()))
        .timeout(TIMEOUT)
        .build()
        .unwrap()
}

#[tokio::test]
async fn accepted_but_never_answered_is_outcome_unknown_within_the_timeout_and_not_retried() {
    let server = ChaosServer::start(Fault::Silent).await;
    let started = Instant::now();
    let err = client(&server)
        .identify_auth(&body0_request())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown), "{err:?}");
    assert!(started.elapsed() < GENEROUS, "{:?}", started.elapsed());
    // Give a retry every chance to show up before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.accepted(), 1);
    assert_eq!(server.request_bodies(), vec![BODY0.as_bytes().to_vec()]);
}

#[tokio::test]
async fn connection_refused_is_a_connect_error_and_nothing_was_sent() {
    let server = ChaosServer::start(Fault::Refuse).await;
    let err = client(&server)
        .identify_auth(&body0_request())
        .await
        .unwrap_err();
    match err {
        Error::Transport(t) => {
            assert_eq!(t.kind(), TransportErrorKind::Connect);
            assert!(!t.request_sent());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.accepted(), 0);
}

#[tokio::test]
async fn failures_after_sending_are_outcome_unknown_and_not_retried() {
    for fault in [
        Fault::HeadersThenStall,
        Fault::ResetAfterRequest,
        Fault::PartialStatusLine,
        Fault::ShortBody,
    ] {
        let server = ChaosServer::start(fault.clone()).await;
        let err = client(&server)
            .identify_auth(&body0_request())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::OutcomeUnknown), "{fault:?}: {err:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(server.accepted(), 1, "{fault:?}");
    }
}

#[tokio::test]
async fn error_statuses_are_reported_once_with_retry_after() {
    for status in [400, 401, 403, 404, 500, 502, 503, 504] {
        let server = ChaosServer::start(Fault::Status(status)).await;
        let err = client(&server)
            .identify_auth(&body0_request())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::HttpStatus { status: s, .. } if s == status),
            "{err:?}"
        );
        assert_eq!(server.accepted(), 1);
    }
    let server = ChaosServer::start(Fault::TooManyRequests {
        retry_after_secs: 7,
    })
    .await;
    let err = client(&server)
        .identify_auth(&body0_request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::HttpStatus { status: 429, retry_after: Some(d) } if d == Duration::from_secs(7)),
        "{err:?}"
    );
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn html_page_truncated_json_and_wrong_types_are_decode_errors() {
    for fault in [
        Fault::Html200,
        Fault::json(r#"{"code":0,"data":{"ident_code":"x""#),
        Fault::json(r#"{"code":0,"data":{"ident_code":7,"url":"https://h/x"}}"#),
        Fault::json(r#"{"code":0,"msg":"success"}"#),
    ] {
        let server = ChaosServer::start(fault.clone()).await;
        let err = client(&server)
            .identify_auth(&body0_request())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Decode(_)), "{fault:?}: {err:?}");
    }
}

#[tokio::test]
async fn a_10_mib_body_is_refused_by_the_cap_and_the_outcome_is_unknown() {
    // Credit Pay answered, so it may have issued a code, but the answer cannot be read.
    let server = ChaosServer::start(Fault::HugeBody).await;
    let err = client(&server)
        .identify_auth(&body0_request())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown), "{err:?}");
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let elsewhere = ChaosServer::start(Fault::json("{}")).await;
    let server = ChaosServer::start(Fault::RedirectTo(elsewhere.base_url())).await;
    let err = client(&server)
        .identify_auth(&body0_request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::HttpStatus { status: 302, .. }),
        "{err:?}"
    );
    assert_eq!(server.accepted(), 1);
    assert_eq!(elsewhere.accepted(), 0);
}
