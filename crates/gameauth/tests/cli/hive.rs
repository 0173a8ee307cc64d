//! `hive verify` and `hive idp-list` against local stand-ins for the primary and fallback hosts.

use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::{closed_port_url, gameauth_async};

const APPID: &str = "com.com2us.hivesdk.normal.freefull.apple.global.ios.universal";
const CLIENT_ID: &str = "project_abc123";
const CLIENT_SECRET: &str = "dummy-client-secret-0001";
const CERTIFICATION_KEY: &str = "dummy-certification-key-0001";
const PLAYER_TOKEN: &str = "player-login-token";
const SERVER_TOKEN: &str = "server-access-token";

const V2_CREDENTIALS: [(&str, &str); 2] = [
    ("HIVE_CLIENT_ID", CLIENT_ID),
    ("HIVE_CLIENT_SECRET", CLIENT_SECRET),
];

async fn oauth_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("iscrypt", "0"))
        .and(body_json(json!({
            "appid": APPID,
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 0,
            "result_msg": "SUCCESS",
            "data": {"access_token": SERVER_TOKEN},
        })))
        .expect(1)
        .mount(server)
        .await;
}

/// The v2 verification request: the player token raw in `Authorization`, the server token in
/// `X-Access-Token`, `player_id` a JSON number and `did` a string.
fn v2_verify_request(request: &Request) -> bool {
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return false;
    };
    header("authorization") == Some(PLAYER_TOKEN)
        && header("x-access-token") == Some(SERVER_TOKEN)
        && body
            == json!({
                "appid": APPID,
                "did": "255764404509548",
                "player_id": 21,
                "include_fields": ["is_blocked", "join_timestamp"],
            })
}

fn verified_answer() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "result_code": 0,
        "result_msg": "SUCCESS",
        "token_validation": {"result_code": 0, "result_msg": "SUCCESS"},
        "data": {"is_blocked": false, "join_timestamp": 1_700_000_000},
    }))
}

