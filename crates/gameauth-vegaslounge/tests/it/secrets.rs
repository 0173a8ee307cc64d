//! Secrets never reach logs or `Debug` output.

use crate::{Harness, PLAYER, SECRET, body_json, code_form, location_params, refresh_form};

// The capturing subscriber is this thread's: every task must run on it.
#[tokio::test(flavor = "current_thread")]
async fn logs_of_full_flows_contain_no_code_token_or_secret() {
    let (_guard, logs) = testkit::capture_logs();
    let h = Harness::with(|c| c.revoke_on_logout = true);
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
    // Failures log their reasons: replay, reuse, a wrong secret, a stale token; then logout
    // revokes the player's tokens. No answer may echo a code, token or secret either.
    let mut answers = vec![h.token(&code_form(&code)).await];
    h.advance(11);
    answers.push(h.token(&refresh_form(&refresh)).await);
    answers.push(h.token(&format!("grant_type=authorization_code&code={code}&client_id=VL001&client_secret=sentinel-wrong-secret")).await);
    answers.push(h.account(&access).await);
    let logout = http::Request::get("/logout")
        .header("cookie", format!("session={PLAYER}"))
        .body(bytes::Bytes::new())
        .unwrap();
    answers.push(h.send(logout).await);
    assert_eq!(answers.last().map(|r| r.status().as_u16()), Some(200));
    assert_eq!(
        h.account(&access2).await.status(),
        401,
        "logout revoked the tokens"
    );

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
        for answer in &answers {
            let body = crate::body_text(answer);
            assert!(!body.contains(secret), "an answer echoed a secret: {body}");
            for (name, value) in answer.headers() {
                let value = value.to_str().unwrap_or_default();
                assert!(!value.contains(secret), "header {name} echoed a secret");
            }
        }
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
        gameauth_vegaslounge::request::TokenRequest::parse(&headers, None, form.as_bytes())
            .unwrap();
    let debug = format!("{:?} {request:?}", h.server);
    assert!(
        !debug.contains("sentinel-code-value") && !debug.contains(SECRET),
        "{debug}"
    );
}
