//! Item 4: the Vegas Lounge server (axum router, memory store) under load, against a bare hyper
//! endpoint answering the same bytes, with the same load generator in the same run.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt as _;
use bytes::Bytes;
use gameauth_vegaslounge::token::ClientSecret;
use gameauth_vegaslounge::{
    Account, AccountProvider, Balance, EndedSession, GrantStore, HookError, NetworkPolicy,
    OAuthServer, PlayerSessions, RegisteredClient, ServerConfig, StaticClients, StoredSecret,
    async_trait,
};
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

use crate::Settings;
use crate::hive::{first_error, sample};
use crate::load::{self, Conversation, LoadResult, Runs};
use crate::report::{Bound, Latency, Row};
use crate::stats::Paired;
use crate::stub::Stub;

pub(crate) use crate::fixture::{CLIENT_ID, REDIRECT_URI, player};

pub(crate) const CLIENT_SECRET: &str = "bench-client-secret-0123456789";
/// Concurrent connections of the load generator.
pub(crate) const CONNECTIONS: usize = 64;

struct NoSessions;

#[async_trait]
impl PlayerSessions for NoSessions {
    async fn current_player(&self, _: &http::HeaderMap) -> Result<Option<String>, HookError> {
        Ok(None)
    }
    async fn end_session(&self, _: &http::HeaderMap) -> Result<EndedSession, HookError> {
        Ok(EndedSession::new(None))
    }
}

/// The host's player directory: an in-memory map, as cheap as a host hook can be.
struct Directory(HashMap<String, Account>);

#[async_trait]
impl AccountProvider for Directory {
    async fn account(&self, player_id: &str) -> Result<Option<Account>, HookError> {
        Ok(self.0.get(player_id).cloned())
    }
}

/// The server under test: memory (or the given) store, one registered client, loopback allowed.
pub(crate) fn server(store: Option<Arc<dyn GrantStore>>) -> Result<Arc<OAuthServer>, String> {
    let mut directory = HashMap::new();
    for i in 0..=CONNECTIONS {
        let balance = Balance::new("405.64").map_err(|e| e.to_string())?;
        let account = Account::new(player(i), "highroller335", "USD", balance, "zh_CN", "REAL")
            .with_avatar_url("https://img.operator.com/avatar.png")
            .with_home_url("https://www.operator.com")
            .with_partner("partner123");
        directory.insert(player(i), account);
    }
    let client = RegisteredClient::new(
        CLIENT_ID,
        StoredSecret::Plain(ClientSecret::new(CLIENT_SECRET)),
        [REDIRECT_URI],
    )
    .map_err(|e| e.to_string())?;
    let mut config = ServerConfig::default();
    let loopback = ["127.0.0.0/8", "::1/128"].map(|n| n.parse().unwrap_or_else(|_| unreachable!()));
    config.network = NetworkPolicy::new(loopback);
    let mut builder = OAuthServer::builder()
        .config(config)
        .clients(Arc::new(
            StaticClients::new([client]).map_err(|e| e.to_string())?,
        ))
        .sessions(Arc::new(NoSessions))
        .accounts(Arc::new(Directory(directory)));
    if let Some(store) = store {
        builder = builder.store(store);
    }
    builder.build().map_err(|e| e.to_string()).map(Arc::new)
}

/// Serves the crate's axum router on a fresh loopback port, as an operator would.
pub(crate) fn serve(runtime: &Runtime, server: Arc<OAuthServer>) -> Result<SocketAddr, String> {
    serve_app(runtime, gameauth_vegaslounge::router(server))
}

