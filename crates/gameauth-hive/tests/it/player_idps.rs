//! The token-validated IdP list (`/server/player/get-idpuserid`) on the wire and across hosts.

use std::time::Duration;

use gameauth_core::PlayerToken;
use gameauth_hive::{
    Client, DEFAULT_DEADLINE, Error, IdpIndex, PlayerIdpsCode, PlayerIdpsParams, ServedBy,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const PATH: &str = "/server/player/get-idpuserid";

fn params() -> PlayerIdpsParams {
    PlayerIdpsParams::new(PlayerToken::new(PLAYER_TOKEN), PLAYER_ID, DID)
}

/// A client with no server credentials at all: the player's token is the authorisation.
fn client(primary: &MockServer, fallback: Option<&MockServer>) -> Client {
    let mut b = Client::builder().primary_url(primary.uri()).appid(APPID);
    if let Some(f) = fallback {
        b = b.fallback_url(f.uri());
    }
    b.build().unwrap()
}

async fn answering(server: &MockServer, answer: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(answer)
        .expect(times)
        .mount(server)
        .await;
}

fn json_answer(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

#[tokio::test]
async fn the_request_is_the_documented_one_and_several_idps_come_back() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .and(header("authorization", PLAYER_TOKEN))
        .and(header("iscrypt", "0"))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"appid": APPID, "did": DID, "player_id": PLAYER_ID}),
        ))
        .respond_with(json_answer(json!({
            "result_code": 0,
            "result_msg": "SUCCESS",
            "data": {"list": [
                {"player_id": "21", "idp_user_id": "68101398", "idp_index": "1"},
                {"player_id": "21", "idp_user_id": "1122334455", "idp_index": "2"},
                {"player_id": "21", "idp_user_id": "g-5566", "idp_index": "3"},
                {"player_id": "21", "idp_user_id": "001234.abcd", "idp_index": "9"}
            ]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let idps = client(&server, None).player_idps(&params()).await.unwrap();
    assert_eq!(
        (idps.player_id, idps.served_by),
        (PLAYER_ID, ServedBy::Primary)
    );
    let names: Vec<_> = idps
        .accounts
        .iter()
        .map(|a| (a.idp_user_id.as_str(), a.idp_index.name()))
        .collect();
    assert_eq!(
        names,
        [
            ("68101398", Some("HIVE")),
            ("1122334455", Some("Facebook")),
            ("g-5566", Some("Google")),
            ("001234.abcd", Some("Sign in with Apple")),
        ]
    );
    let request = &server.received_requests().await.unwrap()[0];
    assert!(!request.headers.contains_key("x-access-token"));
    server.verify().await;
}

#[tokio::test]
async fn numbers_and_strings_decode_alike() {
    let server = MockServer::start().await;
    answering(
        &server,
        json_answer(json!({
            "result_code": "0",
            "data": {"list": [
                {"player_id": 21, "idp_user_id": 68101398, "idp_index": 1},
                {"player_id": "21", "idp_user_id": "68101398", "idp_index": "1"}
            ]}
        })),
        1,
    )
    .await;
    let idps = client(&server, None).player_idps(&params()).await.unwrap();
    assert_eq!(idps.accounts[0], idps.accounts[1]);
    assert_eq!(idps.accounts[0].player_id, PLAYER_ID);
    assert_eq!(idps.accounts[0].idp_index, IdpIndex::HIVE);
    server.verify().await;
}

#[tokio::test]
async fn refusals_are_typed_and_kept_with_their_code() {
    for (code, expected) in [
        (7000, PlayerIdpsCode::VerificationFailed),
        (4000, PlayerIdpsCode::InvalidParameter),
        (7777, PlayerIdpsCode::Other(7777)),
    ] {
        let server = MockServer::start().await;
        answering(
            &server,
            json_answer(json!({"result_code": code, "result_msg": "no"})),
            1,
        )
        .await;
        match client(&server, None).player_idps(&params()).await {
            Err(Error::PlayerIdpsRejected {
                code: c,
                message,
                served_by: ServedBy::Primary,
            }) => {
                assert_eq!((c, message.as_str()), (expected, "no"));
            }
            other => panic!("{code}: {other:?}"),
        }
        server.verify().await;
    }
}

#[tokio::test]
async fn a_refusal_on_the_primary_never_goes_to_the_fallback() {
    let (primary, fallback) = (MockServer::start().await, MockServer::start().await);
    answering(
        &primary,
        json_answer(json!({"result_code": 7000, "result_msg": "verification failed"})),
        1,
    )
    .await;
    answering(&fallback, json_answer(json!({"result_code": 0})), 0).await;
    let err = client(&primary, Some(&fallback))
        .player_idps(&params())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PlayerIdpsRejected { .. }), "{err:?}");
    fallback.verify().await;
}

#[tokio::test]
async fn a_503_on_the_primary_goes_to_the_fallback() {
    let (primary, fallback) = (MockServer::start().await, MockServer::start().await);
    answering(&primary, ResponseTemplate::new(503), 1).await;
    answering(
        &fallback,
        json_answer(json!({"result_code": 0, "data": {"list": [
            {"player_id": "21", "idp_user_id": "68101398", "idp_index": "1"}
        ]}})),
        1,
    )
    .await;
    let idps = client(&primary, Some(&fallback))
        .player_idps(&params())
        .await
        .unwrap();
    assert_eq!(idps.served_by, ServedBy::Fallback);
    assert_eq!(idps.accounts.len(), 1);
    primary.verify().await;
    fallback.verify().await;
}

#[tokio::test]
async fn a_silent_primary_goes_to_the_fallback_within_the_deadline() {
    let (primary, fallback) = (MockServer::start().await, MockServer::start().await);
    answering(
        &primary,
        json_answer(json!({"result_code": 0, "data": {"list": []}}))
            .set_delay(Duration::from_secs(30)),
        1,
    )
    .await;
    answering(
        &fallback,
        json_answer(json!({"result_code": 0, "data": {"list": []}})),
        1,
    )
    .await;
    let client = Client::builder()
        .primary_url(primary.uri())
        .fallback_url(fallback.uri())
        .appid(APPID)
        .primary_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let start = std::time::Instant::now();
    let idps = client.player_idps(&params()).await.unwrap();
    assert_eq!(idps.served_by, ServedBy::Fallback);
    assert!(start.elapsed() < DEFAULT_DEADLINE, "{:?}", start.elapsed());
    fallback.verify().await;
}

#[tokio::test]
async fn bad_input_sends_nothing() {
    let server = MockServer::start().await;
    let client = client(&server, None);
    for p in [
        PlayerIdpsParams::new(PlayerToken::new(PLAYER_TOKEN), -5, DID),
        PlayerIdpsParams::new(PlayerToken::new(PLAYER_TOKEN), 0, DID),
        PlayerIdpsParams::new(PlayerToken::new(""), PLAYER_ID, DID),
        PlayerIdpsParams::new(PlayerToken::new(PLAYER_TOKEN), PLAYER_ID, ""),
    ] {
        let err = client.player_idps(&p).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}
