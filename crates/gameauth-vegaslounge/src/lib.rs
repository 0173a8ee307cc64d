//! Operator-side OAuth 2.0 server for the Vegas Lounge live-casino contract.
//!
//! Vegas Lounge is the OAuth *client*; the operator is the authorization server and resource
//! server. This crate serves the contract's endpoints:
//!
//! | endpoint | what it does |
//! |---|---|
//! | `GET /oauth2.0/authorize` | asks the host who is logged in, issues a one-time code and redirects to the registered URI |
//! | `POST /oauth2.0/token`, `POST /oauth2.0/refresh` | exchanges a code, or rotates a refresh token |
//! | `GET /account` | returns the player's account for a bearer access token |
//! | `GET /logout` | ends the operator's browser session (optionally revokes tokens) |
//!
//! The pieces:
//! * [`OAuthServer`]: the framework-free core ([`authorize`](OAuthServer::authorize),
//!   [`exchange_code`](OAuthServer::exchange_code), [`refresh`](OAuthServer::refresh),
//!   [`account`](OAuthServer::account), [`logout`](OAuthServer::logout)) and its HTTP surface over
//!   plain `http` types ([`OAuthServer::handle`]).
//! * Host hooks: [`PlayerSessions`] (login belongs to the operator), [`AccountProvider`] (the
//!   player directory) and [`ClientRegistry`] ([`StaticClients`] for a fixed list).
//! * [`store::GrantStore`] with [`MemoryStore`] (the default) and, with feature `redis`,
//!   `RedisStore` for several instances; every code and token is kept only as its SHA-256. With
//!   feature `test-util`, `store::conformance` checks any store.
//! * Throttling of failed client authentication counts in a [`ThrottleStore`]
//!   ([`MemoryThrottleStore`], or `RedisThrottleStore` with feature `redis`).
//! * With feature `axum`, `router()` mounts the fixed route set and `serve()` serves it (and the
//!   host's own routes) with a deadline on every phase of a connection and a connection cap
//!   ([`HttpLimits`]).
//! * Errors are RFC 6749 classes internally ([`OAuthError`]) and become Vegas Lounge's
//!   `{"errorCode","error"}` or RFC bodies in one place ([`response`]).
//! * Operations: [`metrics`] records requests, grants, replays, throttling and store latency
//!   through the `metrics` facade (install any recorder), every request runs in a `request`
//!   span with OpenTelemetry's HTTP field names, and [`health`] answers liveness and readiness
//!   probes (`/healthz`, `/readyz`). The `embedded` example serves them with Prometheus.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use gameauth_vegaslounge::{
//!     async_trait, Account, AccountProvider, Balance, EndedSession, HookError, OAuthServer,
//!     PlayerSessions, RegisteredClient, StaticClients, StoredSecret,
//! };
//! use gameauth_vegaslounge::token::ClientSecret;
//!
//! struct Sessions;
//! #[async_trait]
//! impl PlayerSessions for Sessions {
//!     async fn current_player(&self, _: &http::HeaderMap) -> Result<Option<String>, HookError> {
//!         Ok(Some("a3u".into())) // read the operator's session cookie here
//!     }
//!     async fn end_session(&self, _: &http::HeaderMap) -> Result<EndedSession, HookError> {
//!         Ok(EndedSession::new(Some("a3u".into())))
//!     }
//! }
//!
//! struct Directory;
//! #[async_trait]
//! impl AccountProvider for Directory {
//!     async fn account(&self, player_id: &str) -> Result<Option<Account>, HookError> {
//!         let balance = Balance::new("405.64").map_err(|e| HookError::new(e.to_string()))?;
//!         Ok(Some(Account::new(player_id, "highroller335", "USD", balance, "en_EN", "REAL")))
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let client = RegisteredClient::new(
//!     "VL001",
//!     StoredSecret::Plain(ClientSecret::new("change-me")),
//!     ["https://fl.vegaslounge.live"],
//! )?;
//! let server = OAuthServer::builder()
//!     .clients(Arc::new(StaticClients::new([client])?))
//!     .sessions(Arc::new(Sessions))
//!     .accounts(Arc::new(Directory))
//!     .build()?;
//! // The default in-memory store frees expired records only when swept; the sweeper stops
//! // when its handle is dropped.
//! let _sweeper = gameauth_vegaslounge::store::spawn_sweeper(
//!     server.store().clone(),
//!     Arc::new(gameauth_vegaslounge::SystemClock),
//!     std::time::Duration::from_secs(60),
//! );
//!
//! // An operator-initiated launch: a code for the logged-in player.
//! let code = server.issue_code("VL001", "https://fl.vegaslounge.live", "a3u").await?;
//! // What Vegas Lounge then does on the token endpoint:
//! let vl = server.authenticate_client("VL001", "change-me", None).await?;
//! let tokens = server.exchange_code(&vl, code.expose_secret(), None, None).await?;
//! let account = server.account(tokens.access_token.expose_secret(), Some("VL001")).await?;
//! assert!(account.to_json().contains(r#""balance":405.64"#));
//! // A code works once.
//! assert!(server.exchange_code(&vl, code.expose_secret(), None, None).await.is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Feature flags
//!
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::missing_errors_doc)]

pub mod config;
pub mod endpoint;
pub mod error;
pub mod health;
pub mod hooks;
pub mod metrics;
pub mod net;
mod params;
pub mod redirect;
pub mod registry;
pub mod request;
pub mod response;
#[cfg(feature = "axum")]
mod router;
mod seal;
#[cfg(feature = "axum")]
mod serve;
pub mod server;
pub mod store;
mod throttle;
pub mod token;
mod verifier;

pub use async_trait::async_trait;
pub use config::{HttpLimits, ServerConfig};
pub use endpoint::Route;
pub use error::{ConfigError, ErrorKind, HookError, OAuthError, Reason, StoreError};
/// The clock the server and the sweeper read time from (re-exported from `gameauth-core`).
pub use gameauth_core::{Clock, SystemClock};
pub use hooks::{Account, AccountProvider, Balance, EndedSession, PlayerSessions};
pub use net::{ForwardedHeader, NetworkPolicy};
pub use redirect::RedirectUriPolicy;
pub use registry::{ClientRegistry, RegisteredClient, StaticClients, StoredSecret};
pub use response::ErrorStyle;
#[cfg(feature = "axum")]
pub use router::router;
#[cfg(feature = "axum")]
pub use serve::serve;
pub use server::{
    AccountInfo, AuthenticatedClient, AuthorizeOutcome, LogoutOutcome, OAuthServer,
    OAuthServerBuilder, TokenResponse,
};
#[cfg(feature = "redis")]
pub use store::RedisStore;
pub use store::{GrantStore, MemoryStore};
#[cfg(feature = "redis")]
pub use throttle::redis::RedisThrottleStore;
pub use throttle::{
    MemoryThrottleStore, Throttle, ThrottleConfig, ThrottleKey, ThrottleKind, ThrottleStore,
};
