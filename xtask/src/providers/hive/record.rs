//! Hive recording rules: the server OAuth token, v2 and v1 verification, the IdP lists and the
//! token-validated IdP list. Hive signs nothing; its secrets are the client credentials, the
//! certification key, the server token and the player's token and access token.
//!
//! A v2 verification whose `X-Access-Token` is a server token issued by a recorded `/oauth/token`
//! answer replays as `verify_server_token`; any other is the default `verify`, whose input carries
//! the player's access token. An `/oauth/token` exchange belongs to the next call that uses the
//! server token (the client fetches the token for it). A call with the server token answered
//! "access token invalid" (2499, or a failed `token_validation`) is repeated by the client once
//! with a fresh token: that repetition belongs to the same step. In the default mode the same
//! answer rejects the player and nothing is repeated. The attempt on the fallback host (recorded
//! through a second proxy) that follows a broken primary answer (5xx, 429 or a 200 that is not
//! JSON) belongs to the call's step; the step's outcome then names the host that served it.
//!
//! The answers are read with this module's own reading of Hive's wire shapes (envelopes, player
//! fields, IdP accounts), not with the SDK's parser, on purpose: the recorder is an independent
//! oracle, so an SDK that misreads an answer fails the recorded fixture instead of having its
//! misreading recorded as the expectation. Do not replace it with the SDK's types.

use std::collections::{BTreeMap, BTreeSet};

use gameauth_contract::record::wire;
use gameauth_contract::record::{Derived, RecordRules, Scrubbed, SecretVar, post_endpoint};
use serde_json::{Map, Value, json};

use gameauth_hive::{IdpCode, PlayerIdpsCode, VerifyCode};

use super::Hive;

/// The environment variables of the real credentials (all optional: values sent under a
/// secret's name are scrubbed anyway), with their dummies.
const SECRETS: &[SecretVar] = &[
    SecretVar::optional("HIVE_CLIENT_ID", "dummy-client-id"),
    SecretVar::optional("HIVE_CLIENT_SECRET", "dummy-client-secret"),
    SecretVar::optional("HIVE_CERTIFICATION_KEY", "dummy-certification-key"),
];

/// The fixture host of Hive's second (distributed) host.
const FALLBACK_HOST: &str = "fallback";

/// The v2 paths come first: the v1 paths are suffixes of them.
const CALLS: [(&str, &str); 6] = [
    (gameauth_hive::oauth::TOKEN_PATH, "oauth_token"),
    (gameauth_hive::verify_token::V2_PATH, "verify"),
    (gameauth_hive::idp::V2_PATH, "idp_list"),
    (gameauth_hive::player_idps::PATH, "player_idps"),
    (gameauth_hive::verify_token::V1_PATH, "verify_v1"),
    (gameauth_hive::idp::V1_PATH, "idp_list_v1"),
];

impl RecordRules for Hive {
    fn secrets(&self) -> &[SecretVar] {
        SECRETS
    }

    fn host(&self) -> &'static str {
        "primary"
    }

    fn fallback_host(&self) -> Option<&'static str> {
        Some(FALLBACK_HOST)
    }

    fn request_headers(&self) -> &[&'static str] {
        &["authorization", "x-access-token", "iscrypt", "content-type"]
    }

    /// Nothing signs Hive's bodies.
    fn json_bodies(&self) -> bool {
        true
    }

    /// The endpoint, without any prefix.
    fn call(&self, method: &str, path: &str) -> Option<(&'static str, String)> {
        post_endpoint(&CALLS, method, path)
    }

    /// The clock is the proxy's time of the first exchange (the default `normalise`).
    fn derive(&self, scrubbed: &[Scrubbed], clock: i64) -> Derived {
        derive(scrubbed, clock)
    }
}

/// Whether a step's call carries the server token (and so may be repeated with a fresh one).
fn uses_server_token(step_call: &str) -> bool {
    matches!(step_call, "verify_server_token" | "idp_list")
}

