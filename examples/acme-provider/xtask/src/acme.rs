//! Acme's contract rules: how a fixture's steps drive `acme-auth`, how Acme signs, and how an
//! exchange with Acme's sandbox becomes a fixture.
//!
//! A step is `{"call": "verify", "token": "…", "expect": {"ok": {"player_id": "…",
//! "display_name": "…"}}}` or with `"expect": {"error": {"kind": "rejected", "code": 7, …}}`.

use std::sync::Arc;

use acme_auth::{AcmeVerifier, VERIFY_PATH, documented_code};
use gameauth_contract::record::wire;
use gameauth_contract::record::{
    Derived, Exchange, RecordRules, Scrubbed, SecretVar, post_endpoint,
};
use gameauth_contract::{
    ErrorFacts, Expect, Fixture, MockUpstream, Provider, SignInput, Signature, async_trait, same,
};
use gameauth_core::{AuthError, TokenVerifier, VerifiedPlayer, VerifyRequest};
use serde::Deserialize;
use serde_json::{Value, json};

/// The Acme provider.
pub(crate) struct Acme;

/// The dummy signing key of every fixture (the recorder swaps the real one for it).
const DUMMY_KEY: &str = "dummy-acme-signing-key";

#[derive(Deserialize)]
#[serde(tag = "call", rename_all = "snake_case", deny_unknown_fields)]
enum Step {
    Verify {
        token: String,
        expect: Expect<Player>,
    },
}

/// The player a token belongs to.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Player {
    player_id: String,
    #[serde(default)]
    display_name: Option<String>,
}

/// What an error of `acme-auth` is, in the terms of the fixtures' expectations.
fn facts(err: &AuthError) -> ErrorFacts {
    match err {
        AuthError::Rejected { code, message } => ErrorFacts::new("rejected", err)
            .code(*code, documented_code(*code))
            .message(message.clone()),
        AuthError::HttpStatus { status, .. } => ErrorFacts::new("http_status", err).status(*status),
        AuthError::Decode(d) => ErrorFacts::new("decode", err).path(d.path.clone()),
        AuthError::Transport(_) => ErrorFacts::new("transport", err),
        AuthError::InvalidInput(_) => ErrorFacts::new("invalid_input", err),
        AuthError::Config(_) => ErrorFacts::new("config", err),
        _ => ErrorFacts::new("other", err),
    }
}

fn same_player(got: VerifiedPlayer, want: Player) -> Result<(), String> {
    same("player_id", &got.player_id, &want.player_id)?;
    same(
        "display_name",
        got.display_name.as_deref().unwrap_or("none"),
        want.display_name.as_deref().unwrap_or("none"),
    )
}

#[async_trait]
impl Provider for Acme {
    fn name(&self) -> &'static str {
        "acme"
    }

    async fn run(&self, fixture: &Fixture) -> Result<(), String> {
        let upstream = MockUpstream::start(fixture).await?;
        let verifier = AcmeVerifier::builder()
            .base_url(upstream.uri("default")?)
            .key(fixture.key("signing_key")?)
            .clock(Arc::new(fixture.clock()))
            .ids(Arc::new(fixture.ids()))
            .build()
            .map_err(|e| format!("cannot build the verifier: {e}"))?;
        for (n, step) in fixture.parse_steps::<Step>()?.into_iter().enumerate() {
            let Step::Verify { token, expect } = step;
            let result = verifier.verify(&VerifyRequest::new(token.into())).await;
            if let Err(e) = expect.check(result.map_err(|e| facts(&e)), same_player) {
                return Err(upstream.annotate(format!("step {n}: {e}")).await);
            }
        }
        upstream.verify().await
    }

    /// Computed from the documented rule, not by `acme-auth`: the check stays an independent
    /// oracle of it.
    fn sign(&self, request: &SignInput<'_>, key: &str) -> Option<Signature> {
        let signature = gameauth_core::sign::hmac_sha1_base64(
            key.as_bytes(),
            &[request.path.as_bytes(), request.body],
        );
        Some(Signature::exact("signature", signature))
    }

    fn vector_readers(&self) -> &[&'static str] {
        &["acme-auth"]
    }

    fn recording(&self) -> Option<&dyn RecordRules> {
        Some(self)
    }
}

