//! Turning the recorded exchanges into fixture text: normalise, scrub, re-sign, derive the steps,
//! then refuse the result if any real value survived.
//!
//! The whole fixture is rendered again from the raw exchanges after every exchange, so the
//! real → dummy mapping is always learnt in recording order and stays consistent.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::scrub::Scrubber;
use super::{RecordRules, Secrets};
use crate::Provider;
use crate::fixture::Direction;
use crate::provider::SignInput;
use crate::secret_names::SecretNames;

/// Response headers a client under test reads.
const RESPONSE_HEADERS: &[&str] = &["content-type", "retry-after"];

/// One request forwarded by the proxy and the upstream's answer, as text. Deliberately not
/// `Debug`: it holds real secrets.
#[derive(Clone)]
#[non_exhaustive]
pub struct Exchange {
    /// The fixture host the exchange went to: the provider's main host, or Hive's `fallback`.
    pub host: &'static str,
    /// HTTP method.
    pub method: String,
    /// Path as the client sent it.
    pub path: String,
    /// Raw query, without `?`.
    pub query: Option<String>,
    /// Request headers, names in lower case, in order.
    pub request_headers: Vec<(String, String)>,
    /// Request body.
    pub request_body: String,
    /// Response status.
    pub status: u16,
    /// Response headers, names in lower case, in order.
    pub response_headers: Vec<(String, String)>,
    /// Response body.
    pub response_body: String,
    /// When the proxy received the request, Unix seconds.
    pub at: i64,
}

impl Exchange {
    /// The first request header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.request_headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Replaces every request header called `name` by one with `value`.
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.request_headers.retain(|(n, _)| n != name);
        self.request_headers
            .push((name.to_owned(), value.to_owned()));
    }

    fn is_form(&self) -> bool {
        self.header("content-type")
            .is_some_and(|c| c.contains("application/x-www-form-urlencoded"))
    }
}

/// An exchange after scrubbing and re-signing, ready for step derivation.
#[non_exhaustive]
pub struct Scrubbed {
    /// The provider's name of the call (`authorize`, `verify`, …).
    pub call: &'static str,
    /// The fixture host the call went to.
    pub host: &'static str,
    /// HTTP method.
    pub method: String,
    /// The path as written to the fixture.
    pub path: String,
    /// The scrubbed raw query, without `?`.
    pub query: Option<String>,
    /// The recorded request headers, scrubbed.
    pub headers: BTreeMap<String, String>,
    /// The scrubbed request body.
    pub body: String,
    /// The scrubbed request body as JSON, when it is JSON.
    pub json: Option<Value>,
    /// The scrubbed form body, when it is a form without repeated fields.
    form: Option<BTreeMap<String, String>>,
    /// The response status.
    pub status: u16,
    response_headers: BTreeMap<String, String>,
    /// The scrubbed response body.
    pub response_body: String,
    /// The scrubbed response body as JSON, when it is JSON.
    pub response_json: Option<Value>,
}

impl Scrubbed {
    /// A decoded query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let q = self.query.as_deref()?;
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// What a provider derived from the scrubbed exchanges.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Derived {
    /// The fixture's steps, in the format of the provider's runner.
    pub steps: Vec<Value>,
    /// The generated ids the steps draw, in order.
    pub ids: Vec<String>,
    /// The dummy keys the runner's clients need, by name.
    pub keys: BTreeMap<String, String>,
    /// Indices of the exchanges the steps replay, in recording order.
    pub used: Vec<usize>,
    /// One short label per step (`authorize (ok)`), for the description.
    pub summary: Vec<String>,
    /// Why some exchanges are not in the fixture.
    pub warnings: Vec<String>,
}

/// The fixture's fixed texts.
#[derive(Debug, Clone)]
pub struct Meta {
    /// The scenario name (the file stem).
    pub scenario: String,
    /// Where the exchanges come from.
    pub source: String,
}

/// A rendered fixture.
pub(crate) struct Rendered {
    /// The fixture text; empty when no exchange could be turned into a step yet.
    pub(crate) text: String,
    pub(crate) interactions: usize,
    pub(crate) warnings: Vec<String>,
}

