//! `creditpay auth` against a local stand-in for Credit Pay behind a gateway prefix.

use std::time::{SystemTime, UNIX_EPOCH};

use gameauth_core::secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::{closed_port_url, gameauth_async};

const API_KEY: &str = "dummy-api-key-0001";
const SIGNATURE_KEY: &str = "dummy-signature-key-0001";
const PLAT_ID: &str = "328cf95950f54f89a2dd4c3bf98ac5fb";

/// The signature covers the path after the gateway prefix and the exact body bytes received.
fn signed_over_the_path_after_the_prefix(request: &Request) -> bool {
    let expected = gameauth_creditpay::sign::sign(
        &SecretString::from(SIGNATURE_KEY),
        "/v1/platform/identify/auth",
        &request.body,
    );
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return false;
    };
    request
        .headers
        .get("signature")
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str())
        && body["customer_no"] == "473_32_86000698"
        && body["customer_token"] == "platform-session-token"
        && body["callback_url"] == "https://platform.example/payment/callback"
        && body["client_ip"] == "192.168.1.166"
        && body["token_expire"].is_i64()
}

fn in_one_hour_millis() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    (now.as_millis() + 3_600_000).to_string()
}

fn auth_args(base: &str, token_expire: &str) -> Vec<String> {
    [
        "creditpay",
        "auth",
        "--base-url",
        base,
        "--plat-id",
        PLAT_ID,
        "--customer-no",
        "473_32_86000698",
        "--customer-token",
        "platform-session-token",
        "--token-expire",
        token_expire,
        "--callback-url",
        "https://platform.example/payment/callback",
        "--client-ip",
        "192.168.1.166",
        "--lang",
        "zh-CN",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

async fn run(args: &[String]) -> crate::Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    gameauth_async(
        &args,
        &[
            ("CREDITPAY_API_KEY", API_KEY),
            ("CREDITPAY_SIGNATURE_KEY", SIGNATURE_KEY),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_prints_the_ident_code_and_cashier_url() {
    let credit_pay = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/dg/v1/platform/identify/auth"))
        .and(query_param("plat_id", PLAT_ID))
        .and(header("api-key", API_KEY))
        .and(header("lang", "zh-CN"))
        .and(signed_over_the_path_after_the_prefix)
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"code":0,"msg":"success","data":{"ident_code":"bb15a501d2354aeb937160c67b3580a6","url":"https://cashier.example/dg/oauth?ident_code=bb15a501d2354aeb937160c67b3580a6"},"trace":"t-1"}"#,
        ))
        .expect(1)
        .mount(&credit_pay)
        .await;
    let base = format!("{}/dg", credit_pay.uri());
    let run = run(&auth_args(&base, &in_one_hour_millis())).await;
    run.expect_code(0);
    assert_eq!(
        run.json(),
        json!({
            "ident_code": "bb15a501d2354aeb937160c67b3580a6",
            "url": "https://cashier.example/dg/oauth?ident_code=bb15a501d2354aeb937160c67b3580a6",
        })
    );
    run.never_shows(API_KEY);
    run.never_shows(SIGNATURE_KEY);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_error_code_exits_1_with_the_code_and_message() {
    let credit_pay = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"code":500,"msg":"platform not found"}"#),
        )
        .expect(1)
        .mount(&credit_pay)
        .await;
    let base = format!("{}/dg", credit_pay.uri());
    let run = run(&auth_args(&base, &in_one_hour_millis())).await;
    run.expect_code(1);
    assert_eq!(
        run.json(),
        json!({"error": {"kind": "provider", "code": 500, "message": "platform not found"}})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_provider_exits_2_as_unavailable() {
    let base = format!("{}/dg", closed_port_url());
    let run = run(&auth_args(&base, &in_one_hour_millis())).await;
    run.expect_code(2);
    assert_eq!(run.json()["error"]["kind"], "unavailable");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_customer_token_is_refused_before_sending() {
    let credit_pay = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&credit_pay)
        .await;
    let base = format!("{}/dg", credit_pay.uri());
    let run = run(&auth_args(&base, "1732521424191")).await;
    run.expect_code(2);
    assert_eq!(run.json()["error"]["kind"], "usage");
}
