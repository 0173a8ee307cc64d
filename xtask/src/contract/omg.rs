//! Contract runner for OMG: the `gameauth-omg` client against mocked OMG hosts, and the
//! `verify_session` responder against recorded callbacks.
//!
//! Steps (`"call"` selects the kind):
//! * `authorize`, `enter_game`, `ingame`: `input` holds `app_id` and the call's fields; `expect` is
//!   `{"ok": {...}}` with the returned values, or `{"error": {"kind": ..., ...}}` with the exact
//!   error kind and, where it applies, `code` (+ `known`, `message`), `status` or `path`.
//! * `verify_session`: `input.sessions` is the operator's session table and `input.store` is `up`
//!   or `down` (an outage); the named inbound `interaction` is sent through the responder and its
//!   answer compared with the recording.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use gameauth_core::secrecy::SecretString;
use gameauth_core::{
    AuthError, Clock, FixedIds, ManualClock, TokenVerifier, VerifiedPlayer, VerifyRequest,
    async_trait,
};
use gameauth_omg::{
    AuthorizeRequest, CallbackVerifier, Client, EnterGameRequest, Error, InGameRequest, OmgCode,
    ScreenMode, VerifySessionResponder,
};
use serde::Deserialize;

use super::{Direction, Fixture, MockUpstream, Vars, check_inbound_response, inbound_request};

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
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Expect<T> {
    Ok(T),
    Error(ExpectedError),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedError {
    /// `rejected`, `http_status`, `decode`, `transport`, `invalid_input`, `outcome_unknown`.
    kind: String,
    /// `rejected`: the numeric code.
    code: Option<i64>,
    /// `rejected`: whether the code is one of the documented ones (`false` = kept as `Other`).
    known: Option<bool>,
    /// `rejected`: OMG's message.
    message: Option<String>,
    /// `http_status`: the status.
    status: Option<u16>,
    /// `decode`: the field path.
    path: Option<String>,
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
pub(crate) async fn run(fixture: &Fixture) -> Result<(), String> {
    let upstream = MockUpstream::start(fixture).await?;
    let clock = fixture.clock();
    let ids = Arc::new(fixture.ids());
    let key = fixture.key("sign_key")?;
    let mut used = BTreeSet::new();
    let mut vars = Vars::new();
    for (n, raw) in fixture.steps.iter().enumerate() {
        let step: Step =
            serde_json::from_value(raw.clone()).map_err(|e| format!("step {n}: invalid: {e}"))?;
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
                used.insert(interaction.clone());
                verify_session(fixture, &ctx, input, &interaction, &mut vars).await
            }
        };
        if let Err(e) = outcome {
            // A stray request explains a failed step best ("header `sign` is …, expected …").
            return Err(match upstream.verify().await {
                Err(why) => format!("step {n}: {e}; {why}"),
                Ok(()) => format!("step {n}: {e}"),
            });
        }
    }
    if let Some(unused) = fixture.inbound().find(|i| !used.contains(&i.name)) {
        return Err(format!(
            "inbound interaction `{}` is used by no step",
            unused.name
        ));
    }
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
    match (result, expect) {
        (Ok(p), Expect::Ok(want)) => {
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
        }
        (result, expect) => outcome(result.map(|_| ()), expect),
    }
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
    match (result, expect) {
        (Ok(url), Expect::Ok(want)) => same("gameurl", url.expose_secret(), &want.gameurl),
        (result, expect) => outcome(result.map(|_| ()), expect),
    }
}

