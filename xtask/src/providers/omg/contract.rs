//! Contract runner for OMG: the `gameauth-omg` client against mocked OMG hosts, and the
//! `verify_session` responder against recorded callbacks.
//!
//! Steps (`"call"` selects the kind):
//! * `authorize`, `enter_game`, `ingame`: `input` holds `app_id` and the call's fields; `expect` is
//!   `{"ok": {...}}` with the returned values, or `{"error": {"kind": ..., ...}}` with the exact
//!   error kind and, where it applies, `code` (+ `known`, `message`), `status` or `path`.
//! * `verify_session`: `input.sessions` is the operator's session table and `input.store` is `up`
//!   or `down` (an outage); optional settings of the verifier: `trace_id_rule`
//!   (`{"alphabet": "printable_ascii" | "unreserved" | "alphanumeric", "max_len": N}`),
//!   `freshness_window_secs` (default 300) or `no_freshness_window`. The named inbound
//!   `interaction` is sent through the responder and its answer compared with the recording.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use gameauth_contract::inbound::from_fn;
use gameauth_contract::{ErrorFacts, Expect, Fixture, Inbound, MockUpstream, same};
use gameauth_core::secrecy::SecretString;
use gameauth_core::{
    AuthError, Clock, FixedIds, ManualClock, TokenVerifier, VerifiedPlayer, VerifyRequest,
    async_trait,
};
use gameauth_omg::{
    AuthorizeRequest, CallbackVerifier, Client, EnterGameRequest, Error, InGameRequest, OmgCode,
    ScreenMode, TraceIdAlphabet, TraceIdRule, VerifySessionResponder,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(tag = "call", rename_all = "snake_case", deny_unknown_fields)]
