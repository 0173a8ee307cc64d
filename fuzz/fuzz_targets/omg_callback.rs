//! OMG `verify_session` callback: the body decoder, the freshness window and the responder.
//!
//! Input: `query \0 body`. The target signs the pair correctly (with an independent MD5), so the
//! fuzzer reaches the JSON decoder behind the signature check.
//!
//! Properties, besides never panicking:
//! * a correctly signed request with a valid query never fails on its signature;
//! * an accepted session is fresh (±300 s) and its `trace_id` is the query's;
//! * a stale refusal names a timestamp outside the window;
//! * the responder always answers HTTP 200 with a JSON `code`; `10002` only for a bad query;
//!   code `1` only for an accepted session and with an exact decimal balance; an outage of the
//!   operator's store is `10015`, never a success or a rejection.

#![no_main]

use std::sync::{Arc, OnceLock};

use gameauth_core::{
    AuthError, KeyRing, ManualClock, TokenVerifier, VerifiedPlayer, VerifyRequest, async_trait,
};
use gameauth_fuzz::{block_on, fields, json_record, omg_oracle, text};
use gameauth_omg::verify::trace_id;
use gameauth_omg::{CallbackError, CallbackVerifier, SignatureError, VerifySessionResponder};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

const KEY: &str = "39a6581c31ef3203a22edb2daa2ab6d1";
const NOW: i64 = 1_711_954_264;
const WINDOW: i64 = 300;
const SESSION_UP: &str = "50f15a92-ee8d-11ee-9a61-00ff3fae08f7";
const SESSION_DOWN: &str = "store-down";

/// The operator's sessions: one known session whose balance is the callback's
/// `custom_parameter` (so the fuzzer also chooses balances), one whose store is down.
struct Sessions;

#[async_trait]
impl TokenVerifier for Sessions {
    fn provider(&self) -> &str {
        "fuzz"
    }

    async fn verify(&self, request: &VerifyRequest) -> Result<VerifiedPlayer, AuthError> {
        if request.token.ct_eq(SESSION_DOWN) {
            return Err(AuthError::Unavailable("store down".into()));
        }
        if !request.token.ct_eq(SESSION_UP) {
            return Err(AuthError::rejected(10011, "unknown session"));
        }
        let balance = request
            .attributes
            .get("custom_parameter")
            .cloned()
            .unwrap_or_default();
        Ok(VerifiedPlayer::new("10003803")
            .with_display_name("bill")
            .with_balance(balance))
    }
}

fn verifier() -> &'static CallbackVerifier {
    static VERIFIER: OnceLock<CallbackVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        CallbackVerifier::builder()
            .key_ring(KeyRing::new(SecretString::from(KEY)))
            .clock(Arc::new(ManualClock::at_unix_seconds(NOW)))
            .freshness_window(std::time::Duration::from_secs(WINDOW as u64))
            .build()
            .expect("a valid verifier")
    })
}

fn responder() -> &'static VerifySessionResponder {
    static RESPONDER: OnceLock<VerifySessionResponder> = OnceLock::new();
    RESPONDER.get_or_init(|| VerifySessionResponder::new(verifier().clone(), Arc::new(Sessions)))
}

fuzz_target!(|data: &[u8]| {
    let [query, body] = fields::<2>(data);
    let query = query.filter(|q| !q.is_empty()).map(text);
    let body = body.unwrap_or_default();
    let query = query.as_deref();
    let sign = omg_oracle(query.unwrap_or_default(), body, KEY);
    let valid_query = query.and_then(|q| trace_id(q).ok());

    let session = verifier().verify_session(query, body, Some(&sign));
    match &session {
        Ok(s) => {
            assert_eq!(Some(s.trace_id.as_str()), valid_query);
            assert!(
                (s.timestamp - NOW).abs() <= WINDOW,
                "accepted a stale timestamp"
            );
            assert!(json_record(body), "an accepted body is a JSON object");
        }
        Err(CallbackError::Signature(e)) => {
            assert!(valid_query.is_none(), "a correct signature was refused");
            assert_eq!(*e, SignatureError::InvalidQuery);
        }
        Err(CallbackError::Stale { timestamp, now }) => {
            assert_eq!(*now, NOW);
            assert!(timestamp.abs_diff(*now) > WINDOW as u64);
        }
        Err(CallbackError::Malformed(_)) => assert!(valid_query.is_some()),
        Err(other) => panic!("unexpected refusal: {other:?}"),
    }
    if session.is_ok() {
        assert!(verifier().verify_fresh(query, body, Some(&sign)).is_ok());
    }

    let answer = block_on(responder().respond(query, body, Some(&sign)));
    assert_eq!(answer.status(), http::StatusCode::OK);
    let json: serde_json::Value =
        serde_json::from_slice(answer.body()).expect("the answer is JSON");
    let code = json["code"]
        .as_i64()
        .expect("the answer has an integer code");
    let expected = match &session {
        Err(CallbackError::Signature(_)) => 10002,
        Err(_) => 10009,
        Ok(s) if s.operator_player_session.ct_eq(SESSION_DOWN) => 10015,
        Ok(s) if s.operator_player_session.ct_eq(SESSION_UP) => {
            let balance = s.custom_parameter.as_deref().unwrap_or_default();
            if gameauth_core::lenient::is_decimal(balance) {
                1
            } else {
                10015
            }
        }
        Ok(_) => 10011,
    };
    assert_eq!(code, expected, "answer code");
    if code == 1 {
        let s = session.as_ref().expect("success for a refused callback");
        let balance = json["data"]["balance"].as_str().expect("a balance");
        assert_eq!(Some(balance), s.custom_parameter.as_deref());
        assert_eq!(json["data"]["uname"], "10003803");
    }
});
