//! Reading the deployment's answers: JSON bodies, tokens, error shapes and headers.

use super::*;

pub(super) fn borrowed<'a>(
    fields: &'a [(&'static str, String); 4],
) -> [(&'static str, &'a str); 4] {
    fields.each_ref().map(|(k, v)| (*k, v.as_str()))
}

/// Whether a comma-separated header has `token` (case-insensitive) in any of its values.
pub(super) fn has_token(headers: &HeaderMap, name: &http::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

pub(super) fn is_json_content_type(response: &Response<Bytes>) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("application/json") || v.to_ascii_lowercase().ends_with("+json")
        })
}

pub(super) fn json_object(response: &Response<Bytes>) -> Result<Map<String, Value>, String> {
    if !is_json_content_type(response) {
        return Err("Content-Type is not application/json".into());
    }
    match serde_json::from_slice::<Value>(response.body()) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("the body is not a JSON object".into()),
        Err(_) => Err("the body is not JSON".into()),
    }
}

/// A short, printable excerpt of text the deployment sent.
pub(super) fn quote(text: &str) -> String {
    let clean = gameauth_core::error::sanitize_message(text);
    match clean.char_indices().nth(MAX_QUOTE) {
        Some((cut, _)) => format!("{}…", &clean[..cut]),
        None => clean,
    }
}

/// What an error answer says, for a reason line.
pub(super) fn error_summary(response: &Response<Bytes>) -> String {
    let status = response.status().as_u16();
    match serde_json::from_slice::<Value>(response.body()) {
        Ok(Value::Object(map)) => {
            let code = map.get("errorCode").map(|c| format!(" errorCode {c}"));
            let text = map
                .get("error")
                .and_then(Value::as_str)
                .map(|e| format!(" \"{}\"", quote(e)));
            format!(
                "HTTP {status}{}{}",
                code.unwrap_or_default(),
                text.unwrap_or_default()
            )
        }
        _ => format!("HTTP {status}"),
    }
}

/// A successful token answer: 200 JSON with `access_token`, optional `token_type` (Bearer),
/// `expires_in` (positive integer) and `refresh_token`.
pub(super) fn tokens(response: &Response<Bytes>) -> Result<Tokens, String> {
    if response.status() != StatusCode::OK {
        return Err(format!("expected 200, got {}", error_summary(response)));
    }
    let map = json_object(response)?;
    let access = map
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("access_token is missing or not a non-empty string")?;
    let bearer = |t: &Value| t.as_str().is_some_and(|t| t.eq_ignore_ascii_case("bearer"));
    if map.get("token_type").is_some_and(|t| !bearer(t)) {
        return Err("token_type is not \"Bearer\"".into());
    }
    let positive = |e: &Value| e.as_u64().is_some_and(|n| n > 0);
    if map.get("expires_in").is_some_and(|e| !positive(e)) {
        return Err("expires_in is not a positive integer".into());
    }
    let refresh = match map.get("refresh_token") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .filter(|s| !s.is_empty())
                .ok_or("refresh_token is not a non-empty string")?
                .to_owned(),
        ),
    };
    Ok(Tokens {
        access: access.to_owned(),
        refresh,
    })
}

/// The account answer: 200 JSON with `playerId`, `currency` (ISO 4217) and a numeric `balance`;
/// the other documented fields are strings when present.
pub(super) fn account_shape(response: &Response<Bytes>) -> Result<(), String> {
    if response.status() != StatusCode::OK {
        return Err(format!("expected 200, got {}", error_summary(response)));
    }
    let map = json_object(response)?;
    let player_id_ok = map
        .get("playerId")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    if !player_id_ok {
        return Err("playerId is missing or not a non-empty string".into());
    }
    let currency_ok = map
        .get("currency")
        .and_then(Value::as_str)
        .is_some_and(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()));
    if !currency_ok {
        return Err("currency is missing or not a three-letter ISO 4217 code".into());
    }
    if !map.get("balance").is_some_and(Value::is_number) {
        return Err("balance is missing or not a JSON number".into());
    }
    for field in [
        "sessionId",
        "language",
        "playerName",
        "avatarUrl",
        "homeUrl",
        "playerType",
        "partner",
    ] {
        if map
            .get(field)
            .is_some_and(|v| !v.is_string() && !v.is_null())
        {
            return Err(format!("{field} is not a string"));
        }
    }
    Ok(())
}

/// Checks a refusal: in the Vegas Lounge style the given status and `errorCode`, in the RFC 6749
/// style one of the statuses and the error class. A body of neither style is judged by status
/// alone here (the error body check reports the body).
pub(super) fn expect_error(
    response: &Response<Bytes>,
    (vl_status, vl_code): (u16, i64),
    (rfc_statuses, rfc_error): (&[u16], &str),
) -> Result<(), String> {
    let status = response.status().as_u16();
    if response.status().is_success() {
        return Err(format!("accepted (HTTP {status})"));
    }
    let body = serde_json::from_slice::<Value>(response.body()).ok();
    let map = body.as_ref().and_then(Value::as_object);
    if let Some(code) = map.and_then(|m| m.get("errorCode")) {
        if status == vl_status && code.as_i64() == Some(vl_code) {
            return Ok(());
        }
        return Err(format!(
            "expected HTTP {vl_status} errorCode {vl_code}, got {}",
            error_summary(response)
        ));
    }
    if let Some(error) = map.and_then(|m| m.get("error")).and_then(Value::as_str) {
        if rfc_statuses.contains(&status) && error == rfc_error {
            return Ok(());
        }
        return Err(format!(
            "expected HTTP {} {rfc_error}, got HTTP {status} \"{}\"",
            join_statuses(rfc_statuses),
            quote(error)
        ));
    }
    if status == vl_status || rfc_statuses.contains(&status) {
        Ok(())
    } else {
        Err(format!("expected HTTP {vl_status}, got HTTP {status}"))
    }
}

pub(super) fn join_statuses(statuses: &[u16]) -> String {
    statuses
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

/// An error answer is JSON in the Vegas Lounge style (`errorCode` integer, `error` text) or the
/// RFC 6749 style (`error` class, optional `error_description`), with single-line texts.
pub(super) fn error_shape(response: &Response<Bytes>) -> Result<(), String> {
    let status = response.status().as_u16();
    let map = json_object(response).map_err(|e| format!("HTTP {status}: {e}"))?;
    let single_line = |s: &str| !s.contains(['\r', '\n', '\t']);
    let text = map.get("error").and_then(Value::as_str);
    if let Some(code) = map.get("errorCode") {
        if !code.is_i64() {
            return Err(format!("HTTP {status}: errorCode is not an integer"));
        }
        return match text {
            Some(t) if !t.is_empty() && single_line(t) => Ok(()),
            _ => Err(format!(
                "HTTP {status}: error is missing, empty or not one line of text"
            )),
        };
    }
    match text {
        Some(class) if RFC_ERRORS.contains(&class) => match map.get("error_description") {
            None => Ok(()),
            Some(Value::String(d)) if single_line(d) => Ok(()),
            Some(_) => Err(format!(
                "HTTP {status}: error_description is not one line of text"
            )),
        },
        Some(other) => Err(format!(
            "HTTP {status}: neither errorCode nor an RFC 6749 error class (error \"{}\")",
            quote(other)
        )),
        None => Err(format!("HTTP {status}: no errorCode and no error field")),
    }
}