/// The runner's call of an exchange: a v2 verification with a recorded server token is
/// `verify_server_token`.
fn step_call(s: &Scrubbed, issued: &BTreeSet<String>) -> &'static str {
    match s.call {
        "verify"
            if s.headers
                .get("x-access-token")
                .is_some_and(|t| issued.contains(t)) =>
        {
            "verify_server_token"
        }
        call => call,
    }
}

/// The server token an `/oauth/token` answer issued.
fn issued_token(s: &Scrubbed) -> Option<String> {
    s.response_json
        .as_ref()?
        .pointer("/data/access_token")?
        .as_str()
        .map(str::to_owned)
}

/// The envelope's code and sanitised message, when the answer is a well-formed 200.
fn envelope(s: &Scrubbed) -> Option<(i64, String)> {
    if s.status != 200 {
        return None;
    }
    let body = s.response_json.as_ref()?.as_object()?;
    let code = wire::lenient_i64(body.get("result_code")?)?;
    let message = body
        .get("result_msg")
        .or_else(|| body.get("result_message"))
        .and_then(wire::text)
        .unwrap_or_default();
    Some((code, gameauth_core::error::sanitize_message(&message)))
}

/// The code and message of an answer that says our server token is not valid.
fn access_token_invalid(s: &Scrubbed) -> Option<(i64, String)> {
    let (code, message) = envelope(s)?;
    let validation = s.response_json.as_ref()?.get("token_validation");
    if let Some(v) = validation.and_then(Value::as_object) {
        let tv = v.get("result_code").and_then(wire::lenient_i64)?;
        if tv != 0 {
            let m = v
                .get("result_msg")
                .or_else(|| v.get("result_message"))
                .and_then(wire::text)
                .unwrap_or_default();
            return Some((tv, gameauth_core::error::sanitize_message(&m)));
        }
    }
    (code == 2499).then_some((code, message))
}

/// A broken answer, not a rejection: the client tries a token request once more, and a call on
/// the primary host goes to the fallback host.
fn broken(s: &Scrubbed) -> bool {
    s.status >= 500 || s.status == 429 || (s.status == 200 && s.response_json.is_none())
}

/// Whether two exchanges carry the same call for the same player (the server token may differ).
fn same_request(a: &Scrubbed, b: &Scrubbed) -> bool {
    a.call == b.call
        && a.json == b.json
        && a.headers.get("authorization") == b.headers.get("authorization")
}

fn on_fallback(s: &Scrubbed) -> bool {
    s.host == FALLBACK_HOST
}

fn oauth_succeeded(s: &Scrubbed) -> bool {
    envelope(s).is_some_and(|(code, _)| code == 0)
        && s.response_json
            .as_ref()
            .and_then(|b| b.pointer("/data/access_token"))
            .and_then(Value::as_str)
            .is_some_and(|t| !t.is_empty())
}

struct Group {
    /// The runner's call of the step.
    call: &'static str,
    exchanges: Vec<usize>,
    /// The first answer refused the server token and the repetition has not been seen yet.
    awaiting_retry: bool,
    retried: bool,
}

