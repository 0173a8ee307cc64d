//! Replaying inbound interactions (provider → our verifier or server).

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::Value;

use super::fixture::{Interaction, RecordedResponse, encode_form};

/// Values captured from earlier answers, substituted for `{{name}}` in later requests.
pub(crate) type Vars = BTreeMap<String, String>;

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
pub(crate) fn inbound_request(
    i: &Interaction,
    vars: &Vars,
) -> Result<http::Request<Bytes>, String> {
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
pub(crate) fn check_inbound_response(
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
        if got != Some(value.as_bytes()) {
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
}
