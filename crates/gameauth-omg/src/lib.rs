//! OMG game platform integration for the gameauth SDK.
//!
//! OMG signs every request in both directions with
//! `lowercase_hex(md5(raw_query + raw_body + key))` in a `sign` header, where the query is the
//! single `trace_id` parameter. This crate provides:
//!
//! * [`sign`] and [`verify`]: the signature over exact bytes, and its verification (single
//!   `trace_id` rule, either hex case, constant-time compare, key rotation).
//! * [`Client`]: the operator → OMG calls. [`Client::authorize`] issues a transfer-wallet player
//!   token (also available as the provider-neutral [`gameauth_core::TokenIssuer`]);
//!   [`Client::enter_game`] and [`Client::ingame`] return launch URLs.
//! * [`inbound`]: OMG → operator callbacks. [`CallbackVerifier`] checks any callback before its
//!   body is parsed; [`VerifySessionResponder`] answers `verify_session` from the operator's own
//!   [`gameauth_core::TokenVerifier`]. With the `axum` feature, the `router`
//!   module mounts it.
//!
//! # Example: a player token
//!
//! ```
//! use std::sync::Arc;
//! use gameauth_omg::{FixedIds, ManualClock, TransportError};
//! use gameauth_omg::bytes::Bytes;
//! use gameauth_omg::http;
//! use gameauth_omg::{AuthorizeRequest, Client};
//!
//! // A stand-in for OMG that checks the signature of vector O4 and answers like the docs.
//! let omg = |request: http::Request<Bytes>| async move {
//!     assert_eq!(request.headers()["sign"], "7387fcf664c067bcbfffbde11ef96f51");
//!     let body = r#"{"code":0,"msg":"ok","data":{"token":"1003803","balance":"42766.25","app_id":10013}}"#;
//!     Ok::<_, TransportError>(http::Response::new(Bytes::from_static(body.as_bytes())))
//! };
//!
//! let client = Client::builder()
//!     .base_url("https://omg-api.example")
//!     .app_id("10013")
//!     .key("39a6581c31ef3203a22edb2daa2ab6d1".into())
//!     .transport(Arc::new(omg))
//!     .clock(Arc::new(ManualClock::at_unix_seconds(1_711_954_264)))
//!     .ids(Arc::new(FixedIds::new(["k3n9x0q2m7ab"])))
//!     .build()?;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let player = client
//!     .authorize(&AuthorizeRequest::new("10032355", "Bill").with_cid(0))
//!     .await?;
//! assert_eq!(player.balance, "42766.25");
//! assert_eq!(player.token.expose_secret(), "1003803");
//! # Ok::<_, gameauth_omg::Error>(())
//! # })?;
//! # Ok::<_, gameauth_omg::Error>(())
//! ```
//!
//! # Example: answering `verify_session`
//!
//! ```
//! use std::sync::Arc;
//! use gameauth_omg::{async_trait, AuthError, TokenVerifier, VerifiedPlayer, VerifyRequest};
//! use gameauth_omg::{CallbackVerifier, VerifySessionResponder};
//!
//! struct Sessions;
//!
//! #[async_trait]
//! impl TokenVerifier for Sessions {
//!     fn provider(&self) -> &str {
//!         "operator"
//!     }
//!     async fn verify(&self, request: &VerifyRequest) -> Result<VerifiedPlayer, AuthError> {
//!         if request.token.ct_eq("session-of-bill") {
//!             Ok(VerifiedPlayer::new("10003803").with_display_name("bill").with_balance("42766.25"))
//!         } else {
//!             Err(AuthError::rejected(10011, "unknown session"))
//!         }
//!     }
//! }
//!
//! let verifier = CallbackVerifier::builder()
//!     .key("39a6581c31ef3203a22edb2daa2ab6d1".into())
//!     .build()?;
//! let responder = VerifySessionResponder::new(verifier, Arc::new(Sessions));
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! // In a handler: the raw query from the request line, the body bytes, the `sign` header.
//! let answer = responder.respond(Some("trace_id=abc"), b"{}", None).await;
//! assert_eq!(answer.body().as_ref(), br#"{"code":10002,"msg":"sign invalid"}"#);
//! # });
//! # Ok::<_, gameauth_omg::Error>(())
//! ```
//!
//! # Feature flags
//!
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::missing_errors_doc)]

pub mod authorize;
pub mod client;
pub mod code;
pub mod error;
pub mod inbound;
pub mod issuer;
pub mod launch;
mod request;
mod response;
#[cfg(feature = "axum")]
pub mod router;
pub mod sign;
pub mod verify;

pub use authorize::{AuthorizeRequest, AuthorizedPlayer};
pub use client::{Client, ClientBuilder};
pub use code::OmgCode;
pub use error::Error;
pub use inbound::{
    CallbackError, CallbackVerifier, VerifiedCallback, VerifySession, VerifySessionResponder,
};
pub use launch::{EnterGameRequest, GameUrl, InGameRequest, ScreenMode};
pub use verify::{SignatureError, TraceIdAlphabet, TraceIdRule};

/// Re-exported so that code using this crate needs no other dependency than this crate and an
/// async runtime.
pub use gameauth_core::prelude::*;

/// The repository README, compiled so its example stays correct.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeExample;