/// Groups the exchanges into steps (see the module docs).
fn derive(scrubbed: &[Scrubbed], _clock: i64) -> Derived {
    let mut d = Derived::default();
    let mut groups: Vec<Group> = Vec::new();
    let mut pending: Vec<usize> = Vec::new();
    let mut issued = BTreeSet::new();
    for (i, s) in scrubbed.iter().enumerate() {
        if s.call == "oauth_token" {
            pending.push(i);
            issued.extend(issued_token(s));
            continue;
        }
        let call = step_call(s, &issued);
        let last_of = |g: &Group| &scrubbed[g.exchanges[g.exchanges.len() - 1]];
        if on_fallback(s) {
            // The fallback attempt of the call whose primary answer was broken.
            let continues = groups.last().is_some_and(|g| {
                let prev = last_of(g);
                !on_fallback(prev) && broken(prev) && same_request(prev, s)
            });
            if let (true, Some(g)) = (continues, groups.last_mut()) {
                g.exchanges.push(i);
                g.awaiting_retry =
                    !g.retried && uses_server_token(g.call) && access_token_invalid(s).is_some();
            } else {
                d.warnings.push(format!(
                    "a `{}` call on the fallback host follows no broken primary answer (the \
                     primary did not answer at all, or the client's breaker skipped it); it is \
                     left out",
                    s.call
                ));
            }
            continue;
        }
        let oauth = if uses_server_token(call) {
            usable_oauth(scrubbed, &mut pending, &mut d.warnings)
        } else {
            Vec::new()
        };
        let retry_of_last = groups
            .last()
            .is_some_and(|g| g.awaiting_retry && same_request(last_of(g), s));
        if retry_of_last {
            if let Some(g) = groups.last_mut() {
                g.exchanges.extend(oauth);
                g.exchanges.push(i);
                g.awaiting_retry = false;
                g.retried = true;
            }
            continue;
        }
        let mut exchanges = oauth;
        exchanges.push(i);
        groups.push(Group {
            call,
            exchanges,
            awaiting_retry: uses_server_token(call) && access_token_invalid(s).is_some(),
            retried: false,
        });
    }
    // Token requests still in `pending` wait for their call; until it comes they are left out.
    let mut kept = Vec::new();
    for g in groups {
        let last = &scrubbed[g.exchanges[g.exchanges.len() - 1]];
        if g.awaiting_retry {
            d.warnings.push(format!(
                "a `{}` call whose server token was refused was not repeated (the token \
                 refresh failed or the recording stopped); it is left out",
                g.call
            ));
            continue;
        }
        match input(last, g.call) {
            Ok(input) => kept.push((g, input)),
            Err(why) => d
                .warnings
                .push(format!("a `{}` call is not replayable: {why}", g.call)),
        }
    }
    // The replaying client has a fallback host exactly when the fixture has calls on it; then a
    // broken primary answer that was not followed by a recorded fallback attempt cannot replay.
    let has_fallback = kept
        .iter()
        .any(|(g, _)| g.exchanges.iter().any(|&i| on_fallback(&scrubbed[i])));
    let mut primary_failures = 0;
    for (g, input) in kept {
        let last = &scrubbed[g.exchanges[g.exchanges.len() - 1]];
        let before = g
            .exchanges
            .len()
            .checked_sub(2)
            .map(|k| &scrubbed[g.exchanges[k]])
            .filter(|prev| on_fallback(last) && !on_fallback(prev));
        if has_fallback && !on_fallback(last) && broken(last) {
            d.warnings.push(format!(
                "a `{}` call whose primary answer was broken has no recorded fallback attempt \
                 (the fallback did not answer); it is left out",
                last.call
            ));
            continue;
        }
        if before.is_some() || broken(last) {
            primary_failures += 1;
        } else {
            primary_failures = 0;
        }
        if primary_failures == BREAKER_THRESHOLD {
            d.warnings.push(format!(
                "{BREAKER_THRESHOLD} calls in a row found the primary broken: a replaying client's \
                 circuit breaker opens there and may skip the primary for the calls after them; \
                 record fewer in one scenario"
            ));
        }
        let expect = expect(last, g.call, before, g.retried);
        d.summary
            .push(format!("{} ({})", g.call, wire::label(&expect)));
        d.steps
            .push(json!({"call": g.call, "input": input, "expect": expect}));
        for &i in &g.exchanges {
            keys_from(&scrubbed[i], &mut d.keys);
        }
        d.used.extend(g.exchanges);
    }
    d
}

/// Consecutive primary failures that open the Hive client's circuit breaker by default.
const BREAKER_THRESHOLD: u32 = 5;

/// The token exchanges that served the next call: the last successful one, preceded by the
/// failed attempt the client retried, if any. Others are left out with a warning.
fn usable_oauth(
    scrubbed: &[Scrubbed],
    pending: &mut Vec<usize>,
    warnings: &mut Vec<String>,
) -> Vec<usize> {
    let taken = std::mem::take(pending);
    let Some(k) = taken.iter().rposition(|&i| oauth_succeeded(&scrubbed[i])) else {
        if !taken.is_empty() {
            warnings.push(format!(
                "{} failed server token request(s) are left out",
                taken.len()
            ));
        }
        return Vec::new();
    };
    let start = if k > 0 && broken(&scrubbed[taken[k - 1]]) {
        k - 1
    } else {
        k
    };
    if start > 0 {
        warnings.push(format!(
            "{start} earlier server token request(s) are left out"
        ));
    }
    taken[start..=k].to_vec()
}

