//! OMG recording rules: `authorize`, `enter_game` and `ingame`, signed with
//! `sign = md5(query + body + key)` ([`super::Omg`]'s `sign`).
//!
//! Every `timestamp` of the recorded bodies is set to the fixture's clock (the first one seen),
//! because the runner replays all steps at one frozen time; the requests are then re-signed.
//!
//! The answers are read with this module's own copy of OMG's wire shapes (`Envelope`,
//! `AuthorizeData`, `LaunchData`), not with the SDK's parser, on purpose: the recorder is an
//! independent oracle, so an SDK that misreads an answer fails the recorded fixture instead of
//! having its misreading recorded as the expectation. Do not replace them with the SDK's types.

use gameauth_contract::record::json::{self, Token};
use gameauth_contract::record::wire::{self, put};
use gameauth_contract::record::{
    Derived, Exchange, RecordRules, Scrubbed, SecretVar, post_endpoint,
};
use gameauth_core::lenient::decode_json;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use gameauth_omg::OmgCode;
use gameauth_omg::authorize::{AUTHORIZE_PATH, TOKEN_LIFETIME};
use gameauth_omg::launch::{ENTER_GAME_PATH, INGAME_PATH};

use super::{Omg, PUBLISHED_KEY};

/// The environment variable holding the real signature key.
pub(super) const SIGN_KEY_VAR: &str = "OMG_SIGN_KEY";

/// The real signing key, replaced by the published example key.
const SECRETS: &[SecretVar] = &[SecretVar::signing(SIGN_KEY_VAR, PUBLISHED_KEY)];

const CALLS: [(&str, &str); 3] = [
    (AUTHORIZE_PATH, "authorize"),
    (ENTER_GAME_PATH, "enter_game"),
    (INGAME_PATH, "ingame"),
];

impl RecordRules for Omg {
    fn secrets(&self) -> &[SecretVar] {
        SECRETS
    }

    fn request_headers(&self) -> &[&'static str] {
        &["sign", "content-type"]
    }

    /// The player's logon token and session id of OMG's callbacks.
    fn scrub_fields(&self) -> &[&'static str] {
        &["player_logon_token", "operator_player_session"]
    }

    /// The endpoint, without any prefix: the runner's client talks to the mock's root.
    fn call(&self, method: &str, path: &str) -> Option<(&'static str, String)> {
        post_endpoint(&CALLS, method, path)
    }

    fn normalise(&self, exchanges: &mut [Exchange]) -> i64 {
        normalise(exchanges)
    }

    fn derive(&self, scrubbed: &[Scrubbed], clock: i64) -> Derived {
        derive(scrubbed, clock)
    }
}

/// Sets every body `timestamp` to the first one recorded and returns it as the clock (or the
/// proxy's time of the first exchange when no body has one).
fn normalise(exchanges: &mut [Exchange]) -> i64 {
    let mut clock = None;
    for ex in exchanges.iter() {
        json::visit(&ex.request_body, |key, token| {
            if let (None, Some("timestamp"), Token::Num(n)) = (clock, key, token) {
                clock = n.parse::<i64>().ok();
            }
        });
    }
    let clock = clock.unwrap_or_else(|| exchanges.first().map_or(0, |e| e.at));
    for ex in exchanges.iter_mut() {
        if serde_json::from_str::<serde::de::IgnoredAny>(&ex.request_body).is_ok() {
            ex.request_body = json::rewrite(&ex.request_body, |key, token| match (key, token) {
                (Some("timestamp"), Token::Num(_)) => Some(clock.to_string()),
                _ => None,
            });
        }
    }
    clock
}

