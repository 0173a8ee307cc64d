//! Vegas Lounge contract runner (inbound: Vegas Lounge calls the operator's OAuth server).
//!
//! Steps (`call`):
//! * `server`: builds the server under test from `input` (clients, players, error style, code
//!   TTL, logout mode, allow-list, `"redirect_uri_match": "exact" | "path_prefix"`,
//!   `token_json_body`, `"store": "memory" | "down"`), on the fixture's frozen clock.
//!   Must come first.
//! * `issue_code`: issues an authorization code through the core (an operator-initiated launch)
//!   for `input.player_id` / `input.client_id` / `input.redirect_uri`; `expect.capture` names the
//!   placeholder that receives it, or `expect.error` the exact error reason.
//! * `send`: sends the inbound interaction `interaction` (from `peer`, default `127.0.0.1:40000`)
//!   through the server's HTTP surface (the handler the `axum` router delegates to) and compares
//!   the answer. A response header whose recorded value holds `{{name}}` is a template: the
//!   literal parts must match and the placeholder captures the fresh value (e.g. the `code` in
//!   the authorize redirect).
//! * `advance`: moves the frozen clock forward by `seconds`.
//! * `set_player`: disables (or enables again) `player_id` in the directory, e.g. after tokens
//!   were issued.
//!
//! The browser's operator session is the request header `x-fixture-player: <player_id>`.
//! Every inbound interaction must be used by a step.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gameauth_contract::inbound::from_fn;
use gameauth_contract::{Fixture, Inbound};
use gameauth_core::ManualClock;
use gameauth_vegaslounge::store::{
    AccessGrant, GrantId, GrantStore, NewCode, RedeemCode, Redeemed, RotateRefresh, Rotated,
    TokenHash,
};
use gameauth_vegaslounge::token::ClientSecret;
use gameauth_vegaslounge::{
    Account, AccountProvider, Balance, EndedSession, ErrorStyle, HookError, MemoryStore,
    NetworkPolicy, OAuthServer, PlayerSessions, RedirectUriPolicy, RegisteredClient, ServerConfig,
    StaticClients, StoreError, StoredSecret, async_trait,
};
use serde::Deserialize;

/// The request header that stands for the operator's logged-in browser session.
const PLAYER_HEADER: &str = "x-fixture-player";
const DEFAULT_PEER: &str = "127.0.0.1:40000";

#[derive(Debug, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case", deny_unknown_fields)]
enum Step {
    Server {
        input: ServerInput,
    },
    IssueCode {
        input: IssueInput,
        expect: IssueExpect,
    },
    Send {
        interaction: String,
        #[serde(default)]
        peer: Option<String>,
    },
    Advance {
        seconds: u64,
    },
    SetPlayer {
        player_id: String,
        disabled: bool,
    },
}

