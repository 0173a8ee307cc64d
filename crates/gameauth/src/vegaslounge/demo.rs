//! The demo operator: a login page, cookie sessions and a player directory from the config.
//!
//! A real operator brings its own login and sessions; this one exists so the server runs
//! stand-alone. `GET /login` shows a form with a single-use token (hidden field plus cookie);
//! `POST /login` must come from this site, bring a form token that was issued and not used yet,
//! and pass the brute-force limit ([`LoginGuard`]); then the password is checked in constant
//! time, an `HttpOnly`, `SameSite=Lax` (and by default `Secure`) session cookie is set and the
//! answer is 303 to `return_to`, only when it is a local path.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{ConnectInfo, RawQuery, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gameauth_core::inbound::{BodyError, DEFAULT_BODY_READ_TIMEOUT, read_body};
use gameauth_vegaslounge::endpoint::escape_html;
use gameauth_vegaslounge::redirect::is_local_path;
use gameauth_vegaslounge::{
    Account, AccountProvider, EndedSession, HookError, PlayerSessions, ThrottleKey, async_trait,
};
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, RETRY_AFTER,
    SET_COOKIE, X_FRAME_OPTIONS,
};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::config::Player;
use super::login::{LoginGuard, is_same_origin};

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
    guard: LoginGuard,
}

#[derive(Debug, Clone)]
struct Session {
    player_id: String,
    expires_at: SystemTime,
}

/// 43 random characters of the URL-safe alphabet: session ids and form tokens.
pub(crate) fn random_token() -> String {
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
    pub(crate) fn new(players: Vec<Player>, guard: LoginGuard) -> Self {
        Self {
            players,
            sessions: Mutex::new(HashMap::new()),
            guard,
        }
    }

    fn session_player(&self, headers: &HeaderMap) -> Option<String> {
        let id = cookie(headers, SESSION_COOKIE)?;
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let now = SystemTime::now();
        sessions.retain(|_, s| s.expires_at > now);
        sessions.get(id).map(|s| s.player_id.clone())
    }

    fn is_known(&self, username: &str) -> bool {
        self.players.iter().any(|p| p.username == username)
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

    /// The demo routes: `GET`/`POST /login` (the health probes are the library's).
    pub(crate) fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/login", get(login_form).post(login_submit))
            .with_state(self)
    }

    /// The login form with a fresh single-use token (hidden field and cookie).
    fn form_page(&self, status: StatusCode, return_to: &str, message: Option<&str>) -> Response {
        let csrf = self.guard.issue_form_token();
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
        let mut response =
            (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
        page_headers(&mut response);
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{CSRF_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict{}",
            self.guard.secure()
        )) {
            response.headers_mut().insert(SET_COOKIE, v);
        }
        response
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
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax{}",
            self.guard.secure()
        )) {
            out.insert(SET_COOKIE, v);
        }
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

fn local_or_root(return_to: Option<&str>) -> &str {
    return_to.filter(|r| is_local_path(r)).unwrap_or("/")
}

async fn login_form(
    State(operator): State<Arc<DemoOperator>>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let return_to = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| v.into_owned());
    operator.form_page(StatusCode::OK, local_or_root(return_to.as_deref()), None)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

async fn login_submit(State(operator): State<Arc<DemoOperator>>, request: Request) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let invalid = |status| operator.form_page(status, "/", Some("Invalid login request."));
    if !is_form(&headers) {
        return invalid(StatusCode::BAD_REQUEST);
    }
    let body = match read_body(&headers, body, MAX_LOGIN_BODY, DEFAULT_BODY_READ_TIMEOUT).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return invalid(StatusCode::PAYLOAD_TOO_LARGE),
        Err(BodyError::TimedOut) => return invalid(StatusCode::REQUEST_TIMEOUT),
        Err(_) => return invalid(StatusCode::BAD_REQUEST),
    };
    let mut fields: HashMap<String, String> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        if fields.insert(k.into_owned(), v.into_owned()).is_some() {
            return invalid(StatusCode::BAD_REQUEST);
        }
    }
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    let return_to = local_or_root(fields.get("return_to").map(String::as_str)).to_owned();
    let refuse = |status, message| operator.form_page(status, &return_to, Some(message));
    if !is_same_origin(&headers) {
        tracing::info!("demo login refused: not sent from this site");
        return refuse(
            StatusCode::FORBIDDEN,
            "This form can only be sent from this site.",
        );
    }
    // Double submit: the hidden field must equal the cookie; then the token is used up.
    let submitted = field("csrf");
    let csrf_ok = match cookie(&headers, CSRF_COOKIE) {
        Some(expected) if !expected.is_empty() => {
            gameauth_core::secret::ct_eq_bytes(expected.as_bytes(), submitted.as_bytes())
                && operator.guard.redeem_form_token(submitted)
        }
        _ => false,
    };
    if !csrf_ok {
        return refuse(StatusCode::FORBIDDEN, "The form expired. Please try again.");
    }
    let username = field("username");
    let mut keys = Vec::with_capacity(2);
    keys.extend(peer.map(ThrottleKey::Ip));
    if operator.is_known(username) {
        // Only known names get a counter, so random names cannot grow the table.
        keys.push(ThrottleKey::Account(username.to_owned()));
    }
    let now = SystemTime::now();
    match operator.guard.reserve(&keys, now).await {
        Ok(None) => {}
        Ok(Some(wait)) => {
            tracing::info!("demo login throttled");
            let mut response = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many failed attempts. Please try again later.",
            );
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
            return response;
        }
        Err(e) => {
            tracing::warn!(error = %e, "demo login throttle store failed");
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "The login is unavailable. Please try again later.",
            );
        }
    }
    let Some(session) = operator.login(username, field("password")) else {
        tracing::info!("demo login failed");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "Unknown username or wrong password.",
        );
    };
    if let Err(e) = operator.guard.release(&keys, now).await {
        tracing::warn!(error = %e, "a demo login reservation could not be released");
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    page_headers(&mut response);
    let secure = operator.guard.secure();
    let h = response.headers_mut();
    if let (Ok(location), Ok(cookie)) = (
        HeaderValue::from_str(&return_to),
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax{secure}"
        )),
    ) {
        h.insert(LOCATION, location);
        h.append(SET_COOKIE, cookie);
    }
    if let Ok(clear) = HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}=; Max-Age=0; Path=/login; HttpOnly; SameSite=Strict{secure}"
    )) {
        h.append(SET_COOKIE, clear);
    }
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
