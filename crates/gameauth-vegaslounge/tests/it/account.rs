//! `GET /account`.

use bytes::Bytes;
use http::Request;

use crate::{Harness, assert_vl_error, body_json, body_text, header};

#[tokio::test]
async fn account_returns_the_documented_fields() {
    let h = Harness::new();
    let (access, _) = h.tokens().await;
    let response = h.account(&access).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    assert_eq!(
        body_text(&response),
        r#"{"playerId":"a3u","sessionId":"HfuXQCzhIn","currency":"USD","balance":405.64,"language":"zh_CN","playerName":"highroller335","avatarUrl":"https://img.operator.com/avatar.png","homeUrl":"https://www.operator.com","playerType":"REAL","partner":"partner123"}"#
    );
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let h = Harness::new();
    let (access, _) = h.tokens().await;
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let response = h
            .send(
                Request::get("/account")
                    .header("authorization", format!("{scheme} {access}"))
                    .body(Bytes::new())
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status(), 200, "{scheme}");
    }
}

#[tokio::test]
async fn no_credentials_gets_401_with_a_bearer_challenge() {
    let h = Harness::new();
    for request in [
        Request::get("/account?client_id=VL001")
            .body(Bytes::new())
            .unwrap(),
        Request::get("/account")
            .header("authorization", "Basic VkwwMDE6eA==")
            .body(Bytes::new())
            .unwrap(),
    ] {
        let response = h.send(request).await;
        assert_vl_error(&response, 401, 1001);
        assert_eq!(header(&response, "www-authenticate"), Some("Bearer"));
    }
}

#[tokio::test]
async fn unknown_token_gets_invalid_token() {
    let h = Harness::new();
    let response = h.account("not-a-token").await;
    assert_vl_error(&response, 401, 1001);
    assert_eq!(
        header(&response, "www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    let rfc = Harness::with(|c| c.error_style = gameauth_vegaslounge::ErrorStyle::Rfc6749);
    let response = rfc.account("not-a-token").await;
    assert_eq!(response.status(), 401);
    assert_eq!(body_json(&response)["error"], "invalid_token");
}

#[tokio::test]
async fn expired_token_gets_1004() {
    let h = Harness::new();
    let (access, _) = h.tokens().await;
    h.advance(3599);
    assert_eq!(h.account(&access).await.status(), 200);
    h.advance(1);
    let response = h.account(&access).await;
    assert_vl_error(&response, 401, 1004);
    assert_eq!(body_json(&response)["error"], "Auth token has expired");
}

#[tokio::test]
async fn refresh_token_used_as_access_token_is_invalid() {
    let h = Harness::new();
    let (_, refresh) = h.tokens().await;
    assert_vl_error(&h.account(&refresh).await, 401, 1001);
}

#[tokio::test]
async fn access_token_query_parameter_only_when_enabled() {
    let h = Harness::new();
    let (access, _) = h.tokens().await;
    let request = || {
        Request::get(format!("/account?client_id=VL001&access_token={access}"))
            .body(Bytes::new())
            .unwrap()
    };
    assert_vl_error(&h.send(request()).await, 401, 1001);

    let h = Harness::with(|c| c.account_token_in_query = true);
    let (access, _) = h.tokens().await;
    let response = h
        .send(
            Request::get(format!("/account?client_id=VL001&access_token={access}"))
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn client_id_must_match_the_token() {
    let h = Harness::new();
    let (access, _) = h.tokens().await;
    let response = h
        .send(
            Request::get("/account?client_id=VL002")
                .header("authorization", format!("Bearer {access}"))
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    assert_vl_error(&response, 401, 1001);
}

#[tokio::test]
async fn disabled_account_gets_1005() {
    let h = Harness::new();
    let (access, _) = h.tokens().await;
    h.directory.set_disabled(crate::PLAYER, true);
    let response = h.account(&access).await;
    assert_vl_error(&response, 401, 1005);
}

#[tokio::test]
async fn account_accepts_only_get() {
    let h = Harness::new();
    let response = h
        .send(Request::post("/account").body(Bytes::new()).unwrap())
        .await;
    assert_vl_error(&response, 405, 1007);
}
