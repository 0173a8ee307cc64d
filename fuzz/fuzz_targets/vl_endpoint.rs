//! The Vegas Lounge OAuth server's HTTP surface: every request it decodes and every response it
//! writes, through [`OAuthServer::handle`].
//!
//! Input: `method \0 uri \0 headers \0 body` (`uri` is the path with its query; `headers` are
//! lines of `name:value`). Each run starts a fresh server with client `VL001`, issues two codes
//! and exchanges one of them, then replaces `{{code}}`, `{{access}}` and `{{refresh}}` in the
//! input with the live values, so the fuzzer reaches the successful paths too. The header
//! `x-fixture-player` names the logged-in player (`a3u`; `disabled` has a disabled account;
//! `down` makes the session store fail).
//!
//! Properties, besides never panicking:
//! * no response is a 500, and every JSON body parses;
//! * token-endpoint answers carry `Cache-Control: no-store` and `Pragma: no-cache`; a 200 is a
//!   complete bearer token answer; error texts carry no CR, LF or TAB;
//! * a 401 from the account endpoint challenges with `WWW-Authenticate: Bearer`;
//! * browser redirects are 302/303, never 307/308, and go only to a registered redirect URI that
//!   the request named byte for byte, or to the login page; browser pages forbid framing; the
//!   authorize endpoint sends no CORS header;
//! * the client secret never appears in a response.

#![no_main]

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use gameauth_core::ManualClock;
use gameauth_fuzz::{block_on, fields, headers, text};
use gameauth_vegaslounge::token::ClientSecret;
use gameauth_vegaslounge::{
    Account, AccountProvider, Balance, EndedSession, HookError, OAuthServer, PlayerSessions,
    RegisteredClient, StaticClients, StoredSecret, async_trait,
};
use http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_SECURITY_POLICY, LOCATION, PRAGMA,
    WWW_AUTHENTICATE, X_FRAME_OPTIONS,
};
use http::{HeaderMap, Method, StatusCode, Uri};
use libfuzzer_sys::fuzz_target;

const CLIENT_ID: &str = "VL001";
const SECRET: &str = "dummy-vl-client-secret";
const REGISTERED: [&str; 2] = [
    "https://fl.vegaslounge.live",
    "https://fl.vegaslounge.live/callback?lang=en",
];
const PLAYER_HEADER: &str = "x-fixture-player";

fn player(headers: &HeaderMap) -> Result<Option<String>, HookError> {
    match headers.get(PLAYER_HEADER).and_then(|v| v.to_str().ok()) {
        Some("down") => Err(HookError::new("session store down")),
        Some(p) if !p.is_empty() => Ok(Some(p.to_owned())),
        _ => Ok(None),
    }
}

struct Sessions;

#[async_trait]
impl PlayerSessions for Sessions {
    async fn current_player(&self, headers: &HeaderMap) -> Result<Option<String>, HookError> {
        player(headers)
    }

    async fn end_session(&self, headers: &HeaderMap) -> Result<EndedSession, HookError> {
        player(headers).map(EndedSession::new)
    }
}

struct Directory;

#[async_trait]
impl AccountProvider for Directory {
    async fn account(&self, player_id: &str) -> Result<Option<Account>, HookError> {
        if player_id != "a3u" && player_id != "disabled" {
            return Ok(None);
        }
        let balance = Balance::new("405.64").map_err(|e| HookError::new(e.to_string()))?;
        let account = Account::new(player_id, "highroller335", "USD", balance, "en_EN", "REAL")
            .with_disabled(player_id == "disabled");
        Ok(Some(account))
    }
}

fn server() -> OAuthServer {
    let client = RegisteredClient::new(
        CLIENT_ID,
        StoredSecret::Plain(ClientSecret::new(SECRET)),
        REGISTERED,
    )
    .expect("a valid client");
    OAuthServer::builder()
        .clients(Arc::new(
            StaticClients::new([client]).expect("valid clients"),
        ))
        .sessions(Arc::new(Sessions))
        .accounts(Arc::new(Directory))
        .clock(Arc::new(ManualClock::at_unix_seconds(1_711_954_264)))
        .build()
        .expect("a valid server")
}

