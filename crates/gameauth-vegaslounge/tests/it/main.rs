//! Integration tests: one module per endpoint, one test per rule of the contract.

mod account;
mod authorize;
mod e2e;
mod logout;
mod network;
mod pkce;
#[cfg(feature = "redis")]
mod redis_client_cache;
#[cfg(feature = "redis")]
mod redis_faults;
#[cfg(feature = "redis")]
mod redis_instances;
#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "redis")]
mod redis_support;
#[cfg(feature = "redis")]
mod redis_topologies;
mod refresh;
mod secrets;
mod slow_clients;
mod store;
mod token;
mod verifier;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use gameauth_core::ManualClock;
use gameauth_vegaslounge::store::{
    AccessGrant, GrantId, GrantStore, NewCode, RedeemCode, Redeemed, RotateRefresh, Rotated,
    TokenHash,
};
use gameauth_vegaslounge::token::ClientSecret;
use gameauth_vegaslounge::{
    Account, AccountProvider, Balance, EndedSession, HookError, MemoryStore, OAuthServer,
    PlayerSessions, RegisteredClient, ServerConfig, StaticClients, StoreError, StoredSecret,
    async_trait,
};
use http::{HeaderMap, Request, Response};

pub(crate) const CLIENT: &str = "VL001";
pub(crate) const SECRET: &str = "vl-secret-0001";
pub(crate) const OTHER_CLIENT: &str = "VL002";
pub(crate) const OTHER_SECRET: &str = "vl-secret-0002";
pub(crate) const REDIRECT: &str = "https://fl.vegaslounge.live";
pub(crate) const REDIRECT_WITH_QUERY: &str = "https://cb.vegaslounge.live/cb?lobby=1";
pub(crate) const PLAYER: &str = "a3u";
pub(crate) const DISABLED_PLAYER: &str = "banned7";
pub(crate) const T0: i64 = 1_711_954_264;

/// Browser sessions keyed by a `session=<player>` cookie.
pub(crate) struct CookieSessions;

fn session_player(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("session=").map(str::to_owned))
}

#[async_trait]
impl PlayerSessions for CookieSessions {
    async fn current_player(&self, headers: &HeaderMap) -> Result<Option<String>, HookError> {
        Ok(session_player(headers))
    }

    async fn end_session(&self, headers: &HeaderMap) -> Result<EndedSession, HookError> {
        let mut out = HeaderMap::new();
        out.insert(
            http::header::SET_COOKIE,
            http::HeaderValue::from_static("session=; Max-Age=0; Path=/; HttpOnly"),
        );
        Ok(EndedSession::new(session_player(headers)).with_headers(out))
    }
}

/// The player directory; accounts can be disabled while tokens are out.
pub(crate) struct Directory(std::sync::RwLock<HashMap<String, Account>>);

impl Directory {
    pub(crate) fn demo() -> Self {
        let alice = Account::new(
            PLAYER,
            "highroller335",
            "USD",
            Balance::new("405.64").unwrap(),
            "zh_CN",
            "REAL",
        )
        .with_session_id("HfuXQCzhIn")
        .with_avatar_url("https://img.operator.com/avatar.png")
        .with_home_url("https://www.operator.com")
        .with_partner("partner123");
        let banned = Account::new(
            DISABLED_PLAYER,
            "banned",
            "USD",
            Balance::new("0").unwrap(),
            "en_EN",
            "REAL",
        )
        .with_disabled(true);
        Self(std::sync::RwLock::new(HashMap::from([
            (PLAYER.to_owned(), alice),
            (DISABLED_PLAYER.to_owned(), banned),
        ])))
    }

    /// Disables or enables a player.
    pub(crate) fn set_disabled(&self, player_id: &str, disabled: bool) {
        let mut accounts = self.0.write().unwrap();
        let account = accounts.get_mut(player_id).unwrap();
        *account = account.clone().with_disabled(disabled);
    }
}

#[async_trait]
impl AccountProvider for Directory {
    async fn account(&self, player_id: &str) -> Result<Option<Account>, HookError> {
        Ok(self.0.read().unwrap().get(player_id).cloned())
    }
}

/// A store whose every call fails, as a store outage would.
#[derive(Debug)]
pub(crate) struct DownStore;

#[async_trait]
impl GrantStore for DownStore {
    async fn put_code(&self, _: NewCode) -> Result<(), StoreError> {
        Err(StoreError::unavailable("connection refused"))
    }
    async fn redeem_code(&self, _: RedeemCode) -> Result<Redeemed, StoreError> {
        Err(StoreError::unavailable("connection refused"))
    }
    async fn rotate_refresh(&self, _: RotateRefresh) -> Result<Rotated, StoreError> {
        Err(StoreError::unavailable("connection refused"))
    }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<AccessGrant>, StoreError> {
        Err(StoreError::unavailable("connection refused"))
    }
    async fn revoke_grant(&self, _: &GrantId) -> Result<(), StoreError> {
        Err(StoreError::unavailable("connection refused"))
    }
    async fn revoke_player(&self, _: &str) -> Result<usize, StoreError> {
        Err(StoreError::unavailable("connection refused"))
    }
    async fn sweep_expired(&self, _: SystemTime) -> Result<usize, StoreError> {
        Err(StoreError::unavailable("connection refused"))
    }
}

pub(crate) fn clients() -> StaticClients {
    StaticClients::new([
        RegisteredClient::new(
            CLIENT,
            StoredSecret::Plain(ClientSecret::new(SECRET)),
            [REDIRECT, REDIRECT_WITH_QUERY],
        )
        .unwrap(),
        RegisteredClient::new(
            OTHER_CLIENT,
            StoredSecret::sha256_hex(&hex_sha256(OTHER_SECRET)).unwrap(),
            ["https://other.example.com/cb"],
        )
        .unwrap(),
    ])
    .unwrap()
}

