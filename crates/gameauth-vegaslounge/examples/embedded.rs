//! The Vegas Lounge server embedded in an axum application, with the in-memory store,
//! Prometheus metrics, liveness and readiness probes and a graceful drain.
//!
//! ```sh
//! cargo run -p gameauth-vegaslounge --features axum --example embedded
//! # another terminal: every request below moves a metric
//! curl -s -o /dev/null -w '%{http_code} %{redirect_url}\n' \
//!   'http://127.0.0.1:8080/oauth2.0/authorize?response_type=code&client_id=VL001&redirect_uri=https%3A%2F%2Ffl.vegaslounge.live'
//! curl -s http://127.0.0.1:8080/oauth2.0/token -d grant_type=authorization_code -d code=CODE \
//!   -d client_id=VL001 -d client_secret=change-me
//! curl -s http://127.0.0.1:8080/readyz
//! curl -s http://127.0.0.1:9464/metrics | grep '^gameauth_'
//! ```
//!
//! Every browser is logged in as player `a3u` (a real host reads its session cookie). The
//! addresses come from `VL_LISTEN` and `VL_METRICS_LISTEN` (defaults 127.0.0.1:8080 and
//! 127.0.0.1:9464). Ctrl-C turns `/readyz` to 503, waits two seconds for the load balancer,
//! then stops.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use gameauth_vegaslounge::health::{self, Health};
use gameauth_vegaslounge::token::ClientSecret;
use gameauth_vegaslounge::{
    Account, AccountProvider, Balance, EndedSession, HookError, OAuthServer, PlayerSessions,
    RegisteredClient, StaticClients, StoredSecret, async_trait,
};
use metrics_exporter_prometheus::PrometheusBuilder;

/// Everyone is player `a3u`: a real host looks up its own session cookie here.
struct Sessions;

#[async_trait]
impl PlayerSessions for Sessions {
    async fn current_player(&self, _: &http::HeaderMap) -> Result<Option<String>, HookError> {
        Ok(Some("a3u".into()))
    }
    async fn end_session(&self, _: &http::HeaderMap) -> Result<EndedSession, HookError> {
        Ok(EndedSession::new(Some("a3u".into())))
    }
}

/// A one-player directory.
struct Directory;

#[async_trait]
impl AccountProvider for Directory {
    async fn account(&self, player_id: &str) -> Result<Option<Account>, HookError> {
        let balance = Balance::new("405.64").map_err(|e| HookError::new(e.to_string()))?;
        Ok((player_id == "a3u")
            .then(|| Account::new(player_id, "highroller335", "USD", balance, "en_EN", "REAL")))
    }
}

fn address(var: &str, default: &str) -> Result<SocketAddr, Box<dyn std::error::Error>> {
    let text = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    text.parse()
        .map_err(|_| format!("{var}: `{text}` is not IP:PORT").into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let listen = address("VL_LISTEN", "127.0.0.1:8080")?;
    let metrics_listen = address("VL_METRICS_LISTEN", "127.0.0.1:9464")?;

    // Metrics: one recorder for the process, histograms as Prometheus histograms.
    let prometheus = PrometheusBuilder::new()
        .set_buckets(&gameauth_vegaslounge::metrics::DURATION_BUCKETS)?
        .install_recorder()?;
    gameauth_vegaslounge::metrics::describe();

    let client = RegisteredClient::new(
        "VL001",
        StoredSecret::Plain(ClientSecret::new("change-me")),
        ["https://fl.vegaslounge.live"],
    )?;
    let server = Arc::new(
        OAuthServer::builder()
            .clients(Arc::new(StaticClients::new([client])?))
            .sessions(Arc::new(Sessions))
            .accounts(Arc::new(Directory))
            .build()?,
    );
    // The memory store frees expired codes and tokens only when swept.
    let _sweeper = gameauth_vegaslounge::store::spawn_sweeper(
        server.store().clone(),
        server.clock().clone(),
        Duration::from_secs(60),
    );
    let health = Health::new(server.clone(), Duration::from_secs(1));
    let _watch = health.clone().watch(Duration::from_secs(5));
    let limits = server.config().http;

    // The metrics endpoint on its own address.
    let metrics_app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || std::future::ready(prometheus.render())),
    );
    let metrics_listener = tokio::net::TcpListener::bind(metrics_listen).await?;
    tokio::spawn(gameauth_vegaslounge::serve(
        metrics_listener,
        metrics_app,
        limits,
        std::future::pending(),
    ));

    // The contract's routes, the probes, and (in a real host) its own login page.
    let app = gameauth_vegaslounge::router(server).merge(health::routes(health.clone()));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    eprintln!("listening on http://{listen}, metrics on http://{metrics_listen}/metrics");
    gameauth_vegaslounge::serve(listener, app, limits, async move {
        let _ = tokio::signal::ctrl_c().await;
        health.start_draining();
        tokio::time::sleep(Duration::from_secs(2)).await;
    })
    .await?;
    Ok(())
}
