//! Replaying inbound interactions: the provider calls our verifier or server.
//!
//! The recorded request is sent to any [`tower::Service`] (an axum `Router`, or a plain async
//! function through [`from_fn`]) and the answer is compared with the recorded one: status, the
//! listed headers and the body. Fresh values are matched by rule instead of compared: a JSON
//! pointer listed in `volatile` must hold a non-empty string, a response header whose recorded
//! value holds `{{name}}` is a template whose literal parts must match. Values named in
//! `capture` (and the template placeholders) are remembered and fill `{{name}}` in the requests
//! of later interactions.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tower::ServiceExt;

use crate::fixture::{Fixture, Interaction, RecordedResponse, encode_form};

/// Values captured from earlier answers, substituted for `{{name}}` in later requests.
pub type Vars = BTreeMap<String, String>;
/// Replaces every `{{name}}` in `text` with its captured value.
fn substitute(text: &str, vars: &Vars) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "unterminated `{{` placeholder".to_owned())?;
        let name = &after[..end];
        let value = vars
            .get(name)
            .ok_or_else(|| format!("placeholder `{{{{{name}}}}}` was never captured"))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn substitute_json(value: &Value, vars: &Vars) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => Value::String(substitute(s, vars)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| substitute_json(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| Ok((k.clone(), substitute_json(v, vars)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// The HTTP request of an inbound interaction, placeholders substituted. The URI is
/// origin-form (`/path?query`) with the raw query exactly as recorded.
///
/// # Errors
///
/// A message when a `{{name}}` placeholder in the path, query, a header or the body is
/// unterminated or names a value not in `vars`, when the request gives more than one of
/// `body`, `body_json` and `body_form`, or when the method, URI or a header is not valid HTTP.
pub fn inbound_request(i: &Interaction, vars: &Vars) -> Result<http::Request<Bytes>, String> {
    let r = &i.request;
    let mut uri = substitute(&r.path, vars)?;
    if let Some(q) = &r.query {
        uri.push('?');
        uri.push_str(&substitute(q, vars)?);
    }
    let body = match (&r.body, &r.body_json, &r.body_form) {
        (Some(text), None, None) => substitute(text, vars)?.into_bytes(),
        (None, Some(json), None) => {
            serde_json::to_vec(&substitute_json(json, vars)?).map_err(|e| e.to_string())?
        }
        (None, None, Some(form)) => {
            let form: BTreeMap<String, String> = form
                .iter()
                .map(|(k, v)| Ok((k.clone(), substitute(v, vars)?)))
                .collect::<Result<_, String>>()?;
            encode_form(form.iter()).into_bytes()
        }
        (None, None, None) => Vec::new(),
        _ => return Err("give at most one of body, body_json, body_form".into()),
    };
    let mut builder = http::Request::builder()
        .method(r.method.as_str())
        .uri(uri.as_str());
    for (k, v) in &r.headers {
        builder = builder.header(k.as_str(), substitute(v, vars)?);
    }
    builder
        .body(Bytes::from(body))
        .map_err(|e| format!("interaction `{}` is not a valid request: {e}", i.name))
}

/// Compares our answer with the expected one, then captures values for later requests.
///
/// # Errors
///
/// A message saying what differs, at the first of these checks that fails (`vars` then keeps
/// only what the earlier checks captured):
/// * the status is not the recorded one;
/// * a listed header is missing or has another value, or (for a template) is not text or does
///   not match the template;
/// * the body is not JSON although `body_json` or `capture` is recorded;
/// * the body differs from the recorded `body` text;
/// * a `volatile` pointer is missing or not a non-empty string;
/// * outside the `volatile` pointers, the body differs from `body_json` (the error names the
///   first differing JSON pointer);
/// * a `capture` pointer is missing or holds neither a string nor a number.
pub fn check_inbound_response(
    expected: &RecordedResponse,
    actual: http::Response<Bytes>,
    vars: &mut Vars,
) -> Result<(), String> {
    let (parts, body) = actual.into_parts();
    if parts.status.as_u16() != expected.status {
        return Err(format!(
            "status {} is not {}; body {:?}",
            parts.status.as_u16(),
            expected.status,
            String::from_utf8_lossy(&body)
        ));
    }
    for (name, value) in &expected.headers {
        let got = parts.headers.get(name.as_str()).map(|v| v.as_bytes());
        if value.contains("{{") {
            let got = got.ok_or_else(|| format!("header `{name}` is missing"))?;
            let got =
                std::str::from_utf8(got).map_err(|_| format!("header `{name}` is not text"))?;
            match_template(value, got, vars).map_err(|e| format!("header `{name}`: {e}"))?;
        } else if got != Some(value.as_bytes()) {
            return Err(format!(
                "header `{name}` is {:?}, expected {value:?}",
                got.map(String::from_utf8_lossy)
            ));
        }
    }
    let needs_json = expected.body_json.is_some() || !expected.capture.is_empty();
    let actual_json = if needs_json {
        Some(
            serde_json::from_slice::<Value>(&body)
                .map_err(|_| format!("body is not JSON: {:?}", String::from_utf8_lossy(&body)))?,
        )
    } else {
        None
    };
    if let Some(text) = &expected.body
        && body.as_ref() != text.as_bytes()
    {
        return Err(format!(
            "body {:?} is not {text:?}",
            String::from_utf8_lossy(&body)
        ));
    }
    if let (Some(want), Some(got)) = (&expected.body_json, &actual_json) {
        let mut want = want.clone();
        let mut got = got.clone();
        for pointer in &expected.volatile {
            match got.pointer_mut(pointer) {
                Some(Value::String(s)) if !s.is_empty() => *s = String::new(),
                Some(other) => {
                    return Err(format!(
                        "volatile `{pointer}` must be a non-empty string, got {other}"
                    ));
                }
                None => return Err(format!("volatile `{pointer}` is missing")),
            }
            if let Some(v) = want.pointer_mut(pointer) {
                *v = Value::String(String::new());
            }
        }
        if let Some(diff) = first_difference(&want, &got, "") {
            return Err(diff);
        }
    }
    if let Some(got) = &actual_json {
        for (name, pointer) in &expected.capture {
            let value = match got.pointer(pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => {
                    return Err(format!(
                        "cannot capture `{name}`: `{pointer}` is not a value"
                    ));
                }
            };
            vars.insert(name.clone(), value);
        }
    }
    Ok(())
}

/// Matches `actual` against `template`, where each `{{name}}` stands for a non-empty value that
/// is captured. Literal text must match exactly.
fn match_template(template: &str, actual: &str, vars: &mut Vars) -> Result<(), String> {
    let mut rest = actual;
    let mut pending: Option<&str> = None;
    let mut tpl = template;
    loop {
        let (literal, next) = match tpl.find("{{") {
            Some(start) => {
                let after = &tpl[start + 2..];
                let end = after.find("}}").ok_or("unterminated `{{` in template")?;
                (&tpl[..start], Some((&after[..end], &after[end + 2..])))
            }
            None => (tpl, None),
        };
        if let Some(var) = pending.take() {
            let at = if literal.is_empty() && next.is_none() {
                rest.len()
            } else if literal.is_empty() {
                return Err("two placeholders in a row".into());
            } else {
                rest.find(literal)
                    .ok_or_else(|| format!("{actual:?} does not match {template:?}"))?
            };
            let value = &rest[..at];
            if value.is_empty() {
                return Err(format!("`{{{{{var}}}}}` is empty in {actual:?}"));
            }
            vars.insert(var.to_owned(), value.to_owned());
            rest = &rest[at..];
        }
        rest = rest
            .strip_prefix(literal)
            .ok_or_else(|| format!("{actual:?} does not match {template:?}"))?;
        match next {
            Some((var, after)) => {
                pending = Some(var);
                tpl = after;
            }
            None if rest.is_empty() => return Ok(()),
            None => return Err(format!("{actual:?} does not match {template:?}")),
        }
    }
}

/// Sends `request` through `service` and collects the answer's body.
async fn call<S, ReqB, ResB>(
    service: S,
    request: http::Request<Bytes>,
) -> Result<http::Response<Bytes>, String>
where
    S: tower::Service<http::Request<ReqB>, Response = http::Response<ResB>>,
    S::Error: std::fmt::Display,
    ReqB: From<Bytes>,
    ResB: http_body::Body,
    ResB::Error: std::fmt::Display,
{
    let response = service
        .oneshot(request.map(ReqB::from))
        .await
        .map_err(|e| format!("the service failed: {e}"))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("cannot read the answer's body: {e}"))?
        .to_bytes();
    Ok(http::Response::from_parts(parts, body))
}

/// A [`tower::Service`] from an async function that answers a request with bytes: a plain
/// verifier or handler fits [`Inbound::replay`] through it.
///
/// ```
/// use bytes::Bytes;
///
/// let echo = gameauth_contract::inbound::from_fn(|request: http::Request<Bytes>| async move {
///     http::Response::new(request.into_body())
/// });
/// # let _ = echo;
/// ```
pub fn from_fn<F, Fut>(
    f: F,
) -> impl tower::Service<
    http::Request<Bytes>,
    Response = http::Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Future<Output = Result<http::Response<Full<Bytes>>, Infallible>>,
>
where
    F: FnMut(http::Request<Bytes>) -> Fut,
    Fut: Future<Output = http::Response<Bytes>>,
{
    let mut f = f;
    tower::service_fn(move |request| {
        let answer = f(request);
        async move { Ok(answer.await.map(Full::new)) }
    })
}

/// The inbound side of one fixture, replayed step by step.
///
/// Values captured from earlier answers fill the `{{name}}` placeholders of later requests, and
/// [`Inbound::finish`] fails when an inbound interaction was used by no step.
#[derive(Debug)]
pub struct Inbound<'f> {
    fixture: &'f Fixture,
    vars: Vars,
    used: BTreeSet<String>,
}

impl<'f> Inbound<'f> {
    /// The inbound side of `fixture`, nothing replayed yet.
    pub fn new(fixture: &'f Fixture) -> Self {
        Self {
            fixture,
            vars: Vars::new(),
            used: BTreeSet::new(),
        }
    }

    /// The values captured so far.
    pub fn vars(&self) -> &Vars {
        &self.vars
    }

    /// Remembers a value under `name`, as a capture would (a code issued by a step).
    pub fn capture(&mut self, name: &str, value: String) {
        self.vars.insert(name.to_owned(), value);
    }

    /// Sends the inbound interaction `name` through `service` and compares the answer with the
    /// recorded one.
    ///
    /// # Errors
    ///
    /// * A message when the fixture has no inbound interaction `name`, or its request cannot
    ///   be built (see [`inbound_request`]);
    /// * a message prefixed with the interaction's name when `service` fails or the answer's
    ///   body cannot be read, or when the answer differs from the recorded one (see
    ///   [`check_inbound_response`]).
    pub async fn replay<S, ReqB, ResB>(&mut self, name: &str, service: S) -> Result<(), String>
    where
        S: tower::Service<http::Request<ReqB>, Response = http::Response<ResB>>,
        S::Error: std::fmt::Display,
        ReqB: From<Bytes>,
        ResB: http_body::Body,
        ResB::Error: std::fmt::Display,
    {
        let interaction = self.fixture.inbound_named(name)?;
        self.used.insert(name.to_owned());
        let request = inbound_request(interaction, &self.vars)?;
        let answer = call(service, request)
            .await
            .map_err(|e| format!("interaction `{name}`: {e}"))?;
        check_inbound_response(&interaction.response, answer, &mut self.vars)
            .map_err(|e| format!("interaction `{name}`: {e}"))
    }

    /// Fails when an inbound interaction of the fixture was used by no step.
    ///
    /// # Errors
    ///
    /// A message naming the first inbound interaction, in file order, that no
    /// [`replay`](Self::replay) used.
    pub fn finish(self) -> Result<(), String> {
        match self
            .fixture
            .inbound()
            .find(|i| !self.used.contains(&i.name))
        {
            Some(unused) => Err(format!(
                "inbound interaction `{}` is used by no step",
                unused.name
            )),
            None => Ok(()),
        }
    }
}

/// The JSON pointer of the first difference between `want` and `got`, with both values.
fn first_difference(want: &Value, got: &Value, path: &str) -> Option<String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let p = format!("{path}/{k}");
                match g.get(k) {
                    Some(gv) => {
                        if let Some(d) = first_difference(wv, gv, &p) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("`{p}` is missing (expected {wv})")),
                }
            }
            g.keys()
                .find(|k| !w.contains_key(*k))
                .map(|k| format!("`{path}/{k}` is not expected"))
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => w
            .iter()
            .zip(g)
            .enumerate()
            .find_map(|(i, (wv, gv))| first_difference(wv, gv, &format!("{path}/{i}"))),
        _ if want == got => None,
        _ => Some(format!(
            "`{}` is {got}, expected {want}",
            if path.is_empty() { "/" } else { path }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_substituted_and_unknown_ones_fail() {
        let mut vars = Vars::new();
        vars.insert("code".into(), "abc".into());
        assert_eq!(
            substitute("code={{code}}&x=1", &vars).unwrap(),
            "code=abc&x=1"
        );
        assert!(substitute("{{nope}}", &vars).is_err());
    }

    #[test]
    fn volatile_values_are_checked_but_not_compared_and_captured() {
        let expected: RecordedResponse = serde_json::from_value(serde_json::json!({
            "status": 200,
            "body_json": {"access_token": "", "expires_in": 3600},
            "volatile": ["/access_token"],
            "capture": {"token": "/access_token"}
        }))
        .unwrap();
        let ok = http::Response::new(Bytes::from_static(
            br#"{"access_token":"fresh","expires_in":3600}"#,
        ));
        let mut vars = Vars::new();
        check_inbound_response(&expected, ok, &mut vars).unwrap();
        assert_eq!(vars["token"], "fresh");

        let empty = http::Response::new(Bytes::from_static(
            br#"{"access_token":"","expires_in":3600}"#,
        ));
        assert!(check_inbound_response(&expected, empty, &mut vars).is_err());
        let wrong = http::Response::new(Bytes::from_static(
            br#"{"access_token":"x","expires_in":60}"#,
        ));
        assert!(
            check_inbound_response(&expected, wrong, &mut vars)
                .unwrap_err()
                .contains("/expires_in")
        );
    }

    #[test]
    fn templates_capture_placeholders_and_match_literals() {
        let mut vars = Vars::new();
        match_template(
            "https://fl.vegaslounge.live/?code={{code}}&state=a%26b",
            "https://fl.vegaslounge.live/?code=XyZ_-1&state=a%26b",
            &mut vars,
        )
        .unwrap();
        assert_eq!(vars["code"], "XyZ_-1");
        match_template("https://a.b/?code={{c}}", "https://a.b/?code=q", &mut vars).unwrap();
        assert_eq!(vars["c"], "q");
        assert!(
            match_template("https://a.b/?code={{c}}", "https://a.b/?code=", &mut vars).is_err()
        );
        assert!(
            match_template(
                "https://a.b/?code={{c}}&s=1",
                "https://a.b/?code=x&s=2",
                &mut vars
            )
            .is_err()
        );
        assert!(
            match_template("https://a.b/?code={{c}}", "https://evil/?code=x", &mut vars).is_err()
        );
    }

    fn two_step_fixture() -> Fixture {
        Fixture::from_value(serde_json::json!({
            "schema": 1, "provider": "test", "scenario": "t", "source": "synthetic: self-test",
            "description": "d", "clock": 0,
            "interactions": [
                {"name": "issue", "direction": "inbound",
                 "request": {"method": "POST", "path": "/issue", "body": "player=1"},
                 "response": {"status": 302, "headers": {"location": "https://op.example/?code={{code}}"}}},
                {"name": "redeem", "direction": "inbound",
                 "request": {"method": "POST", "path": "/redeem", "body_form": {"code": "{{code}}"}},
                 "response": {"status": 200, "body_json": {"token": "", "player": "1"},
                              "volatile": ["/token"]}},
                {"name": "unused", "direction": "inbound",
                 "request": {"method": "GET", "path": "/x"}, "response": {"status": 200}}
            ]
        }))
        .unwrap()
    }

    /// A tiny server: `/issue` redirects with a code, `/redeem` swaps that code for a token.
    fn server(request: http::Request<Bytes>) -> http::Response<Bytes> {
        let mut response = http::Response::new(Bytes::new());
        match request.uri().path() {
            "/issue" => {
                *response.status_mut() = http::StatusCode::FOUND;
                response.headers_mut().insert(
                    "location",
                    http::HeaderValue::from_static("https://op.example/?code=c0de"),
                );
            }
            "/redeem" if request.body().as_ref() == b"code=c0de" => {
                *response.body_mut() = Bytes::from_static(br#"{"token":"fresh","player":"1"}"#);
            }
            _ => *response.status_mut() = http::StatusCode::BAD_REQUEST,
        }
        response
    }

    #[tokio::test]
    async fn a_captured_template_value_fills_the_next_request_and_unused_interactions_fail() {
        let fixture = two_step_fixture();
        let mut inbound = Inbound::new(&fixture);
        let service = || from_fn(|r| async move { server(r) });
        inbound.replay("issue", service()).await.unwrap();
        assert_eq!(inbound.vars()["code"], "c0de");
        inbound.replay("redeem", service()).await.unwrap();
        let err = inbound.finish().unwrap_err();
        assert!(err.contains("`unused` is used by no step"), "{err}");
    }

    #[tokio::test]
    async fn a_different_answer_names_the_interaction_and_the_difference() {
        let fixture = two_step_fixture();
        let mut inbound = Inbound::new(&fixture);
        inbound.capture("code", "wrong".into());
        let err = inbound
            .replay("redeem", from_fn(|r| async move { server(r) }))
            .await
            .unwrap_err();
        assert!(
            err.starts_with("interaction `redeem`: status 400 is not 200"),
            "{err}"
        );
        let err = inbound
            .replay("nope", from_fn(|r| async move { server(r) }))
            .await
            .unwrap_err();
        assert_eq!(err, "no inbound interaction `nope`");
    }
}