/// Acme's answer, read with this module's own copy of its shape (not `acme-auth`'s): the
/// recorder is an independent oracle of what Acme said.
#[derive(Deserialize)]
struct Answer {
    ok: bool,
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    player: Option<Value>,
}

/// The expectation Acme's documentation gives an answer.
fn expect(s: &Scrubbed) -> Value {
    if s.status != 200 {
        return json!({"error": {"kind": "http_status", "status": s.status}});
    }
    let Ok(answer) = serde_json::from_str::<Answer>(&s.response_body) else {
        return json!({"error": {"kind": "decode"}});
    };
    if !answer.ok {
        let message = gameauth_core::error::sanitize_message(&answer.message);
        return json!({"error": {"kind": "rejected", "code": answer.code,
            "known": documented_code(answer.code), "message": message}});
    }
    let player = answer.player.unwrap_or(Value::Null);
    match player.get("id").and_then(wire::text) {
        Some(id) => {
            let mut ok = json!({"player_id": id});
            if let Some(name) = player.get("name").and_then(Value::as_str) {
                ok["display_name"] = name.into();
            }
            json!({ "ok": ok })
        }
        None => json!({"error": {"kind": "decode", "path": "player"}}),
    }
}

impl RecordRules for Acme {
    fn secrets(&self) -> &[SecretVar] {
        const SECRETS: &[SecretVar] = &[SecretVar::signing("ACME_SIGNING_KEY", DUMMY_KEY)];
        SECRETS
    }

    fn request_headers(&self) -> &[&'static str] {
        &["signature", "content-type"]
    }

    fn call(&self, method: &str, path: &str) -> Option<(&'static str, String)> {
        post_endpoint(&[(VERIFY_PATH, "verify")], method, path)
    }

    /// The runner replays every step at one frozen time: every `ts` becomes the first one.
    fn normalise(&self, exchanges: &mut [Exchange]) -> i64 {
        let ts = |e: &Exchange| {
            serde_json::from_str::<Value>(&e.request_body)
                .ok()
                .and_then(|b| b["ts"].as_i64())
        };
        let clock = exchanges
            .iter()
            .find_map(ts)
            .unwrap_or_else(|| exchanges.first().map_or(0, |e| e.at));
        for ex in exchanges.iter_mut().filter(|e| ts(e).is_some()) {
            ex.request_body =
                gameauth_contract::record::json::rewrite(&ex.request_body, |key, token| {
                    match (key, token) {
                        (Some("ts"), gameauth_contract::record::json::Token::Num(_)) => {
                            Some(clock.to_string())
                        }
                        _ => None,
                    }
                });
        }
        clock
    }

    /// One step per call; the nonces are the fixture's ids, in order.
    fn derive(&self, scrubbed: &[Scrubbed], _clock: i64) -> Derived {
        let mut d = Derived::default();
        d.keys.insert("signing_key".into(), DUMMY_KEY.into());
        for (i, s) in scrubbed.iter().enumerate() {
            let body = s.json.as_ref().and_then(Value::as_object);
            let field = |name: &str| body.and_then(|b| b.get(name)).and_then(Value::as_str);
            let (Some(token), Some(nonce)) = (field("token"), field("nonce")) else {
                d.warnings
                    .push("a `verify` call without a token or a nonce is left out".into());
                continue;
            };
            let expect = expect(s);
            d.summary.push(format!("verify ({})", wire::label(&expect)));
            d.steps
                .push(json!({"call": "verify", "token": token, "expect": expect}));
            d.ids.push(nonce.to_owned());
            d.used.push(i);
        }
        d
    }
}
