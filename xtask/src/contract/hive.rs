//! Contract runner for Hive: the `gameauth-hive` client against mocked `primary` and `fallback`
//! hosts (the OAuth token is served by the primary only).
//!
//! Keys: `client_id`, `client_secret` (v2) and, optionally, `certification_key` (v1). One client
//! per `appid` is built for the whole fixture, so later steps see the token cache and breaker of
//! earlier ones. The fallback host exists when the fixture has an interaction on host `fallback`
//! (use `"times": 0` to declare a fallback that must see nothing).
//!
//! Steps (`"call"` selects the kind):
//! * `verify`, `verify_v1`: `input` is `{appid, player_token, player_id, did, include_fields?}`;
//!   `expect` is `{"ok": {player_id, served_by, fields?}}` (`fields` lists every returned field:
//!   `is_blocked`, `is_device_registered`, `join_timestamp`, `china_pi_no`, `extra`), or
//!   `{"error": {...}}`.
//! * `idp_list`, `idp_list_v1`: `input` is `{appid, player_id}`; `expect` is
//!   `{"ok": {served_by, accounts: [{seq, player_id, idp_user_id, idp_index, idp_id, name?}]}}`
//!   or `{"error": {...}}`.
//!
//! An expected error names its `kind` (`token_rejected`, `distributed_token_invalid`,
//! `idp_rejected`, `oauth_rejected`, `access_token_rejected`, `unavailable`, `http_status`,
//! `decode`, `invalid_input`, `config`) and, where it applies, `code` (+ `known`: whether the code
//! is a documented one), `message`, `served_by`, `status`, `path`, or for `unavailable` the
//! `primary` and `fallback` failures (`"status 503"`, `"not_json"`, `"timeout"`, `"connect"`,
//! `"breaker_open"`, `"deadline_exceeded"`, `"none"`).

use std::collections::BTreeMap;
use std::sync::Arc;

use gameauth_core::secrecy::SecretString;
use gameauth_core::{Clock, ManualClock, PlayerToken, TransportErrorKind};
use gameauth_hive::{
    AttemptFailure, HiveClient, HiveError, IdpCode, IdpIndex, IdpList, IncludeField, OAuthCode,
    PlayerFields, ServedBy, VerifiedToken, VerifyCode, VerifyParams,
};
use serde::Deserialize;
use serde_json::Value;

use super::{Fixture, MockUpstream};

