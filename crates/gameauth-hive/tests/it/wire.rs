//! The wire format: exact paths, headers and JSON bodies of every Hive call.

use gameauth_core::PlayerToken;
use gameauth_core::secrecy::SecretString;
use gameauth_hive::{
    Client, Error, IdpCode, IdpIndex, IncludeField, OAuthCode, ServedBy, VerifyCode, VerifyParams,
};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::*;

async fn client(server: &MockServer) -> Client {
    builder().primary_url(server.uri()).build().unwrap()
}

/// `Authorization` carries the player token raw, never with a `Bearer` scheme.
fn assert_no_bearer(requests: &[Request]) {
    for r in requests {
        if let Some(v) = r.headers.get("authorization") {
            assert!(
                !v.to_str().unwrap().starts_with("Bearer"),
                "raw token, no Bearer"
            );
        }
    }
}

#[tokio::test]
async fn oauth_token_is_a_json_client_credentials_post_with_iscrypt_0() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("content-type", "application/json"))
        .and(header("iscrypt", "0"))
        .and(body_json(json!({
            "appid": APPID,
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_answer("server-jwt")))
        .expect(1)
        .mount(&server)
        .await;
    mount_verified(&server, 1).await;
    server_builder()
        .primary_url(server.uri())
        .build()
        .unwrap()
        .verify_token(&server_params())
        .await
        .unwrap();
    server.verify().await;
}

#[tokio::test]
async fn v2_verify_sends_raw_player_token_player_access_token_and_numeric_player_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/game/token/get-token"))
        .and(header("authorization", PLAYER_TOKEN))
        .and(header("x-access-token", PLAYER_ACCESS_TOKEN))
        .and(header("iscrypt", "0"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "appid": APPID,
            "did": DID,
            "player_id": PLAYER_ID,
            "include_fields": ["is_blocked", "is_device_registered", "join_timestamp", "china_pi_no"]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 0,
            "result_msg": "SUCCESS",
            "token_validation": {"result_code": 0, "result_msg": "SUCCESS"},
            "data": {
                "is_blocked": false,
                "is_device_registered": true,
                "join_timestamp": 1711954264,
                "china_pi_no": "CN-1",
                "new_field": [1, 2]
            }
        })))
        .expect(1)
        .mount(&server)
        .await;
    let p = params()
        .include(IncludeField::IsBlocked)
        .include(IncludeField::IsDeviceRegistered)
        .include(IncludeField::JoinTimestamp)
        .include(IncludeField::ChinaPiNo);
    let v = client(&server).await.verify_token(&p).await.unwrap();
    assert_eq!(v.player_id, PLAYER_ID);
    assert_eq!(v.served_by, ServedBy::Primary);
    assert_eq!(v.fields.is_blocked, Some(false));
    assert_eq!(v.fields.is_device_registered, Some(true));
    assert_eq!(v.fields.join_timestamp, Some(1_711_954_264));
    assert_eq!(v.fields.china_pi_no.as_deref(), Some("CN-1"));
    assert_eq!(v.fields.extra["new_field"], json!([1, 2]));
    let requests = server.received_requests().await.unwrap();
    assert_no_bearer(&requests);
    assert_eq!(requests.len(), 1, "no server token is fetched");
    server.verify().await;
}

