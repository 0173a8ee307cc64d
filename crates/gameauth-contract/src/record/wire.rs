//! Reading fields of recorded JSON bodies, with the providers' documented leniency (numbers may
//! arrive as strings and the other way round).

use serde_json::{Map, Value};

/// The body as a JSON object.
///
/// # Errors
///
/// [`Err`] with a message when `body` is `None` or not a JSON object.
pub fn object(body: Option<&Value>) -> Result<&Map<String, Value>, String> {
    body.and_then(Value::as_object)
        .ok_or_else(|| "the request body is not a JSON object".to_owned())
}

/// A required string field.
///
/// # Errors
///
/// [`Err`] with a message naming the field when it is missing or not a JSON string.
pub fn string(obj: &Map<String, Value>, name: &str) -> Result<String, String> {
    match obj.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("`{name}` is not a string")),
        None => Err(format!("`{name}` is missing")),
    }
}

/// An optional string field.
///
/// # Errors
///
/// [`Err`] with a message naming the field when it is present, not `null` and not a JSON
/// string.
pub fn opt_string(obj: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{name}` is not a string")),
    }
}

/// A required integer field (a JSON number).
///
/// # Errors
///
/// [`Err`] with a message naming the field when it is missing or not a JSON number that fits
/// an `i64` (a string holding digits is refused too).
pub fn integer(obj: &Map<String, Value>, name: &str) -> Result<i64, String> {
    obj.get(name)
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("`{name}` is not an integer"))
}

/// An optional integer field (a JSON number).
///
/// # Errors
///
/// [`Err`] with a message naming the field when it is present, not `null` and not a JSON
/// number that fits an `i64`.
pub fn opt_integer(obj: &Map<String, Value>, name: &str) -> Result<Option<i64>, String> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("`{name}` is not an integer")),
    }
}

/// A string, or a number written as text.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An integer, or a string holding one.
pub fn lenient_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Inserts `value` under `name` when it is present.
pub fn put<T: Into<Value>>(obj: &mut Map<String, Value>, name: &str, value: Option<T>) {
    if let Some(v) = value {
        obj.insert(name.to_owned(), v.into());
    }
}

/// The short label of an expectation for the fixture's description: `ok`, `rejected 10011`,
/// `http_status 502`, `decode`, ….
pub fn label(expect: &Value) -> String {
    let Some(err) = expect.get("error") else {
        return "ok".to_owned();
    };
    let kind = err.get("kind").and_then(Value::as_str).unwrap_or("error");
    match err.get("code").or_else(|| err.get("status")) {
        Some(n) => format!("{kind} {n}"),
        None => kind.to_owned(),
    }
}
