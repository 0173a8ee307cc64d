//! Shared foundation of the gameauth SDK.
//!
//! Every provider crate (`gameauth-omg`, `gameauth-creditpay`, `gameauth-hive`, `gameauth-vegaslounge`) builds
//! on the pieces defined here:
//!
//! * [`TokenIssuer`] and [`TokenVerifier`]: the provider-neutral traits, speaking the normalised
//!   [`IssueRequest`], [`IssuedToken`], [`VerifyRequest`] and [`VerifiedPlayer`] types.
//! * [`transport`]: a bytes-in/bytes-out HTTP trait with a hardened `reqwest` implementation
//!   (feature `reqwest`, on by default).
//! * [`outbound`]: the one call engine (base URL, call policy, retries, fallback routing) every
//!   provider client sends through.
//! * [`telemetry`]: the metrics the provider crates record through the `metrics` facade.
//! * [`secret`]: token newtypes whose `Debug` is redacted, with constant-time comparison.
//! * [`sign`]: pure signing primitives (MD5 hex, HMAC-SHA1 base64) and key rotation.
//! * [`inbound`]: the one reader of inbound request bodies (size cap, read deadline).
//! * [`clock`] and [`ids`]: injected time and identifiers, so signatures are reproducible in tests.
//! * [`resilience`]: retry policy as data, a circuit breaker and a single-flight expiring cache.
//! * [`error`]: the error model shared by the traits.
//! * [`code`]: [`result_codes!`], the one way a provider types its numeric result codes.
//! * `redis` (feature `redis`): one Redis connection for every topology (one endpoint, TLS,
//!   Sentinel, Cluster) and the helpers shared by every Redis-backed store.
//!
//! # Example: a registry of verifiers across providers
//!
//! ```
//! use std::sync::Arc;
//! use gameauth_core::{
//!     async_trait, AuthError, TokenVerifier, VerifiedPlayer, VerifyRequest,
//! };
//!
//! /// A verifier backed by the operator's own session table.
//! struct Sessions;
//!
//! #[async_trait]
//! impl TokenVerifier for Sessions {
//!     fn provider(&self) -> &str {
//!         "operator"
//!     }
//!
//!     async fn verify(&self, request: &VerifyRequest) -> Result<VerifiedPlayer, AuthError> {
//!         if request.token.expose_secret() == "session-1" {
//!             Ok(VerifiedPlayer::new("player-1").with_display_name("Alice"))
//!         } else {
//!             Err(AuthError::rejected(10011, "unknown session"))
//!         }
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let registry: Vec<Arc<dyn TokenVerifier>> = vec![Arc::new(Sessions)];
//! let player = registry[0]
//!     .verify(&VerifyRequest::new("session-1".into()))
//!     .await
//!     .unwrap();
//! assert_eq!(player.player_id, "player-1");
//! # });
//! ```
//!
//! # Feature flags
//!
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::missing_errors_doc)]

pub mod clock;
pub mod code;
pub mod error;
pub mod ids;
pub mod inbound;
pub mod lenient;
pub mod outbound;
pub mod prelude;
#[cfg(feature = "redis")]
pub mod redis;
pub mod resilience;
pub mod secret;
pub mod sign;
pub mod telemetry;
pub mod token;
pub mod transport;

pub use async_trait::async_trait;
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AuthError, DecodeError, TransportError, TransportErrorKind};
pub use ids::{FixedIds, IdGenerator, RandomIds};
pub use secret::{IssuedSecret, PlayerToken};
pub use sign::KeyRing;
pub use token::{
    IssueRequest, IssuedToken, TokenIssuer, TokenVerifier, VerifiedPlayer, VerifyRequest,
};
pub use transport::HttpTransport;
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use transport::ReqwestTransport;

/// Re-exported: a custom [`HttpTransport`] speaks `http::Request<Bytes>` and `http::Response<Bytes>`.
pub use bytes;
/// Re-exported: a custom [`HttpTransport`] speaks `http::Request<Bytes>` and `http::Response<Bytes>`.
pub use http;
/// Re-exported so users can pass their own `reqwest::Client` of the matching version.
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use reqwest;
/// Re-exported so users name exactly the `secrecy` version this SDK speaks.
pub use secrecy;

#[doc(hidden)]
pub mod __private {
    pub use serde;
}