/// Live values for the placeholders: a fresh code, an access token and a refresh token.
async fn live_values(server: &OAuthServer) -> [(&'static str, String); 3] {
    let code = server
        .issue_code(CLIENT_ID, REGISTERED[0], "a3u")
        .await
        .expect("a code");
    let other = server
        .issue_code(CLIENT_ID, REGISTERED[0], "a3u")
        .await
        .expect("a code");
    let client = server
        .authenticate_client(CLIENT_ID, SECRET, None)
        .await
        .expect("the client authenticates");
    let tokens = server
        .exchange_code(&client, other.expose_secret(), None)
        .await
        .expect("the code exchanges");
    [
        ("{{code}}", code.expose_secret().to_owned()),
        ("{{access}}", tokens.access_token.expose_secret().to_owned()),
        (
            "{{refresh}}",
            tokens.refresh_token.expose_secret().to_owned(),
        ),
    ]
}

fn substitute(field: &[u8], values: &[(&str, String)]) -> Vec<u8> {
    let mut text = text(field);
    if text.contains("{{") {
        for (placeholder, value) in values {
            text = text.replace(placeholder, value);
        }
    }
    text.into_bytes()
}

fn decoded_values(query: Option<&str>, name: &str) -> Vec<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.into_owned())
        .collect()
}

fn clean_json_texts(value: &serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            assert!(
                !s.contains(['\r', '\n', '\t']),
                "control characters in {s:?}"
            );
        }
        serde_json::Value::Object(map) => map.values().for_each(clean_json_texts),
        serde_json::Value::Array(items) => items.iter().for_each(clean_json_texts),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let [method, uri, header_block, body] = fields::<4>(data);
    let server = server();
    let values = block_on(live_values(&server));
    let Ok(method) = Method::from_bytes(method.unwrap_or_default()) else {
        return;
    };
    let Ok(uri) = Uri::try_from(substitute(uri.unwrap_or_default(), &values)) else {
        return;
    };
    let headers = headers(&substitute(header_block.unwrap_or_default(), &values));
    let body = substitute(body.unwrap_or_default(), &values);

    let mut request = http::Request::new(Bytes::from(body));
    *request.method_mut() = method;
    *request.uri_mut() = uri.clone();
    *request.headers_mut() = headers;
    let peer: SocketAddr = "127.0.0.1:40000".parse().expect("a socket address");
    let response = block_on(server.handle(request, peer));

    let status = response.status();
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "an internal error"
    );
    let h = response.headers();
    let body = response.body();
    assert!(
        !body.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
        "the client secret in a response"
    );
    let is_json = h
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let json: Option<serde_json::Value> =
        is_json.then(|| serde_json::from_slice(body).expect("a JSON response body parses"));
    if let Some(json) = &json {
        clean_json_texts(json);
    }

    match uri.path() {
        "/oauth2.0/token" | "/oauth2.0/refresh" => {
            assert_eq!(
                h.get(CACHE_CONTROL).map(|v| v.as_bytes()),
                Some(&b"no-store"[..])
            );
            assert_eq!(h.get(PRAGMA).map(|v| v.as_bytes()), Some(&b"no-cache"[..]));
            if status == StatusCode::OK {
                let json = json.expect("a JSON token answer");
                for field in ["access_token", "refresh_token"] {
                    assert!(
                        json[field].as_str().is_some_and(|t| !t.is_empty()),
                        "{field}"
                    );
                }
                assert_eq!(json["token_type"], "Bearer");
                assert!(json["expires_in"].as_u64().is_some_and(|s| s > 0));
            }
        }
        "/account" if status == StatusCode::UNAUTHORIZED => {
            let challenge = h
                .get(WWW_AUTHENTICATE)
                .expect("a WWW-Authenticate challenge");
            assert!(
                challenge
                    .as_bytes()
                    .to_ascii_lowercase()
                    .starts_with(b"bearer")
            );
        }
        "/oauth2.0/authorize" | "/logout" => {
            assert!(
                !h.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN),
                "CORS on a browser route"
            );
            assert!(
                h.get(X_FRAME_OPTIONS).is_some_and(|v| v == "DENY")
                    || h.get(CONTENT_SECURITY_POLICY).is_some_and(|v| {
                        v.to_str()
                            .is_ok_and(|v| v.contains("frame-ancestors 'none'"))
                    }),
                "a browser answer that may be framed"
            );
            assert!(
                !matches!(
                    status,
                    StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
                ),
                "a 307/308 redirect"
            );
            if status.is_redirection() {
                let location = h
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .expect("a Location");
                if !location.starts_with("/login?") {
                    let named = decoded_values(uri.query(), "redirect_uri");
                    let target = REGISTERED
                        .iter()
                        .filter(|r| named.iter().any(|n| n.as_bytes() == r.as_bytes()))
                        .find(|r| location.starts_with(**r))
                        .unwrap_or_else(|| panic!("redirect to {location:?}"));
                    let rest = &location[target.len()..];
                    assert!(
                        rest.is_empty() || rest.starts_with(['?', '&', '/']),
                        "redirect to {location:?}"
                    );
                }
            }
        }
        _ => {}
    }
});