enum Step {
    Authorize {
        input: AuthorizeInput,
        expect: Expect<AuthorizeOk>,
    },
    EnterGame {
        input: EnterGameInput,
        expect: Expect<LaunchOk>,
    },
    Ingame {
        input: InGameInput,
        expect: Expect<LaunchOk>,
    },
    VerifySession {
        input: SessionsInput,
        interaction: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorizeInput {
    app_id: String,
    uname: String,
    nickname: String,
    cid: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorizeOk {
    token: String,
    balance: String,
    app_id: String,
    /// Unix seconds.
    expires_at: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnterGameInput {
    app_id: String,
    token: String,
    game_id: String,
    screen_mode: String,
    lang: Option<String>,
    back_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InGameInput {
    app_id: String,
    token: String,
    game_id: String,
    nick: String,
    screen_mode: String,
    lang: Option<String>,
    cid: Option<i64>,
    back_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LaunchOk {
    gameurl: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionsInput {
    sessions: Vec<Session>,
    /// `up` or `down`.
    store: String,
    /// A stricter `trace_id` rule than the default.
    #[serde(default)]
    trace_id_rule: Option<TraceIdRuleInput>,
    /// The freshness window in seconds (default 300).
    #[serde(default)]
    freshness_window_secs: Option<u64>,
    /// Accept any timestamp.
    #[serde(default)]
    no_freshness_window: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TraceIdRuleInput {
    /// `printable_ascii`, `unreserved` or `alphanumeric`.
    alphabet: String,
    max_len: usize,
}

impl TraceIdRuleInput {
    fn rule(&self) -> Result<TraceIdRule, String> {
        let alphabet = match self.alphabet.as_str() {
            "printable_ascii" => TraceIdAlphabet::PrintableAscii,
            "unreserved" => TraceIdAlphabet::Unreserved,
            "alphanumeric" => TraceIdAlphabet::Alphanumeric,
            other => return Err(format!("unknown trace_id alphabet `{other}`")),
        };
        TraceIdRule::new(alphabet, self.max_len).map_err(|e| format!("trace_id_rule: {e}"))
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Session {
    session: String,
    uname: String,
    nickname: Option<String>,
    balance: Option<String>,
}

/// The operator's session table, in memory; `down` answers every lookup with a store outage.
struct Sessions {
    sessions: Vec<Session>,
    down: bool,
}

#[async_trait]
impl TokenVerifier for Sessions {
    fn provider(&self) -> &str {
        "operator"
    }

    async fn verify(&self, request: &VerifyRequest) -> Result<VerifiedPlayer, AuthError> {
        if self.down {
            return Err(AuthError::Store("session store unavailable".into()));
        }
        let s = self
            .sessions
            .iter()
            .find(|s| request.token.ct_eq(&s.session))
            .ok_or_else(|| AuthError::rejected(404, "unknown session"))?;
        let mut player = VerifiedPlayer::new(s.uname.clone());
        if let Some(n) = &s.nickname {
            player = player.with_display_name(n.clone());
        }
        if let Some(b) = &s.balance {
            player = player.with_balance(b.clone());
        }
        Ok(player)
    }
}

/// Replays one OMG fixture.
pub(super) async fn run(fixture: &Fixture) -> Result<(), String> {
    let upstream = MockUpstream::start(fixture).await?;
    let clock = fixture.clock();
    let ids = Arc::new(fixture.ids());
    let key = fixture.key("sign_key")?;
    let mut inbound = Inbound::new(fixture);
    for (n, step) in fixture.parse_steps::<Step>()?.into_iter().enumerate() {
        let ctx = Ctx {
            upstream: &upstream,
            clock: &clock,
            ids: &ids,
            key: &key,
        };
        let outcome = match step {
            Step::Authorize { input, expect } => authorize(&ctx, input, expect).await,
            Step::EnterGame { input, expect } => enter_game(&ctx, input, expect).await,
            Step::Ingame { input, expect } => ingame(&ctx, input, expect).await,
            Step::VerifySession { input, interaction } => {
                verify_session(&ctx, input, &interaction, &mut inbound).await
            }
        };
        if let Err(e) = outcome {
            return Err(upstream.annotate(format!("step {n}: {e}")).await);
        }
    }
    inbound.finish()?;
    upstream.verify().await
}

struct Ctx<'a> {
    upstream: &'a MockUpstream,
    clock: &'a ManualClock,
    ids: &'a Arc<FixedIds>,
    key: &'a str,
}

impl Ctx<'_> {
    fn client(&self, app_id: &str) -> Result<Client, String> {
        Client::builder()
            .base_url(self.upstream.uri("default")?)
            .app_id(app_id)
            .key(SecretString::from(self.key.to_owned()))
            .clock(Arc::new(self.clock.clone()))
            .ids(self.ids.clone())
            .build()
            .map_err(|e| format!("cannot build the client: {e}"))
    }
}

async fn authorize(
    ctx: &Ctx<'_>,
    input: AuthorizeInput,
    expect: Expect<AuthorizeOk>,
) -> Result<(), String> {
    let mut request = AuthorizeRequest::new(input.uname, input.nickname);
    if let Some(cid) = input.cid {
        request = request.with_cid(cid);
    }
    let result = ctx.client(&input.app_id)?.authorize(&request).await;
    expect.check(result.map_err(|e| facts(&e)), |p, want| {
        let expires_at = p
            .expires_at
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "expiry before 1970".to_owned())?;
        same("token", p.token.expose_secret(), &want.token)?;
        same("balance", &p.balance, &want.balance)?;
        same("app_id", &p.app_id, &want.app_id)?;
        if expires_at != Duration::from_secs(want.expires_at) {
            return Err(format!(
                "expires_at is {}, expected {}",
                expires_at.as_secs(),
                want.expires_at
            ));
        }
        Ok(())
    })
}

async fn enter_game(
    ctx: &Ctx<'_>,
    input: EnterGameInput,
    expect: Expect<LaunchOk>,
) -> Result<(), String> {
    let mut request = EnterGameRequest::new(
        input.token.into(),
        input.game_id,
        screen_mode(&input.screen_mode)?,
    );
    if let Some(lang) = input.lang {
        request = request.with_lang(lang);
    }
    if let Some(url) = input.back_url {
        request = request.with_back_url(url);
    }
    let result = ctx.client(&input.app_id)?.enter_game(&request).await;
    launched(result, expect)
}

async fn ingame(ctx: &Ctx<'_>, input: InGameInput, expect: Expect<LaunchOk>) -> Result<(), String> {
    let mut request = InGameRequest::new(
        input.token.into(),
        input.game_id,
        input.nick,
        screen_mode(&input.screen_mode)?,
    );
    if let Some(lang) = input.lang {
        request = request.with_lang(lang);
    }
    if let Some(cid) = input.cid {
        request = request.with_cid(cid);
    }
    if let Some(url) = input.back_url {
        request = request.with_back_url(url);
    }
    let result = ctx.client(&input.app_id)?.ingame(&request).await;
    launched(result, expect)
}

fn launched(
    result: Result<gameauth_omg::GameUrl, Error>,
    expect: Expect<LaunchOk>,
) -> Result<(), String> {
    expect.check(result.map_err(|e| facts(&e)), |url, want| {
        same("gameurl", url.expose_secret(), &want.gameurl)
    })
}

async fn verify_session(
    ctx: &Ctx<'_>,
    input: SessionsInput,
    name: &str,
    inbound: &mut Inbound<'_>,
) -> Result<(), String> {
    let down = match input.store.as_str() {
        "up" => false,
        "down" => true,
        other => return Err(format!("store must be `up` or `down`, not `{other}`")),
    };
    let mut builder = CallbackVerifier::builder()
        .key(SecretString::from(ctx.key.to_owned()))
        .clock(Arc::new(ctx.clock.clone()) as Arc<dyn Clock>);
    if let Some(rule) = &input.trace_id_rule {
        builder = builder.trace_id_rule(rule.rule()?);
    }
    builder = match (input.freshness_window_secs, input.no_freshness_window) {
        (Some(_), true) => {
            return Err("give freshness_window_secs or no_freshness_window, not both".into());
        }
        (Some(secs), false) => builder.freshness_window(Duration::from_secs(secs)),
        (None, true) => builder.without_freshness_window(),
        (None, false) => builder,
    };
    let verifier = builder
        .build()
        .map_err(|e| format!("cannot build the verifier: {e}"))?;
    let sessions = Sessions {
        sessions: input.sessions,
        down,
    };
    let responder = VerifySessionResponder::new(verifier, Arc::new(sessions));
    let responder = &responder;
    inbound
        .replay(
            name,
            from_fn(|request| async move { responder.respond_to(&request).await }),
        )
        .await
}

fn screen_mode(value: &str) -> Result<ScreenMode, String> {
    match value {
        "1" => Ok(ScreenMode::VerticalFull),
        "2" => Ok(ScreenMode::Half),
        "3" => Ok(ScreenMode::HorizontalFull),
        other => Err(format!(
            "screen_mode must be \"1\", \"2\" or \"3\", not {other:?}"
        )),
    }
}

/// What an OMG error is, in the terms of the fixtures' expectations.
fn facts(err: &Error) -> ErrorFacts {
    match err {
        Error::Rejected { code, message } => ErrorFacts::new("rejected", err)
            .code(code.as_i64(), !matches!(code, OmgCode::Other(_)))
            .message(message.clone()),
        Error::HttpStatus { status, .. } => ErrorFacts::new("http_status", err).status(*status),
        Error::Decode(d) => ErrorFacts::new("decode", err).path(d.path.clone()),
        Error::Transport(_) => ErrorFacts::new("transport", err),
        Error::InvalidInput(_) => ErrorFacts::new("invalid_input", err),
        Error::OutcomeUnknown => ErrorFacts::new("outcome_unknown", err),
        Error::Config(_) => ErrorFacts::new("config", err),
        _ => ErrorFacts::new("unknown", err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect(json: serde_json::Value) -> Expect<()> {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn errors_are_described_by_kind_code_and_known() {
        let rejected = || {
            Err(facts(&Error::Rejected {
                code: OmgCode::Other(10099),
                message: "m".into(),
            }))
        };
        let ok = |_: (), _: ()| Ok(());
        let e = expect(
            serde_json::json!({"error": {"kind": "rejected", "code": 10099, "known": false}}),
        );
        assert!(e.check(rejected(), ok).is_ok());
        let e = expect(serde_json::json!({"error": {"kind": "rejected", "known": true}}));
        assert!(e.check(rejected(), ok).is_err());
        let e = expect(serde_json::json!({"error": {"kind": "decode"}}));
        assert!(e.check(rejected(), ok).is_err());
        let e = expect(serde_json::json!({"error": {"kind": "rejected"}}));
        assert!(e.check(Ok(()), ok).is_err());
        let e = expect(serde_json::json!({"ok": null}));
        assert!(e.check(rejected(), ok).is_err());
    }
}