#[derive(Deserialize)]
#[serde(tag = "call", rename_all = "snake_case", deny_unknown_fields)]
enum Step {
    Verify {
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
    kind: String,
    code: Option<i64>,
    known: Option<bool>,
    message: Option<String>,
    served_by: Option<String>,
    status: Option<u16>,
    path: Option<String>,
    primary: Option<String>,
    fallback: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyInput {
    appid: String,
    player_token: String,
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
pub(crate) async fn run(fixture: &Fixture) -> Result<(), String> {
    let upstream = MockUpstream::start(fixture).await?;
    let mut clients = Clients {
        fixture,
        upstream: &upstream,
        clock: fixture.clock(),
        built: BTreeMap::new(),
    };
    for (n, raw) in fixture.steps.iter().enumerate() {
        let step: Step =
            serde_json::from_value(raw.clone()).map_err(|e| format!("step {n}: invalid: {e}"))?;
        let outcome = match step {
            Step::Verify { input, expect } => {
                let (client, params) = verify_call(&mut clients, &input)?;
                verified(client.verify_token(&params).await, expect)
            }
            Step::VerifyV1 { input, expect } => {
                let (client, params) = verify_call(&mut clients, &input)?;
                verified(client.verify_token_v1(&params).await, expect)
            }
            Step::IdpList { input, expect } => {
                let client = clients.get(&input.appid)?;
                listed(client.idp_list(input.player_id).await, expect)
            }
            Step::IdpListV1 { input, expect } => {
                let client = clients.get(&input.appid)?;
                listed(client.idp_list_v1(input.player_id).await, expect)
            }
        };
        if let Err(e) = outcome {
            // A stray request explains a failed step best ("header `x-access-token` is …").
            return Err(match upstream.verify().await {
                Err(why) => format!("step {n}: {e}; {why}"),
                Ok(()) => format!("step {n}: {e}"),
            });
        }
    }
    upstream.verify().await
}

/// The fixture's clients, one per app id.
struct Clients<'a> {
    fixture: &'a Fixture,
    upstream: &'a MockUpstream,
    clock: ManualClock,
    built: BTreeMap<String, HiveClient>,
}

impl Clients<'_> {
    fn get(&mut self, appid: &str) -> Result<HiveClient, String> {
        if let Some(c) = self.built.get(appid) {
            return Ok(c.clone());
        }
        let f = self.fixture;
        let mut builder = HiveClient::builder()
            .primary_url(self.upstream.uri("primary")?)
            .appid(appid)
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
        self.built.insert(appid.to_owned(), client.clone());
        Ok(client)
    }
}

fn verify_call(
    clients: &mut Clients<'_>,
    input: &VerifyInput,
) -> Result<(HiveClient, VerifyParams), String> {
    let client = clients.get(&input.appid)?;
    let mut params = VerifyParams::new(
        PlayerToken::new(input.player_token.clone()),
        input.player_id,
        input.did.clone(),
    );
    for name in &input.include_fields {
        let field = IncludeField::parse(name).map_err(|e| format!("include_fields: {e}"))?;
        params = params.include(field);
    }
    Ok((client, params))
}

fn verified(
    result: Result<VerifiedToken, HiveError>,
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

fn listed(result: Result<IdpList, HiveError>, expect: Expect<IdpOk>) -> Result<(), String> {
    match (result, expect) {
        (Ok(list), Expect::Ok(want)) => {
            same("served_by", list.served_by.as_str(), &want.served_by)?;
            if list.accounts.len() != want.accounts.len() {
                return Err(format!(
                    "{} accounts, expected {}",
                    list.accounts.len(),
                    want.accounts.len()
                ));
            }
            for (i, (got, want)) in list.accounts.iter().zip(&want.accounts).enumerate() {
                let at = |f: &str| format!("accounts[{i}].{f}");
                same(&at("seq"), &got.seq.to_string(), &want.seq.to_string())?;
                same(
                    &at("player_id"),
                    &got.player_id.to_string(),
                    &want.player_id.to_string(),
                )?;
                same(&at("idp_user_id"), &got.idp_user_id, &want.idp_user_id)?;
                if got.idp_index != IdpIndex(want.idp_index) {
                    return Err(format!(
                        "{} is {}, expected {}",
                        at("idp_index"),
                        got.idp_index.0,
                        want.idp_index
                    ));
                }
                same(&at("idp_id"), &got.idp_id, &want.idp_id)?;
                if let Some(name) = &want.name {
                    same(&at("name"), got.idp_index.name().unwrap_or("none"), name)?;
                }
            }
            Ok(())
        }
        (result, expect) => outcome(result.map(|_| ()), expect),
    }
}

fn same(field: &str, got: &str, want: &str) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{field} is {got:?}, expected {want:?}"))
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
fn rejection(err: &HiveError) -> Option<(i64, bool, &str, Option<ServedBy>)> {
    match err {
        HiveError::TokenRejected {
            code,
            message,
            served_by,
        } => Some((
            code.as_i64(),
            !matches!(code, VerifyCode::Other(_)),
            message,
            Some(*served_by),
        )),
        HiveError::DistributedTokenInvalid { message, served_by } => Some((
            VerifyCode::DistributedTokenInvalid.as_i64(),
            true,
            message,
            Some(*served_by),
        )),
        HiveError::IdpRejected {
            code,
            message,
            served_by,
        } => Some((
            code.as_i64(),
            !matches!(code, IdpCode::Other(_)),
            message,
            Some(*served_by),
        )),
        HiveError::OAuthRejected { code, message } => Some((
            code.as_i64(),
            !matches!(code, OAuthCode::Other(_)),
            message,
            None,
        )),
        HiveError::AccessTokenRejected { code, message } => Some((*code, true, message, None)),
        _ => None,
    }
}

fn kind_of(err: &HiveError) -> &'static str {
    match err {
        HiveError::TokenRejected { .. } => "token_rejected",
        HiveError::DistributedTokenInvalid { .. } => "distributed_token_invalid",
        HiveError::IdpRejected { .. } => "idp_rejected",
        HiveError::OAuthRejected { .. } => "oauth_rejected",
        HiveError::AccessTokenRejected { .. } => "access_token_rejected",
        HiveError::Unavailable(_) => "unavailable",
        HiveError::HttpStatus { .. } => "http_status",
        HiveError::Decode(_) => "decode",
        HiveError::InvalidInput(_) => "invalid_input",
        HiveError::Config(_) => "config",
        _ => "unknown",
    }
}

/// Compares a result with an expectation that the caller did not already settle.
fn outcome<T>(result: Result<(), HiveError>, expect: Expect<T>) -> Result<(), String> {
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
    if kind_of(&err) != want.kind {
        return Err(format!("expected a `{}` error, got {err:?}", want.kind));
    }
    if let Some((code, known, message, served_by)) = rejection(&err) {
        if let Some(c) = want.code
            && c != code
        {
            return Err(format!("code is {code}, expected {c}"));
        }
        if let Some(k) = want.known
            && k != known
        {
            let should = if k {
                "a documented code"
            } else {
                "kept as Other"
            };
            return Err(format!("code {code} should be {should}"));
        }
        if let Some(m) = &want.message {
            same("message", message, m)?;
        }
        if let Some(s) = &want.served_by {
            same("served_by", served_by.map_or("none", ServedBy::as_str), s)?;
        }
    }
    match &err {
        HiveError::HttpStatus { status, .. } => {
            if let Some(s) = want.status
                && s != *status
            {
                return Err(format!("status is {status}, expected {s}"));
            }
        }
        HiveError::Decode(d) => {
            if let Some(p) = &want.path {
                same("path", &d.path, p)?;
            }
        }
        HiveError::Unavailable(u) => {
            if let Some(p) = &want.primary {
                same("primary", &failure_name(Some(u.primary)), p)?;
            }
            if let Some(f) = &want.fallback {
                same("fallback", &failure_name(u.fallback), f)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(kind: &str) -> ExpectedError {
        ExpectedError {
            kind: kind.into(),
            code: None,
            known: None,
            message: None,
            served_by: None,
            status: None,
            path: None,
            primary: None,
            fallback: None,
        }
    }

    fn rejected(code: i64) -> Result<(), HiveError> {
        Err(HiveError::TokenRejected {
            code: VerifyCode::from_i64(code),
            message: "m".into(),
            served_by: ServedBy::Primary,
        })
    }

    #[test]
    fn outcome_checks_kind_code_known_and_host() {
        let mut w = want("token_rejected");
        w.code = Some(8123);
        w.known = Some(false);
        w.served_by = Some("primary".into());
        assert!(outcome::<()>(rejected(8123), Expect::Error(w)).is_ok());
        let mut w = want("token_rejected");
        w.known = Some(true);
        assert!(outcome::<()>(rejected(8123), Expect::Error(w)).is_err());
        let mut w = want("token_rejected");
        w.served_by = Some("fallback".into());
        assert!(outcome::<()>(rejected(7000), Expect::Error(w)).is_err());
        assert!(outcome::<()>(rejected(7000), Expect::Error(want("decode"))).is_err());
        assert!(outcome::<()>(Ok(()), Expect::Error(want("token_rejected"))).is_err());
        assert!(outcome::<()>(rejected(7000), Expect::Ok(())).is_err());
    }

    #[test]
    fn outcome_checks_unavailable_details() {
        let err = || {
            Err(HiveError::Unavailable(gameauth_hive::Unavailable {
                primary: AttemptFailure::Status(503),
                fallback: Some(AttemptFailure::NotJson),
            }))
        };
        let mut w = want("unavailable");
        w.primary = Some("status 503".into());
        w.fallback = Some("not_json".into());
        assert!(outcome::<()>(err(), Expect::Error(w)).is_ok());
        let mut w = want("unavailable");
        w.fallback = Some("none".into());
        assert!(outcome::<()>(err(), Expect::Error(w)).is_err());
    }
}