#[derive(Serialize)]
struct FixtureOut<'a> {
    schema: u32,
    provider: &'a str,
    scenario: &'a str,
    source: &'a str,
    description: String,
    clock: i64,
    ids: Vec<String>,
    keys: BTreeMap<String, String>,
    steps: Vec<Value>,
    interactions: Vec<InteractionOut>,
}

#[derive(Serialize)]
struct InteractionOut {
    name: String,
    direction: &'static str,
    host: &'static str,
    request: RequestOut,
    response: ResponseOut,
}

#[derive(Serialize)]
struct RequestOut {
    method: String,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<String>,
    headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_json: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_form: Option<BTreeMap<String, String>>,
}

#[derive(Serialize)]
struct ResponseOut {
    status: u16,
    headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
}

/// The header that carries `ex`'s signature, when `provider` signs it.
fn signature_header(provider: &dyn Provider, ex: &Exchange) -> Option<String> {
    let request = SignInput::new(
        Direction::Outbound,
        &ex.method,
        &ex.path,
        ex.query.as_deref(),
        ex.request_body.as_bytes(),
    )
    .with_headers(
        ex.request_headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
    );
    provider.sign(&request, "").map(|s| s.header().to_owned())
}

/// Signs the scrubbed request with the dummy signing key, when the provider signs it.
fn resign(provider: &dyn Provider, rules: &dyn RecordRules, s: &mut Scrubbed) {
    let Some(key) = rules.secrets().iter().find(|v| v.signs).map(|v| v.dummy) else {
        return;
    };
    let request = SignInput::new(
        Direction::Outbound,
        &s.method,
        &s.path,
        s.query.as_deref(),
        s.body.as_bytes(),
    )
    .with_headers(s.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    if let Some(signature) = provider.sign(&request, key) {
        s.headers
            .insert(signature.header().to_owned(), signature.value().to_owned());
    }
}

/// Renders the fixture for `exchanges` (all admitted by the recorder).
pub(crate) fn render(
    provider: &dyn Provider,
    rules: &dyn RecordRules,
    exchanges: &[Exchange],
    meta: &Meta,
    secrets: &Secrets,
    personal: &[String],
) -> Result<Rendered, String> {
    let mut exchanges = exchanges.to_vec();
    let clock = rules.normalise(&mut exchanges);

    let names = SecretNames::for_recording(
        provider
            .secret_fields()
            .iter()
            .chain(rules.scrub_fields())
            .copied(),
    );
    let mut scrubber = Scrubber::new(names, personal);
    for (var, dummy, value) in secrets.pinned() {
        scrubber.pin(value, dummy, var);
    }
    for ex in &exchanges {
        learn(&mut scrubber, ex, signature_header(provider, ex).as_deref());
    }

    let mut scrubbed = Vec::with_capacity(exchanges.len());
    for ex in &exchanges {
        let Some((call, path)) = rules.call(&ex.method, &ex.path) else {
            continue;
        };
        let signature = signature_header(provider, ex);
        let headers: Vec<&str> = rules
            .request_headers()
            .iter()
            .copied()
            .filter(|h| Some(*h) != signature.as_deref())
            .collect();
        let mut s = scrub(&scrubber, ex, call, path, &headers);
        resign(provider, rules, &mut s);
        scrubbed.push(s);
    }

    let derived = rules.derive(&scrubbed, clock);
    if derived.used.is_empty() {
        return Ok(Rendered {
            text: String::new(),
            interactions: 0,
            warnings: derived.warnings,
        });
    }
    let mut interactions = Vec::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in &derived.used {
        let s = scrubbed.get(i).ok_or_else(|| {
            format!("the provider's steps use exchange {i}, which does not exist")
        })?;
        let n = seen.entry(s.call).or_insert(0);
        *n += 1;
        let name = if *n == 1 {
            s.call.to_owned()
        } else {
            format!("{}_{n}", s.call)
        };
        interactions.push(interaction(name, s, rules.json_bodies()));
    }
    let fixture = FixtureOut {
        schema: crate::fixture::SCHEMA,
        provider: provider.name(),
        scenario: &meta.scenario,
        source: &meta.source,
        description: format!("Recorded calls: {}.", derived.summary.join(", ")),
        clock,
        ids: derived.ids,
        keys: derived.keys,
        steps: derived.steps,
        interactions,
    };
    let count = fixture.interactions.len();
    let mut text = serde_json::to_string_pretty(&fixture)
        .map_err(|e| format!("cannot serialise the fixture: {e}"))?;
    text.push('\n');
    scrubber.check(&text)?;
    Ok(Rendered {
        text,
        interactions: count,
        warnings: derived.warnings,
    })
}

/// Learns every secret and personal value of one exchange, request first.
fn learn(scrubber: &mut Scrubber, ex: &Exchange, signature: Option<&str>) {
    for (name, value) in &ex.request_headers {
        if Some(name.as_str()) == signature {
            scrubber.forbid(value, "an original signature");
        }
    }
    if let Some(q) = &ex.query {
        scrubber.learn_query(q);
    }
    scrubber.learn_pairs(
        ex.request_headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
    );
    if gameauth_core::outbound::is_json(ex.request_body.as_bytes()) {
        scrubber.learn_json(&ex.request_body);
    } else if ex.is_form() {
        scrubber.learn_query(&ex.request_body);
    }
    scrubber.learn_pairs(
        ex.response_headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
    );
    if gameauth_core::outbound::is_json(ex.response_body.as_bytes()) {
        scrubber.learn_json(&ex.response_body);
    }
}

fn scrub(
    scrubber: &Scrubber,
    ex: &Exchange,
    call: &'static str,
    path: String,
    request_headers: &[&str],
) -> Scrubbed {
    let headers = request_headers
        .iter()
        .filter_map(|h| ex.header(h).map(|v| ((*h).to_owned(), scrubber.text(v))))
        .collect();
    let (body, json, form) = if gameauth_core::outbound::is_json(ex.request_body.as_bytes()) {
        let body = scrubber.json(&ex.request_body);
        let json = serde_json::from_str(&body).ok();
        (body, json, None)
    } else if ex.is_form() {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(ex.request_body.as_bytes())
            .map(|(k, v)| (k.into_owned(), scrubber.text(&v)))
            .collect();
        let form: BTreeMap<String, String> = pairs.iter().cloned().collect();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let form = (form.len() == pairs.len()).then_some(form);
        (body, None, form)
    } else {
        (scrubber.text(&ex.request_body), None, None)
    };
    let response_headers = ex
        .response_headers
        .iter()
        .filter(|(n, _)| RESPONSE_HEADERS.contains(&n.as_str()))
        .map(|(n, v)| (n.clone(), scrubber.text(v)))
        .collect();
    let (response_body, response_json) =
        if gameauth_core::outbound::is_json(ex.response_body.as_bytes()) {
            let b = scrubber.json(&ex.response_body);
            let j = serde_json::from_str(&b).ok();
            (b, j)
        } else {
            (scrubber.text(&ex.response_body), None)
        };
    Scrubbed {
        call,
        host: ex.host,
        method: ex.method.clone(),
        path,
        query: ex.query.as_deref().map(|q| scrubber.query(q)),
        headers,
        body,
        json,
        form,
        status: ex.status,
        response_headers,
        response_body,
        response_json,
    }
}

fn interaction(name: String, s: &Scrubbed, json_bodies: bool) -> InteractionOut {
    let (body, body_json, body_form) = match (&s.json, &s.form) {
        _ if s.body.is_empty() => (None, None, None),
        (Some(j), _) if json_bodies => (None, Some(j.clone()), None),
        (_, Some(f)) => (None, None, Some(f.clone())),
        _ => (Some(s.body.clone()), None, None),
    };
    InteractionOut {
        name,
        direction: "outbound",
        host: s.host,
        request: RequestOut {
            method: s.method.clone(),
            path: s.path.clone(),
            query: s.query.clone(),
            headers: s.headers.clone(),
            body,
            body_json,
            body_form,
        },
        response: ResponseOut {
            status: s.status,
            headers: s.response_headers.clone(),
            body: (!s.response_body.is_empty()).then(|| s.response_body.clone()),
        },
    }
}
