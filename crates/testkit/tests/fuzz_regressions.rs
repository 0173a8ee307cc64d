//! Regression tests for fuzzing findings, each replaying its reproducer through the public API.
//!
//! F1: derived decoders read a JSON array in field order, so `[0]` once passed for
//! `{"result_code":0}`. Every provider answer and inbound body must be a JSON object; an array is
//! refused and never verifies, issues or acknowledges anything.
//!
//! F4: a decode error's path named a key of the provider's JSON as sent, so a key holding a
//! carriage return put one into the error text (and so into logs).

use std::sync::Arc;

use bytes::Bytes;
use gameauth_core::secrecy::SecretString;
use gameauth_core::{HttpTransport, KeyRing, ManualClock, PlayerToken, TransportError};

fn answering(body: &'static str) -> Arc<dyn HttpTransport> {
    Arc::new(move |_req: http::Request<Bytes>| async move {
        Ok::<_, TransportError>(http::Response::new(Bytes::from_static(body.as_bytes())))
    })
}

/// A legacy Hive verification whose every answer comes from `transport`.
async fn hive_v1_verification(
    transport: Arc<dyn HttpTransport>,
) -> Result<gameauth_hive::VerifiedToken, gameauth_hive::Error> {
    let client = gameauth_hive::Client::builder()
        .primary_url("https://hive.test")
        .appid("com.com2us.example")
        .certification_key(SecretString::from("dummy-certification-key"))
        .transport(transport)
        .build()
        .unwrap();
    let params = gameauth_hive::VerifyParams::new(
        PlayerToken::new("dummy-player-token"),
        21,
        "255764404509548",
    );
    client.verify_token_v1(&params).await
}

#[tokio::test]
async fn hive_never_verifies_a_player_from_an_array() {
    let outcome = hive_v1_verification(answering("[0]")).await;
    assert!(
        matches!(outcome, Err(gameauth_hive::Error::Decode(_))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn omg_issues_no_token_from_an_array() {
    let client = gameauth_omg::Client::builder()
        .base_url("https://omg.test")
        .app_id("10013")
        .key(SecretString::from("39a6581c31ef3203a22edb2daa2ab6d1"))
        .transport(answering(r#"[0,"ok",["tok","1.00","10013"]]"#))
        .build()
        .unwrap();
    let outcome = client
        .authorize(&gameauth_omg::AuthorizeRequest::new("10032355", "Bill"))
        .await;
    assert!(
        matches!(outcome, Err(gameauth_omg::Error::Decode(_))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn creditpay_returns_no_code_from_an_array() {
    let client = gameauth_creditpay::Client::builder()
        .base_url("https://cp.test/dg")
        .plat_id("328cf95950f54f89a2dd4c3bf98ac5fb")
        .api_key("dummy-api-key")
        .signature_keys(KeyRing::new("dummy-signature-key".into()))
        .clock(Arc::new(ManualClock::at_unix_seconds(1_732_520_000)))
        .transport(answering(r#"[0,null,["c0de","https://x.example/"]]"#))
        .build()
        .unwrap();
    let request = gameauth_creditpay::IdentifyAuthRequest::new(
        "473_32_86000698",
        PlayerToken::new("dummy-customer-token"),
        "https://platform.example/payment/callback",
        1_732_521_424_191,
        "192.168.1.166",
    );
    let outcome = client.identify_auth(&request).await;
    assert!(
        matches!(outcome, Err(gameauth_creditpay::Error::Decode(_))),
        "{outcome:?}"
    );
}

#[test]
fn creditpay_refuses_a_webhook_event_given_as_an_array() {
    assert!(
        gameauth_creditpay::inbound::webhook::decode_event(br#"["PAY_SUCCESS",null,0,"evt-1"]"#)
            .is_err()
    );
    assert!(
        gameauth_creditpay::inbound::webhook::decode_event(
            br#"{"type":"PAY_SUCCESS","platform_id":"p","retry":0,"event_id":"evt-1","data":{}}"#
        )
        .is_ok()
    );
}

#[tokio::test]
async fn hive_decode_errors_carry_no_control_characters_from_the_answer() {
    // The reproducer's answer: an unknown `data` key with a CR whose number is out of range.
    let answer = r#"{"data":{"cresult^\reshina_Aamp":1e145719000},"result_code":0,"resuio9n":{"result_bodeest_msg":"SUCCESS"}}"#;
    let outcome = hive_v1_verification(answering(answer)).await;
    let Err(err @ gameauth_hive::Error::Decode(_)) = &outcome else {
        panic!("{outcome:?}");
    };
    let text = err.to_string();
    assert!(!text.contains(['\r', '\n', '\t']), "{text:?}");
    assert!(text.contains("cresult^ eshina_Aamp"), "{text:?}");
}
