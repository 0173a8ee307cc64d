//! `gameauth vegaslounge serve`: the operator server on a socket, until SIGINT/SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use gameauth_core::{Clock, SystemClock};
use gameauth_vegaslounge::health::{self, Health};
use gameauth_vegaslounge::store::spawn_sweeper;
use gameauth_vegaslounge::{
    GrantStore, MemoryStore, MemoryThrottleStore, OAuthServer, RedisStore, RedisThrottleStore,
    StaticClients, ThrottleStore,
};

use super::ServeArgs;
use super::config::{self, DEMO_CONFIG, Flags, StoreSettings};
use super::demo::DemoOperator;
use super::env_config;
use super::login::LoginGuard;
use super::ops::{self, LogFormat};
use crate::error::CliError;

/// The demo client's secret and the demo player's password, as in [`DEMO_CONFIG`].
const DEMO_CLIENT_SECRET: &str = "demo-secret";
const DEMO_PASSWORD: &str = "alice-pass";

/// How often expired codes and tokens are dropped from memory.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// How often readiness is re-checked for the `gameauth_vl_ready` gauge when nobody probes.
const READINESS_EVERY: Duration = Duration::from_secs(5);

pub(super) async fn run(args: ServeArgs) -> Result<(), CliError> {
    let (text, demo) = match &args.config {
        Some(path) => (
            crate::secrets::read_input_text("--config", path).map_err(CliError::Config)?,
            false,
        ),
        None => (DEMO_CONFIG.to_owned(), true),
    };
    let flags = Flags {
        listen: args.listen.as_deref(),
        metrics_listen: args.metrics_listen.as_deref(),
        log_format: args.log_format,
    };
    let vars = env_config::from_process()?;
    let config = config::load_with(&text, &flags, &vars, |name| std::env::var(name).ok())?;
    let ops = config.ops;
    ops::init_logging(ops.log_format)?;
    let banner = demo.then(|| demo_banner(&config));

    // The recorder first, so the stores' first calls are measured too.
    let metrics = match ops.metrics_listen {
        Some(addr) => Some(ops::start_metrics(addr, config.server.http).await?),
        None => None,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let stores = open_stores(&config.store, &clock, ops.log_format).await?;
    let operator = Arc::new(DemoOperator::new(
        config.players,
        LoginGuard::new(config.login, stores.login_throttle),
    ));
    let clients = StaticClients::new(config.clients).map_err(|e| CliError::Config(e.0))?;
    let server = OAuthServer::builder()
        .config(config.server)
        .store(stores.grants)
        .throttle_store(stores.throttle)
        .clients(Arc::new(clients))
        .sessions(operator.clone())
        .accounts(operator.clone())
        .clock(clock.clone())
        .build()
        .map_err(|e| CliError::Config(e.0))?;
    let server = Arc::new(server);
    // The memory store frees expired records only when swept; Redis expires them by TTL.
    let _sweeper = stores
        .sweep
        .then(|| spawn_sweeper(server.store().clone(), clock.clone(), SWEEP_EVERY));
    let limits = server.config().http;

    let health = Health::new(server.clone(), ops.readiness_timeout);
    let _watch = health.clone().watch(READINESS_EVERY);
    let app = gameauth_vegaslounge::router(server)
        .merge(health::routes(health.clone()))
        .merge(operator.router());

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| CliError::Io(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::Io(format!("cannot read the listening address: {e}")))?;
    if let Some(banner) = banner {
        for line in banner.replace("{base}", &format!("http://{addr}")).lines() {
            ops::say(ops.log_format, line);
        }
    }
    if let Some(metrics) = &metrics {
        ops::say(
            ops.log_format,
            &format!("metrics on http://{}/metrics", metrics.addr),
        );
    }
    ops::say(ops.log_format, &format!("listening on http://{addr}"));
    let shutdown = async {
        shutdown_signal(ops.log_format).await;
        // Out of the load balancer first: /readyz answers 503 while requests still succeed.
        health.start_draining();
        if !ops.drain_delay.is_zero() {
            ops::say(
                ops.log_format,
                &format!(
                    "draining: /readyz answers 503 for {} ms before the listener closes",
                    ops.drain_delay.as_millis()
                ),
            );
            tokio::time::sleep(ops.drain_delay).await;
        }
    };
    gameauth_vegaslounge::serve(listener, app, limits, shutdown)
        .await
        .map_err(|e| CliError::Io(format!("server failed: {e}")))?;
    drop(metrics);
    ops::say(ops.log_format, "stopped");
    Ok(())
}

/// The grant and throttle stores of one configuration.
struct Stores {
    grants: Arc<dyn GrantStore>,
    throttle: Arc<dyn ThrottleStore>,
    /// The demo login's attempt counters, apart from the token endpoint's (their windows and
    /// limits differ, and both count per address).
    login_throttle: Arc<dyn ThrottleStore>,
    /// Whether expired records must be swept (the memory store); Redis expires them by TTL.
    sweep: bool,
}

async fn open_stores(
    settings: &StoreSettings,
    clock: &Arc<dyn Clock>,
    log_format: LogFormat,
) -> Result<Stores, CliError> {
    match settings {
        StoreSettings::Memory => {
            let store = Arc::new(MemoryStore::new());
            Ok(Stores {
                grants: store.clone(),
                throttle: Arc::new(MemoryThrottleStore::new()),
                login_throttle: Arc::new(MemoryThrottleStore::new()),
                sweep: true,
            })
        }
        StoreSettings::Redis {
            redis,
            key_prefix,
            timeout,
        } => {
            let conn = redis
                .connect()
                .await
                .map_err(|e| CliError::Io(format!("cannot use the Redis store: {e}")))?;
            let grants = RedisStore::builder(conn.clone())
                .key_prefix(key_prefix.as_str())
                .timeout(*timeout)
                .clock(clock.clone())
                .build()
                .map_err(|e| CliError::Config(e.0))?;
            let throttle = RedisThrottleStore::builder(conn.clone())
                .key_prefix(key_prefix.as_str())
                .timeout(*timeout)
                .build()
                .map_err(|e| CliError::Config(e.0))?;
            let login_throttle = RedisThrottleStore::builder(conn.clone())
                .key_prefix(format!("{key_prefix}login:"))
                .timeout(*timeout)
                .build()
                .map_err(|e| CliError::Config(format!("store.key_prefix: {}", e.0)))?;
            let confirmed = match conn.replica_acks() {
                Some(acks) => format!(
                    ", decisions confirmed by {} replica(s) within {} ms",
                    acks.replicas(),
                    acks.timeout().as_millis()
                ),
                None => String::new(),
            };
            let cached = if conn.has_client_cache() {
                ", client cache on"
            } else {
                ""
            };
            ops::say(
                log_format,
                &format!(
                    "grant store: redis ({}), key prefix \"{key_prefix}\"{confirmed}{cached}",
                    conn.topology()
                ),
            );
            Ok(Stores {
                grants: Arc::new(grants),
                throttle: Arc::new(throttle),
                login_throttle: Arc::new(login_throttle),
                sweep: false,
            })
        }
    }
}

fn demo_banner(config: &config::ServeConfig) -> String {
    let client = &config.clients[0];
    let redirect = &client.redirect_uris()[0];
    let player = &config.players[0];
    let encoded: String = url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect();
    format!(
        "demo configuration (no --config given): in-memory store\n\
         \x20 client:    client_id={id} client_secret={DEMO_CLIENT_SECRET} redirect_uri={redirect}\n\
         \x20 player:    username={user} password={DEMO_PASSWORD} player_id={pid}\n\
         \x20 login:     {{base}}/login\n\
         \x20 authorize: {{base}}/oauth2.0/authorize?response_type=code&client_id={id}&redirect_uri={encoded}\n\
         \x20 token:     POST {{base}}/oauth2.0/token (refresh also on {{base}}/oauth2.0/refresh)\n\
         \x20 account:   {{base}}/account?client_id={id}\n\
         \x20 logout:    {{base}}/logout\n",
        id = client.client_id(),
        user = player.username,
        pid = player.account.player_id,
    )
}

async fn shutdown_signal(log_format: LogFormat) {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    ops::say(log_format, "shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_credentials_match_the_demo_configuration() {
        let config = config::load(DEMO_CONFIG, None, |_| None).unwrap();
        assert!(config.clients[0].verify_secret(DEMO_CLIENT_SECRET));
        assert!(config.players[0].password.ct_eq(DEMO_PASSWORD));
        let banner = demo_banner(&config);
        assert!(banner.contains("client_id=VL001"));
        assert!(banner.contains("redirect_uri=https%3A%2F%2Ffl.vegaslounge.live"));
    }
}
