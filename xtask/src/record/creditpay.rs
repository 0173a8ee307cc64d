//! Credit Pay recording rules: `identify/auth`, signed with
//! `signature = base64(HMAC-SHA1(key, path after the gateway prefix + body))`.
//!
//! The runner builds a fresh client per step from the same `ids`, so every step draws the first
//! id: the recorded `trace` headers (not covered by the signature) are all set to the first one.

use gameauth_core::lenient::decode_json;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use gameauth_creditpay::request::IDENTIFY_AUTH_PATH;

use super::Secrets;
use super::render::{Derived, Exchange, Scrubbed};
use super::wire::{self, put};

/// The environment variable holding the real signature key.
pub(crate) const SIGNATURE_KEY_VAR: &str = "CREDITPAY_SIGNATURE_KEY";
/// The environment variable holding the real API key.
pub(crate) const API_KEY_VAR: &str = "CREDITPAY_API_KEY";

/// The published example key of the Credit Pay contract (vectors C1–C9).
pub(crate) const DUMMY_KEY: &str = "18dd8a3c8003d2adcd13cb9981618bedd759a19f697a46d270542c6023479a08f541a5fa7f2e09a6f93cab7fe5de3b1b465abxxx";
/// The dummy API key.
pub(crate) const DUMMY_API_KEY: &str = "dummy-api-key-0001";

/// The real secrets read from the environment, with their dummies; all required.
pub(crate) const SECRETS: &[(&str, &str, bool)] = &[
    (SIGNATURE_KEY_VAR, DUMMY_KEY, true),
    (API_KEY_VAR, DUMMY_API_KEY, true),
];

/// Request headers the fixture pins.
pub(crate) const REQUEST_HEADERS: &[&str] =
    &["trace", "api-key", "signature", "lang", "content-type"];

/// The `lang` header the client sends unless told otherwise.
const DEFAULT_LANG: &str = "en-US";

/// The call a request makes; the path is recorded as sent (the step names the gateway prefix).
pub(crate) fn call(method: &str, path: &str) -> Option<(&'static str, String)> {
    (method == "POST" && path.ends_with(IDENTIFY_AUTH_PATH))
        .then(|| ("identify_auth", path.to_owned()))
}

/// The gateway prefix of a recorded path (`/dg` of `/dg/v1/platform/identify/auth`).
fn prefix(path: &str) -> &str {
    path.strip_suffix(IDENTIFY_AUTH_PATH).unwrap_or("")
}

fn sign(key: &str, body: &str) -> String {
    gameauth_core::sign::hmac_sha1_base64(
        key.as_bytes(),
        &[IDENTIFY_AUTH_PATH.as_bytes(), body.as_bytes()],
    )
}

/// Refuses a request whose `signature` does not follow from the real key.
pub(crate) fn admit(ex: &Exchange, secrets: &Secrets) -> Result<(), String> {
    let key = secrets
        .get(SIGNATURE_KEY_VAR)
        .ok_or_else(|| format!("{SIGNATURE_KEY_VAR} is not set"))?;
    let presented = ex
        .header("signature")
        .ok_or("it has no `signature` header".to_owned())?;
    if presented == sign(key, &ex.request_body) {
        Ok(())
    } else {
        Err(format!(
            "its `signature` does not verify under {SIGNATURE_KEY_VAR} \
             (HMAC-SHA1 of the path after the gateway prefix + body)"
        ))
    }
}

/// Sets every `trace` header to the first one and returns the clock: the proxy's time of the
/// first exchange, kept before every recorded `token_expire` (the client refuses expired ones).
pub(crate) fn normalise(exchanges: &mut [Exchange]) -> i64 {
    if let Some(trace) = exchanges
        .first()
        .and_then(|e| e.header("trace"))
        .map(str::to_owned)
    {
        for ex in exchanges.iter_mut() {
            ex.set_header("trace", &trace);
        }
    }
    let mut clock = exchanges.first().map_or(0, |e| e.at);
    for ex in exchanges.iter() {
        let expire = serde_json::from_str::<Value>(&ex.request_body)
            .ok()
            .and_then(|b| b.get("token_expire").and_then(Value::as_i64));
        if let Some(ms) = expire {
            clock = clock.min(ms.div_euclid(1000) - 1);
        }
    }
    clock
}

/// Signs the scrubbed request with the dummy key.
pub(crate) fn resign(s: &mut Scrubbed) {
    s.headers
        .insert("signature".to_owned(), sign(DUMMY_KEY, &s.body));
}

