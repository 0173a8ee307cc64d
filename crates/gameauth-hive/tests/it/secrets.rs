//! Secrets never appear in `Debug`, `Display` or errors.

use gameauth_core::secrecy::SecretString;
use gameauth_hive::{AccessToken, Client, Error};
use serde_json::json;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

#[test]
fn access_token_debug_is_pinned() {
    let t = AccessToken::new("sentinel-access-token");
    assert_eq!(format!("{t:?}"), "AccessToken([redacted])");
    assert_eq!(format!("{t:#?}"), "AccessToken([redacted])");
}

#[test]
fn client_debug_is_pinned_and_shows_no_secret() {
    let client = builder()
        .primary_url("http://127.0.0.1:8080")
        .fallback_url("http://127.0.0.1:8081")
        .certification_key(SecretString::from("sentinel-cert-key"))
        .build()
        .unwrap();
    assert_eq!(
        format!("{client:?}"),
        "Client { appid: \"com.com2us.hivesdk.normal.freefull.apple.global.ios.universal\", \
         primary: \"http://127.0.0.1:8080\", fallback: Some(\"http://127.0.0.1:8081\"), \
         verify_access_token: Player, oauth: Some(\"http://127.0.0.1:8080\"), client_id: Some(\"project_abc123\"), \
         client_secret: Some(\"[redacted]\"), certification_key: Some(\"[redacted]\"), \
         timeouts: Timeouts { primary: 2s, fallback: 2s, deadline: 4.5s }, .. }"
    );
}

#[test]
fn builder_debug_shows_no_secret() {
    let b = builder().certification_key(SecretString::from("sentinel-cert-key"));
    let text = format!("{b:?}");
    assert!(!text.contains("sentinel"), "{text}");
    assert!(
        text.contains("client_secret: Some(\"[redacted]\")"),
        "{text}"
    );
}

#[test]
fn verify_params_debug_hides_the_player_token_and_access_token() {
    let text = format!("{:?}", params());
    assert!(!text.contains("sentinel"), "{text}");
    assert!(text.contains("token: PlayerToken([redacted])"), "{text}");
    assert!(
        text.contains("access_token: Some(PlayerToken([redacted]))"),
        "{text}"
    );
}

#[tokio::test]
async fn errors_never_quote_bodies_or_tokens() {
    let server = MockServer::start().await;
    mount_token(&server, "sentinel-access-token").await;
    Mock::given(path("/v2/game/token/get-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 0,
            "data": {"is_blocked": "sentinel-body-value"}
        })))
        .mount(&server)
        .await;
    let client = builder().primary_url(server.uri()).build().unwrap();
    let err = client.verify_token(&params()).await.unwrap_err();
    assert!(matches!(&err, Error::Decode(d) if d.path == "data.is_blocked"));
    for text in [err.to_string(), format!("{err:?}"), format!("{client:?}")] {
        assert!(!text.contains("sentinel"), "{text}");
    }
}

#[test]
fn config_errors_never_quote_urls() {
    let err = Client::builder()
        .primary_url("http://user:sentinel-password@127.0.0.1/?k=sentinel-query")
        .appid(APPID)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    assert!(!err.to_string().contains("sentinel"), "{err}");
}

// The capturing subscriber is this thread's: every task must run on it.
#[tokio::test(flavor = "current_thread")]
async fn a_full_flow_logs_no_secret() {
    let (_guard, logs) = testkit::capture_logs();
    let (primary, fallback) = (MockServer::start().await, MockServer::start().await);
    mount_token(&primary, "sentinel-access-token").await;
    Mock::given(path("/v2/game/token/get-token"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&primary)
        .await;
    Mock::given(path("/v2/game/token/get-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 7000, "result_msg": "invalid token"
        })))
        .mount(&fallback)
        .await;
    let client = builder()
        .primary_url(primary.uri())
        .fallback_url(fallback.uri())
        .certification_key(SecretString::from("sentinel-cert-key"))
        .build()
        .unwrap();
    let err = client.verify_token(&params()).await.unwrap_err();
    let v1 = client.verify_token_v1(&server_params()).await.unwrap_err();
    // The server token: fetched, sent, and refused by the (broken, then rejecting) hosts.
    let idp = client.idp_list(PLAYER_ID).await.unwrap_err();
    assert!(
        !logs.contents().is_empty(),
        "the transport logged at TRACE level"
    );
    for text in [logs.contents(), format!("{err:?} {v1:?} {idp:?}")] {
        assert!(!text.contains("sentinel"), "{text}");
    }
}