/// The fixture keys the runner's client needs, as sent (scrubbed).
fn keys_from(s: &Scrubbed, keys: &mut BTreeMap<String, String>) {
    let Some(body) = s.json.as_ref().and_then(Value::as_object) else {
        return;
    };
    let fields: &[(&str, &str)] = match s.call {
        "oauth_token" => &[
            ("client_id", "client_id"),
            ("client_secret", "client_secret"),
        ],
        "verify_v1" | "idp_list_v1" => &[("hive_certification_key", "certification_key")],
        _ => &[],
    };
    for (field, key) in fields {
        if let Some(Value::String(v)) = body.get(*field) {
            keys.entry((*key).to_owned()).or_insert_with(|| v.clone());
        }
    }
}

fn input(s: &Scrubbed, call: &str) -> Result<Value, String> {
    let body = wire::object(s.json.as_ref())?;
    let mut input = Map::new();
    input.insert("appid".into(), wire::string(body, "appid")?.into());
    if matches!(
        call,
        "verify" | "verify_server_token" | "verify_v1" | "player_idps"
    ) {
        let token = s
            .headers
            .get("authorization")
            .ok_or("the request has no Authorization header")?;
        input.insert("player_token".into(), token.clone().into());
        if call == "verify" {
            let access_token = s
                .headers
                .get("x-access-token")
                .ok_or("the v2 verification has no X-Access-Token header")?;
            input.insert("access_token".into(), access_token.clone().into());
        }
        input.insert("did".into(), wire::string(body, "did")?.into());
        if let Some(fields) = body.get("include_fields") {
            input.insert("include_fields".into(), fields.clone());
        }
    }
    input.insert("player_id".into(), wire::integer(body, "player_id")?.into());
    Ok(Value::Object(input))
}

/// The outcome the Hive contract gives the final answer of a call (`call`: the runner's call).
/// `primary` is the broken primary answer when the final answer came from the fallback host.
/// Without a recorded fallback the replaying client has none, so a broken primary answer makes
/// the call unavailable.
fn expect(s: &Scrubbed, call: &str, primary: Option<&Scrubbed>, retried: bool) -> Value {
    let failure = |a: &Scrubbed| {
        if a.status == 200 {
            "not_json".to_owned()
        } else {
            format!("status {}", a.status)
        }
    };
    if broken(s) {
        let (primary, fallback) = match primary {
            Some(p) => (failure(p), failure(s)),
            None => (failure(s), "none".to_owned()),
        };
        return json!({"error": {"kind": "unavailable", "primary": primary, "fallback": fallback}});
    }
    if s.status != 200 {
        return json!({"error": {"kind": "http_status", "status": s.status}});
    }
    let Some((code, message)) = envelope(s) else {
        return json!({"error": {"kind": "decode"}});
    };
    let served_by = if on_fallback(s) {
        "fallback"
    } else {
        "primary"
    };
    if let Some((code, message)) = access_token_invalid(s) {
        if uses_server_token(call) && retried {
            return json!({"error": {"kind": "access_token_rejected", "code": code, "message": message}});
        }
        if call == "verify" {
            return json!({"error": {
                "kind": "player_access_token_rejected",
                "code": code,
                "known": code == VerifyCode::AccessTokenInvalid.as_i64(),
                "message": message,
                "served_by": served_by,
            }});
        }
    }
    let data = s
        .response_json
        .as_ref()
        .and_then(|b| b.get("data"))
        .filter(|d| !d.is_null());
    let player_id = s.json.as_ref().and_then(|b| b.get("player_id")).cloned();
    match call {
        "verify" | "verify_server_token" | "verify_v1" => match code {
            0 => match fields(data) {
                Some(fields) => {
                    json!({"ok": {"player_id": player_id, "served_by": served_by, "fields": fields}})
                }
                None => json!({"error": {"kind": "decode"}}),
            },
            5001 => json!({"error": {
                "kind": "distributed_token_invalid", "message": message, "served_by": served_by
            }}),
            code => json!({"error": {
                "kind": "token_rejected",
                "code": code,
                "known": !matches!(VerifyCode::from_i64(code), VerifyCode::Other(_)),
                "message": message,
                "served_by": served_by,
            }}),
        },
        "player_idps" => match code {
            0 => match player_accounts(data, player_id.as_ref().and_then(Value::as_i64)) {
                Some(accounts) => json!({"ok": {
                    "player_id": player_id, "served_by": served_by, "accounts": accounts
                }}),
                None => json!({"error": {"kind": "decode"}}),
            },
            code => json!({"error": {
                "kind": "player_idps_rejected",
                "code": code,
                "known": !matches!(PlayerIdpsCode::from_i64(code), PlayerIdpsCode::Other(_)),
                "message": message,
                "served_by": served_by,
            }}),
        },
        _ => match code {
            0 => match accounts(data) {
                Some(accounts) => json!({"ok": {"served_by": served_by, "accounts": accounts}}),
                None => json!({"error": {"kind": "decode"}}),
            },
            code => json!({"error": {
                "kind": "idp_rejected",
                "code": code,
                "known": !matches!(IdpCode::from_i64(code), IdpCode::Other(_)),
                "message": message,
                "served_by": served_by,
            }}),
        },
    }
}

