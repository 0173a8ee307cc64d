//! Secrets never reach logs or `Debug` output.

use crate::{Harness, PLAYER, SECRET, body_json, code_form, location_params, refresh_form};

#[tokio::test]
async fn logs_of_full_flows_contain_no_code_token_or_secret() {
    let (_guard, logs) = testkit::capture_logs();
    let h = Harness::new();
    let authorize = h
        .authorize(
            "response_type=code&client_id=VL001&redirect_uri=https%3A%2F%2Ffl.vegaslounge.live&state=s",
            Some(PLAYER),
        )
        .await;
    let code = location_params(&authorize)["code"].clone();
    let tokens = body_json(&h.token(&code_form(&code)).await);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = body_json(&h.token(&refresh_form(&refresh)).await);
    let access2 = refreshed["access_token"].as_str().unwrap().to_owned();
    let refresh2 = refreshed["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(h.account(&access2).await.status(), 200);
    // Failures log their reasons: replay, reuse, a wrong secret, a stale token.
    h.token(&code_form(&code)).await;
    h.advance(11);
    h.token(&refresh_form(&refresh)).await;
    h.token(&format!("grant_type=authorization_code&code={code}&client_id=VL001&client_secret=sentinel-wrong-secret")).await;
    h.account(&access).await;

    let text = logs.contents();
    assert!(
        text.contains("authorization code replayed"),
        "the flow logged: {text}"
    );
    for secret in [
        code.as_str(),
        access.as_str(),
        refresh.as_str(),
        access2.as_str(),
        refresh2.as_str(),
        SECRET,
        "sentinel-wrong-secret",
    ] {
        assert!(!text.contains(secret), "a secret reached the logs:\n{text}");
    }
}

#[tokio::test]
async fn debug_output_of_server_and_requests_holds_no_secret() {
    let h = Harness::new();
    let form = code_form("sentinel-code-value");
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "content-type",
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    let request =
        vegaslounge_oauth::request::TokenRequest::parse(&headers, None, form.as_bytes()).unwrap();
    let debug = format!("{:?} {request:?}", h.server);
    assert!(
        !debug.contains("sentinel-code-value") && !debug.contains(SECRET),
        "{debug}"
    );
}
