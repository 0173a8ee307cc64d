//! Unit tests of the inbound side: the verifier and the `verify_session` responder.

use super::*;
use gameauth_core::ManualClock;

const O5_QUERY: &str = "trace_id=omgtrace000001";
const O5_BODY: &str = r#"{"app_id":"10013","timestamp":1711954264,"operator_player_session":"50f15a92-ee8d-11ee-9a61-00ff3fae08f7","ip":"127.0.0.1","custom_parameter":"","game_id":1}"#;
const O5_SIGN: &str = "ce6993bb75920fd40b14125702a87501";

fn verifier(clock: &ManualClock) -> CallbackVerifier {
    CallbackVerifier::builder()
        .key(SecretString::from("39a6581c31ef3203a22edb2daa2ab6d1"))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

#[test]
fn verify_session_vector_o5_verifies_and_decodes() {
    let clock = ManualClock::at_unix_seconds(1_711_954_264);
    let s = verifier(&clock)
        .verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
        .unwrap();
    assert_eq!(s.trace_id, "omgtrace000001");
    assert_eq!(s.app_id, "10013");
    assert_eq!(s.game_id, Some(1));
    assert_eq!(s.ip.as_deref(), Some("127.0.0.1"));
    assert!(
        s.operator_player_session
            .ct_eq("50f15a92-ee8d-11ee-9a61-00ff3fae08f7")
    );
}

#[test]
fn freshness_window_is_300_seconds_either_way_by_default() {
    let clock = ManualClock::at_unix_seconds(1_711_954_264 + 300);
    let v = verifier(&clock);
    assert!(
        v.verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
            .is_ok()
    );
    clock.set_unix_seconds(1_711_954_264 + 301);
    assert_eq!(
        v.verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
            .unwrap_err(),
        CallbackError::Stale {
            timestamp: 1_711_954_264,
            now: 1_711_954_565
        }
    );
    clock.set_unix_seconds(1_711_954_264 - 301);
    assert!(
        v.verify_fresh(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
            .is_err()
    );
}

#[test]
fn freshness_window_is_configurable_and_can_be_disabled() {
    let clock = ManualClock::at_unix_seconds(1_711_954_264 + 100);
    let key = SecretString::from("39a6581c31ef3203a22edb2daa2ab6d1");
    let narrow = CallbackVerifier::builder()
        .key(key.clone())
        .clock(Arc::new(clock.clone()))
        .freshness_window(Duration::from_secs(60))
        .build()
        .unwrap();
    assert!(matches!(
        narrow.verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN)),
        Err(CallbackError::Stale { .. })
    ));
    let off = CallbackVerifier::builder()
        .key(key)
        .clock(Arc::new(ManualClock::at_unix_seconds(0)))
        .without_freshness_window()
        .build()
        .unwrap();
    assert!(
        off.verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
            .is_ok()
    );
}

#[test]
fn freshness_window_can_be_widened() {
    let clock = ManualClock::at_unix_seconds(1_711_954_264 - 3600);
    let wide = CallbackVerifier::builder()
        .key(SecretString::from("39a6581c31ef3203a22edb2daa2ab6d1"))
        .clock(Arc::new(clock.clone()))
        .freshness_window(Duration::from_secs(3600))
        .build()
        .unwrap();
    assert!(
        wide.verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
            .is_ok()
    );
    clock.set_unix_seconds(1_711_954_264 + 3601);
    assert!(matches!(
        wide.verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN)),
        Err(CallbackError::Stale { .. })
    ));
    let widest = CallbackVerifier::builder()
        .key(SecretString::from("39a6581c31ef3203a22edb2daa2ab6d1"))
        .clock(Arc::new(ManualClock::at_unix_seconds(0)))
        .freshness_window(Duration::MAX)
        .build()
        .unwrap();
    assert!(
        widest
            .verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
            .is_ok()
    );
}

#[test]
fn a_stricter_trace_id_rule_refuses_what_the_default_accepts() {
    use crate::verify::TraceIdAlphabet;
    let clock = ManualClock::at_unix_seconds(1_711_954_264);
    let key = SecretString::from("39a6581c31ef3203a22edb2daa2ab6d1");
    let query = "trace_id=omg:trace/0001";
    let sign = crate::sign::sign(query, O5_BODY.as_bytes(), &key);
    assert!(
        verifier(&clock)
            .verify_session(Some(query), O5_BODY.as_bytes(), Some(&sign))
            .is_ok()
    );
    let strict = CallbackVerifier::builder()
        .key(key)
        .clock(Arc::new(clock))
        .trace_id_rule(TraceIdRule::new(TraceIdAlphabet::Alphanumeric, 14).unwrap())
        .build()
        .unwrap();
    assert_eq!(
        strict
            .verify_session(Some(query), O5_BODY.as_bytes(), Some(&sign))
            .unwrap_err(),
        CallbackError::Signature(SignatureError::InvalidQuery)
    );
    assert!(
        strict
            .verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
            .is_ok()
    );
}

#[test]
fn change_balance_style_verification_applies_no_window() {
    let clock = ManualClock::at_unix_seconds(2_000_000_000);
    let v = verifier(&clock);
    assert!(
        v.verify(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
            .is_ok()
    );
    assert!(
        v.verify_fresh(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
            .is_err()
    );
}

#[test]
fn signature_is_checked_before_the_body_is_parsed() {
    let clock = ManualClock::at_unix_seconds(1_711_954_264);
    let err = verifier(&clock)
        .verify_session(Some(O5_QUERY), b"<html>not json", Some(O5_SIGN))
        .unwrap_err();
    assert_eq!(err, CallbackError::Signature(SignatureError::Mismatch));
}

#[test]
fn oversized_body_is_refused_before_hashing() {
    let clock = ManualClock::at_unix_seconds(1_711_954_264);
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    let err = verifier(&clock)
        .verify(Some(O5_QUERY), &big, Some(O5_SIGN))
        .unwrap_err();
    assert_eq!(err, CallbackError::BodyTooLarge);
    assert_eq!(err.to_response().status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[test]
fn sign_header_must_be_present_once() {
    let mut h = HeaderMap::new();
    assert_eq!(sign_header(&h), None);
    h.append("sign", HeaderValue::from_static("abc"));
    assert_eq!(sign_header(&h), Some("abc"));
    h.append("sign", HeaderValue::from_static("def"));
    assert_eq!(sign_header(&h), None);
}

#[test]
fn verifier_debug_does_not_show_the_key() {
    let clock = ManualClock::at_unix_seconds(0);
    assert_eq!(
        format!("{:?}", verifier(&clock)),
        "CallbackVerifier { keys: KeyRing { current: \"[redacted]\", previous_valid_until: None }, \
         freshness: Some(300s), trace_id_rule: TraceIdRule { alphabet: PrintableAscii, \
         max_len: 128 }, .. }"
    );
    let b = CallbackVerifier::builder().key(SecretString::from("sentinel"));
    assert!(!format!("{b:?}").contains("sentinel"));
}

#[test]
fn verify_session_debug_does_not_show_the_session_token() {
    let clock = ManualClock::at_unix_seconds(1_711_954_264);
    let s = verifier(&clock)
        .verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
        .unwrap();
    assert_eq!(
        format!("{s:?}"),
        "VerifySession { trace_id: \"omgtrace000001\", app_id: \"10013\", timestamp: 1711954264, \
         operator_player_session: PlayerToken([redacted]), game_id: Some(1), \
         ip: Some(\"127.0.0.1\"), custom_parameter: Some(\"\") }"
    );
}