/// One step per call: `identify/auth` creates state and is never repeated after sending.
pub(crate) fn derive(scrubbed: &[Scrubbed], _clock: i64) -> Derived {
    let mut d = Derived::default();
    d.keys
        .insert("signature_key".to_owned(), DUMMY_KEY.to_owned());
    for (i, s) in scrubbed.iter().enumerate() {
        match step(s) {
            Ok(step) => {
                d.summary
                    .push(format!("identify_auth ({})", wire::label(&step["expect"])));
                d.steps.push(step);
                if d.ids.is_empty() {
                    d.ids.extend(s.headers.get("trace").cloned());
                }
                if let Some(api_key) = s.headers.get("api-key") {
                    d.keys
                        .entry("api_key".to_owned())
                        .or_insert_with(|| api_key.clone());
                }
                d.used.push(i);
            }
            Err(why) => d
                .warnings
                .push(format!("an `identify_auth` call is not replayable: {why}")),
        }
    }
    d
}

fn step(s: &Scrubbed) -> Result<Value, String> {
    let (plat_id, legacy) = match (s.query_param("plat_id"), s.query_param("platId")) {
        (Some(p), _) => (p, false),
        (None, Some(p)) => (p, true),
        (None, None) => return Err("the query has no plat_id".into()),
    };
    let body = wire::object(s.json.as_ref())?;
    let mut input = Map::new();
    for name in ["customer_no", "customer_token", "callback_url"] {
        input.insert(name.into(), wire::string(body, name)?.into());
    }
    input.insert(
        "token_expire".into(),
        wire::integer(body, "token_expire")?.into(),
    );
    input.insert("client_ip".into(), wire::string(body, "client_ip")?.into());
    put(
        &mut input,
        "session_sign",
        wire::opt_string(body, "session_sign")?,
    );
    put(
        &mut input,
        "credit_limit_tag",
        wire::opt_string(body, "credit_limit_tag")?,
    );
    if let Some(cards) = body.get("credit_limit_available_cards") {
        input.insert("credit_limit_available_cards".into(), self::cards(cards)?);
    }
    if let Some(lang) = s.headers.get("lang").filter(|l| *l != DEFAULT_LANG) {
        input.insert("lang".into(), lang.clone().into());
    }
    let mut step = json!({
        "call": "identify_auth",
        "host": "default",
        "prefix": prefix(&s.path),
        "plat_id": plat_id,
        "input": input,
        "expect": expect(s),
    });
    if legacy {
        step["plat_id_param"] = "platId".into();
    }
    Ok(step)
}

fn cards(cards: &Value) -> Result<Value, String> {
    let bad = || "`credit_limit_available_cards` is not a list of cards".to_owned();
    let list = cards.as_array().ok_or_else(bad)?;
    let mut out = Vec::with_capacity(list.len());
    for card in list {
        let card = card.as_object().ok_or_else(bad)?;
        let mut spec = Map::new();
        for field in ["tag", "amount", "currency"] {
            let v = card.get(field).and_then(wire::text).ok_or_else(bad)?;
            spec.insert(field.into(), v.into());
        }
        for field in ["icon", "input"] {
            put(&mut spec, field, card.get(field).and_then(wire::text));
        }
        out.push(Value::Object(spec));
    }
    Ok(Value::Array(out))
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(deserialize_with = "gameauth_core::lenient::i64_lenient")]
    code: i64,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    data: Option<Box<RawValue>>,
    #[serde(default)]
    trace: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    ident_code: String,
    url: String,
}

/// The outcome the Credit Pay contract gives an answer: a non-200 is an HTTP-status failure,
/// `code` 500 a server error, any other non-zero code a rejection, `code` 0 the code and URL.
fn expect(s: &Scrubbed) -> Value {
    let decode = json!({"error": {"kind": "decode"}});
    if s.status != 200 {
        return json!({"error": {"kind": "http_status", "status": s.status}});
    }
    let Ok(envelope) = decode_json::<Envelope>(s.response_body.as_bytes()) else {
        return decode;
    };
    let message = gameauth_core::error::sanitize_message(envelope.msg.as_deref().unwrap_or(""));
    match envelope.code {
        0 => {}
        500 => return json!({"error": {"kind": "server_error", "message": message}}),
        code => {
            return json!({"error": {"kind": "rejected", "code": code, "message": message}});
        }
    }
    let data = envelope
        .data
        .filter(|d| d.get() != "null")
        .and_then(|d| decode_json::<Data>(d.get().as_bytes()).ok());
    match data {
        Some(d)
            if !d.ident_code.is_empty()
                && url::Url::parse(&d.url)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https")) =>
        {
            let mut ok = json!({"ident_code": d.ident_code, "url": d.url});
            if let Some(trace) = envelope.trace {
                ok["trace"] = gameauth_core::error::sanitize_message(&trace).into();
            }
            json!({ "ok": ok })
        }
        _ => decode,
    }
}
