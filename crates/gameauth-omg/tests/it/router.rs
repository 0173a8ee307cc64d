//! The axum router for `verify_session` (feature `axum`).

use std::sync::Arc;

use axum::body::Body;
use gameauth_omg::inbound::MAX_BODY_BYTES;
use gameauth_omg::router::verify_session_router;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::support::{Behaviour, O5_BODY, O5_QUERY, O5_SIGN, bill_sessions, responder, sign};

fn router() -> axum::Router {
    verify_session_router(Arc::new(responder(bill_sessions(Behaviour::Lookup))))
}

fn request(query: &str, sign: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(format!("/api/luck/user/verify_session?{query}"))
        .header("content-type", "application/json")
        .header("sign", sign)
        .body(body.into())
        .unwrap()
}

async fn code(response: axum::response::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice::<Value>(&bytes).unwrap()["code"].clone()
}

#[tokio::test]
async fn router_answers_a_signed_verify_session() {
    let response = router()
        .oneshot(request(O5_QUERY, O5_SIGN, O5_BODY))
        .await
        .unwrap();
    assert_eq!(code(response).await, 1);
}

#[tokio::test]
async fn router_uses_the_raw_query_from_the_request_line() {
    let query = "trace_id=omgtrace000001&x=1";
    let response = router()
        .oneshot(request(query, &sign(query, O5_BODY), O5_BODY))
        .await
        .unwrap();
    assert_eq!(code(response).await, 10002);
}

#[tokio::test]
async fn router_accepts_any_printable_ascii_trace_id_of_up_to_128_bytes() {
    // Every visible character a request line can carry in a query, raw or escaped.
    let printable = "Ab9-._~!$'()*+,;=:@/?%20%22%26%23%25%3C%3E%5C%5E%60%7B%7C%7D";
    let value = format!("{printable}{}", "x".repeat(128 - 34));
    let query = format!("trace_id={value}");
    let response = router()
        .oneshot(request(&query, &sign(&query, O5_BODY), O5_BODY))
        .await
        .unwrap();
    assert_eq!(code(response).await, 1);

    let too_long = format!("{query}x");
    let response = router()
        .oneshot(request(&too_long, &sign(&too_long, O5_BODY), O5_BODY))
        .await
        .unwrap();
    assert_eq!(code(response).await, 10002);
}

#[tokio::test]
async fn router_refuses_bodies_over_one_mib_with_413() {
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    let mut declared = request(O5_QUERY, O5_SIGN, big.clone());
    declared
        .headers_mut()
        .insert("content-length", big.len().to_string().parse().unwrap());
    let response = router().oneshot(declared).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Without a declared length (streamed), the limit applies while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(vec![b' '; MAX_BODY_BYTES]), Ok(vec![b' '; 16])];
    let streamed = Body::from_stream(futures::stream::iter(chunks));
    let response = router()
        .oneshot(request(O5_QUERY, O5_SIGN, streamed))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(start_paused = true)]
async fn router_times_out_a_body_that_never_arrives_with_408() {
    let pending = futures::stream::pending::<Result<Vec<u8>, std::io::Error>>();
    let response = router()
        .oneshot(request(O5_QUERY, O5_SIGN, Body::from_stream(pending)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
}
