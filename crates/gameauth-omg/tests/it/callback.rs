//! The callback side: `verify_session` answers and verification of any callback path.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use gameauth_core::{
    AuthError, KeyRing, ManualClock, TransportError, TransportErrorKind, VerifiedPlayer,
};
use gameauth_omg::{CallbackError, CallbackVerifier, SignatureError, VerifySessionResponder};
use http::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support::{
    Behaviour, NOW, O5_BODY, O5_QUERY, O5_SIGN, bill_sessions, callback_verifier, key, responder,
    sign,
};

fn body_json(response: &http::Response<Bytes>) -> Value {
    serde_json::from_slice(response.body()).expect("answer is JSON")
}

fn assert_json_answer(response: &http::Response<Bytes>) {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
}

#[tokio::test]
async fn known_session_answers_code_1_with_uname_nickname_balance() {
    let sessions = bill_sessions(Behaviour::Lookup);
    let answer = responder(sessions.clone())
        .respond(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
        .await;
    assert_json_answer(&answer);
    assert_eq!(
        answer.body().as_ref(),
        br#"{"code":1,"msg":"ok","data":{"uname":"10003803","nickname":"bill","balance":"42766.25"}}"#
    );
    let seen = sessions.last.lock().unwrap().clone().unwrap();
    assert!(seen.token.ct_eq("50f15a92-ee8d-11ee-9a61-00ff3fae08f7"));
    assert_eq!(seen.attributes["game_id"], "1");
    assert_eq!(seen.attributes["app_id"], "10013");
    assert_eq!(seen.client_ip, Some("127.0.0.1".parse().unwrap()));
}

#[tokio::test]
async fn bad_or_missing_sign_answers_10002_before_parsing() {
    let sessions = bill_sessions(Behaviour::Lookup);
    let r = responder(sessions.clone());
    let flipped = O5_SIGN.replace("ce69", "ce68");
    for s in [None, Some(""), Some(flipped.as_str()), Some(&O5_SIGN[..31])] {
        let answer = r.respond(Some(O5_QUERY), O5_BODY.as_bytes(), s).await;
        assert_json_answer(&answer);
        assert_eq!(
            answer.body().as_ref(),
            br#"{"code":10002,"msg":"sign invalid"}"#
        );
    }
    // Not JSON at all, and unsigned: still a signature answer, not a parse error.
    let answer = r.respond(Some(O5_QUERY), b"<html>", Some(O5_SIGN)).await;
    assert_eq!(body_json(&answer)["code"], 10002);
    assert_eq!(sessions.calls(), 0);
}

#[tokio::test]
async fn upper_case_sign_is_accepted() {
    let answer = responder(bill_sessions(Behaviour::Lookup))
        .respond(
            Some(O5_QUERY),
            O5_BODY.as_bytes(),
            Some(&O5_SIGN.to_ascii_uppercase()),
        )
        .await;
    assert_eq!(body_json(&answer)["code"], 1);
}

#[tokio::test]
async fn extra_duplicated_or_missing_query_parameters_answer_10002() {
    let sessions = bill_sessions(Behaviour::Lookup);
    let r = responder(sessions.clone());
    for query in [
        "trace_id=omgtrace000001&extra=1",
        "trace_id=omgtrace000001&trace_id=omgtrace000002",
        "?trace_id=omgtrace000001",
        "",
    ] {
        // Signed correctly over the presented query: the single-parameter rule still refuses it.
        let s = sign(query, O5_BODY);
        let answer = r.respond(Some(query), O5_BODY.as_bytes(), Some(&s)).await;
        assert_eq!(body_json(&answer)["code"], 10002, "{query}");
    }
    let answer = r.respond(None, O5_BODY.as_bytes(), Some(O5_SIGN)).await;
    assert_eq!(body_json(&answer)["code"], 10002);
    assert_eq!(sessions.calls(), 0);
}

#[tokio::test]
async fn re_serialised_json_answers_10002() {
    let reserialised =
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(O5_BODY).unwrap()).unwrap();
    let answer = responder(bill_sessions(Behaviour::Lookup))
        .respond(Some(O5_QUERY), reserialised.as_bytes(), Some(O5_SIGN))
        .await;
    assert_eq!(body_json(&answer)["code"], 10002);
}

#[tokio::test]
async fn unknown_session_answers_10011() {
    let body = O5_BODY.replace("50f15a92", "00000000");
    let s = sign(O5_QUERY, &body);
    let answer = responder(bill_sessions(Behaviour::Lookup))
        .respond(Some(O5_QUERY), body.as_bytes(), Some(&s))
        .await;
    assert_json_answer(&answer);
    assert_eq!(body_json(&answer)["code"], 10011);
    assert!(body_json(&answer).get("data").is_none());
}

