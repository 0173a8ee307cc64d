//! Recording Acme end to end: a stand-in for Acme that checks the real signature, the kit's
//! recording proxy in-process, `acme-auth` driven through it, then the written fixture replayed
//! and checked like every other.

use std::sync::Arc;

use acme_auth::AcmeVerifier;
use gameauth_contract::record::{Meta, Proxy, Recorder, Secrets};
use gameauth_contract::{Layout, Provider, Registry, RunOptions, check_fixtures, contract_test};
use gameauth_core::{TokenVerifier, VerifyRequest};
use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::acme::Acme;

const REAL_KEY: &str = "acme-live-Zq8rT2vLx9PmW4kA";
const REAL_TOKEN: &str = "player-token-7Hq2Vb9x";

/// Answers a correctly signed call for [`REAL_TOKEN`] with player 42, any other with code 8.
struct StandIn;

impl Respond for StandIn {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let expected = acme_auth::sign(REAL_KEY.as_bytes(), "/verify", &request.body);
        let presented = request.headers.get("signature").map(|v| v.as_bytes());
        if presented != Some(expected.as_bytes()) {
            return ResponseTemplate::new(401);
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let answer = if body["token"] == REAL_TOKEN {
            r#"{"ok":true,"player":{"id":42,"name":"Ann"}}"#
        } else {
            r#"{"ok":false,"code":8,"message":"unknown token"}"#
        };
        ResponseTemplate::new(200).set_body_raw(answer, "application/json")
    }
}

#[tokio::test]
async fn a_recorded_exchange_is_scrubbed_re_signed_and_replays() {
    let upstream = MockServer::start().await;
    Mock::given(any())
        .respond_with(StandIn)
        .mount(&upstream)
        .await;
    let repo = tempfile::tempdir().unwrap();
    let layout = Layout::new(repo.path());
    let dir = layout.contract_dir("acme");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("recorded.json");
    let rules = Acme.recording().unwrap();
    let secrets = Secrets::load(rules, |_| Some(REAL_KEY.to_owned())).unwrap();
    let meta = Meta {
        scenario: "recorded".into(),
        source: "recorded: a local stand-in".into(),
    };
    let recorder = Recorder::new(&Acme, secrets, Vec::new(), meta, file.clone()).unwrap();
    let proxy = Proxy::start(
        ([127, 0, 0, 1], 0).into(),
        &upstream.uri(),
        rules.host(),
        Arc::new(recorder),
    )
    .await
    .unwrap();

    let verifier = AcmeVerifier::builder()
        .base_url(format!("http://{}", proxy.addr()))
        .key(REAL_KEY)
        .build()
        .unwrap();
    let player = verifier
        .verify(&VerifyRequest::new(REAL_TOKEN.into()))
        .await
        .unwrap();
    assert_eq!(player.player_id, "42");
    assert!(
        verifier
            .verify(&VerifyRequest::new("player-token-unknown".into()))
            .await
            .is_err()
    );

    let text = std::fs::read_to_string(&file).unwrap();
    for real in [REAL_KEY, REAL_TOKEN] {
        assert!(!text.contains(real), "{real} survived:\n{text}");
    }
    // The runner starts a runtime of its own, so it runs outside this test's.
    let (summary, report, check) = tokio::task::spawn_blocking(move || {
        let registry = Registry::new(&[&Acme]).unwrap();
        let mut report = Vec::new();
        let summary = contract_test(&layout, &registry, &RunOptions::new(), &mut report).unwrap();
        let check = check_fixtures(&layout, &registry).unwrap();
        (summary, String::from_utf8(report).unwrap(), check)
    })
    .await
    .unwrap();
    assert!(summary.success(), "{report}\n{text}");
    assert_eq!(summary.passed(), 1);
    assert!(check.problems.is_empty(), "{:?}", check.problems);
}
