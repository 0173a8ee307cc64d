//! The demo-login flow: the login form's hidden fields, the session cookie jar and the code
//! in the authorize redirect.

use super::*;

/// The code in the authorize redirect, which must go to the registered redirect URI.
pub(super) fn code_from_location(location: &str, redirect_uri: &str) -> Result<String, String> {
    let redirect_uri = Url::parse(redirect_uri)
        .map_err(|_| "the redirect URI is not an absolute URL".to_owned())?;
    let target = Url::parse(location)
        .map_err(|_| "the authorize redirect is not an absolute URL".to_owned())?;
    let same_endpoint = target.scheme() == redirect_uri.scheme()
        && target.host_str() == redirect_uri.host_str()
        && target.port_or_known_default() == redirect_uri.port_or_known_default()
        && target.path() == redirect_uri.path();
    if !same_endpoint {
        return Err(format!(
            "the authorize redirect goes to {}{} instead of the redirect URI",
            target.origin().ascii_serialization(),
            target.path()
        ));
    }
    let param = |name: &str| {
        target
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(error) = param("error") {
        return Err(format!(
            "the authorize redirect carries error={}",
            quote(&error)
        ));
    }
    param("code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| "the authorize redirect has no code".to_owned())
}

/// Cookies set by the deployment during the login, sent back on the next requests.
#[derive(Default)]
pub(super) struct Jar(Vec<(String, String)>);

impl Jar {
    pub(super) fn store(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE).iter() {
            let Ok(value) = value.to_str() else { continue };
            let mut parts = value.split(';');
            let Some((name, val)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let (name, val) = (name.trim(), val.trim());
            let expired =
                val.is_empty() || parts.any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
            self.0.retain(|(n, _)| n != name);
            if !expired {
                self.0.push((name.to_owned(), val.to_owned()));
            }
        }
    }

    pub(super) fn header(&self) -> Option<(http::HeaderName, HeaderValue)> {
        if self.0.is_empty() {
            return None;
        }
        let joined = self
            .0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        HeaderValue::from_str(&joined).ok().map(|v| (COOKIE, v))
    }
}

/// The `name`/`value` of every `<input type="hidden">` in a page (the login form's CSRF field and
/// whatever else the deployment needs posted back).
pub(super) fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    // ASCII lower-casing keeps byte offsets, so positions found in `lower` index `html`.
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = lower[at..].find("<input") {
        let start = at + found + "<input".len();
        let end = lower[start..].find('>').map_or(html.len(), |i| start + i);
        let attrs = attributes(&html[start..end]);
        let get = |key: &str| {
            attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        };
        let hidden = get("type").is_some_and(|t| t.eq_ignore_ascii_case("hidden"));
        if let (true, Some(name)) = (hidden, get("name")) {
            out.push((name, get("value").unwrap_or_default()));
        }
        at = end;
    }
    out
}

/// The attributes of a tag's inside: `name`, `name=value`, `name="value"`, `name='value'`.
pub(super) fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = tag;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            break;
        }
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        rest = rest[name_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (raw, remaining) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let inner = &after[1..];
                    let close = inner.find(q).unwrap_or(inner.len());
                    (&inner[..close], inner.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            value = unescape(raw);
            rest = remaining;
        }
        if name.is_empty() {
            // A stray `=`: skip one character so the loop always advances.
            rest = rest.get(1..).unwrap_or("");
        } else {
            out.push((name.to_owned(), value));
        }
    }
    out
}

pub(super) fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
