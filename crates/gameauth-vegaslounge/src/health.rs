//! Liveness and readiness for load balancers and orchestrators.
//!
//! * `GET /healthz` (live): the process serves requests. Always `200 ok`.
//! * `GET /readyz` (ready): the grant store answers within the readiness deadline and the server
//!   is not draining: `200 ready`; otherwise `503` with a one-line reason (`store unavailable`,
//!   `store timed out`, `draining`). The reason never carries the store's error text, which is
//!   logged instead.
//!
//! Each check also sets the [`READY`](crate::metrics::READY) gauge; [`Health::watch`] re-checks
//! periodically so the gauge stays current when nobody probes. On shutdown, call
//! [`Health::start_draining`] before the server stops accepting: `/readyz` then answers 503 so
//! the load balancer takes the instance out while requests in progress finish.
//!
//! ```no_run
//! # async fn run(server: std::sync::Arc<gameauth_vegaslounge::OAuthServer>) -> std::io::Result<()> {
//! use std::time::Duration;
//! use gameauth_vegaslounge::health::Health;
//!
//! let health = Health::new(server.clone(), Duration::from_secs(1));
//! let _watch = health.clone().watch(Duration::from_secs(5));
//! let limits = server.config().http;
//! let app = gameauth_vegaslounge::router(server).merge(gameauth_vegaslounge::health::routes(health));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! gameauth_vegaslounge::serve(listener, app, limits, std::future::pending()).await
//! # }
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::server::OAuthServer;

/// Path of the liveness probe.
pub const HEALTHZ_PATH: &str = "/healthz";
/// Path of the readiness probe.
pub const READYZ_PATH: &str = "/readyz";

/// The verdict of a readiness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Readiness {
    /// The store answered in time and the server is not draining.
    Ready,
    /// The store answered with an error.
    StoreUnavailable,
    /// The store did not answer within the readiness deadline.
    StoreTimedOut,
    /// Shutdown has begun.
    Draining,
}

impl Readiness {
    /// Whether the instance should receive traffic.
    pub fn is_ready(self) -> bool {
        self == Self::Ready
    }

    /// The one-line reason `/readyz` answers with.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::StoreUnavailable => "store unavailable",
            Self::StoreTimedOut => "store timed out",
            Self::Draining => "draining",
        }
    }
}

/// The readiness state of one server: its store, the deadline for the store's answer, and
/// whether shutdown has begun.
#[derive(Debug)]
pub struct Health {
    server: Arc<OAuthServer>,
    timeout: Duration,
    draining: AtomicBool,
}

impl Health {
    /// Readiness of `server`, whose store must answer a check within `timeout`.
    pub fn new(server: Arc<OAuthServer>, timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            server,
            timeout,
            draining: AtomicBool::new(false),
        })
    }

    /// Asks the store ([`GrantStore::ping`](crate::GrantStore::ping)) within the deadline and
    /// sets the [`READY`](crate::metrics::READY) gauge from the verdict.
    pub async fn check(&self) -> Readiness {
        let verdict = if self.is_draining() {
            Readiness::Draining
        } else {
            match tokio::time::timeout(self.timeout, self.server.store().ping()).await {
                Ok(Ok(())) => Readiness::Ready,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "readiness check: the store failed");
                    Readiness::StoreUnavailable
                }
                Err(_) => {
                    tracing::warn!(
                        timeout_ms = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
                        "readiness check: the store did not answer in time"
                    );
                    Readiness::StoreTimedOut
                }
            }
        };
        // Draining may have begun while the store was asked.
        let verdict = if self.is_draining() {
            Readiness::Draining
        } else {
            verdict
        };
        crate::metrics::set_ready(verdict.is_ready());
        verdict
    }

    /// Marks the server as shutting down: every later check answers [`Readiness::Draining`].
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
        crate::metrics::set_ready(false);
    }

    /// Whether [`start_draining`](Self::start_draining) was called.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Checks every `every` on the current tokio runtime (the first check at once), so the
    /// [`READY`](crate::metrics::READY) gauge follows the store without probes. The task stops
    /// when the returned handle is dropped.
    pub fn watch(self: Arc<Self>, every: Duration) -> WatchHandle {
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                self.check().await;
            }
        });
        WatchHandle { task }
    }
}

/// Stops the periodic readiness check of [`Health::watch`] when dropped.
#[derive(Debug)]
pub struct WatchHandle {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A router with `GET /healthz` and `GET /readyz` (feature `axum`); merge it into the router
/// that serves the contract's routes. Other methods answer 405.
#[cfg(feature = "axum")]
pub fn routes(health: Arc<Health>) -> axum::Router {
    use axum::extract::State;
    use axum::routing::get;
    use http::StatusCode;

    async fn live() -> (
        StatusCode,
        [(http::HeaderName, &'static str); 1],
        &'static str,
    ) {
        (
            StatusCode::OK,
            [(http::header::CACHE_CONTROL, "no-store")],
            "ok\n",
        )
    }

    async fn ready(
        State(health): State<Arc<Health>>,
    ) -> (StatusCode, [(http::HeaderName, &'static str); 1], String) {
        let verdict = health.check().await;
        let status = if verdict.is_ready() {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (
            status,
            [(http::header::CACHE_CONTROL, "no-store")],
            format!("{}\n", verdict.as_str()),
        )
    }

    axum::Router::new()
        .route(HEALTHZ_PATH, get(live))
        .route(READYZ_PATH, get(ready))
        .with_state(health)
}
