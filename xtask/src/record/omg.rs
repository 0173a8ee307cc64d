//! OMG recording rules: `authorize`, `enter_game` and `ingame`, signed with
//! `sign = md5(query + body + key)`.
//!
//! Every `timestamp` of the recorded bodies is set to the fixture's clock (the first one seen),
//! because the runner replays all steps at one frozen time; the requests are then re-signed.

use gameauth_core::lenient::decode_json;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use gameauth_omg::OmgCode;
use gameauth_omg::authorize::{AUTHORIZE_PATH, TOKEN_LIFETIME};
use gameauth_omg::launch::{ENTER_GAME_PATH, INGAME_PATH};

use super::Secrets;
use super::json::{self, Token};
use super::render::{Derived, Exchange, Scrubbed};
use super::wire::{self, put};

/// The environment variable holding the real signature key.
pub(crate) const SIGN_KEY_VAR: &str = "OMG_SIGN_KEY";

/// The published example key of the OMG contract (vectors O1–O7).
pub(crate) const DUMMY_KEY: &str = "39a6581c31ef3203a22edb2daa2ab6d1";

/// The real secrets read from the environment, with their dummies; all required.
pub(crate) const SECRETS: &[(&str, &str, bool)] = &[(SIGN_KEY_VAR, DUMMY_KEY, true)];

/// Request headers the fixture pins.
pub(crate) const REQUEST_HEADERS: &[&str] = &["sign", "content-type"];

const CALLS: [(&str, &str); 3] = [
    (AUTHORIZE_PATH, "authorize"),
    (ENTER_GAME_PATH, "enter_game"),
    (INGAME_PATH, "ingame"),
];

/// The call a request makes and the path to record (the endpoint, without any prefix: the
/// runner's client talks to the mock's root).
pub(crate) fn call(method: &str, path: &str) -> Option<(&'static str, String)> {
    if method != "POST" {
        return None;
    }
    CALLS
        .iter()
        .find(|(endpoint, _)| path.ends_with(endpoint))
        .map(|(endpoint, call)| (*call, (*endpoint).to_owned()))
}

fn sign(query: &str, body: &str, key: &str) -> String {
    gameauth_core::sign::md5_hex(&[query.as_bytes(), body.as_bytes(), key.as_bytes()])
}

/// Refuses a request whose `sign` does not follow from the real key: re-signing it would
/// record a wire format that was never sent.
pub(crate) fn admit(ex: &Exchange, secrets: &Secrets) -> Result<(), String> {
    let key = secrets
        .get(SIGN_KEY_VAR)
        .ok_or_else(|| format!("{SIGN_KEY_VAR} is not set"))?;
    let presented = ex
        .header("sign")
        .ok_or("it has no `sign` header".to_owned())?;
    let expected = sign(ex.query.as_deref().unwrap_or(""), &ex.request_body, key);
    if presented.eq_ignore_ascii_case(&expected) {
        Ok(())
    } else {
        Err(format!(
            "its `sign` header does not verify under {SIGN_KEY_VAR} (md5 of query + body + key)"
        ))
    }
}

/// Sets every body `timestamp` to the first one recorded and returns it as the clock (or the
/// proxy's time of the first exchange when no body has one).
pub(crate) fn normalise(exchanges: &mut [Exchange]) -> i64 {
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

/// Signs the scrubbed request with the dummy key.
pub(crate) fn resign(s: &mut Scrubbed) {
    let sign = sign(s.query.as_deref().unwrap_or(""), &s.body, DUMMY_KEY);
    s.headers.insert("sign".to_owned(), sign);
}

/// One step per call; a launch repeated byte for byte after a 5xx or 429 is the client's retry
/// and belongs to the same step.
pub(crate) fn derive(scrubbed: &[Scrubbed], clock: i64) -> Derived {
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
    d.keys.insert("sign_key".to_owned(), DUMMY_KEY.to_owned());
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
        let known = !matches!(OmgCode::from_code(envelope.code), OmgCode::Other(_));
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