#[tokio::test]
async fn store_outage_answers_10015_never_a_success_or_rejection() {
    let outages = [
        AuthError::Store("redis down".into()),
        AuthError::Unavailable("all hosts down".into()),
        AuthError::Transport(TransportError::new(
            TransportErrorKind::Timeout,
            true,
            "timeout",
        )),
    ];
    for e in outages {
        let answer = responder(bill_sessions(Behaviour::Fail(e)))
            .respond(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
            .await;
        assert_json_answer(&answer);
        assert_eq!(
            answer.body().as_ref(),
            br#"{"code":10015,"msg":"internal error"}"#
        );
    }
}

#[tokio::test]
async fn a_player_without_a_decimal_balance_answers_10015() {
    for player in [
        VerifiedPlayer::new("10003803"),
        VerifiedPlayer::new("10003803").with_balance("1e5"),
    ] {
        let sessions = Arc::new(
            crate::support::Sessions::new(Behaviour::Lookup)
                .with(crate::support::O5_SESSION, player),
        );
        let answer = responder(sessions)
            .respond(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
            .await;
        assert_eq!(body_json(&answer)["code"], 10015);
    }
}

#[tokio::test]
async fn a_player_without_a_display_name_is_shown_by_uname() {
    let sessions = Arc::new(crate::support::Sessions::new(Behaviour::Lookup).with(
        crate::support::O5_SESSION,
        VerifiedPlayer::new("10003803").with_balance("0"),
    ));
    let answer = responder(sessions)
        .respond(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
        .await;
    assert_eq!(
        body_json(&answer),
        json!({"code": 1, "msg": "ok", "data": {"uname": "10003803", "nickname": "10003803", "balance": "0"}})
    );
}

#[tokio::test]
async fn malformed_signed_body_answers_10009() {
    let sessions = bill_sessions(Behaviour::Lookup);
    let r = responder(sessions.clone());
    for body in [
        "not json",
        r#"{"app_id":"10013","timestamp":1711954264}"#,
        r#"{"app_id":"10013","timestamp":"soon","operator_player_session":"s"}"#,
        r#"{"app_id":"10013","timestamp":1711954264,"operator_player_session":7}"#,
    ] {
        let s = sign(O5_QUERY, body);
        let answer = r.respond(Some(O5_QUERY), body.as_bytes(), Some(&s)).await;
        assert_json_answer(&answer);
        assert_eq!(
            answer.body().as_ref(),
            br#"{"code":10009,"msg":"illegal parameter"}"#,
            "{body}"
        );
    }
    assert_eq!(sessions.calls(), 0);
}

#[tokio::test]
async fn a_signed_body_that_repeats_any_key_answers_10009_same_value_or_not() {
    let sessions = bill_sessions(Behaviour::Lookup);
    let r = responder(sessions.clone());
    for body in [
        r#"{"app_id":"10013","timestamp":1711954264,"timestamp":1711954264,"operator_player_session":"s"}"#,
        r#"{"app_id":"10013","timestamp":1711954264,"operator_player_session":"s","operator_player_session":"t"}"#,
        r#"{"app_id":"10013","timestamp":1711954264,"operator_player_session":"s","extra":1,"extra":1}"#,
        r#"{"app_id":"10013","timestamp":1711954264,"operator_player_session":"s","custom_parameter":{"k":1,"k":1}}"#,
    ] {
        let s = sign(O5_QUERY, body);
        let answer = r.respond(Some(O5_QUERY), body.as_bytes(), Some(&s)).await;
        assert_eq!(
            answer.body().as_ref(),
            br#"{"code":10009,"msg":"illegal parameter"}"#,
            "{body}"
        );
    }
    assert_eq!(sessions.calls(), 0);
    // `verify_fresh` (callbacks without a documented body) applies the same rule.
    let body = r#"{"timestamp":1711954264,"timestamp":1711954264}"#;
    let err = callback_verifier(&ManualClock::at_unix_seconds(NOW))
        .verify_fresh(Some(O5_QUERY), body.as_bytes(), Some(&sign(O5_QUERY, body)))
        .unwrap_err();
    assert!(
        matches!(&err, CallbackError::Malformed(d) if d.reason == "a key is repeated"),
        "{err:?}"
    );
}

#[tokio::test]
async fn stale_timestamp_answers_10009_without_asking_the_store() {
    let sessions = bill_sessions(Behaviour::Lookup);
    let clock = ManualClock::at_unix_seconds(NOW + 301);
    let r = VerifySessionResponder::new(callback_verifier(&clock), sessions.clone());
    let answer = r
        .respond(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
        .await;
    assert_json_answer(&answer);
    assert_eq!(
        answer.body().as_ref(),
        br#"{"code":10009,"msg":"timestamp outside the accepted window"}"#
    );
    clock.set_unix_seconds(NOW - 301);
    let answer = r
        .respond(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
        .await;
    assert_eq!(body_json(&answer)["code"], 10009);
    assert_eq!(sessions.calls(), 0);
}

#[tokio::test]
async fn string_timestamp_and_numeric_app_id_are_accepted() {
    let body = r#"{"app_id":10013,"timestamp":"1711954264","operator_player_session":"50f15a92-ee8d-11ee-9a61-00ff3fae08f7"}"#;
    let answer = responder(bill_sessions(Behaviour::Lookup))
        .respond(Some(O5_QUERY), body.as_bytes(), Some(&sign(O5_QUERY, body)))
        .await;
    assert_eq!(body_json(&answer)["code"], 1);
}

#[tokio::test]
async fn previous_key_is_accepted_only_inside_its_rotation_window() {
    let clock = ManualClock::at_unix_seconds(NOW);
    let until = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW as u64 + 60);
    let ring = KeyRing::new(SecretString::from("rotated-dummy-key")).with_previous(key(), until);
    let verifier = CallbackVerifier::builder()
        .key_ring(ring)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let r = VerifySessionResponder::new(verifier, bill_sessions(Behaviour::Lookup));
    let answer = r
        .respond(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
        .await;
    assert_eq!(body_json(&answer)["code"], 1);
    clock.set_unix_seconds(NOW + 61);
    let answer = r
        .respond(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
        .await;
    assert_eq!(body_json(&answer)["code"], 10002);
}

#[tokio::test]
async fn respond_to_reads_the_raw_query_and_the_sign_header_of_a_request() {
    let r = responder(bill_sessions(Behaviour::Lookup));
    let request = http::Request::builder()
        .method("POST")
        .uri(format!(
            "http://operator.example/api/luck/user/verify_session?{O5_QUERY}"
        ))
        .header("sign", O5_SIGN)
        .body(Bytes::from_static(O5_BODY.as_bytes()))
        .unwrap();
    assert_eq!(body_json(&r.respond_to(&request).await)["code"], 1);
    let twice = http::Request::builder()
        .method("POST")
        .uri(format!(
            "http://operator.example/api/luck/user/verify_session?{O5_QUERY}"
        ))
        .header("sign", O5_SIGN)
        .header("sign", O5_SIGN)
        .body(Bytes::from_static(O5_BODY.as_bytes()))
        .unwrap();
    assert_eq!(body_json(&r.respond_to(&twice).await)["code"], 10002);
}

#[test]
fn any_callback_path_verifies_and_change_balance_needs_no_window() {
    let clock = ManualClock::at_unix_seconds(NOW + 3600);
    let v = callback_verifier(&clock);
    let change_balance =
        r#"{"app_id":"10013","order_id":"o-1","amount":"-1.50","timestamp":1711954264}"#;
    let query = "trace_id=omgtrace000002";
    let s = sign(query, change_balance);
    let ok = v
        .verify(Some(query), change_balance.as_bytes(), Some(&s))
        .unwrap();
    assert_eq!(ok.trace_id, "omgtrace000002");
    // get_balance is subject to the window.
    assert!(matches!(
        v.verify_fresh(Some(query), change_balance.as_bytes(), Some(&s)),
        Err(CallbackError::Stale { .. })
    ));
    clock.set_unix_seconds(NOW);
    assert!(
        v.verify_fresh(Some(query), change_balance.as_bytes(), Some(&s))
            .is_ok()
    );
    assert_eq!(
        v.verify(Some(query), b"{}", Some(&s)),
        Err(CallbackError::Signature(SignatureError::Mismatch))
    );
}

#[test]
fn empty_callback_body_is_signed_over_the_query_alone() {
    let v = callback_verifier(&ManualClock::at_unix_seconds(NOW));
    // Vector O6.
    let ok = v.verify(
        Some("trace_id=dhf1aboc1iio"),
        b"",
        Some("3f54c39b40ee35b61ad4f02761c8bc34"),
    );
    assert_eq!(ok.unwrap().trace_id, "dhf1aboc1iio");
}

#[test]
fn verifier_requires_a_key() {
    assert!(matches!(
        CallbackVerifier::builder().build(),
        Err(gameauth_omg::Error::Config(_))
    ));
    assert!(matches!(
        CallbackVerifier::builder()
            .key(SecretString::from(""))
            .build(),
        Err(gameauth_omg::Error::Config(_))
    ));
}

#[test]
fn responder_debug_does_not_show_the_key() {
    let r = responder(bill_sessions(Behaviour::Lookup));
    assert_eq!(
        format!("{r:?}"),
        "VerifySessionResponder { verifier: CallbackVerifier { keys: KeyRing { current: \"[redacted]\", \
         previous_valid_until: None }, freshness: Some(300s), trace_id_rule: TraceIdRule { \
         alphabet: PrintableAscii, max_len: 128 }, .. }, sessions: \"operator\" }"
    );
}

#[test]
fn callback_errors_convert_to_core_errors() {
    let e: AuthError = CallbackError::Signature(SignatureError::MissingSign).into();
    assert!(matches!(e, AuthError::Signature));
    let e: AuthError = CallbackError::Stale {
        timestamp: 1,
        now: 1000,
    }
    .into();
    assert!(matches!(e, AuthError::InvalidInput(_)));
}
