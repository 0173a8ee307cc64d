//! The Hive client moves the documented metrics: attempts by host, the breaker, and the
//! server-token cache.

use std::sync::Arc;

use bytes::Bytes;
use gameauth_core::HttpTransport;
use gameauth_core::telemetry::testing::capture;

use crate::support::*;

fn json(value: serde_json::Value) -> http::Response<Bytes> {
    http::Response::new(Bytes::from(value.to_string()))
}

#[test]
fn server_token_hits_and_refreshes_are_counted() {
    let hive = |req: http::Request<Bytes>| async move {
        Ok(match req.uri().path() {
            "/oauth/token" => json(token_answer(&jwt(4_000_000_000, "a"))),
            _ => json(verified_answer()),
        })
    };
    let client = server_builder()
        .primary_url("http://127.0.0.1:9")
        .transport(Arc::new(hive) as Arc<dyn HttpTransport>)
        .build()
        .unwrap();
    let captured = capture(true, async move {
        for _ in 0..3 {
            client.verify_token(&server_params()).await.unwrap();
        }
    });
    let of = |result| {
        captured.value(
            "gameauth_server_token_total",
            &[("provider", "hive"), ("result", result)],
        )
    };
    assert_eq!((of("refresh"), of("hit"), of("failure")), (1, 2, 0));
    let attempts = [
        ("provider", "hive"),
        ("endpoint", "oauth_token"),
        ("outcome", "success"),
    ];
    assert_eq!(
        captured.value("gameauth_outbound_requests_total", &attempts),
        1
    );
}

#[test]
fn fallbacks_and_the_breaker_are_counted() {
    let hive = |req: http::Request<Bytes>| async move {
        let mut answer = json(verified_answer());
        if req.uri().host() == Some("127.0.0.1") {
            *answer.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
        }
        Ok(answer)
    };
    let client = builder()
        .primary_url("http://127.0.0.1:9")
        .fallback_url("http://localhost:9")
        .transport(Arc::new(hive) as Arc<dyn HttpTransport>)
        .build()
        .unwrap();
    let captured = capture(true, async move {
        for _ in 0..6 {
            client.verify_token(&params()).await.unwrap();
        }
    });
    let requests = "gameauth_outbound_requests_total";
    let primary = [
        ("endpoint", "verify_v2"),
        ("host", "primary"),
        ("outcome", "refused"),
    ];
    let fallback = [
        ("endpoint", "verify_v2"),
        ("host", "fallback"),
        ("outcome", "success"),
    ];
    // Five failures open the breaker; the sixth call skips the primary.
    assert_eq!(captured.value(requests, &primary), 5);
    assert_eq!(captured.value(requests, &fallback), 6);
    let opened = [("provider", "hive"), ("to", "open")];
    assert_eq!(
        captured.value("gameauth_breaker_transitions_total", &opened),
        1
    );
    assert_eq!(
        captured.value("gameauth_breaker_state", &[("provider", "hive")]),
        2
    );
    let latency = [("provider", "hive"), ("host", "fallback")];
    assert_eq!(
        captured.value("gameauth_outbound_request_duration_seconds", &latency),
        6
    );
}
