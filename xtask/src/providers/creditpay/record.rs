//! Credit Pay recording rules: `identify/auth`, signed with
//! `signature = base64(HMAC-SHA1(key, path after the gateway prefix + body))`
//! ([`super::CreditPay`]'s `sign`).
//!
//! The runner builds a fresh client per step from the same `ids`, so every step draws the first
//! id: the recorded `trace` headers (not covered by the signature) are all set to the first one.
//!
//! The answers are read with this module's own copy of Credit Pay's wire shapes (`Envelope`,
//! `Data`), not with the SDK's parser, on purpose: the recorder is an independent oracle, so an
//! SDK that misreads an answer fails the recorded fixture instead of having its misreading
//! recorded as the expectation. Do not replace them with the SDK's types.

use gameauth_contract::record::wire::{self, put};
use gameauth_contract::record::{Derived, Exchange, RecordRules, Scrubbed, SecretVar};
use gameauth_core::lenient::decode_json;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use gameauth_creditpay::request::IDENTIFY_AUTH_PATH;

use super::{CreditPay, PUBLISHED_KEY};

/// The dummy API key.
const DUMMY_API_KEY: &str = "dummy-api-key-0001";

/// The real keys, replaced by the published example key and a dummy.
const SECRETS: &[SecretVar] = &[
    SecretVar::signing("CREDITPAY_SIGNATURE_KEY", PUBLISHED_KEY),
    SecretVar::required("CREDITPAY_API_KEY", DUMMY_API_KEY),
];

/// The `lang` header the client sends unless told otherwise.
const DEFAULT_LANG: &str = "en-US";

impl RecordRules for CreditPay {
    fn secrets(&self) -> &[SecretVar] {
        SECRETS
    }

    fn request_headers(&self) -> &[&'static str] {
        &["trace", "api-key", "signature", "lang", "content-type"]
    }

    /// The one-time code `identify/auth` returns: a credential in a live exchange, although
    /// the published examples show one.
    fn scrub_fields(&self) -> &[&'static str] {
        &["ident_code"]
    }

    /// The path is recorded as sent (the step names the gateway prefix).
    fn call(&self, method: &str, path: &str) -> Option<(&'static str, String)> {
        (method == "POST" && path.ends_with(IDENTIFY_AUTH_PATH))
            .then(|| ("identify_auth", path.to_owned()))
    }

    fn normalise(&self, exchanges: &mut [Exchange]) -> i64 {
        normalise(exchanges)
    }

    fn derive(&self, scrubbed: &[Scrubbed], clock: i64) -> Derived {
        derive(scrubbed, clock)
    }
}

/// The gateway prefix of a recorded path (`/dg` of `/dg/v1/platform/identify/auth`).
fn prefix(path: &str) -> &str {
    path.strip_suffix(IDENTIFY_AUTH_PATH).unwrap_or("")
}

/// Sets every `trace` header to the first one and returns the clock: the proxy's time of the
/// first exchange, kept before every recorded `token_expire` (the client refuses expired ones).
fn normalise(exchanges: &mut [Exchange]) -> i64 {
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

/// One step per call: `identify/auth` creates state and is never repeated after sending.
fn derive(scrubbed: &[Scrubbed], _clock: i64) -> Derived {
    let mut d = Derived::default();
    d.keys
        .insert("signature_key".to_owned(), PUBLISHED_KEY.to_owned());
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
    // The docs' field table spells the player's number `custom_no`, the examples `customer_no`.
    let custom_no = !body.contains_key("customer_no") && body.contains_key("custom_no");
    let number_field = if custom_no {
        "custom_no"
    } else {
        "customer_no"
    };
    input.insert(
        "customer_no".into(),
        wire::string(body, number_field)?.into(),
    );
    for name in ["customer_token", "callback_url"] {
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
    if custom_no {
        step["customer_no_field"] = "custom_no".into();
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