/// Serves `app` on a fresh loopback port with `axum::serve`, connect info and TCP_NODELAY.
fn serve_app(runtime: &Runtime, app: axum::Router) -> Result<SocketAddr, String> {
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| format!("bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    runtime.spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// Issues a grant for player `i` through the server's own API: an access and a refresh token.
pub(crate) async fn grant(server: &OAuthServer, i: usize) -> Result<(String, String), String> {
    let code = server
        .issue_code(CLIENT_ID, REDIRECT_URI, &player(i))
        .await
        .map_err(|e| e.to_string())?;
    let client = server
        .authenticate_client(CLIENT_ID, CLIENT_SECRET, None)
        .await
        .map_err(|e| e.to_string())?;
    let tokens = server
        .exchange_code(&client, code.expose_secret(), None, None)
        .await
        .map_err(|e| e.to_string())?;
    Ok((
        tokens.access_token.expose_secret().to_owned(),
        tokens.refresh_token.expose_secret().to_owned(),
    ))
}

/// `GET /account?client_id=VL001` with a bearer token; the answer must be a 200 account.
pub(crate) struct AccountCall {
    authorization: HeaderValue,
}

impl AccountCall {
    pub(crate) fn new(access_token: &str) -> Result<Self, String> {
        HeaderValue::from_str(&format!("Bearer {access_token}"))
            .map(|authorization| Self { authorization })
            .map_err(|e| e.to_string())
    }
}

#[derive(Deserialize)]
struct AccountAnswer<'a> {
    #[serde(rename = "playerId")]
    player_id: &'a str,
}

impl Conversation for AccountCall {
    fn request(&mut self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(Bytes::new()));
        *request.uri_mut() = http::Uri::from_static("/account?client_id=VL001");
        let h = request.headers_mut();
        h.insert(HOST, HeaderValue::from_static("api.operator.com"));
        h.insert(AUTHORIZATION, self.authorization.clone());
        request
    }

    fn response(&mut self, status: StatusCode, body: &[u8]) -> Result<(), String> {
        if status != StatusCode::OK {
            return Err(format!("/account answered {status}"));
        }
        let answer: AccountAnswer<'_> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        if answer.player_id.is_empty() {
            return Err("/account answered no playerId".into());
        }
        Ok(())
    }
}

/// `POST /oauth2.0/token` with `grant_type=refresh_token`, following the rotation: each answer's
/// refresh token is sent with the next request.
struct RefreshCall {
    refresh_token: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    refresh_token: String,
}

/// `POST /oauth2.0/token` with `grant_type=refresh_token` for client `VL001`.
pub(crate) fn refresh_request(refresh_token: &str, client_secret: &str) -> Request<Full<Bytes>> {
    let body = format!(
        "grant_type=refresh_token&refresh_token={refresh_token}&client_id={CLIENT_ID}&client_secret={client_secret}"
    );
    let mut request = Request::new(Full::new(Bytes::from(body)));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = http::Uri::from_static("/oauth2.0/token");
    let h = request.headers_mut();
    h.insert(HOST, HeaderValue::from_static("api.operator.com"));
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    request
}

impl Conversation for RefreshCall {
    fn request(&mut self) -> Request<Full<Bytes>> {
        refresh_request(&self.refresh_token, CLIENT_SECRET)
    }

    fn response(&mut self, status: StatusCode, body: &[u8]) -> Result<(), String> {
        if status != StatusCode::OK {
            return Err(format!("/oauth2.0/token answered {status}"));
        }
        let answer: TokenAnswer = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        self.refresh_token = answer.refresh_token;
        Ok(())
    }
}

/// How long each load run lasts.
pub(crate) fn windows(settings: &Settings) -> (usize, Duration, Duration) {
    if settings.quick {
        (3, Duration::from_millis(200), Duration::from_millis(700))
    } else {
        (9, Duration::from_millis(300), Duration::from_millis(1200))
    }
}

