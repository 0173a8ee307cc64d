//! The credit-limit callback, end to end through `CreditLimitHandler::handle`.

use std::sync::Arc;

use bytes::Bytes;
use gameauth_core::VerifiedPlayer;
use gameauth_creditpay::CreditLimitHandler;
use http::StatusCode;

use crate::support::*;

const TOKEN: &str = "a1472263c7b97095f095cb62477c-4420-8e2e-8a156axxxxxx";

fn handler(sessions: Arc<Sessions>) -> CreditLimitHandler {
    CreditLimitHandler::new(verifier(ROUTE), sessions, Arc::new(BalanceCards))
}

fn alice() -> Arc<Sessions> {
    Arc::new(Sessions::with(
        TOKEN,
        VerifiedPlayer::new("473_32_86000698")
            .with_balance("1000")
            .with_currency("CNY"),
    ))
}

fn c6_request(token: &str) -> http::Request<Bytes> {
    http::Request::builder()
        .method("POST")
        .uri(ROUTE)
        .header("signature", C6)
        .header("token", token)
        .header("trace", "cp-trace-1")
        .header("lang", "zh-CN")
        .header("timestamp", "1732521424191")
        .body(Bytes::from_static(C6_BODY.as_bytes()))
        .unwrap()
}

fn body_text(r: &http::Response<Bytes>) -> &str {
    std::str::from_utf8(r.body()).unwrap()
}

#[tokio::test]
async fn a_valid_query_is_answered_with_the_cards_at_the_requested_digits() {
    let sessions = alice();
    let response = handler(sessions.clone()).handle(c6_request(TOKEN)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        body_text(&response),
        r#"{"data":{"tag":"default","available_cards":[{"tag":"default","amount":"1000.00","currency":"CNY","icon":"https://cdn.example/card.png","input":"1"}]}}"#
    );
    assert_eq!(sessions.calls(), 1);
}

#[tokio::test]
async fn a_bad_signature_is_refused_before_the_token_is_looked_up() {
    let sessions = alice();
    let mut request = c6_request(TOKEN);
    request
        .headers_mut()
        .insert("signature", "Awat5GV9RdpOb8EPcVwiBYHC2ZQ=".parse().unwrap());
    let response = handler(sessions.clone()).handle(request).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sessions.calls(), 0);
}

#[tokio::test]
async fn the_misspelt_signerature_header_is_accepted() {
    let mut request = c6_request(TOKEN);
    let sig = request.headers_mut().remove("signature").unwrap();
    request.headers_mut().insert("signerature", sig);
    let response = handler(alice()).handle(request).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_customer_token_is_forbidden() {
    let response = handler(alice()).handle(c6_request("someone-else")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(!body_text(&response).contains("someone-else"));
}

#[tokio::test]
async fn a_missing_token_is_unauthorized() {
    let sessions = alice();
    let mut request = c6_request(TOKEN);
    request.headers_mut().remove("token");
    let response = handler(sessions.clone()).handle(request).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sessions.calls(), 0);
}

#[tokio::test]
async fn a_session_store_outage_is_503_never_a_rejection() {
    let sessions = Arc::new(Sessions::down());
    let response = handler(sessions).handle(c6_request(TOKEN)).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_body_over_1_mib_is_413() {
    let big = format!(
        r#"{{"type":"GET_DEFAULT_ACCOUNT_CREDIT_LIMIT","data":{{"tag":"{}","currency":"CNY","digits":"2"}}}}"#,
        "x".repeat(1024 * 1024)
    );
    let request = signed_request(ROUTE, KEY, &big, &[("token", TOKEN)]);
    let response = handler(alice()).handle(request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_signed_but_malformed_query_is_400() {
    for body in [
        r#"{"type":"PAY_SUCCESS","data":{"currency":"CNY","digits":"2"}}"#,
        r#"{"type":"GET_DEFAULT_ACCOUNT_CREDIT_LIMIT","data":{"currency":"CNY","digits":"x"}}"#,
        "<html></html>",
    ] {
        let request = signed_request(ROUTE, KEY, body, &[("token", TOKEN)]);
        let response = handler(alice()).handle(request).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
}

#[tokio::test]
async fn a_signed_query_that_repeats_any_key_is_400_same_value_or_not() {
    for body in [
        r#"{"type":"GET_DEFAULT_ACCOUNT_CREDIT_LIMIT","type":"GET_DEFAULT_ACCOUNT_CREDIT_LIMIT","data":{"currency":"CNY","digits":"2"}}"#,
        r#"{"type":"GET_DEFAULT_ACCOUNT_CREDIT_LIMIT","data":{"currency":"CNY","currency":"CNY","digits":"2"}}"#,
        r#"{"type":"GET_DEFAULT_ACCOUNT_CREDIT_LIMIT","data":{"currency":"CNY","digits":"2","digits":"4"}}"#,
    ] {
        let request = signed_request(ROUTE, KEY, body, &[("token", TOKEN)]);
        let response = handler(alice()).handle(request).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
}

#[tokio::test]
async fn methods_other_than_post_are_405() {
    let mut request = c6_request(TOKEN);
    *request.method_mut() = http::Method::GET;
    let response = handler(alice()).handle(request).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn an_amount_that_would_need_rounding_is_never_sent() {
    let sessions = Arc::new(Sessions::with(
        TOKEN,
        VerifiedPlayer::new("p").with_balance("10.005"),
    ));
    let response = handler(sessions).handle(c6_request(TOKEN)).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!body_text(&response).contains("10.00"));
}
