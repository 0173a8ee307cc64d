//! The demo operator: a login page, cookie sessions and a player directory from the config.
//!
//! A real operator brings its own login and sessions; this one exists so the server runs
//! stand-alone. `GET /login` shows a form protected by a double-submit CSRF token (cookie plus
//! hidden field), `POST /login` checks the password in constant time, sets an `HttpOnly`,
//! `SameSite=Lax` session cookie and answers 303 to `return_to` only when it is a local path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gameauth_vegaslounge::endpoint::escape_html;
use gameauth_vegaslounge::redirect::is_local_path;
use gameauth_vegaslounge::{
    Account, AccountProvider, EndedSession, HookError, PlayerSessions, async_trait,
};
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE,
    X_FRAME_OPTIONS,
};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::config::Player;

const SESSION_COOKIE: &str = "gameauth_session";
const CSRF_COOKIE: &str = "gameauth_csrf";
const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// Login requests larger than this are refused; the form has four short fields.
const MAX_LOGIN_BODY: usize = 16 * 1024;

/// The demo operator's users and browser sessions.
#[derive(Debug)]
pub(crate) struct DemoOperator {
    players: Vec<Player>,
    sessions: Mutex<HashMap<String, Session>>,
}

#[derive(Debug, Clone)]
struct Session {
    player_id: String,
    expires_at: SystemTime,
}

fn random_token() -> String {
    gameauth_core::ids::random_string(
        43,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    )
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

impl DemoOperator {
    pub(crate) fn new(players: Vec<Player>) -> Self {
        Self {
            players,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn session_player(&self, headers: &HeaderMap) -> Option<String> {
        let id = cookie(headers, SESSION_COOKIE)?;
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let now = SystemTime::now();
        sessions.retain(|_, s| s.expires_at > now);
        sessions.get(id).map(|s| s.player_id.clone())
    }

    fn login(&self, username: &str, password: &str) -> Option<String> {
        // Compare against every player so the time does not tell which usernames exist.
        let mut found = None;
        for p in &self.players {
            let password_ok = p.password.ct_eq(password);
            if p.username == username && password_ok {
                found = Some(p.account.player_id.clone());
            }
        }
        let player_id = found?;
        let id = random_token();
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                id.clone(),
                Session {
                    player_id,
                    expires_at: SystemTime::now() + SESSION_LIFETIME,
                },
            );
        Some(id)
    }

    /// The demo routes: `GET`/`POST /login` and `GET /healthz`.
    pub(crate) fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/login", get(login_form).post(login_submit))
            .route("/healthz", get(|| async { "ok" }))
            .with_state(self)
    }
}

#[async_trait]
impl PlayerSessions for DemoOperator {
    async fn current_player(&self, headers: &HeaderMap) -> Result<Option<String>, HookError> {
        Ok(self.session_player(headers))
    }

    async fn end_session(&self, headers: &HeaderMap) -> Result<EndedSession, HookError> {
        let player = cookie(headers, SESSION_COOKIE).and_then(|id| {
            self.sessions
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(id)
                .map(|s| s.player_id)
        });
        let mut out = HeaderMap::new();
        out.insert(
            SET_COOKIE,
            HeaderValue::from_static(
                "gameauth_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
            ),
        );
        Ok(EndedSession::new(player).with_headers(out))
    }
}

#[async_trait]
impl AccountProvider for DemoOperator {
    async fn account(&self, player_id: &str) -> Result<Option<Account>, HookError> {
        Ok(self
            .players
            .iter()
            .find(|p| p.account.player_id == player_id)
            .map(|p| p.account.clone()))
    }
}

fn page_headers(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; form-action 'self'; frame-ancestors 'none'"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn form_page(status: StatusCode, return_to: &str, message: Option<&str>) -> Response {
    let csrf = random_token();
    let notice = message
        .map(|m| format!("<p role=\"alert\">{}</p>", escape_html(m)))
        .unwrap_or_default();
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Operator login</title></head>\
         <body><h1>Operator login</h1>{notice}\
         <form method=\"post\" action=\"/login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"return_to\" value=\"{}\">\
         <label>Username <input name=\"username\" autocomplete=\"username\"></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\
         <button type=\"submit\">Log in</button></form></body></html>\n",
        escape_html(return_to)
    );
    let mut response = (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    page_headers(&mut response);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict"
    )) {
        response.headers_mut().insert(SET_COOKIE, v);
    }
    response
}

fn local_or_root(return_to: Option<&str>) -> &str {
    return_to.filter(|r| is_local_path(r)).unwrap_or("/")
}

async fn login_form(RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let return_to = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| v.into_owned());
    form_page(StatusCode::OK, local_or_root(return_to.as_deref()), None)
}

async fn login_submit(
    State(operator): State<Arc<DemoOperator>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form || body.len() > MAX_LOGIN_BODY {
        return form_page(StatusCode::BAD_REQUEST, "/", Some("Invalid login request."));
    }
    let mut fields: HashMap<String, String> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        if fields.insert(k.into_owned(), v.into_owned()).is_some() {
            return form_page(StatusCode::BAD_REQUEST, "/", Some("Invalid login request."));
        }
    }
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    let return_to = local_or_root(fields.get("return_to").map(String::as_str)).to_owned();
    let csrf_ok = match cookie(&headers, CSRF_COOKIE) {
        Some(expected) if !expected.is_empty() => {
            gameauth_core::secret::ct_eq_bytes(expected.as_bytes(), field("csrf").as_bytes())
        }
        _ => false,
    };
    if !csrf_ok {
        return form_page(
            StatusCode::FORBIDDEN,
            &return_to,
            Some("The form expired. Please try again."),
        );
    }
    let Some(session) = operator.login(field("username"), field("password")) else {
        tracing::info!("demo login failed");
        return form_page(
            StatusCode::UNAUTHORIZED,
            &return_to,
            Some("Unknown username or wrong password."),
        );
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    page_headers(&mut response);
    let h = response.headers_mut();
    if let (Ok(location), Ok(cookie)) = (
        HeaderValue::from_str(&return_to),
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"
        )),
    ) {
        h.insert(LOCATION, location);
        h.append(SET_COOKIE, cookie);
    }
    h.append(
        SET_COOKIE,
        HeaderValue::from_static(
            "gameauth_csrf=; Max-Age=0; Path=/login; HttpOnly; SameSite=Strict",
        ),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_return_addresses_are_followed() {
        assert_eq!(
            local_or_root(Some("/oauth2.0/authorize?a=b")),
            "/oauth2.0/authorize?a=b"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "javascript:x",
        ] {
            assert_eq!(local_or_root(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_or_root(None), "/");
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("x_gameauth_session=1; gameauth_session=abc"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, CSRF_COOKIE), None);
    }
}