/// Runs `ours` and `baseline` load alternately and builds the row.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compare_load(
    settings: &Settings,
    client_rt: &Runtime,
    name: String,
    bound: Bound,
    ours_addr: SocketAddr,
    mut ours: impl FnMut() -> Vec<Box<dyn Conversation>>,
    base_addr: SocketAddr,
    mut baseline: impl FnMut() -> Vec<Box<dyn Conversation>>,
) -> Result<Row, String> {
    let (reps, warmup, measure) = windows(settings);
    let errors = RefCell::new(None);
    let (ours_runs, base_runs) = (Runs::default(), Runs::default());
    let p = Paired::run(
        reps,
        || {
            let r = client_rt.block_on(load::run(ours_addr, ours(), warmup, measure));
            sample(&errors, ours_runs.rps(r))
        },
        || {
            let r = client_rt.block_on(load::run(base_addr, baseline(), warmup, measure));
            sample(&errors, base_runs.rps(r))
        },
    );
    first_error(errors)?;
    let (ours_runs, base_runs) = (ours_runs.into_inner(), base_runs.into_inner());
    let latency = Latency::of(&ours_runs, &base_runs);
    Ok(Row::paired(
        name,
        "req/s",
        &p,
        bound,
        json!({
            "connections": CONNECTIONS,
            "measure_s": measure.as_secs_f64(),
            "ours_rps": p.ours,
            "baseline_rps": p.baseline,
            "ours_latency_us": runs_json(&ours_runs),
            "baseline_latency_us": runs_json(&base_runs),
        }),
    )
    .with_latency(latency))
}

/// Per-run p50, p99 and max (µs), for the raw report.
pub(crate) fn runs_json(runs: &[LoadResult]) -> serde_json::Value {
    json!({
        "p50": runs.iter().map(LoadResult::p50).collect::<Vec<_>>(),
        "p99": runs.iter().map(LoadResult::p99).collect::<Vec<_>>(),
        "max": runs.iter().map(LoadResult::max).collect::<Vec<_>>(),
    })
}

/// One real answer of an endpoint: its headers (those that do not change per answer) and body.
#[derive(Clone)]
struct Answer {
    headers: http::HeaderMap,
    body: Bytes,
}

/// One real answer of each endpoint, served back byte for byte by the bare endpoint (the body)
/// and by the axum floor (headers and body).
async fn sample_answers(
    addr: SocketAddr,
    access: &str,
    refresh: &str,
) -> Result<(Answer, Answer), String> {
    let mut account = AccountCall::new(access)?;
    let mut refresh = RefreshCall {
        refresh_token: refresh.to_owned(),
    };
    Ok((
        answer_once(addr, &mut account).await?,
        answer_once(addr, &mut refresh).await?,
    ))
}

/// One real `/account` answer body of the server at `addr` for `access`.
pub(crate) async fn sample_account_body(addr: SocketAddr, access: &str) -> Result<Bytes, String> {
    Ok(answer_once(addr, &mut AccountCall::new(access)?)
        .await?
        .body)
}

/// Sends `conversation`'s request once on a fresh connection and returns the checked answer.
async fn answer_once(
    addr: SocketAddr,
    conversation: &mut dyn Conversation,
) -> Result<Answer, String> {
    let mut sender = load::connect(addr).await?;
    let response = sender
        .send_request(conversation.request())
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let mut headers = response.headers().clone();
    // Written by the HTTP layer for every answer.
    headers.remove(http::header::DATE);
    headers.remove(http::header::CONTENT_LENGTH);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    conversation.response(status, &body)?;
    Ok(Answer { headers, body })
}

/// The floor of any handler behind axum: the captured answers (headers and body) from one-line
/// handlers that read the request body, served exactly like ours (`axum::serve`, connect info,
/// TCP_NODELAY).
fn serve_floor(runtime: &Runtime, account: Answer, token: Answer) -> Result<SocketAddr, String> {
    let fixed = |answer: Answer| {
        move |_body: Bytes| {
            let answer = answer.clone();
            async move { (answer.headers, answer.body) }
        }
    };
    let app = axum::Router::new()
        .route("/account", axum::routing::any(fixed(account)))
        .route("/oauth2.0/token", axum::routing::any(fixed(token)));
    serve_app(runtime, app)
}

