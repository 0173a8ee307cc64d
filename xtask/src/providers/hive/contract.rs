//! Contract runner for Hive: the `gameauth-hive` client against mocked `primary` and `fallback`
//! hosts (the OAuth token is served by the primary only).
//!
//! Keys: `client_id`, `client_secret` (the server token: v2 IdP list, `verify_server_token`) and,
//! optionally, `certification_key` (v1). One client per `appid` and verification mode is built
//! for the whole fixture, so later steps see the token cache and breaker of earlier ones; the
//! steps other than `verify` and `verify_server_token` share the server-token client of their
//! `appid` when the fixture has one (its token cache), else the default one. The
//! fallback host exists when the fixture has an interaction on host `fallback` (use `"times": 0`
//! to declare a fallback, or a primary, that must see nothing).
//!
//! Steps (`"call"` selects the kind; any step may add `within_ms`, a bound on how long the call
//! takes):
//! * `verify` (v2, the default mode: the player's access token in `X-Access-Token`),
//!   `verify_server_token` (v2 with `VerifyAccessToken::Server`), `verify_v1`: `input` is
//!   `{appid, player_token, access_token? (verify only), player_id, did, include_fields?}`;
//!   `expect` is `{"ok": {player_id, served_by, fields?}}` (`fields` lists every returned field:
//!   `is_blocked`, `is_device_registered`, `join_timestamp`, `china_pi_no`, `extra`), or
//!   `{"error": {...}}`.
//! * `idp_list`, `idp_list_v1`: `input` is `{appid, player_id}`; `expect` is
//!   `{"ok": {served_by, accounts: [{seq, player_id, idp_user_id, idp_index, idp_id, name?}]}}`
//!   or `{"error": {...}}`.
//! * `player_idps` (the token-validated IdP list): `input` is `{appid, player_token, player_id,
//!   did}`; `expect` is `{"ok": {player_id, served_by, accounts: [{player_id, idp_user_id,
//!   idp_index, name?}]}}` or `{"error": {...}}`.
//!
//! An expected error names its `kind` (`token_rejected`, `player_access_token_rejected`,
//! `distributed_token_invalid`, `idp_rejected`, `player_idps_rejected`, `oauth_rejected`,
//! `access_token_rejected`, `unavailable`, `http_status`, `decode`, `invalid_input`, `config`)
//! and, where it applies, `code` (+ `known`: whether the code is a documented one), `message`,
//! `served_by`, `status`, `path`, or for `unavailable` the `primary` and `fallback` failures
//! (`"status 503"`, `"not_json"`, `"timeout"`, `"connect"`, `"breaker_open"`,
//! `"deadline_exceeded"`, `"none"`).

