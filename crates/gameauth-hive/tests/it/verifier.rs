//! The `gameauth_core::TokenVerifier` adapter.

use std::sync::Arc;

use gameauth_core::{AuthError, PlayerToken, TokenVerifier, VerifyRequest};
use serde_json::json;
use wiremock::matchers::{body_json, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

fn request() -> VerifyRequest {
    VerifyRequest::new(PlayerToken::new(PLAYER_TOKEN))
        .with_player_id(PLAYER_ID.to_string())
        .with_device_id(DID)
}

async fn registry(server: &MockServer) -> Vec<Arc<dyn TokenVerifier>> {
    vec![Arc::new(
        builder().primary_url(server.uri()).build().unwrap(),
    )]
}

#[tokio::test]
async fn adapter_maps_the_request_and_returns_fields_as_attributes() {
    let server = MockServer::start().await;
    mount_token(&server, "server-jwt").await;
    Mock::given(path("/v2/game/token/get-token"))
        .and(body_json(json!({
            "appid": APPID,
            "did": DID,
            "player_id": PLAYER_ID,
            "include_fields": ["is_blocked", "join_timestamp"]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 0,
            "data": {"is_blocked": true, "join_timestamp": 1711954264, "tier": "gold"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let verifiers = registry(&server).await;
    assert_eq!(verifiers[0].provider(), "hive");
    let player = verifiers[0]
        .verify(&request().with_attribute("include_fields", "is_blocked, join_timestamp"))
        .await
        .unwrap();
    assert_eq!(player.player_id, "21");
    assert_eq!(player.attributes["is_blocked"], "true");
    assert_eq!(player.attributes["join_timestamp"], "1711954264");
    assert_eq!(player.attributes["tier"], "\"gold\"");
    assert_eq!(player.attributes["served_by"], "primary");
    server.verify().await;
}

#[tokio::test]
async fn adapter_rejections_carry_the_hive_code() {
    let server = MockServer::start().await;
    mount_token(&server, "server-jwt").await;
    Mock::given(path("/v2/game/token/get-token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"result_code": 7000, "result_msg": "invalid token"})),
        )
        .mount(&server)
        .await;
    let err = registry(&server).await[0]
        .verify(&request())
        .await
        .unwrap_err();
    match err {
        AuthError::Rejected { code, message } => {
            assert_eq!(code, 7000);
            assert_eq!(message, "invalid token");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn adapter_outages_are_never_rejections() {
    let server = MockServer::start().await;
    mount_token(&server, "server-jwt").await;
    Mock::given(path("/v2/game/token/get-token"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let err = registry(&server).await[0]
        .verify(&request())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Unavailable(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn adapter_refused_client_credentials_are_a_config_error() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result_code": 4001})))
        .mount(&server)
        .await;
    let err = registry(&server).await[0]
        .verify(&request())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Config(_)), "{err:?}");
}

#[tokio::test]
async fn adapter_needs_a_numeric_player_id_and_a_device_id() {
    let server = MockServer::start().await;
    let verifiers = registry(&server).await;
    let token = || PlayerToken::new(PLAYER_TOKEN);
    for bad in [
        VerifyRequest::new(token()).with_device_id(DID),
        VerifyRequest::new(token())
            .with_player_id("abc")
            .with_device_id(DID),
        VerifyRequest::new(token()).with_player_id("21"),
        request().with_attribute("include_fields", "is_blocked,Bad Field"),
    ] {
        let err = verifiers[0].verify(&bad).await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidInput(_)), "{err:?}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}