/// One step per call; a launch repeated byte for byte after a 5xx or 429 is the client's retry
/// and belongs to the same step.
fn derive(scrubbed: &[Scrubbed], clock: i64) -> Derived {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, s) in scrubbed.iter().enumerate() {
        let retry = groups.last().is_some_and(|g| {
            let prev = &scrubbed[g[g.len() - 1]];
            s.call != "authorize"
                && prev.call == s.call
                && (prev.status == 429 || prev.status >= 500)
                && prev.query == s.query
                && prev.body == s.body
        });
        match groups.last_mut() {
            Some(g) if retry => g.push(i),
            _ => groups.push(vec![i]),
        }
    }
    let mut d = Derived::default();
    d.keys
        .insert("sign_key".to_owned(), PUBLISHED_KEY.to_owned());
    for group in groups {
        let first = &scrubbed[group[0]];
        let last = &scrubbed[group[group.len() - 1]];
        let input = match input(first) {
            Ok(input) => input,
            Err(why) => {
                d.warnings
                    .push(format!("a `{}` call is not replayable: {why}", first.call));
                continue;
            }
        };
        let Some(trace) = first.query_param("trace_id") else {
            d.warnings
                .push(format!("a `{}` call has no trace_id", first.call));
            continue;
        };
        let expect = expect(first.call, last, clock);
        d.summary
            .push(format!("{} ({})", first.call, wire::label(&expect)));
        d.steps
            .push(json!({"call": first.call, "input": input, "expect": expect}));
        d.ids.push(trace);
        d.used.extend(group);
    }
    d
}

/// The step input, read from the recorded body.
fn input(s: &Scrubbed) -> Result<Value, String> {
    let body = wire::object(s.json.as_ref())?;
    let mut input = Map::new();
    input.insert("app_id".into(), wire::string(body, "app_id")?.into());
    match s.call {
        "authorize" => {
            input.insert("uname".into(), wire::string(body, "uname")?.into());
            input.insert("nickname".into(), wire::string(body, "nickname")?.into());
            put(&mut input, "cid", wire::opt_integer(body, "cid")?);
        }
        call => {
            input.insert("token".into(), wire::string(body, "token")?.into());
            input.insert("game_id".into(), wire::string(body, "gameid")?.into());
            input.insert(
                "screen_mode".into(),
                wire::string(body, "screen_mode")?.into(),
            );
            put(&mut input, "lang", wire::opt_string(body, "lang")?);
            put(&mut input, "back_url", wire::opt_string(body, "back_url")?);
            if call == "ingame" {
                input.insert("nick".into(), wire::string(body, "nick")?.into());
                put(&mut input, "cid", wire::opt_integer(body, "cid")?);
            }
        }
    }
    Ok(Value::Object(input))
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(deserialize_with = "gameauth_core::lenient::i64_lenient")]
    code: i64,
    #[serde(
        default,
        deserialize_with = "gameauth_core::lenient::opt_string_or_number"
    )]
    msg: Option<String>,
    #[serde(default)]
    data: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct AuthorizeData {
    #[serde(deserialize_with = "gameauth_core::lenient::string_or_number")]
    token: String,
    #[serde(deserialize_with = "gameauth_core::lenient::decimal")]
    balance: String,
    #[serde(deserialize_with = "gameauth_core::lenient::string_or_number")]
    app_id: String,
}

#[derive(Deserialize)]
struct LaunchData {
    gameurl: String,
}

/// The outcome the OMG contract gives the final answer of a call: a non-200 is an HTTP-status
/// failure, a non-zero `code` a rejection, `code` 0 the call's `data`.
fn expect(call: &str, s: &Scrubbed, clock: i64) -> Value {
    let decode = json!({"error": {"kind": "decode"}});
    if s.status != 200 {
        return json!({"error": {"kind": "http_status", "status": s.status}});
    }
    // Decoded from the text, so numbers keep their exact digits (`42766.25`).
    let Ok(envelope) = decode_json::<Envelope>(s.response_body.as_bytes()) else {
        return decode;
    };
    if envelope.code != 0 {
        let known = !matches!(OmgCode::from_i64(envelope.code), OmgCode::Other(_));
        let message = gameauth_core::error::sanitize_message(envelope.msg.as_deref().unwrap_or(""));
        return json!({"error": {"kind": "rejected", "code": envelope.code, "known": known, "message": message}});
    }
    let Some(data) = envelope.data.filter(|d| d.get() != "null") else {
        return decode;
    };
    let data = data.get().as_bytes();
    if call == "authorize" {
        match decode_json::<AuthorizeData>(data) {
            Ok(d) if !d.token.is_empty() => json!({"ok": {
                "token": d.token,
                "balance": d.balance,
                "app_id": d.app_id,
                "expires_at": clock + TOKEN_LIFETIME.as_secs() as i64,
            }}),
            _ => decode,
        }
    } else {
        match decode_json::<LaunchData>(data) {
            Ok(d) if !d.gameurl.is_empty() => json!({"ok": {"gameurl": d.gameurl}}),
            _ => decode,
        }
    }
}