use gameauth_hive as hive;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gameauth_contract::{ErrorFacts, Expect, Fixture, MockUpstream, same};
use gameauth_core::secrecy::SecretString;
use gameauth_core::{Clock, ManualClock, PlayerToken, TransportErrorKind};
use gameauth_hive::{
    AttemptFailure, IdpCode, IdpIndex, IdpList, IncludeField, OAuthCode, PlayerFields, PlayerIdps,
    PlayerIdpsCode, PlayerIdpsParams, ServedBy, VerifiedToken, VerifyAccessToken, VerifyCode,
    VerifyParams,
};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(tag = "call", rename_all = "snake_case", deny_unknown_fields)]
enum Step {
    Verify {
        input: VerifyInput,
        expect: Expect<VerifyOk>,
    },
    VerifyServerToken {
        input: VerifyInput,
        expect: Expect<VerifyOk>,
    },
    VerifyV1 {
        input: VerifyInput,
        expect: Expect<VerifyOk>,
    },
    IdpList {
        input: IdpInput,
        expect: Expect<IdpOk>,
    },
    IdpListV1 {
        input: IdpInput,
        expect: Expect<IdpOk>,
    },
    PlayerIdps {
        input: PlayerIdpsInput,
        expect: Expect<PlayerIdpsOk>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyInput {
    appid: String,
    player_token: String,
    /// The player's access token (`verify` only).
    access_token: Option<String>,
    player_id: i64,
    did: String,
    #[serde(default)]
    include_fields: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyOk {
    player_id: i64,
    served_by: String,
    #[serde(default)]
    fields: ExpectedFields,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedFields {
    is_blocked: Option<bool>,
    is_device_registered: Option<bool>,
    join_timestamp: Option<i64>,
    china_pi_no: Option<String>,
    #[serde(default)]
    extra: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdpInput {
    appid: String,
    player_id: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlayerIdpsInput {
    appid: String,
    player_token: String,
    player_id: i64,
    did: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlayerIdpsOk {
    player_id: i64,
    served_by: String,
    accounts: Vec<ExpectedPlayerIdp>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedPlayerIdp {
    player_id: i64,
    idp_user_id: String,
    idp_index: i64,
    /// The name lookup of `idp_index`, when the fixture pins it.
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdpOk {
    served_by: String,
    accounts: Vec<ExpectedAccount>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedAccount {
    seq: i64,
    player_id: i64,
    idp_user_id: String,
    idp_index: i64,
    idp_id: String,
    /// The name lookup of `idp_index`, when the fixture pins it.
    name: Option<String>,
}

/// Replays one Hive fixture.
pub(super) async fn run(fixture: &Fixture) -> Result<(), String> {
    let upstream = MockUpstream::start(fixture).await?;
    let mut clients = Clients {
        fixture,
        upstream: &upstream,
        clock: fixture.clock(),
        built: BTreeMap::new(),
    };
    for (n, raw) in fixture.steps.iter().enumerate() {
        let (step, within) = parse_step(raw).map_err(|e| format!("step {n}: invalid: {e}"))?;
        let started = Instant::now();
        let outcome = match step {
            Step::Verify { input, expect } => {
                let (client, params) = verify_call(&mut clients, &input, Mode::Player)?;
                verified(client.verify_token(&params).await, expect)
            }
            Step::VerifyServerToken { input, expect } => {
                let (client, params) = verify_call(&mut clients, &input, Mode::Server)?;
                verified(client.verify_token(&params).await, expect)
            }
            Step::VerifyV1 { input, expect } => {
                let (client, params) = verify_call(&mut clients, &input, Mode::V1)?;
                verified(client.verify_token_v1(&params).await, expect)
            }
            Step::IdpList { input, expect } => {
                let client = clients.shared(&input.appid)?;
                listed(client.idp_list(input.player_id).await, expect)
            }
            Step::IdpListV1 { input, expect } => {
                let client = clients.shared(&input.appid)?;
                listed(client.idp_list_v1(input.player_id).await, expect)
            }
            Step::PlayerIdps { input, expect } => {
                let client = clients.shared(&input.appid)?;
                let params = PlayerIdpsParams::new(
                    PlayerToken::new(input.player_token.clone()),
                    input.player_id,
                    input.did.clone(),
                );
                player_idps_listed(client.player_idps(&params).await, expect)
            }
        };
        let outcome = outcome.and_then(|()| match within {
            Some(bound) if started.elapsed() > bound => Err(format!(
                "took {:?}, more than the step's within_ms ({bound:?})",
                started.elapsed()
            )),
            _ => Ok(()),
        });
        if let Err(e) = outcome {
            return Err(upstream.annotate(format!("step {n}: {e}")).await);
        }
    }
    upstream.verify().await
}

/// A step: its `call`, and `within_ms` when the fixture bounds its duration.
fn parse_step(raw: &Value) -> Result<(Step, Option<Duration>), String> {
    let mut raw = raw.clone();
    let within = match raw.as_object_mut().and_then(|o| o.remove("within_ms")) {
        None => None,
        Some(v) => Some(Duration::from_millis(
            v.as_u64()
                .ok_or("within_ms must be a non-negative integer")?,
        )),
    };
    let step = serde_json::from_value(raw).map_err(|e| e.to_string())?;
    Ok((step, within))
}

/// The fixture's clients, one per app id and verification mode.
struct Clients<'a> {
    fixture: &'a Fixture,
    upstream: &'a MockUpstream,
    clock: ManualClock,
    built: BTreeMap<(String, bool), hive::Client>,
}

/// Which verification a step makes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// v2 with the player's access token.
    Player,
    /// v2 with the server token.
    Server,
    /// The legacy v1.
    V1,
}

impl Clients<'_> {
    /// The client of the steps that do not verify with v2: the server-token client of `appid`
    /// when the fixture verifies with the server token for it, so the token cache is shared.
    fn shared(&mut self, appid: &str) -> Result<hive::Client, String> {
        let server_token = self.fixture.steps.iter().any(|step| {
            step.get("call").and_then(Value::as_str) == Some("verify_server_token")
                && step.pointer("/input/appid").and_then(Value::as_str) == Some(appid)
        });
        let mode = if server_token {
            VerifyAccessToken::Server
        } else {
            VerifyAccessToken::Player
        };
        self.get(appid, mode)
    }

    fn get(&mut self, appid: &str, mode: VerifyAccessToken) -> Result<hive::Client, String> {
        let key = (appid.to_owned(), mode == VerifyAccessToken::Server);
        if let Some(c) = self.built.get(&key) {
            return Ok(c.clone());
        }
        let f = self.fixture;
        let mut builder = hive::Client::builder()
            .primary_url(self.upstream.uri("primary")?)
            .appid(appid)
            .verify_access_token(mode)
            .clock(Arc::new(self.clock.clone()) as Arc<dyn Clock>);
        if f.outbound().any(|i| i.host == "fallback") {
            builder = builder.fallback_url(self.upstream.uri("fallback")?);
        }
        if f.keys.contains_key("client_secret") {
            builder = builder.client_credentials(
                f.key("client_id")?,
                SecretString::from(f.key("client_secret")?),
            );
        }
        if f.keys.contains_key("certification_key") {
            builder = builder.certification_key(SecretString::from(f.key("certification_key")?));
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot build the client: {e}"))?;
        self.built.insert(key, client.clone());
        Ok(client)
    }
}

fn verify_call(
    clients: &mut Clients<'_>,
    input: &VerifyInput,
    mode: Mode,
) -> Result<(hive::Client, VerifyParams), String> {
    let client = match mode {
        Mode::Server => clients.get(&input.appid, VerifyAccessToken::Server)?,
        Mode::Player => clients.get(&input.appid, VerifyAccessToken::Player)?,
        Mode::V1 => clients.shared(&input.appid)?,
    };
    let mut params = VerifyParams::new(
        PlayerToken::new(input.player_token.clone()),
        input.player_id,
        input.did.clone(),
    );
    match (&input.access_token, mode) {
        (Some(token), Mode::Player) => {
            params = params.with_access_token(PlayerToken::new(token.clone()));
        }
        (Some(_), _) => return Err("access_token is for `verify` steps only".into()),
        (None, _) => {}
    }
    for name in &input.include_fields {
        let field = IncludeField::parse(name).map_err(|e| format!("include_fields: {e}"))?;
        params = params.include(field);
    }
    Ok((client, params))
}

fn verified(
    result: Result<VerifiedToken, hive::Error>,
    expect: Expect<VerifyOk>,
) -> Result<(), String> {
    match (result, expect) {
        (Ok(v), Expect::Ok(want)) => {
            if v.player_id != want.player_id {
                return Err(format!(
                    "player_id is {}, expected {}",
                    v.player_id, want.player_id
                ));
            }
            same("served_by", v.served_by.as_str(), &want.served_by)?;
            fields(&v.fields, &want.fields)
        }
        (result, expect) => outcome(result.map(|_| ()), expect),
    }
}

fn fields(got: &PlayerFields, want: &ExpectedFields) -> Result<(), String> {
    let pairs = [
        (
            "is_blocked",
            format!("{:?}", got.is_blocked),
            format!("{:?}", want.is_blocked),
        ),
        (
            "is_device_registered",
            format!("{:?}", got.is_device_registered),
            format!("{:?}", want.is_device_registered),
        ),
        (
            "join_timestamp",
            format!("{:?}", got.join_timestamp),
            format!("{:?}", want.join_timestamp),
        ),
        (
            "china_pi_no",
            format!("{:?}", got.china_pi_no),
            format!("{:?}", want.china_pi_no),
        ),
    ];
    for (name, g, w) in pairs {
        same(&format!("fields.{name}"), &g, &w)?;
    }
    if got.extra != want.extra {
        return Err(format!(
            "fields.extra is {:?}, expected {:?}",
            got.extra, want.extra
        ));
    }
    Ok(())
}

fn listed(result: Result<IdpList, hive::Error>, expect: Expect<IdpOk>) -> Result<(), String> {
    match (result, expect) {
        (Ok(list), Expect::Ok(want)) => {
            same("served_by", list.served_by.as_str(), &want.served_by)?;
            each_account(&list.accounts, &want.accounts, |got, want, at| {
                same(&at("seq"), &got.seq.to_string(), &want.seq.to_string())?;
                same_idp(
                    at,
                    (got.player_id, &got.idp_user_id, got.idp_index),
                    (
                        want.player_id,
                        &want.idp_user_id,
                        want.idp_index,
                        want.name.as_deref(),
                    ),
                )?;
                same(&at("idp_id"), &got.idp_id, &want.idp_id)
            })
        }
        (result, expect) => outcome(result.map(|_| ()), expect),
    }
}

fn player_idps_listed(
    result: Result<PlayerIdps, hive::Error>,
    expect: Expect<PlayerIdpsOk>,
) -> Result<(), String> {
    match (result, expect) {
        (Ok(list), Expect::Ok(want)) => {
            same(
                "player_id",
                &list.player_id.to_string(),
                &want.player_id.to_string(),
            )?;
            same("served_by", list.served_by.as_str(), &want.served_by)?;
            each_account(&list.accounts, &want.accounts, |got, want, at| {
                same_idp(
                    at,
                    (got.player_id, &got.idp_user_id, got.idp_index),
                    (
                        want.player_id,
                        &want.idp_user_id,
                        want.idp_index,
                        want.name.as_deref(),
                    ),
                )
            })
        }
        (result, expect) => outcome(result.map(|_| ()), expect),
    }
}

/// Compares two account lists pair by pair with `check`, which names a field with `at`.
fn each_account<G, W>(
    got: &[G],
    want: &[W],
    check: impl Fn(&G, &W, &dyn Fn(&str) -> String) -> Result<(), String>,
) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{} accounts, expected {}", got.len(), want.len()));
    }
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        check(g, w, &|f: &str| format!("accounts[{i}].{f}"))?;
    }
    Ok(())
}

/// Compares what every IdP account has: the player, the user id at the IdP, the IdP's index
/// and, when the fixture pins it, its name.
fn same_idp(
    at: &dyn Fn(&str) -> String,
    (player_id, idp_user_id, idp_index): (i64, &str, IdpIndex),
    (want_player_id, want_user_id, want_index, want_name): (i64, &str, i64, Option<&str>),
) -> Result<(), String> {
    same(
        &at("player_id"),
        &player_id.to_string(),
        &want_player_id.to_string(),
    )?;
    same(&at("idp_user_id"), idp_user_id, want_user_id)?;
    if idp_index != IdpIndex(want_index) {
        return Err(format!(
            "{} is {}, expected {want_index}",
            at("idp_index"),
            idp_index.0
        ));
    }
    match want_name {
        Some(name) => same(&at("name"), idp_index.name().unwrap_or("none"), name),
        None => Ok(()),
    }
}

/// The fixture spelling of an attempt failure.
fn failure_name(f: Option<AttemptFailure>) -> String {
    match f {
        None => "none".into(),
        Some(AttemptFailure::Status(s)) => format!("status {s}"),
        Some(AttemptFailure::NotJson) => "not_json".into(),
        Some(AttemptFailure::BreakerOpen) => "breaker_open".into(),
        Some(AttemptFailure::DeadlineExceeded) => "deadline_exceeded".into(),
        Some(AttemptFailure::Transport(TransportErrorKind::Timeout)) => "timeout".into(),
        Some(AttemptFailure::Transport(TransportErrorKind::Connect)) => "connect".into(),
        Some(other) => format!("{other:?}"),
    }
}

/// The code, whether it is a documented one, the message and the host of a Hive rejection.
fn rejection(err: &hive::Error) -> Option<(i64, bool, &str, Option<ServedBy>)> {
    match err {
        hive::Error::TokenRejected {
            code,
            message,
            served_by,
        } => Some((
            code.as_i64(),
            !matches!(code, VerifyCode::Other(_)),
            message,
            Some(*served_by),
        )),
        hive::Error::PlayerAccessTokenRejected {
            code,
            message,
            served_by,
        } => Some((
            *code,
            // 2499 is documented; a `token_validation` code is kept as sent.
            *code == VerifyCode::AccessTokenInvalid.as_i64(),
            message,
            Some(*served_by),
        )),
        hive::Error::PlayerIdpsRejected {
            code,
            message,
            served_by,
        } => Some((
            code.as_i64(),
            !matches!(code, PlayerIdpsCode::Other(_)),
            message,
            Some(*served_by),
        )),
        hive::Error::DistributedTokenInvalid { message, served_by } => Some((
            VerifyCode::DistributedTokenInvalid.as_i64(),
            true,
            message,
            Some(*served_by),
        )),
        hive::Error::IdpRejected {
            code,
            message,
            served_by,
        } => Some((
            code.as_i64(),
            !matches!(code, IdpCode::Other(_)),
            message,
            Some(*served_by),
        )),
        hive::Error::OAuthRejected { code, message } => Some((
            code.as_i64(),
            !matches!(code, OAuthCode::Other(_)),
            message,
            None,
        )),
        hive::Error::AccessTokenRejected { code, message } => Some((*code, true, message, None)),
        _ => None,
    }
}

fn kind_of(err: &hive::Error) -> &'static str {
    match err {
        hive::Error::TokenRejected { .. } => "token_rejected",
        hive::Error::PlayerAccessTokenRejected { .. } => "player_access_token_rejected",
        hive::Error::PlayerIdpsRejected { .. } => "player_idps_rejected",
        hive::Error::DistributedTokenInvalid { .. } => "distributed_token_invalid",
        hive::Error::IdpRejected { .. } => "idp_rejected",
        hive::Error::OAuthRejected { .. } => "oauth_rejected",
        hive::Error::AccessTokenRejected { .. } => "access_token_rejected",
        hive::Error::Unavailable(_) => "unavailable",
        hive::Error::HttpStatus { .. } => "http_status",
        hive::Error::Decode(_) => "decode",
        hive::Error::InvalidInput(_) => "invalid_input",
        hive::Error::Config(_) => "config",
        _ => "unknown",
    }
}

/// What a Hive error is, in the terms of the fixtures' expectations.
fn facts(err: &hive::Error) -> ErrorFacts {
    let mut facts = ErrorFacts::new(kind_of(err), err);
    if let Some((code, known, message, served_by)) = rejection(err) {
        facts = facts
            .code(code, known)
            .message(message)
            .served_by(served_by.map_or("none", ServedBy::as_str));
    }
    match err {
        hive::Error::HttpStatus { status, .. } => facts.status(*status),
        hive::Error::Decode(d) => facts.path(d.path.clone()),
        hive::Error::Unavailable(u) => {
            facts.hosts(failure_name(Some(u.primary)), failure_name(u.fallback))
        }
        _ => facts,
    }
}

/// Compares a result with an expectation that the caller did not already settle (any
/// combination except success expected and obtained).
fn outcome<T>(result: Result<(), hive::Error>, expect: Expect<T>) -> Result<(), String> {
    expect.check(result.map_err(|e| facts(&e)), |(), _| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(json: serde_json::Value) -> Expect<()> {
        serde_json::from_value(serde_json::json!({ "error": json })).unwrap()
    }

    fn rejected(code: i64) -> Result<(), hive::Error> {
        Err(hive::Error::TokenRejected {
            code: VerifyCode::from_i64(code),
            message: "m".into(),
            served_by: ServedBy::Primary,
        })
    }

    #[test]
    fn outcome_checks_kind_code_known_and_host() {
        let w = want(
            serde_json::json!({"kind": "token_rejected", "code": 8123, "known": false,
            "served_by": "primary"}),
        );
        assert!(outcome(rejected(8123), w).is_ok());
        let w = want(serde_json::json!({"kind": "token_rejected", "known": true}));
        assert!(outcome(rejected(8123), w).is_err());
        let w = want(serde_json::json!({"kind": "token_rejected", "served_by": "fallback"}));
        assert!(outcome(rejected(7000), w).is_err());
        assert!(outcome(rejected(7000), want(serde_json::json!({"kind": "decode"}))).is_err());
        let w = want(serde_json::json!({"kind": "token_rejected"}));
        assert!(outcome(Ok(()), w).is_err());
        assert!(outcome(rejected(7000), Expect::Ok(())).is_err());
    }

    #[test]
    fn outcome_checks_unavailable_details() {
        let err = || {
            Err(hive::Error::Unavailable(gameauth_hive::Unavailable {
                primary: AttemptFailure::Status(503),
                fallback: Some(AttemptFailure::NotJson),
            }))
        };
        let w = want(
            serde_json::json!({"kind": "unavailable", "primary": "status 503",
            "fallback": "not_json"}),
        );
        assert!(outcome(err(), w).is_ok());
        let w = want(serde_json::json!({"kind": "unavailable", "fallback": "none"}));
        assert!(outcome(err(), w).is_err());
    }
}