async fn verify_session(
    fixture: &Fixture,
    ctx: &Ctx<'_>,
    input: SessionsInput,
    name: &str,
    vars: &mut Vars,
) -> Result<(), String> {
    let down = match input.store.as_str() {
        "up" => false,
        "down" => true,
        other => return Err(format!("store must be `up` or `down`, not `{other}`")),
    };
    let interaction = fixture
        .interactions
        .iter()
        .find(|i| i.name == name && i.direction == Direction::Inbound)
        .ok_or_else(|| format!("no inbound interaction `{name}`"))?;
    let verifier = CallbackVerifier::builder()
        .key(SecretString::from(ctx.key.to_owned()))
        .clock(Arc::new(ctx.clock.clone()) as Arc<dyn Clock>)
        .build()
        .map_err(|e| format!("cannot build the verifier: {e}"))?;
    let sessions = Sessions {
        sessions: input.sessions,
        down,
    };
    let responder = VerifySessionResponder::new(verifier, Arc::new(sessions));
    let request = inbound_request(interaction, vars)?;
    let answer = responder.respond_to(&request).await;
    check_inbound_response(&interaction.response, answer, vars)
        .map_err(|e| format!("interaction `{name}`: {e}"))
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

fn same(field: &str, got: &str, want: &str) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{field} is {got:?}, expected {want:?}"))
    }
}

/// Compares a result with an expectation that the caller did not already settle (any
/// combination except success expected and obtained).
fn outcome<T>(result: Result<(), Error>, expect: Expect<T>) -> Result<(), String> {
    let want = match expect {
        Expect::Ok(_) => {
            return Err(match result {
                Err(e) => format!("expected success, got {e:?}"),
                Ok(()) => "expected success".to_owned(),
            });
        }
        Expect::Error(want) => want,
    };
    let err = match result {
        Ok(()) => return Err(format!("expected a `{}` error, got success", want.kind)),
        Err(e) => e,
    };
    let mismatch = || {
        let detail = [
            want.code.map(|c| format!(" code {c}")),
            want.status.map(|s| format!(" status {s}")),
            want.path.as_ref().map(|p| format!(" at `{p}`")),
        ]
        .into_iter()
        .flatten()
        .collect::<String>();
        format!("expected a `{}` error{detail}, got {err:?}", want.kind)
    };
    match (want.kind.as_str(), &err) {
        ("rejected", Error::Rejected { code, message }) => {
            if let Some(c) = want.code
                && code.code() != c
            {
                return Err(mismatch());
            }
            if let Some(known) = want.known
                && matches!(code, OmgCode::Other(_)) == known
            {
                return Err(format!(
                    "code {code} should be {}",
                    if known {
                        "a documented code"
                    } else {
                        "kept as Other"
                    }
                ));
            }
            if let Some(m) = &want.message {
                same("message", message, m)?;
            }
            Ok(())
        }
        ("http_status", Error::HttpStatus { status, .. }) => match want.status {
            Some(s) if s != *status => Err(mismatch()),
            _ => Ok(()),
        },
        ("decode", Error::Decode(d)) => match &want.path {
            Some(p) if *p != d.path => Err(mismatch()),
            _ => Ok(()),
        },
        ("transport", Error::Transport(_))
        | ("invalid_input", Error::InvalidInput(_))
        | ("outcome_unknown", Error::OutcomeUnknown) => Ok(()),
        _ => Err(mismatch()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: &str) -> ExpectedError {
        ExpectedError {
            kind: kind.into(),
            code: None,
            known: None,
            message: None,
            status: None,
            path: None,
        }
    }

    #[test]
    fn outcome_checks_kind_code_and_known() {
        let rejected = || {
            Err(Error::Rejected {
                code: OmgCode::Other(10099),
                message: "m".into(),
            })
        };
        let mut want = err("rejected");
        want.code = Some(10099);
        want.known = Some(false);
        assert!(outcome::<()>(rejected(), Expect::Error(want)).is_ok());
        let mut want = err("rejected");
        want.known = Some(true);
        assert!(outcome::<()>(rejected(), Expect::Error(want)).is_err());
        assert!(outcome::<()>(rejected(), Expect::Error(err("decode"))).is_err());
        assert!(outcome::<()>(Ok(()), Expect::Error(err("rejected"))).is_err());
        assert!(outcome::<()>(rejected(), Expect::Ok(())).is_err());
    }
}