impl Step {
    fn call(&self) -> &'static str {
        match self {
            Self::Server { .. } => "server",
            Self::IssueCode { .. } => "issue_code",
            Self::Send { .. } => "send",
            Self::Advance { .. } => "advance",
            Self::SetPlayer { .. } => "set_player",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerInput {
    clients: Vec<ClientInput>,
    players: Vec<PlayerInput>,
    #[serde(default)]
    error_style: Option<String>,
    #[serde(default)]
    code_ttl_secs: Option<u64>,
    #[serde(default)]
    revoke_on_logout: bool,
    #[serde(default)]
    account_token_in_query: bool,
    #[serde(default)]
    allow_ips: Option<Vec<String>>,
    #[serde(default)]
    redirect_uri_match: Option<String>,
    #[serde(default)]
    token_json_body: bool,
    #[serde(default)]
    store: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientInput {
    client_id: String,
    client_secret: String,
    redirect_uris: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlayerInput {
    player_id: String,
    player_name: String,
    currency: String,
    balance: String,
    language: String,
    player_type: String,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
    #[serde(default)]
    home_url: Option<String>,
    #[serde(default)]
    partner: Option<String>,
    #[serde(default)]
    disabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueInput {
    client_id: String,
    redirect_uri: String,
    player_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueExpect {
    #[serde(default)]
    capture: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Runs one Vegas Lounge fixture.
pub(super) async fn run(fixture: &Fixture) -> Result<(), String> {
    if fixture.outbound().next().is_some() {
        return Err("Vegas Lounge fixtures are inbound only".into());
    }
    let clock = fixture.clock();
    let mut server: Option<OAuthServer> = None;
    let mut directory: Option<Arc<Directory>> = None;
    let mut inbound = Inbound::new(fixture);
    for (n, step) in fixture.parse_steps::<Step>()?.into_iter().enumerate() {
        let outcome = match (&step, &server) {
            (Step::Server { input }, None) => build(input, &clock).map(|(s, d)| {
                server = Some(s);
                directory = Some(d);
            }),
            (Step::Server { .. }, Some(_)) => Err("the server is already built".into()),
            (_, None) => Err("the first step must be `server`".into()),
            (Step::IssueCode { input, expect }, Some(s)) => {
                issue_code(s, input, expect, &mut inbound).await
            }
            (Step::Send { interaction, peer }, Some(s)) => {
                send(s, interaction, peer.as_deref(), &mut inbound).await
            }
            (Step::Advance { seconds }, Some(_)) => {
                clock.advance(Duration::from_secs(*seconds));
                Ok(())
            }
            (
                Step::SetPlayer {
                    player_id,
                    disabled,
                },
                Some(_),
            ) => directory
                .as_ref()
                .ok_or_else(|| "no directory".to_owned())
                .and_then(|d| d.set_disabled(player_id, *disabled)),
        };
        outcome.map_err(|e| format!("step {n} ({}): {e}", step.call()))?;
    }
    inbound.finish()
}

fn build(
    input: &ServerInput,
    clock: &ManualClock,
) -> Result<(OAuthServer, Arc<Directory>), String> {
    let mut config = ServerConfig::default();
    config.error_style = match input.error_style.as_deref() {
        None | Some("vegaslounge") => ErrorStyle::VegasLounge,
        Some("rfc6749") => ErrorStyle::Rfc6749,
        Some(other) => return Err(format!("unknown error_style `{other}`")),
    };
    if let Some(secs) = input.code_ttl_secs {
        config.code_ttl = Duration::from_secs(secs);
    }
    config.revoke_on_logout = input.revoke_on_logout;
    config.account_token_in_query = input.account_token_in_query;
    config.redirect_uri_policy = match input.redirect_uri_match.as_deref() {
        None | Some("exact") => RedirectUriPolicy::Exact,
        Some("path_prefix") => RedirectUriPolicy::PathPrefix,
        Some(other) => return Err(format!("unknown redirect_uri_match `{other}`")),
    };
    config.token_json_body = input.token_json_body;
    if let Some(ips) = &input.allow_ips {
        let nets = ips
            .iter()
            .map(|s| s.parse().map_err(|_| format!("bad allow_ips entry `{s}`")))
            .collect::<Result<Vec<_>, _>>()?;
        config.network = NetworkPolicy::new(nets);
    }
    let clients = input
        .clients
        .iter()
        .map(|c| {
            RegisteredClient::new(
                c.client_id.clone(),
                StoredSecret::Plain(ClientSecret::new(c.client_secret.clone())),
                c.redirect_uris.clone(),
            )
            .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut accounts = BTreeMap::new();
    for p in &input.players {
        let balance = Balance::new(p.balance.clone()).map_err(|e| e.to_string())?;
        let mut a = Account::new(
            p.player_id.clone(),
            p.player_name.clone(),
            p.currency.clone(),
            balance,
            p.language.clone(),
            p.player_type.clone(),
        )
        .with_disabled(p.disabled);
        if let Some(v) = &p.session_id {
            a = a.with_session_id(v.clone());
        }
        if let Some(v) = &p.avatar_url {
            a = a.with_avatar_url(v.clone());
        }
        if let Some(v) = &p.home_url {
            a = a.with_home_url(v.clone());
        }
        if let Some(v) = &p.partner {
            a = a.with_partner(v.clone());
        }
        accounts.insert(p.player_id.clone(), a);
    }
    let store: Arc<dyn GrantStore> = match input.store.as_deref() {
        None | Some("memory") => Arc::new(MemoryStore::new()),
        Some("down") => Arc::new(DownStore),
        Some(other) => return Err(format!("unknown store `{other}`")),
    };
    let directory = Arc::new(Directory(std::sync::RwLock::new(accounts)));
    let server = OAuthServer::builder()
        .config(config)
        .store(store)
        .clients(Arc::new(
            StaticClients::new(clients).map_err(|e| e.to_string())?,
        ))
        .sessions(Arc::new(HeaderSessions))
        .accounts(directory.clone())
        .clock(Arc::new(clock.clone()))
        .build()
        .map_err(|e| e.to_string())?;
    Ok((server, directory))
}

async fn issue_code(
    server: &OAuthServer,
    input: &IssueInput,
    expect: &IssueExpect,
    inbound: &mut Inbound<'_>,
) -> Result<(), String> {
    let result = server
        .issue_code(&input.client_id, &input.redirect_uri, &input.player_id)
        .await;
    match (result, &expect.capture, &expect.error) {
        (Ok(code), Some(name), None) => {
            inbound.capture(name, code.expose_secret().to_owned());
            Ok(())
        }
        (Err(e), None, Some(want)) => {
            let got = format!("{:?}", e.reason());
            if &got == want {
                Ok(())
            } else {
                Err(format!("error {got}, expected {want}"))
            }
        }
        (Ok(_), None, Some(want)) => Err(format!("a code was issued, expected error {want}")),
        (Err(e), Some(_), None) => Err(format!("issuing failed: {e}")),
        _ => Err("expect exactly one of `capture` and `error`".into()),
    }
}

/// Sends the inbound interaction `name` from `peer` through the server's HTTP surface (the
/// handler the `axum` router delegates to).
async fn send(
    server: &OAuthServer,
    name: &str,
    peer: Option<&str>,
    inbound: &mut Inbound<'_>,
) -> Result<(), String> {
    let peer: SocketAddr = peer
        .unwrap_or(DEFAULT_PEER)
        .parse()
        .map_err(|_| "peer must be IP:PORT".to_owned())?;
    inbound
        .replay(
            name,
            from_fn(|request| async move { server.handle(request, peer).await }),
        )
        .await
}

/// The logged-in player is whoever the `x-fixture-player` header names.
struct HeaderSessions;

#[async_trait]
impl PlayerSessions for HeaderSessions {
    async fn current_player(&self, headers: &http::HeaderMap) -> Result<Option<String>, HookError> {
        Ok(headers
            .get(PLAYER_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned))
    }

    async fn end_session(&self, headers: &http::HeaderMap) -> Result<EndedSession, HookError> {
        Ok(EndedSession::new(self.current_player(headers).await?))
    }
}

struct Directory(std::sync::RwLock<BTreeMap<String, Account>>);

impl Directory {
    fn set_disabled(&self, player_id: &str, disabled: bool) -> Result<(), String> {
        let mut accounts = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let account = accounts
            .get_mut(player_id)
            .ok_or_else(|| format!("unknown player `{player_id}`"))?;
        *account = account.clone().with_disabled(disabled);
        Ok(())
    }
}

#[async_trait]
impl AccountProvider for Directory {
    async fn account(&self, player_id: &str) -> Result<Option<Account>, HookError> {
        Ok(self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(player_id)
            .cloned())
    }
}

/// A grant store that is down: every call fails.
#[derive(Debug)]
struct DownStore;

fn down() -> StoreError {
    StoreError::unavailable("connection refused")
}

#[async_trait]
impl GrantStore for DownStore {
    async fn put_code(&self, _: NewCode) -> Result<(), StoreError> {
        Err(down())
    }
    async fn redeem_code(&self, _: RedeemCode) -> Result<Redeemed, StoreError> {
        Err(down())
    }
    async fn rotate_refresh(&self, _: RotateRefresh) -> Result<Rotated, StoreError> {
        Err(down())
    }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<AccessGrant>, StoreError> {
        Err(down())
    }
    async fn revoke_grant(&self, _: &GrantId) -> Result<(), StoreError> {
        Err(down())
    }
    async fn revoke_player(&self, _: &str) -> Result<usize, StoreError> {
        Err(down())
    }
    async fn sweep_expired(&self, _: SystemTime) -> Result<usize, StoreError> {
        Err(down())
    }
}