#[tokio::test]
async fn v2_verify_with_the_server_token_option_sends_the_server_token() {
    let server = MockServer::start().await;
    mount_token(&server, "server-jwt").await;
    Mock::given(method("POST"))
        .and(path("/v2/game/token/get-token"))
        .and(header("authorization", PLAYER_TOKEN))
        .and(header("x-access-token", "server-jwt"))
        .and(body_json(
            json!({"appid": APPID, "did": DID, "player_id": PLAYER_ID}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(verified_answer()))
        .expect(1)
        .mount(&server)
        .await;
    let client = server_builder().primary_url(server.uri()).build().unwrap();
    let v = client.verify_token(&server_params()).await.unwrap();
    assert_eq!(v.player_id, PLAYER_ID);
    server.verify().await;
}

#[tokio::test]
async fn a_refused_player_access_token_is_a_rejection_that_is_never_retried() {
    for (answer, code) in [
        (
            json!({"result_code": 2499, "result_msg": "JWT verification failed",
                   "token_validation": {"result_code": 2499, "result_msg": "JWT verification failed"}}),
            2499,
        ),
        (
            json!({"result_code": 0, "result_msg": "SUCCESS",
                   "token_validation": {"result_code": 1, "result_msg": "expired"}}),
            1,
        ),
        (
            json!({"result_code": 2499, "result_msg": "JWT verification failed"}),
            2499,
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/v2/game/token/get-token"))
            .and(header("x-access-token", PLAYER_ACCESS_TOKEN))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer.clone()))
            .expect(1)
            .mount(&server)
            .await;
        match client(&server).await.verify_token(&params()).await {
            Err(Error::PlayerAccessTokenRejected {
                code: c, served_by, ..
            }) => {
                assert_eq!(c, code, "{answer}");
                assert_eq!(served_by, ServedBy::Primary);
            }
            other => panic!("{answer}: {other:?}"),
        }
        server.verify().await;
        assert!(
            server
                .received_requests()
                .await
                .unwrap()
                .iter()
                .all(|r| r.url.path() != "/oauth/token"),
            "no server token is fetched"
        );
    }
}

#[tokio::test]
async fn every_input_is_checked_before_anything_is_sent() {
    let server = MockServer::start().await;
    let default = client(&server).await;
    let server_mode = server_builder().primary_url(server.uri()).build().unwrap();
    for (player_id, did) in [(-5, DID), (0, DID), (PLAYER_ID, " ")] {
        let p = VerifyParams::new(PlayerToken::new(PLAYER_TOKEN), player_id, did);
        let with_access = p
            .clone()
            .with_access_token(PlayerToken::new(PLAYER_ACCESS_TOKEN));
        for err in [
            default.verify_token(&with_access).await.unwrap_err(),
            server_mode.verify_token(&p).await.unwrap_err(),
            server_mode.verify_token_v1(&p).await.unwrap_err(),
        ] {
            assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        }
    }
    for player_id in [-5, 0] {
        for err in [
            server_mode.idp_list(player_id).await.unwrap_err(),
            server_mode.idp_list_v1(player_id).await.unwrap_err(),
        ] {
            assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        }
    }
    match default.verify_token(&server_params()).await {
        Err(Error::InvalidInput(m)) => assert!(m.contains("access token"), "{m}"),
        other => panic!("{other:?}"),
    }
    match server_mode.verify_token(&params()).await {
        Err(Error::InvalidInput(m)) => assert!(m.contains("server token"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "not even the server token was fetched"
    );
}

#[tokio::test]
async fn v2_verify_rejections_are_typed_and_never_verified() {
    for (code, expected) in [
        (7000, VerifyCode::InvalidToken),
        (4000, VerifyCode::InvalidParameter),
        (2300, VerifyCode::RefundRepaymentRequired),
        (8123, VerifyCode::Other(8123)),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/v2/game/token/get-token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "result_code": code,
                "result_msg": "no",
                "token_validation": {"result_code": 0, "result_msg": "SUCCESS"}
            })))
            .expect(1)
            .mount(&server)
            .await;
        match client(&server).await.verify_token(&params()).await {
            Err(Error::TokenRejected {
                code: c, served_by, ..
            }) => {
                assert_eq!(c, expected);
                assert_eq!(served_by, ServedBy::Primary);
            }
            other => panic!("{code}: {other:?}"),
        }
        server.verify().await;
    }
}

