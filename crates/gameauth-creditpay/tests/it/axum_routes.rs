//! The `axum` routes: body cap, method routing and the handler's answers.

use std::sync::Arc;

use axum::body::Body;
use gameauth_core::VerifiedPlayer;
use gameauth_creditpay::CreditLimitHandler;
use gameauth_creditpay::router::credit_limit_router;
use http::StatusCode;
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::support::*;

fn router() -> axum::Router {
    let sessions = Sessions::with("tok", VerifiedPlayer::new("p").with_balance("12.5"));
    credit_limit_router(Arc::new(CreditLimitHandler::new(
        verifier(ROUTE),
        Arc::new(sessions),
        Arc::new(BalanceCards),
    )))
}

#[tokio::test]
async fn the_route_answers_a_signed_query() {
    let request = signed_request(ROUTE, KEY, C6_BODY, &[("token", "tok")]).map(Body::from);
    let response = router().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(
        std::str::from_utf8(&body)
            .unwrap()
            .contains(r#""amount":"12.50""#)
    );
}

#[tokio::test]
async fn the_route_refuses_bodies_over_1_mib_with_413() {
    let big = "x".repeat(1024 * 1024 + 1);
    let request = http::Request::post(ROUTE)
        .header("signature", C6)
        .body(Body::from(big))
        .unwrap();
    let response = router().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_route_accepts_only_post() {
    let request = http::Request::get(ROUTE).body(Body::empty()).unwrap();
    let response = router().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}
