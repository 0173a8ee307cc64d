//! `hive verify`, `hive idp-list` and `hive player-idps` against local stand-ins for the primary
//! and fallback hosts.

use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::{TempFile, closed_port_url, gameauth_async, gameauth_async_with_stdin};

const APPID: &str = "com.com2us.hivesdk.normal.freefull.apple.global.ios.universal";
const CLIENT_ID: &str = "project_abc123";
const CLIENT_SECRET: &str = "dummy-client-secret-0001";
const CERTIFICATION_KEY: &str = "dummy-certification-key-0001";
const PLAYER_TOKEN: &str = "player-login-token";
const PLAYER_ACCESS_TOKEN: &str = "player-access-token-jwt";
const SERVER_TOKEN: &str = "server-access-token";
const DID: &str = "255764404509548";
const IDPS_PATH: &str = "/server/player/get-idpuserid";

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

/// A v2 verification request: the player token raw in `Authorization`, `access_token` in
/// `X-Access-Token`, `player_id` a JSON number and `did` a string.
fn v2_verify_request(access_token: &'static str) -> impl Fn(&Request) -> bool {
    move |request: &Request| {
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return false;
        };
        header("authorization") == Some(PLAYER_TOKEN)
            && header("x-access-token") == Some(access_token)
            && body
                == json!({
                    "appid": APPID,
                    "did": DID,
                    "player_id": 21,
                    "include_fields": ["is_blocked", "join_timestamp"],
                })
    }
}

fn verified_answer() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "result_code": 0,
        "result_msg": "SUCCESS",
        "token_validation": {"result_code": 0, "result_msg": "SUCCESS"},
        "data": {"is_blocked": false, "join_timestamp": 1_700_000_000},
    }))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// `hive verify` on `hosts` with the player's token and id, then `extra`.
fn verify_args(hosts: &[&str], extra: &[&str]) -> Vec<String> {
    let mut args = strings(&["hive", "verify"]);
    args.extend(strings(hosts));
    args.extend(strings(&[
        "--appid",
        APPID,
        "--did",
        DID,
        "--player-id",
        "21",
        "--token",
        PLAYER_TOKEN,
        "--timeout-ms",
        "1000",
    ]));
    args.extend(strings(extra));
    args
}

/// `hive player-idps` on `hosts`, then `extra`.
fn idps_args(hosts: &[&str], extra: &[&str]) -> Vec<String> {
    let mut args = strings(&["hive", "player-idps"]);
    args.extend(strings(hosts));
    args.extend(strings(&[
        "--appid",
        APPID,
        "--did",
        DID,
        "--player-id",
        "21",
        "--timeout-ms",
        "1000",
    ]));
    args.extend(strings(extra));
    args
}

/// `args` with the value of `flag` replaced by `value`, given as `flag=value` (so a value that
/// begins with `-` stays a value).
fn set(mut args: Vec<String>, flag: &str, value: &str) -> Vec<String> {
    let at = args
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("{flag} in {args:?}"));
    args.splice(at..at + 2, [format!("{flag}={value}")]);
    args
}

const WITH_ACCESS_TOKEN: [&str; 2] = ["--access-token", PLAYER_ACCESS_TOKEN];

async fn run(args: &[String], envs: &[(&str, &str)]) -> crate::Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    gameauth_async(&args, envs).await
}