fn hex_sha256(s: &str) -> String {
    TokenHash::of(s).to_hex()
}

/// A server under test with a manual clock.
pub(crate) struct Harness {
    pub(crate) server: Arc<OAuthServer>,
    pub(crate) clock: ManualClock,
    pub(crate) directory: Arc<Directory>,
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with(|_| {})
    }

    pub(crate) fn with(configure: impl FnOnce(&mut ServerConfig)) -> Self {
        Self::with_store(Arc::new(MemoryStore::new()), configure)
    }

    pub(crate) fn with_store(
        store: Arc<dyn GrantStore>,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> Self {
        let clock = ManualClock::at_unix_seconds(T0);
        let mut config = ServerConfig::default();
        configure(&mut config);
        let directory = Arc::new(Directory::demo());
        let server = OAuthServer::builder()
            .config(config)
            .store(store)
            .clients(Arc::new(clients()))
            .sessions(Arc::new(CookieSessions))
            .accounts(directory.clone())
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap();
        Self {
            server: Arc::new(server),
            clock,
            directory,
        }
    }

    pub(crate) fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// Sends a request from `peer` and returns the response.
    pub(crate) async fn send_from(&self, request: Request<Bytes>, peer: &str) -> Response<Bytes> {
        let peer: SocketAddr = peer.parse().unwrap();
        self.server.handle(request, peer).await
    }

    /// Sends a request from 127.0.0.1 (on the default allow-list).
    pub(crate) async fn send(&self, request: Request<Bytes>) -> Response<Bytes> {
        self.send_from(request, "127.0.0.1:40000").await
    }

    /// A fresh code for the demo player through the core.
    pub(crate) async fn code(&self) -> String {
        self.server
            .issue_code(CLIENT, REDIRECT, PLAYER)
            .await
            .unwrap()
            .expose_secret()
            .to_owned()
    }

    /// POSTs a form to the token endpoint.
    pub(crate) async fn token(&self, form: &str) -> Response<Bytes> {
        self.send(form_post("/oauth2.0/token", form)).await
    }

    /// Exchanges a fresh code and returns (access, refresh).
    pub(crate) async fn tokens(&self) -> (String, String) {
        let code = self.code().await;
        let response = self.token(&code_form(&code)).await;
        assert_eq!(response.status(), 200, "{}", body_text(&response));
        let json = body_json(&response);
        (
            json["access_token"].as_str().unwrap().to_owned(),
            json["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    /// GET /account with a bearer token.
    pub(crate) async fn account(&self, access: &str) -> Response<Bytes> {
        self.send(
            Request::get("/account?client_id=VL001")
                .header("authorization", format!("Bearer {access}"))
                .body(Bytes::new())
                .unwrap(),
        )
        .await
    }

    /// GET /oauth2.0/authorize with `query`, logged in as `player` when given.
    pub(crate) async fn authorize(&self, query: &str, player: Option<&str>) -> Response<Bytes> {
        let mut request = Request::get(format!("/oauth2.0/authorize?{query}"));
        if let Some(p) = player {
            request = request.header("cookie", format!("session={p}"));
        }
        self.send(request.body(Bytes::new()).unwrap()).await
    }
}

/// Posts `form` to the token endpoint `n` times at once, taking turns over `instances`, and
/// returns the answers' statuses.
pub(crate) async fn concurrent_token_statuses(
    instances: &[Arc<Harness>],
    form: &str,
    n: usize,
) -> Vec<u16> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let h = Arc::clone(&instances[i % instances.len()]);
            let form = form.to_owned();
            tokio::spawn(async move { h.token(&form).await.status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::with_capacity(n);
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses
}

pub(crate) fn form_post(path: &str, form: &str) -> Request<Bytes> {
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(Bytes::from(form.to_owned()))
        .unwrap()
}

pub(crate) fn code_form(code: &str) -> String {
    format!("grant_type=authorization_code&code={code}&client_id={CLIENT}&client_secret={SECRET}")
}

pub(crate) fn refresh_form(refresh: &str) -> String {
    format!(
        "grant_type=refresh_token&refresh_token={refresh}&client_id={CLIENT}&client_secret={SECRET}"
    )
}

pub(crate) fn body_text(response: &Response<Bytes>) -> String {
    String::from_utf8(response.body().to_vec()).unwrap()
}

pub(crate) fn body_json(response: &Response<Bytes>) -> serde_json::Value {
    serde_json::from_slice(response.body())
        .unwrap_or_else(|_| panic!("not JSON: {}", body_text(response)))
}

pub(crate) fn header<'r>(response: &'r Response<Bytes>, name: &str) -> Option<&'r str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// Asserts a Vegas Lounge error body.
pub(crate) fn assert_vl_error(response: &Response<Bytes>, status: u16, code: i64) {
    assert_eq!(
        response.status().as_u16(),
        status,
        "{}",
        body_text(response)
    );
    let json = body_json(response);
    assert_eq!(json["errorCode"], code, "{json}");
    let text = json["error"].as_str().unwrap();
    assert!(
        !text.is_empty() && !text.contains(['\r', '\n', '\t']),
        "{text}"
    );
    assert_eq!(json.as_object().unwrap().len(), 2, "{json}");
}

/// The query parameters of a Location header, decoded.
pub(crate) fn location_params(response: &Response<Bytes>) -> HashMap<String, String> {
    let location = header(response, "location").expect("a Location header");
    let query = location.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}
