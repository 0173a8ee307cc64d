//! `creditpay auth` against a local stand-in for Credit Pay behind a gateway prefix.

use std::time::{SystemTime, UNIX_EPOCH};

use gameauth_core::secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::{closed_port_url, gameauth_async, gameauth_async_with_stdin};

const API_KEY: &str = "dummy-api-key-0001";
const SIGNATURE_KEY: &str = "dummy-signature-key-0001";
const PLAT_ID: &str = "328cf95950f54f89a2dd4c3bf98ac5fb";

/// The signature covers the path after the gateway prefix and the exact body bytes received, and
/// the player's number travels as `customer_no`.
fn signed_over_the_path_after_the_prefix(request: &Request) -> bool {
    signed_with_the_number_in(request, "customer_no")
}

fn signed_with_the_number_in(request: &Request, field: &str) -> bool {
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
        && body[field] == "473_32_86000698"
        && body.as_object().is_some_and(|o| o.len() == 5)
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
async fn the_field_table_spellings_custom_no_and_plat_id_are_selectable() {
    let credit_pay = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/dg/v1/platform/identify/auth"))
        .and(query_param("platId", PLAT_ID))
        .and(|r: &Request| signed_with_the_number_in(r, "custom_no"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"code":0,"msg":"success","data":{"ident_code":"c0de","url":"https://cashier.example/dg/oauth?ident_code=c0de"}}"#,
        ))
        .expect(1)
        .mount(&credit_pay)
        .await;
    let base = format!("{}/dg", credit_pay.uri());
    let mut args = auth_args(&base, &in_one_hour_millis());
    args.extend(
        [
            "--customer-no-field",
            "custom_no",
            "--plat-id-param",
            "platId",
        ]
        .map(str::to_owned),
    );
    run(&args).await.expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_customer_no_field_is_a_usage_error() {
    let mut args = auth_args("http://127.0.0.1:9/dg", &in_one_hour_millis());
    args.extend(["--customer-no-field", "customerNo"].map(str::to_owned));
    run(&args).await.expect_code(2);
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

/// The customer token need not be on the command line: `CREDITPAY_CUSTOMER_TOKEN` or
/// `--customer-token-file -` (standard input) send the same request.
#[tokio::test(flavor = "multi_thread")]
async fn the_customer_token_may_come_from_the_environment_or_stdin() {
    let credit_pay = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/dg/v1/platform/identify/auth"))
        .and(signed_over_the_path_after_the_prefix)
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"code":0,"msg":"success","data":{"ident_code":"c0de","url":"https://cashier.example/dg/oauth?ident_code=c0de"},"trace":"t-2"}"#,
        ))
        .expect(2)
        .mount(&credit_pay)
        .await;
    let base = format!("{}/dg", credit_pay.uri());
    let args = auth_args(&base, &in_one_hour_millis());
    let at = args.iter().position(|a| a == "--customer-token").unwrap();
    let mut without: Vec<&str> = args.iter().map(String::as_str).collect();
    without.drain(at..at + 2);
    let keys = [
        ("CREDITPAY_API_KEY", API_KEY),
        ("CREDITPAY_SIGNATURE_KEY", SIGNATURE_KEY),
    ];
    let mut with_env = keys.to_vec();
    with_env.push(("CREDITPAY_CUSTOMER_TOKEN", "platform-session-token"));
    let from_env = gameauth_async(&without, &with_env).await;
    let mut from_file = without.clone();
    from_file.extend(["--customer-token-file", "-"]);
    let from_stdin =
        gameauth_async_with_stdin(&from_file, &keys, Some(b"platform-session-token\n")).await;
    for run in [from_env, from_stdin] {
        run.expect_code(0);
        assert_eq!(run.json()["ident_code"], "c0de");
        run.never_shows("platform-session-token");
    }
}