async fn run_with_stdin(args: &[String], envs: &[(&str, &str)], stdin: &[u8]) -> crate::Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    gameauth_async_with_stdin(&args, envs, Some(stdin)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_v2_sends_the_players_access_token_and_needs_no_credentials() {
    let primary = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/game/token/get-token"))
        .and(v2_verify_request(PLAYER_ACCESS_TOKEN))
        .respond_with(verified_answer())
        .expect(1)
        .mount(&primary)
        .await;
    let args = verify_args(
        &["--primary-url", &primary.uri()],
        &[
            "--access-token",
            PLAYER_ACCESS_TOKEN,
            "--include-fields",
            "is_blocked,join_timestamp",
        ],
    );
    let run = run(&args, &[]).await;
    run.expect_code(0);
    assert_eq!(
        run.json(),
        json!({
            "verified": true,
            "player_id": 21,
            "did": DID,
            "served_by": "primary",
            "fields": {"is_blocked": false, "join_timestamp": 1_700_000_000},
        })
    );
    run.never_shows(PLAYER_ACCESS_TOKEN);
    assert_eq!(
        primary.received_requests().await.unwrap().len(),
        1,
        "no server token"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_with_the_server_token_option_sends_the_server_token() {
    let primary = MockServer::start().await;
    oauth_token(&primary).await;
    Mock::given(method("POST"))
        .and(path("/v2/game/token/get-token"))
        .and(v2_verify_request(SERVER_TOKEN))
        .respond_with(verified_answer())
        .expect(1)
        .mount(&primary)
        .await;
    let args = verify_args(
        &["--primary-url", &primary.uri()],
        &[
            "--server-token",
            "--include-fields",
            "is_blocked,join_timestamp",
        ],
    );
    let run = run(&args, &V2_CREDENTIALS).await;
    run.expect_code(0);
    assert_eq!(run.json()["verified"], true);
    run.never_shows(CLIENT_SECRET);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_falls_back_when_the_primary_answers_503() {
    let primary = MockServer::start().await;
    let fallback = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/game/token/get-token"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&primary)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/game/token/get-token"))
        .and(header("x-access-token", PLAYER_ACCESS_TOKEN))
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
        &WITH_ACCESS_TOKEN,
    );
    let run = run(&args, &[]).await;
    run.expect_code(0);
    assert_eq!(run.json()["served_by"], "fallback");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_token_exits_1_with_verified_false_code_and_message() {
    let primary = MockServer::start().await;
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
        &verify_args(&["--primary-url", &primary.uri()], &WITH_ACCESS_TOKEN),
        &[],
    )
    .await;
    run.expect_code(1);
    assert_eq!(
        run.json(),
        json!({"verified": false, "code": 7000, "message": "invalid token"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_player_access_token_exits_1_and_is_not_retried() {
    let primary = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/game/token/get-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 2499,
            "result_msg": "JWT verification failed",
            "token_validation": {"result_code": 2499, "result_msg": "JWT verification failed"},
        })))
        .expect(1)
        .mount(&primary)
        .await;
    let run = run(
        &verify_args(&["--primary-url", &primary.uri()], &WITH_ACCESS_TOKEN),
        &V2_CREDENTIALS,
    )
    .await;
    run.expect_code(1);
    assert_eq!(
        run.json(),
        json!({"verified": false, "code": 2499, "message": "JWT verification failed"})
    );
    assert_eq!(primary.received_requests().await.unwrap().len(), 1);
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
        &verify_args(&["--primary-url", &primary.uri()], &["--server-token"]),
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
        &WITH_ACCESS_TOKEN,
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
        &verify_args(&["--primary-url", &closed_port_url()], &["--server-token"]),
        &V2_CREDENTIALS,
    )
    .await;
    run.expect_code(2);
    assert_eq!(run.json()["error"]["kind"], "unavailable");
}