fn verify_args(hosts: &[&str], api: &str) -> Vec<String> {
    let mut args: Vec<String> = ["hive", "verify"].iter().map(|s| (*s).to_owned()).collect();
    args.extend(hosts.iter().map(|s| (*s).to_owned()));
    args.extend(
        [
            "--appid",
            APPID,
            "--did",
            "255764404509548",
            "--player-id",
            "21",
            "--token",
            PLAYER_TOKEN,
            "--api",
            api,
            "--timeout-ms",
            "1000",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    args
}

async fn run(args: &[String], envs: &[(&str, &str)]) -> crate::Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    gameauth_async(&args, envs).await
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_v2_on_the_primary_prints_the_player_and_fields() {
    let primary = MockServer::start().await;
    oauth_token(&primary).await;
    Mock::given(method("POST"))
        .and(path("/v2/game/token/get-token"))
        .and(v2_verify_request)
        .respond_with(verified_answer())
        .expect(1)
        .mount(&primary)
        .await;
    let mut args = verify_args(&["--primary-url", &primary.uri()], "v2");
    args.extend([
        "--include-fields".to_owned(),
        "is_blocked,join_timestamp".to_owned(),
    ]);
    let run = run(&args, &V2_CREDENTIALS).await;
    run.expect_code(0);
    assert_eq!(
        run.json(),
        json!({
            "verified": true,
            "player_id": 21,
            "did": "255764404509548",
            "served_by": "primary",
            "fields": {"is_blocked": false, "join_timestamp": 1_700_000_000},
        })
    );
    run.never_shows(CLIENT_SECRET);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_falls_back_when_the_primary_answers_503() {
    let primary = MockServer::start().await;
    let fallback = MockServer::start().await;
    oauth_token(&primary).await;
    Mock::given(method("POST"))
        .and(path("/v2/game/token/get-token"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&primary)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/game/token/get-token"))
        .and(header("x-access-token", SERVER_TOKEN))
        .respond_with(verified_answer())
        .expect(1)
        .mount(&fallback)
        .await;
    let args = verify_args(
        &[
            "--primary-url",
            &primary.uri(),
            "--fallback-url",
            &fallback.uri(),
        ],
        "v2",
    );
    let run = run(&args, &V2_CREDENTIALS).await;
    run.expect_code(0);
    assert_eq!(run.json()["served_by"], "fallback");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_token_exits_1_with_verified_false_code_and_message() {
    let primary = MockServer::start().await;
    oauth_token(&primary).await;
    Mock::given(method("POST"))
        .and(path("/v2/game/token/get-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 7000,
            "result_msg": "invalid token",
            "token_validation": {"result_code": 0, "result_msg": "SUCCESS"},
        })))
        .expect(1)
        .mount(&primary)
        .await;
    let run = run(
        &verify_args(&["--primary-url", &primary.uri()], "v2"),
        &V2_CREDENTIALS,
    )
    .await;
    run.expect_code(1);
    assert_eq!(
        run.json(),
        json!({"verified": false, "code": 7000, "message": "invalid token"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_server_credentials_exit_2_as_a_configuration_error() {
    let primary = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 4001,
            "result_msg": "client authentication failed",
        })))
        .mount(&primary)
        .await;
    let run = run(
        &verify_args(&["--primary-url", &primary.uri()], "v2"),
        &V2_CREDENTIALS,
    )
    .await;
    run.expect_code(2);
    assert_eq!(run.json()["error"]["kind"], "config");
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_primary_and_fallback_exit_2_as_unavailable() {
    let args = verify_args(
        &[
            "--primary-url",
            &closed_port_url(),
            "--fallback-url",
            &closed_port_url(),
        ],
        "v1",
    );
    let run = run(&args, &[]).await;
    run.expect_code(2);
    let out = run.json();
    assert_eq!(out["error"]["kind"], "unavailable");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("fallback"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_oauth_host_exits_2() {
    let run = run(
        &verify_args(&["--primary-url", &closed_port_url()], "v2"),
        &V2_CREDENTIALS,
    )
    .await;
    run.expect_code(2);
    assert_eq!(run.json()["error"]["kind"], "unavailable");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_v1_sends_the_certification_key_from_the_environment() {
    let primary = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/game/token/get-token"))
        .and(header("authorization", PLAYER_TOKEN))
        .and(body_json(json!({
            "appid": APPID,
            "did": "255764404509548",
            "player_id": 21,
            "hive_certification_key": CERTIFICATION_KEY,
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"result_code": 0, "result_message": "SUCCESS"})),
        )
        .expect(1)
        .mount(&primary)
        .await;
    let run = run(
        &verify_args(&["--primary-url", &primary.uri()], "v1"),
        &[("HIVE_CERTIFICATION_KEY", CERTIFICATION_KEY)],
    )
    .await;
    run.expect_code(0);
    let out = run.json();
    assert_eq!(
        (out["verified"].clone(), out["fields"].clone()),
        (json!(true), json!({}))
    );
    run.never_shows(CERTIFICATION_KEY);
}

#[tokio::test(flavor = "multi_thread")]
async fn idp_list_v2_prints_the_accounts_with_idp_names() {
    let primary = MockServer::start().await;
    oauth_token(&primary).await;
    Mock::given(method("POST"))
        .and(path("/v2/game/player/get-idp"))
        .and(header("x-access-token", SERVER_TOKEN))
        .and(body_json(json!({"appid": APPID, "player_id": 90_000_000_062_i64})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 0,
            "result_msg": "SUCCESS",
            "token_validation": {"result_code": 0, "result_msg": "SUCCESS"},
            "data": [
                {"seq": 1, "player_id": 90_000_000_062_i64, "idp_user_id": "9000", "idp_index": 1, "idp_id": "HIVE"},
                {"seq": "2", "player_id": "90000000062", "idp_user_id": 77, "idp_index": 1001, "idp_id": "MYIDP"},
            ],
        })))
        .expect(1)
        .mount(&primary)
        .await;
    let args: Vec<String> = [
        "hive",
        "idp-list",
        "--primary-url",
        &primary.uri(),
        "--appid",
        APPID,
        "--player-id",
        "90000000062",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let run = run(&args, &V2_CREDENTIALS).await;
    run.expect_code(0);
    assert_eq!(
        run.json(),
        json!({
            "player_id": 90_000_000_062_i64,
            "served_by": "primary",
            "accounts": [
                {"seq": 1, "player_id": 90_000_000_062_i64, "idp_user_id": "9000", "idp_index": 1, "idp_name": "HIVE", "idp_id": "HIVE"},
                {"seq": 2, "player_id": 90_000_000_062_i64, "idp_user_id": "77", "idp_index": 1001, "idp_name": "custom", "idp_id": "MYIDP"},
            ],
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn idp_list_refusal_exits_1_with_the_provider_code() {
    let primary = MockServer::start().await;
    oauth_token(&primary).await;
    Mock::given(method("POST"))
        .and(path("/v2/game/player/get-idp"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 2002,
            "result_msg": "no user data",
            "token_validation": {"result_code": 0, "result_msg": "SUCCESS"},
        })))
        .expect(1)
        .mount(&primary)
        .await;
    let args: Vec<String> = [
        "hive",
        "idp-list",
        "--primary-url",
        &primary.uri(),
        "--appid",
        APPID,
        "--player-id",
        "5",
        "--token",
        PLAYER_TOKEN,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let run = run(&args, &V2_CREDENTIALS).await;
    run.expect_code(1);
    assert_eq!(
        run.json(),
        json!({"error": {"kind": "provider", "code": 2002, "message": "no user data"}})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn host_flags_are_validated_by_the_parser() {
    let cases: [&[&str]; 3] = [
        &["--env", "production", "--primary-url", "http://127.0.0.1:9"],
        &["--fallback-url", "http://127.0.0.1:9"],
        &[],
    ];
    for hosts in cases {
        let run = run(&verify_args(hosts, "v2"), &V2_CREDENTIALS).await;
        run.expect_code(2);
        assert_eq!(run.json()["error"]["kind"], "usage", "{hosts:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn include_fields_with_v1_is_a_usage_error() {
    let mut args = verify_args(&["--env", "sandbox"], "v1");
    args.extend(["--include-fields".to_owned(), "is_blocked".to_owned()]);
    let run = run(&args, &[]).await;
    run.expect_code(2);
    assert_eq!(run.json()["error"]["kind"], "usage");
}
