//! `gameauth vegaslounge serve`: the operator server on a socket, until SIGINT/SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use gameauth_core::{Clock, SystemClock};
use gameauth_vegaslounge::store::{SweeperHandle, spawn_sweeper};
use gameauth_vegaslounge::{
    GrantStore, MemoryStore, MemoryThrottleStore, OAuthServer, RedisStore, RedisThrottleStore,
    StaticClients, ThrottleStore,
};

use super::ServeArgs;
use super::config::{self, DEMO_CONFIG, StoreSettings};
use super::demo::DemoOperator;
use super::login::LoginGuard;
use crate::error::CliError;

/// The demo client's secret and the demo player's password, as in [`DEMO_CONFIG`].
const DEMO_CLIENT_SECRET: &str = "demo-secret";
const DEMO_PASSWORD: &str = "alice-pass";

/// How often expired codes and tokens are dropped from memory.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

pub(super) async fn run(args: ServeArgs) -> Result<(), CliError> {
    init_logging();
    let (text, demo) = match &args.config {
        Some(path) => (
            std::fs::read_to_string(path)
                .map_err(|e| CliError::Config(format!("cannot read {}: {e}", path.display())))?,
            false,
        ),
        None => (DEMO_CONFIG.to_owned(), true),
    };
    let config = config::load(&text, args.listen.as_deref(), |name| {
        std::env::var(name).ok()
    })?;
    let banner = demo.then(|| demo_banner(&config));

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let stores = open_stores(&config.store, &clock).await?;
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
    let _sweeper = stores.sweeper;
    let limits = server.config().http;
    let app = gameauth_vegaslounge::router(Arc::new(server)).merge(operator.router());

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| CliError::Io(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::Io(format!("cannot read the listening address: {e}")))?;
    if let Some(banner) = banner {
        eprint!("{}", banner.replace("{base}", &format!("http://{addr}")));
    }
    eprintln!("listening on http://{addr}");
    gameauth_vegaslounge::serve(listener, app, limits, shutdown_signal())
        .await
        .map_err(|e| CliError::Io(format!("server failed: {e}")))?;
    eprintln!("stopped");
    Ok(())
}

/// The grant and throttle stores of one configuration.
struct Stores {
    grants: Arc<dyn GrantStore>,
    throttle: Arc<dyn ThrottleStore>,
    /// The demo login's attempt counters, apart from the token endpoint's (their windows and
    /// limits differ, and both count per address).
    login_throttle: Arc<dyn ThrottleStore>,
    /// Drops expired records of the memory store; Redis expires them by TTL.
    sweeper: Option<SweeperHandle>,
}

async fn open_stores(settings: &StoreSettings, clock: &Arc<dyn Clock>) -> Result<Stores, CliError> {
    match settings {
        StoreSettings::Memory => {
            let store = Arc::new(MemoryStore::new());
            Ok(Stores {
                grants: store.clone(),
                throttle: Arc::new(MemoryThrottleStore::new()),
                login_throttle: Arc::new(MemoryThrottleStore::new()),
                sweeper: Some(spawn_sweeper(store, clock.clone(), SWEEP_EVERY)),
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
            eprintln!(
                "grant store: redis ({}), key prefix \"{key_prefix}\"{confirmed}{cached}",
                conn.topology()
            );
            Ok(Stores {
                grants: Arc::new(grants),
                throttle: Arc::new(throttle),
                login_throttle: Arc::new(login_throttle),
                sweeper: None,
            })
        }
    }
}

fn init_logging() {
    // Logs go to stderr; stdout stays free for machine-readable output.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .with_target(false)
        .try_init();
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

async fn shutdown_signal() {
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
    eprintln!("shutting down");
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