/// A negative or zero player id, a blank device id: usage errors, and not one request, not
/// even for the server token.
#[tokio::test(flavor = "multi_thread")]
async fn bad_input_exits_2_before_any_request() {
    let primary = MockServer::start().await;
    let uri = primary.uri();
    let hosts = ["--primary-url", uri.as_str()];
    let mut cases: Vec<Vec<String>> = Vec::new();
    for player_id in ["-5", "0"] {
        let with_id = |args| set(args, "--player-id", player_id);
        cases.push(with_id(verify_args(&hosts, &["--server-token"])));
        cases.push(with_id(verify_args(&hosts, &["--access-token", "a"])));
        cases.push(with_id(verify_args(&hosts, &["--api", "v1"])));
        cases.push(with_id(idps_args(&hosts, &["--token", PLAYER_TOKEN])));
        let mut idp_list = strings(&["hive", "idp-list", "--appid", APPID, "--player-id", "1"]);
        idp_list.extend(strings(&hosts));
        cases.push(with_id(idp_list));
    }
    cases.push(set(verify_args(&hosts, &["--server-token"]), "--did", " "));
    cases.push(set(
        idps_args(&hosts, &["--token", PLAYER_TOKEN]),
        "--did",
        "",
    ));
    for args in cases {
        let r = run(&args, &V2_CREDENTIALS).await;
        r.expect_code(2);
        let out = r.json();
        assert_eq!(out["error"]["kind"], "usage", "{args:?}: {out}");
        let message = out["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("player_id") || message.contains("did"),
            "{args:?}: {message}"
        );
    }
    assert!(primary.received_requests().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_access_token_is_a_usage_error_naming_its_sources() {
    let primary = MockServer::start().await;
    let missing = run(&verify_args(&["--primary-url", &primary.uri()], &[]), &[]).await;
    missing.expect_code(2);
    let message = missing.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    for source in [
        "--access-token",
        "--access-token-file",
        "HIVE_PLAYER_ACCESS_TOKEN",
    ] {
        assert!(message.contains(source), "{message}");
    }
    assert!(primary.received_requests().await.unwrap().is_empty());
    // v1 sends no access token and refuses one; so does the server-token option.
    for extra in [
        &["--api", "v1", "--access-token", "a"][..],
        &["--api", "v1", "--server-token"][..],
    ] {
        let r = run(&verify_args(&["--env", "sandbox"], extra), &[]).await;
        r.expect_code(2);
        assert_eq!(r.json()["error"]["kind"], "usage", "{extra:?}");
    }
    let conflict = run(
        &verify_args(
            &["--env", "sandbox"],
            &["--server-token", "--access-token", "a"],
        ),
        &V2_CREDENTIALS,
    )
    .await;
    conflict.expect_code(2);
}

/// The player's token and access token need not be on the command line: environment
/// variables, files and standard input give the same request.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_come_from_the_environment_files_or_stdin() {
    let primary = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/game/token/get-token"))
        .and(header("authorization", PLAYER_TOKEN))
        .and(header("x-access-token", PLAYER_ACCESS_TOKEN))
        .respond_with(verified_answer())
        .expect(3)
        .mount(&primary)
        .await;
    let base = |extra: &[&str]| {
        let mut args = strings(&[
            "hive",
            "verify",
            "--primary-url",
            &primary.uri(),
            "--appid",
            APPID,
            "--did",
            DID,
            "--player-id",
            "21",
        ]);
        args.extend(strings(extra));
        args
    };
    let from_env = run(
        &base(&[]),
        &[
            ("HIVE_PLAYER_TOKEN", PLAYER_TOKEN),
            ("HIVE_PLAYER_ACCESS_TOKEN", PLAYER_ACCESS_TOKEN),
        ],
    )
    .await;
    from_env.expect_code(0);
    let token_file = TempFile::with(format!("{PLAYER_TOKEN}\n").as_bytes());
    let access_file = TempFile::with(PLAYER_ACCESS_TOKEN.as_bytes());
    let from_files = run(
        &base(&[
            "--token-file",
            token_file.path(),
            "--access-token-file",
            access_file.path(),
        ]),
        // A file wins over the variable.
        &[("HIVE_PLAYER_TOKEN", "stale-token")],
    )
    .await;
    from_files.expect_code(0);
    let from_stdin = run_with_stdin(
        &base(&[
            "--token-file",
            token_file.path(),
            "--access-token-file",
            "-",
        ]),
        &[],
        format!("{PLAYER_ACCESS_TOKEN}\r\n").as_bytes(),
    )
    .await;
    from_stdin.expect_code(0);
    for r in [&from_env, &from_files, &from_stdin] {
        assert_eq!(r.json()["verified"], true);
        r.never_shows(PLAYER_ACCESS_TOKEN);
    }
    // Only one value can come from standard input.
    let twice = run_with_stdin(
        &base(&["--token-file", "-", "--access-token-file", "-"]),
        &[],
        b"x",
    )
    .await;
    twice.expect_code(2);
    let message = twice.json()["error"]["message"].to_string();
    assert!(message.contains("standard input"), "{message}");
    let empty = run(&base(&["--token-file", "-"]), &[]).await;
    empty.expect_code(2);
    assert_eq!(empty.json()["error"]["kind"], "usage");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_v1_sends_the_certification_key_from_the_environment() {
    let primary = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/game/token/get-token"))
        .and(header("authorization", PLAYER_TOKEN))
        .and(body_json(json!({
            "appid": APPID,
            "did": DID,
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
        &verify_args(&["--primary-url", &primary.uri()], &["--api", "v1"]),
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
    let args = strings(&[
        "hive",
        "idp-list",
        "--primary-url",
        &primary.uri(),
        "--appid",
        APPID,
        "--player-id",
        "90000000062",
    ]);
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
    let args = strings(&[
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
    ]);
    let run = run(&args, &V2_CREDENTIALS).await;
    run.expect_code(1);
    assert_eq!(
        run.json(),
        json!({"error": {"kind": "provider", "code": 2002, "message": "no user data"}})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn player_idps_prints_the_players_accounts() {
    let primary = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(IDPS_PATH))
        .and(header("authorization", PLAYER_TOKEN))
        .and(header("iscrypt", "0"))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"appid": APPID, "did": DID, "player_id": 21}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 0,
            "result_msg": "SUCCESS",
            "data": {"list": [
                {"player_id": "21", "idp_user_id": "68101398", "idp_index": "1"},
                {"player_id": 21, "idp_user_id": 4455, "idp_index": 3},
                {"player_id": "21", "idp_user_id": "x-7", "idp_index": "11"},
            ]},
        })))
        .expect(1)
        .mount(&primary)
        .await;
    // No credentials of ours: the player's token authorises the call.
    let run = run(
        &idps_args(
            &["--primary-url", &primary.uri()],
            &["--token", PLAYER_TOKEN],
        ),
        &[],
    )
    .await;
    run.expect_code(0);
    assert_eq!(
        run.json(),
        json!({
            "verified": true,
            "player_id": 21,
            "accounts": [
                {"player_id": 21, "idp_user_id": "68101398", "idp_index": 1, "idp_name": "HIVE"},
                {"player_id": 21, "idp_user_id": "4455", "idp_index": 3, "idp_name": "Google"},
                {"player_id": 21, "idp_user_id": "x-7", "idp_index": 11, "idp_name": null},
            ],
            "served_by": "primary",
        })
    );
    run.never_shows(PLAYER_TOKEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn player_idps_falls_back_and_reads_the_token_from_the_environment() {
    let primary = MockServer::start().await;
    let fallback = MockServer::start().await;
    Mock::given(path(IDPS_PATH))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&primary)
        .await;
    Mock::given(path(IDPS_PATH))
        .and(header("authorization", "-token-from-the-environment"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 0,
            "result_msg": "SUCCESS",
            "data": {"list": [{"player_id": "21", "idp_user_id": "0", "idp_index": "0"}]},
        })))
        .expect(1)
        .mount(&fallback)
        .await;
    let run = run(
        &idps_args(
            &[
                "--primary-url",
                &primary.uri(),
                "--fallback-url",
                &fallback.uri(),
            ],
            &[],
        ),
        &[("HIVE_PLAYER_TOKEN", "-token-from-the-environment")],
    )
    .await;
    run.expect_code(0);
    let out = run.json();
    assert_eq!(out["served_by"], "fallback");
    assert_eq!(out["accounts"][0]["idp_name"], "GUEST");
}

#[tokio::test(flavor = "multi_thread")]
async fn player_idps_refusals_exit_1_with_verified_false() {
    for (code, message) in [(7000, "verification failed"), (4000, "invalid parameter")] {
        let primary = MockServer::start().await;
        Mock::given(path(IDPS_PATH))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"result_code": code, "result_msg": message})),
            )
            .expect(1)
            .mount(&primary)
            .await;
        let r = run(
            &idps_args(
                &["--primary-url", &primary.uri()],
                &["--token", PLAYER_TOKEN],
            ),
            &[],
        )
        .await;
        r.expect_code(1);
        assert_eq!(
            r.json(),
            json!({"verified": false, "code": code, "message": message})
        );
    }
    let missing = run(&idps_args(&["--env", "sandbox"], &[]), &[]).await;
    missing.expect_code(2);
    let message = missing.json()["error"]["message"].to_string();
    assert!(message.contains("HIVE_PLAYER_TOKEN"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn host_flags_are_validated_by_the_parser() {
    let cases: [&[&str]; 3] = [
        &["--env", "production", "--primary-url", "http://127.0.0.1:9"],
        &["--fallback-url", "http://127.0.0.1:9"],
        &[],
    ];
    for hosts in cases {
        let r = run(&verify_args(hosts, &WITH_ACCESS_TOKEN), &[]).await;
        r.expect_code(2);
        assert_eq!(r.json()["error"]["kind"], "usage", "{hosts:?}");
        let r = run(&idps_args(hosts, &["--token", "t"]), &[]).await;
        r.expect_code(2);
        assert_eq!(r.json()["error"]["kind"], "usage", "{hosts:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn include_fields_with_v1_is_a_usage_error() {
    let args = verify_args(
        &["--env", "sandbox"],
        &["--api", "v1", "--include-fields", "is_blocked"],
    );
    let run = run(&args, &[]).await;
    run.expect_code(2);
    assert_eq!(run.json()["error"]["kind"], "usage");
}