/// The player fields of a v2 answer: booleans as `true`/`false`, `1`/`0` or those as text,
/// integers as numbers or text, `null` as absent, unknown fields kept as they are; `None` when
/// malformed.
fn fields(data: Option<&Value>) -> Option<Value> {
    let Some(data) = data else {
        return Some(json!({}));
    };
    let mut out = Map::new();
    let mut extra = Map::new();
    for (name, value) in data.as_object()? {
        let known = matches!(
            name.as_str(),
            "is_blocked" | "is_device_registered" | "join_timestamp" | "china_pi_no"
        );
        if !known {
            extra.insert(name.clone(), value.clone());
            continue;
        }
        if value.is_null() {
            continue;
        }
        let field = match name.as_str() {
            "join_timestamp" => wire::lenient_i64(value)?.into(),
            "china_pi_no" => gameauth_core::error::sanitize_message(&wire::text(value)?).into(),
            _ => match value {
                Value::Bool(b) => (*b).into(),
                other => match wire::text(other)?.trim() {
                    "true" | "1" => true.into(),
                    "false" | "0" => false.into(),
                    _ => return None,
                },
            },
        };
        out.insert(name.clone(), field);
    }
    if !extra.is_empty() {
        out.insert("extra".into(), Value::Object(extra));
    }
    Some(Value::Object(out))
}

/// The accounts of an IdP list answer; `None` when malformed.
fn accounts(data: Option<&Value>) -> Option<Value> {
    let Some(data) = data else {
        return Some(json!([]));
    };
    let mut out = Vec::new();
    for account in data.as_array()? {
        let a = account.as_object()?;
        let int = |f: &str| a.get(f).and_then(wire::lenient_i64);
        let text = |f: &str| a.get(f).and_then(wire::text);
        out.push(json!({
            "seq": int("seq")?,
            "player_id": int("player_id")?,
            "idp_user_id": text("idp_user_id")?,
            "idp_index": int("idp_index")?,
            "idp_id": text("idp_id")?,
        }));
    }
    Some(Value::Array(out))
}

/// The accounts of a token-validated IdP list answer, all of player `player_id`; `None` when
/// malformed or when an account is another player's.
fn player_accounts(data: Option<&Value>, player_id: Option<i64>) -> Option<Value> {
    let list = data?.as_object()?.get("list")?.as_array()?;
    let mut out = Vec::new();
    for account in list {
        let a = account.as_object()?;
        let id = a.get("player_id").and_then(wire::lenient_i64)?;
        if Some(id) != player_id {
            return None;
        }
        out.push(json!({
            "player_id": id,
            "idp_user_id": a.get("idp_user_id").and_then(wire::text)?,
            "idp_index": a.get("idp_index").and_then(wire::lenient_i64)?,
        }));
    }
    Some(Value::Array(out))
}