#[tokio::test]
async fn v2_idp_list_sends_access_token_and_player_id_and_keeps_idp_index_open() {
    let server = MockServer::start().await;
    mount_token(&server, "server-jwt").await;
    Mock::given(method("POST"))
        .and(path("/v2/game/player/get-idp"))
        .and(header("x-access-token", "server-jwt"))
        .and(header("iscrypt", "0"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"appid": APPID, "player_id": 90000000062_i64})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 0,
            "result_msg": "SUCCESS",
            "token_validation": {"result_code": 0, "result_msg": "SUCCESS"},
            "data": [
                {"seq": 10000000067_i64, "player_id": 90000000062_i64, "idp_user_id": "1234", "idp_index": 1, "idp_id": "HIVE"},
                {"seq": 10000000068_i64, "player_id": 90000000062_i64, "idp_user_id": "g-1", "idp_index": 1007, "idp_id": "CUSTOM_X"}
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let list = client(&server)
        .await
        .idp_list(90_000_000_062)
        .await
        .unwrap();
    assert_eq!(list.served_by, ServedBy::Primary);
    assert_eq!(list.accounts.len(), 2);
    assert_eq!(list.accounts[0].idp_index, IdpIndex::HIVE);
    assert_eq!(list.accounts[0].idp_id, "HIVE");
    assert_eq!(list.accounts[1].idp_index.name(), Some("custom"));
    assert!(server.received_requests().await.unwrap().iter().all(|r| {
        r.url.path() != "/v2/game/player/get-idp" || !r.headers.contains_key("authorization")
    }));
    server.verify().await;
}

#[tokio::test]
async fn v2_idp_list_no_user_data_is_typed() {
    let server = MockServer::start().await;
    mount_token(&server, "server-jwt").await;
    Mock::given(path("/v2/game/player/get-idp"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"result_code": 2002, "result_msg": "no user data"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).await.idp_list(5).await.unwrap_err();
    assert!(matches!(
        err,
        Error::IdpRejected {
            code: IdpCode::NoUserData,
            ..
        }
    ));
    server.verify().await;
}

#[tokio::test]
async fn v1_verify_sends_certification_key_and_accepts_result_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/game/token/get-token"))
        .and(header("authorization", PLAYER_TOKEN))
        .and(header("iscrypt", "0"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "appid": APPID,
            "did": DID,
            "player_id": PLAYER_ID,
            "hive_certification_key": "sentinel-cert-key"
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"result_code": 0, "result_message": "SUCCESS"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder()
        .primary_url(server.uri())
        .appid(APPID)
        .certification_key(SecretString::from("sentinel-cert-key"))
        .build()
        .unwrap();
    let v = client.verify_token_v1(&server_params()).await.unwrap();
    assert_eq!(v.player_id, PLAYER_ID);
    let requests = server.received_requests().await.unwrap();
    assert!(!requests[0].headers.contains_key("x-access-token"));
    server.verify().await;
}

#[tokio::test]
async fn v1_verify_without_certification_key_omits_it_and_needs_no_credentials() {
    let server = MockServer::start().await;
    Mock::given(path("/game/token/get-token"))
        .and(body_json(
            json!({"appid": APPID, "did": DID, "player_id": PLAYER_ID}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"result_code": "7000", "result_msg": "invalid token"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder()
        .primary_url(server.uri())
        .appid(APPID)
        .build()
        .unwrap();
    let err = client.verify_token_v1(&server_params()).await.unwrap_err();
    assert!(matches!(
        err,
        Error::TokenRejected {
            code: VerifyCode::InvalidToken,
            ..
        }
    ));
    server.verify().await;
}

#[tokio::test]
async fn v1_idp_list_sends_the_documented_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/game/player/get-idp"))
        .and(header("iscrypt", "0"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "appid": APPID,
            "player_id": 90000000062_i64,
            "hive_certification_key": "sentinel-cert-key"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 0,
            "result_msg": "SUCCESS",
            "data": [{"seq": "14", "player_id": "90000000062", "idp_user_id": "u", "idp_index": "0", "idp_id": "GUEST"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder()
        .primary_url(server.uri())
        .appid(APPID)
        .certification_key(SecretString::from("sentinel-cert-key"))
        .build()
        .unwrap();
    let list = client.idp_list_v1(90_000_000_062).await.unwrap();
    assert_eq!(list.accounts[0].idp_index, IdpIndex::GUEST);
    assert_eq!(list.accounts[0].seq, 14);
    server.verify().await;
}

#[tokio::test]
async fn oauth_token_error_codes_are_typed_and_stop_the_call() {
    for (code, expected) in [
        (4000, OAuthCode::InvalidParameter),
        (4001, OAuthCode::ClientAuthenticationFailed),
        (4002, OAuthCode::UnsupportedGrantType),
        (4003, OAuthCode::NoPermission),
        (5000, OAuthCode::InternalError),
        (4100, OAuthCode::Other(4100)),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/oauth/token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"result_code": code, "result_msg": "refused"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(path("/v2/game/player/get-idp"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        match client(&server).await.idp_list(PLAYER_ID).await {
            Err(Error::OAuthRejected { code: c, message }) => {
                assert_eq!(c, expected);
                assert_eq!(message, "refused");
            }
            other => panic!("{code}: {other:?}"),
        }
        server.verify().await;
    }
}

#[tokio::test]
async fn default_verification_needs_no_client_credentials_the_server_token_apis_do() {
    let server = MockServer::start().await;
    mount_verified(&server, 1).await;
    let client = Client::builder()
        .primary_url(server.uri())
        .appid(APPID)
        .build()
        .unwrap();
    assert_eq!(
        client.verify_token(&params()).await.unwrap().player_id,
        PLAYER_ID
    );
    assert!(matches!(client.idp_list(1).await, Err(Error::Config(_))));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "only the verification was sent");
    server.verify().await;
}
