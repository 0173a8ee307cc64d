//! `vegaslounge check` against a running `gameauth vegaslounge serve`, and against a scripted
//! stand-in operator that breaks one rule at a time, so every verdict is shown to be able to fail.

use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::ServerProcess;
use crate::{Run, closed_port_url, gameauth_async, gameauth_async_with_stdin};

const DEMO_CLIENT: &str = "VL001";
const DEMO_SECRET: &str = "demo-secret";
const DEMO_REDIRECT: &str = "https://fl.vegaslounge.live";
const DEMO_USER: &str = "alice";
const DEMO_PASSWORD: &str = "alice-pass";

/// `gameauth vegaslounge serve` on a free port with the demo configuration, killed when dropped.
fn serve() -> ServerProcess {
    ServerProcess::start(
        &["vegaslounge", "serve", "--listen", "127.0.0.1:0"],
        |command| {
            command.env_clear();
        },
    )
}

async fn check(base: &str, source: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut args = vec![
        "vegaslounge",
        "check",
        "--base-url",
        base,
        "--client-id",
        DEMO_CLIENT,
        "--redirect-uri",
        DEMO_REDIRECT,
    ];
    args.extend_from_slice(source);
    gameauth_async(&args, envs).await
}

/// The names of the failed checks, and the reason of each.
fn failures(out: &Value) -> Vec<(String, String)> {
    out["checks"]
        .as_array()
        .expect("checks array")
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

const ALL_CHECKS: [&str; 8] = [
    "code exchange",
    "account",
    "wrong secret refused",
    "refresh",
    "code replay refused",
    "unknown grant type",
    "error body shape",
    "cache headers",
];

#[tokio::test(flavor = "multi_thread")]
async fn every_check_passes_against_the_demo_server_with_the_demo_login() {
    let server = serve();
    let run = check(
        &server.base,
        &["--username", DEMO_USER],
        &[
            ("VL_CLIENT_SECRET", DEMO_SECRET),
            ("VL_PLAYER_PASSWORD", DEMO_PASSWORD),
        ],
    )
    .await;
    run.expect_code(0);
    let out = run.json();
    assert_eq!(
        (out["passed"].clone(), out["failed"].clone()),
        (json!(9), json!(0)),
        "{out}"
    );
    assert_eq!(out["summary"], "9 passed, 0 failed");
    let names: Vec<&str> = out["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let mut expected = vec!["login"];
    expected.extend(ALL_CHECKS);
    assert_eq!(names, expected);
    for name in expected {
        assert!(
            run.stderr.contains(&format!("PASS {name}\n")),
            "{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("9 passed, 0 failed"), "{}", run.stderr);
    run.never_shows(DEMO_SECRET);
    run.never_shows(DEMO_PASSWORD);
}

/// Logs in through the demo server's pages like a browser and returns the code it redirects with.
async fn code_from_the_login_page(base: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let authorize = "/oauth2.0/authorize?response_type=code&client_id=VL001&redirect_uri=https%3A%2F%2Ffl.vegaslounge.live";
    let page = http.get(format!("{base}/login")).send().await.unwrap();
    let csrf_cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("gameauth_csrf="))
        .expect("CSRF cookie");
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("CSRF field")
        .to_owned();
    let login = http
        .post(format!("{base}/login"))
        .header("origin", base)
        .header("cookie", csrf_cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", DEMO_USER),
            ("password", DEMO_PASSWORD),
            ("return_to", authorize),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let session = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("gameauth_session="))
        .expect("session cookie");
    let redirect = http
        .get(format!("{base}{authorize}"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    let location = reqwest::Url::parse(&location).unwrap();
    location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code in the redirect")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_check_passes_with_a_code_from_the_operators_own_login_page() {
    let server = serve();
    let code = code_from_the_login_page(&server.base).await;
    let run = check(
        &server.base,
        &["--code", &code],
        &[("VL_CLIENT_SECRET", DEMO_SECRET)],
    )
    .await;
    run.expect_code(0);
    assert_eq!(run.json()["summary"], "8 passed, 0 failed");
    run.never_shows(&code);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_fails_the_login_and_everything_that_needs_a_code() {
    let server = serve();
    let run = check(
        &server.base,
        &["--username", DEMO_USER],
        &[
            ("VL_CLIENT_SECRET", DEMO_SECRET),
            ("VL_PLAYER_PASSWORD", "not-the-password"),
        ],
    )
    .await;
    run.expect_code(1);
    let failed: Vec<String> = failures(&run.json()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        failed,
        [
            "login",
            "code exchange",
            "account",
            "refresh",
            "code replay refused"
        ]
    );
    assert!(run.stderr.contains("FAIL login: "), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_made_up_code_fails_the_exchange_and_exits_1() {
    let server = serve();
    let run = check(
        &server.base,
        &["--code", "made-up-code"],
        &[("VL_CLIENT_SECRET", DEMO_SECRET)],
    )
    .await;
    run.expect_code(1);
    let out = run.json();
    let failed = failures(&out);
    assert_eq!(failed[0].0, "code exchange");
    assert!(failed[0].1.contains("401"), "{}", failed[0].1);
    assert_eq!(out["summary"], "4 passed, 4 failed");
    assert!(run.stderr.contains("4 passed, 4 failed"), "{}", run.stderr);
    run.never_shows("made-up-code");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_that_begins_with_a_hyphen_is_a_code() {
    // One code in 64 that the server issues begins with `-` (URL-safe base64).
    let server = serve();
    let run = check(
        &server.base,
        &["--code", "-oMadeUpCode"],
        &[("VL_CLIENT_SECRET", DEMO_SECRET)],
    )
    .await;
    run.expect_code(1);
    let out = run.json();
    assert_eq!(failures(&out)[0].0, "code exchange");
    assert_eq!(out["summary"], "4 passed, 4 failed");
}

/// The code need not be on the command line: from `VL_AUTHORIZATION_CODE` or from standard
/// input (`--code-file -`) it reaches the code exchange just the same.
#[tokio::test(flavor = "multi_thread")]
async fn the_code_may_come_from_the_environment_or_stdin() {
    let server = serve();
    let from_env = check(
        &server.base,
        &[],
        &[
            ("VL_CLIENT_SECRET", DEMO_SECRET),
            ("VL_AUTHORIZATION_CODE", "-oMadeUpCodeFromEnv"),
        ],
    )
    .await;
    let args = [
        "vegaslounge",
        "check",
        "--base-url",
        &server.base,
        "--client-id",
        DEMO_CLIENT,
        "--redirect-uri",
        DEMO_REDIRECT,
        "--code-file",
        "-",
    ];
    let from_stdin = gameauth_async_with_stdin(
        &args,
        &[("VL_CLIENT_SECRET", DEMO_SECRET)],
        Some(b"-oMadeUpCodeFromStdin\n"),
    )
    .await;
    for run in [from_env, from_stdin] {
        run.expect_code(1);
        let out = run.json();
        assert_eq!(failures(&out)[0].0, "code exchange");
        assert_eq!(out["summary"], "4 passed, 4 failed");
        run.never_shows("MadeUpCodeFrom");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_deployment_exits_2() {
    let run = check(
        &closed_port_url(),
        &["--code", "c"],
        &[("VL_CLIENT_SECRET", DEMO_SECRET)],
    )
    .await;
    run.expect_code(2);
    assert_eq!(run.json()["error"]["kind"], "unavailable");
}

#[tokio::test(flavor = "multi_thread")]
async fn code_and_username_are_exclusive_and_one_is_required() {
    let envs = [
        ("VL_CLIENT_SECRET", DEMO_SECRET),
        ("VL_PLAYER_PASSWORD", "p"),
    ];
    let base = closed_port_url();
    let both = check(&base, &["--code", "c", "--username", "u"], &envs).await;
    both.expect_code(2);
    let code_twice = check(&base, &["--code", "c", "--code-file", "f"], &envs).await;
    code_twice.expect_code(2);
    let neither = check(&base, &[], &envs).await;
    neither.expect_code(2);
    let missing_secret = check(&base, &["--code", "c"], &[]).await;
    missing_secret.expect_code(2);
    assert!(
        missing_secret.stderr.contains("VL_CLIENT_SECRET"),
        "{}",
        missing_secret.stderr
    );
}

/// How the stand-in operator misbehaves.
#[derive(Clone, Copy, Default)]
struct Faults {
    no_cache_headers_on_success: bool,
    old_refresh_token_still_works: bool,
    plain_text_errors: bool,
}

fn tokens(access: &str, refresh: &str, faults: Faults) -> ResponseTemplate {
    let answer = ResponseTemplate::new(200).set_body_json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": refresh,
    }));
    if faults.no_cache_headers_on_success {
        answer
    } else {
        answer
            .insert_header("cache-control", "no-store")
            .insert_header("pragma", "no-cache")
    }
}

fn refusal(status: u16, code: u16, faults: Faults) -> ResponseTemplate {
    let answer = ResponseTemplate::new(status)
        .insert_header("cache-control", "no-store")
        .insert_header("pragma", "no-cache");
    if faults.plain_text_errors {
        answer.set_body_string("refused")
    } else {
        answer
            .set_body_json(json!({"errorCode": code, "error": "Authorization code is not valid."}))
    }
}

/// An operator scripted for one run of the checks: code `good-code` → A0/R0, R0 → A1/R1 on
/// `/oauth2.0/refresh`, R1 → A2/R2, then R0 again refused (unless the fault says otherwise).
async fn stand_in_operator(faults: Faults) -> MockServer {
    let operator = MockServer::start().await;
    let token = || Mock::given(method("POST")).and(path("/oauth2.0/token"));
    token()
        .and(body_string_contains(
            "client_secret=gameauth-check-wrong-secret",
        ))
        .respond_with(refusal(401, 1001, faults))
        .with_priority(1)
        .mount(&operator)
        .await;
    token()
        .and(body_string_contains("grant_type=urn"))
        .respond_with(refusal(400, 1007, faults))
        .with_priority(1)
        .mount(&operator)
        .await;
    token()
        .and(body_string_contains("code=good-code"))
        .respond_with(tokens("A0", "R0", faults))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&operator)
        .await;
    token()
        .and(body_string_contains("code=good-code"))
        .respond_with(refusal(401, 1001, faults))
        .with_priority(3)
        .mount(&operator)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth2.0/refresh"))
        .and(body_string_contains("refresh_token=R0"))
        .respond_with(tokens("A1", "R1", faults))
        .up_to_n_times(1)
        .mount(&operator)
        .await;
    token()
        .and(body_string_contains("refresh_token=R1"))
        .respond_with(tokens("A2", "R2", faults))
        .up_to_n_times(1)
        .mount(&operator)
        .await;
    let old = if faults.old_refresh_token_still_works {
        tokens("A3", "R3", faults)
    } else {
        refusal(401, 1001, faults)
    };
    token()
        .and(body_string_contains("refresh_token=R0"))
        .respond_with(old)
        .mount(&operator)
        .await;
    Mock::given(method("GET"))
        .and(path("/account"))
        .and(header("authorization", "Bearer A0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "playerId": "p1",
            "currency": "USD",
            "balance": 12.5,
            "language": "en_EN",
            "playerName": "someone",
            "playerType": "REAL",
        })))
        .mount(&operator)
        .await;
    operator
}

async fn check_stand_in(faults: Faults) -> Run {
    let operator = stand_in_operator(faults).await;
    check(
        &operator.uri(),
        &["--code", "good-code"],
        &[("VL_CLIENT_SECRET", "s3cret")],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn another_implementation_that_follows_the_contract_passes() {
    let run = check_stand_in(Faults::default()).await;
    run.expect_code(0);
    assert_eq!(run.json()["summary"], "8 passed, 0 failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_cache_headers_fail_only_that_check() {
    let faults = Faults {
        no_cache_headers_on_success: true,
        ..Faults::default()
    };
    let run = check_stand_in(faults).await;
    run.expect_code(1);
    let failed = failures(&run.json());
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "cache headers");
    assert!(
        failed[0]
            .1
            .contains("code exchange lacks Cache-Control: no-store"),
        "{}",
        failed[0].1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_old_refresh_token_that_still_works_fails_the_refresh_check() {
    let faults = Faults {
        old_refresh_token_still_works: true,
        ..Faults::default()
    };
    let run = check_stand_in(faults).await;
    run.expect_code(1);
    let failed = failures(&run.json());
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "refresh");
    assert!(failed[0].1.contains("old refresh token"), "{}", failed[0].1);
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_text_error_bodies_fail_the_error_body_check() {
    let faults = Faults {
        plain_text_errors: true,
        ..Faults::default()
    };
    let run = check_stand_in(faults).await;
    run.expect_code(1);
    let failed: Vec<String> = failures(&run.json()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(failed, ["error body shape"]);
}
