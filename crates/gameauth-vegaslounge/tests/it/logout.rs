//! `GET /logout`.

use bytes::Bytes;
use http::Request;

use crate::{Harness, PLAYER, assert_vl_error, header};

fn logout(query: &str) -> Request<Bytes> {
    Request::get(format!("/logout{query}"))
        .header("cookie", format!("session={PLAYER}"))
        .body(Bytes::new())
        .unwrap()
}

#[tokio::test]
async fn logout_ends_only_the_browser_session_by_default() {
    let h = Harness::new();
    let (access, refresh) = h.tokens().await;
    let response = h.send(logout("")).await;
    assert_eq!(response.status(), 200);
    assert!(
        header(&response, "set-cookie")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(header(&response, "x-frame-options"), Some("DENY"));
    assert_eq!(
        h.account(&access).await.status(),
        200,
        "the access token stays valid"
    );
    let refreshed = h.token(&crate::refresh_form(&refresh)).await;
    assert_eq!(refreshed.status(), 200);
}

#[tokio::test]
async fn logout_revokes_the_players_tokens_when_configured() {
    let h = Harness::with(|c| c.revoke_on_logout = true);
    let (access, refresh) = h.tokens().await;
    let (access2, _) = h.tokens().await;
    assert_eq!(h.send(logout("")).await.status(), 200);
    assert_vl_error(&h.account(&access).await, 401, 1001);
    assert_vl_error(&h.account(&access2).await, 401, 1001);
    assert_vl_error(&h.token(&crate::refresh_form(&refresh)).await, 401, 1001);
}

#[tokio::test]
async fn post_logout_redirect_only_to_a_registered_uri() {
    let h = Harness::new();
    let ok = h
        .send(logout(
            "?client_id=VL001&redirect_uri=https%3A%2F%2Ffl.vegaslounge.live",
        ))
        .await;
    assert_eq!(ok.status(), 302);
    assert_eq!(header(&ok, "location"), Some("https://fl.vegaslounge.live"));
    assert!(header(&ok, "set-cookie").is_some());
    for query in [
        "?client_id=VL001&redirect_uri=https%3A%2F%2Fevil.example",
        "?client_id=VL001&redirect_uri=https%3A%2F%2Ffl.vegaslounge.live%2F",
        "?redirect_uri=https%3A%2F%2Ffl.vegaslounge.live",
        "?client_id=VL404&redirect_uri=https%3A%2F%2Ffl.vegaslounge.live",
        "?client_id=VL002&redirect_uri=https%3A%2F%2Ffl.vegaslounge.live",
    ] {
        let response = h.send(logout(query)).await;
        assert_eq!(response.status(), 200, "{query}");
        assert!(header(&response, "location").is_none(), "{query}");
    }
}