/// Item 4: `/account` and the refresh grant under 64 connections.
pub(crate) fn run(
    settings: &Settings,
    server_rt: &Runtime,
    client_rt: &Runtime,
) -> Result<Vec<Row>, String> {
    let server = server(None)?;
    let ours_addr = serve(server_rt, Arc::clone(&server))?;
    let grants = client_rt.block_on(async {
        let mut out = Vec::new();
        for i in 0..=CONNECTIONS {
            out.push(grant(&server, i).await?);
        }
        Ok::<_, String>(out)
    })?;
    let (sample_access, sample_refresh) = &grants[CONNECTIONS];
    let (account_answer, token_answer) =
        client_rt.block_on(sample_answers(ours_addr, sample_access, sample_refresh))?;
    let token_body = token_answer.body.clone();
    let bare = Stub::start(
        server_rt.handle(),
        Arc::new(vec![
            ("/account", account_answer.body.clone()),
            ("/oauth2.0/token", token_body.clone()),
        ]),
    )?;
    let floor = serve_floor(server_rt, account_answer, token_answer)?;
    let bare_refresh: String = serde_json::from_slice::<TokenAnswer>(&token_body)
        .map_err(|e| e.to_string())?
        .refresh_token;

    let accounts = |grants: &[(String, String)]| -> Vec<Box<dyn Conversation>> {
        grants[..CONNECTIONS]
            .iter()
            .filter_map(|(access, _)| AccountCall::new(access).ok())
            .map(|c| Box::new(c) as Box<dyn Conversation>)
            .collect()
    };
    let account_row = compare_load(
        settings,
        client_rt,
        format!("4a VL `/account` throughput, {CONNECTIONS} connections (memory store)"),
        Bound::RatioAtLeast(0.5),
        ours_addr,
        || accounts(&grants),
        bare.addr(),
        || accounts(&grants),
    )?;

    // Each connection follows its own rotation chain across runs.
    let chains: Vec<Arc<std::sync::Mutex<String>>> = grants[..CONNECTIONS]
        .iter()
        .map(|(_, r)| Arc::new(std::sync::Mutex::new(r.clone())))
        .collect();
    // The bare endpoint runs the same client-side bookkeeping (its token never changes).
    let bare_chains: Vec<Arc<std::sync::Mutex<String>>> = (0..CONNECTIONS)
        .map(|_| Arc::new(std::sync::Mutex::new(bare_refresh.clone())))
        .collect();
    let token_row = compare_load(
        settings,
        client_rt,
        format!(
            "4b VL `/oauth2.0/token` refresh throughput, {CONNECTIONS} connections (memory store)"
        ),
        Bound::RatioAtLeast(0.3),
        ours_addr,
        || chains.iter().map(chained_refresh).collect(),
        bare.addr(),
        || bare_chains.iter().map(chained_refresh).collect(),
    )?;
    // The floors: the same answers through axum, against the same bare endpoint. Whatever
    // ratio they reach, no handler behind this router and server can beat.
    let account_floor = compare_load(
        settings,
        client_rt,
        "4a′ floor: the same `/account` answer (headers and body) from a one-line axum handler \
         served like ours, vs the bare endpoint"
            .to_owned(),
        Bound::Info,
        floor,
        || accounts(&grants),
        bare.addr(),
        || accounts(&grants),
    )?;
    let token_floor = compare_load(
        settings,
        client_rt,
        "4b′ floor: the same refresh answer from a one-line axum handler served like ours, vs \
         the bare endpoint"
            .to_owned(),
        Bound::Info,
        floor,
        || bare_chains.iter().map(chained_refresh).collect(),
        bare.addr(),
        || bare_chains.iter().map(chained_refresh).collect(),
    )?;
    Ok(vec![account_row, token_row, account_floor, token_floor])
}

fn lock(slot: &std::sync::Mutex<String>) -> String {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// A refresh conversation that starts from `chain`'s latest refresh token and saves each new
/// one there for the next run.
pub(crate) fn chained_refresh(chain: &Arc<std::sync::Mutex<String>>) -> Box<dyn Conversation> {
    Box::new(ChainedRefresh(
        Arc::clone(chain),
        RefreshCall {
            refresh_token: lock(chain),
        },
    ))
}

/// A refresh conversation that saves its latest refresh token for the next run.
struct ChainedRefresh(Arc<std::sync::Mutex<String>>, RefreshCall);

impl Conversation for ChainedRefresh {
    fn request(&mut self) -> Request<Full<Bytes>> {
        self.1.request()
    }

    fn response(&mut self, status: StatusCode, body: &[u8]) -> Result<(), String> {
        self.1.response(status, body)?;
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone_from(&self.1.refresh_token);
        Ok(())
    }
}
