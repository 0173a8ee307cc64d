//! `omg authorize` against a local stand-in for OMG.

use std::time::{SystemTime, UNIX_EPOCH};

use gameauth_core::secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::{closed_port_url, gameauth_async};

const KEY: &str = "39a6581c31ef3203a22edb2daa2ab6d1";

/// The request OMG expects: a single trace_id, the documented body, and `sign` over exactly the
/// query and body bytes received.
fn signed_authorize_request(request: &Request) -> bool {
    let Some(query) = request.url.query() else {
        return false;
    };
    let Some(sign) = request.headers.get("sign").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let expected = gameauth_omg::sign::sign(query, &request.body, &SecretString::from(KEY));
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return false;
    };
    query.starts_with("trace_id=")
        && !query.contains('&')
        && sign == expected
        && body["app_id"] == "10013"
        && body["uname"] == "10032355"
        && body["nickname"] == "Bill"
        && body["cid"] == 3
        && body["timestamp"].is_i64()
}

fn authorize_args(base: &str) -> Vec<String> {
    [
        "omg",
        "authorize",
        "--base-url",
        base,
        "--app-id",
        "10013",
        "--uname",
        "10032355",
        "--nickname",
        "Bill",
        "--cid",
        "3",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

async fn run(args: &[String]) -> crate::Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    gameauth_async(&args, &[("OMG_SIGN_KEY", KEY)]).await
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_prints_token_balance_app_id_and_expiry() {
    let omg = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/player/v1/authorize"))
        .and(signed_authorize_request)
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"code":0,"msg":"ok","data":{"token":"1003803","balance":"42766.25","app_id":10013}}"#,
        ))
        .expect(1)
        .mount(&omg)
        .await;
    let before = unix_now();
    let run = run(&authorize_args(&omg.uri())).await;
    let after = unix_now();
    run.expect_code(0);
    let out = run.json();
    assert_eq!(out["token"], "1003803");
    assert_eq!(out["balance"], "42766.25");
    assert_eq!(out["app_id"], "10013");
    let expires = out["expires_at"].as_u64().unwrap();
    assert!(
        (before + 604_800..=after + 604_800).contains(&expires),
        "seven days after the call: {expires}"
    );
    run.never_shows(KEY);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_error_code_exits_1_with_the_code_and_message() {
    let omg = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/player/v1/authorize"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(r#"{"code":10002,"msg":"sign invalid"}"#),
        )
        .expect(1)
        .mount(&omg)
        .await;
    let run = run(&authorize_args(&omg.uri())).await;
    run.expect_code(1);
    assert_eq!(
        run.json(),
        json!({"error": {"kind": "provider", "code": 10002, "message": "sign invalid"}})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http_error_status_exits_2() {
    let omg = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&omg)
        .await;
    let run = run(&authorize_args(&omg.uri())).await;
    run.expect_code(2);
    let out = run.json();
    assert_eq!(out["error"]["kind"], "http_status");
    assert_eq!(out["error"]["status"], 502);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_provider_exits_2_as_unavailable() {
    let run = run(&authorize_args(&closed_port_url())).await;
    run.expect_code(2);
    assert_eq!(run.json()["error"]["kind"], "unavailable");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nickname_over_40_bytes_is_refused_before_sending() {
    let omg = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&omg)
        .await;
    let mut args = authorize_args(&omg.uri());
    let nickname = args.iter().position(|a| a == "Bill").unwrap();
    args[nickname] = "玩".repeat(14);
    let run = run(&args).await;
    run.expect_code(2);
    assert_eq!(run.json()["error"]["kind"], "usage");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_base_url_is_a_configuration_error() {
    let run = run(&authorize_args("omg-api.example")).await;
    run.expect_code(2);
    assert_eq!(run.json()["error"]["kind"], "config");
}
