//! PassTo Credit Pay for game platforms.
//!
//! A platform sends a player to the Credit Pay cashier with a one-time authorization code, and
//! then answers Credit Pay's calls about that player. This crate covers both directions:
//!
//! * [`Client::identify_auth`] (`POST {base}/v1/platform/identify/auth`): signs the exact body,
//!   sends it once and returns the code and the cashier URL. The client is also a
//!   [`TokenIssuer`].
//! * [`CreditLimitHandler`]: verifies Credit Pay's credit-limit query, checks the relayed player
//!   token with the platform's own [`TokenVerifier`], and writes the
//!   answer with exact amounts.
//! * [`WebhookHandler`]: verifies, decodes and de-duplicates payment events before the platform
//!   processes them, and acknowledges only what was processed (an event is claimed while the
//!   platform processes it, then recorded). De-duplication is in memory by default; with feature
//!   `redis`, `RedisDedupStore` shares it between instances.
//! * [`sign`] and [`verify`]: the signature `base64(HMAC-SHA1(key, path + body))` as pure
//!   functions.
//!
//! Inbound handlers take and return `http::Request<Bytes>` / `http::Response<Bytes>`, so any
//! framework can host them; the `axum` feature adds ready routes.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use gameauth_creditpay::{KeyRing, ManualClock, PlayerToken, TransportError};
//! use gameauth_creditpay::bytes::Bytes;
//! use gameauth_creditpay::http;
//! use gameauth_creditpay::{Client, IdentifyAuthRequest};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! // A stand-in for Credit Pay; production uses the default transport.
//! let transport = |request: http::Request<Bytes>| async move {
//!     assert_eq!(request.uri().path(), "/dg/v1/platform/identify/auth");
//!     assert!(request.headers().contains_key("signature"));
//!     let body = r#"{"code":0,"msg":"success","data":{"ident_code":"c0de","url":"https://cashier.example/dg/oauth?ident_code=c0de"},"trace":"t-1"}"#;
//!     Ok::<_, TransportError>(http::Response::new(Bytes::from(body)))
//! };
//!
//! let client = Client::builder()
//!     .base_url("https://cashier.example/dg")
//!     .plat_id("328cf95950f54f89a2dd4c3bf98ac5fb")
//!     .api_key("api-key-from-the-console")
//!     .signature_keys(KeyRing::new("signature-key-from-the-console".into()))
//!     .transport(Arc::new(transport))
//!     .clock(Arc::new(ManualClock::at_unix_seconds(1_732_520_000)))
//!     .build()?;
//!
//! let issued = client
//!     .identify_auth(&IdentifyAuthRequest::new(
//!         "473_32_86000698",
//!         PlayerToken::new("the-platform-session-token"),
//!         "https://platform.example/payment/callback",
//!         1_732_521_424_191,
//!         "192.168.1.166",
//!     ))
//!     .await?;
//! assert!(issued.ident_code.ct_eq("c0de"));
//! // Redirect the player's browser to `issued.url.expose_secret()`.
//! # Ok::<(), gameauth_creditpay::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Feature flags
//!
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::missing_errors_doc)]

pub mod card;
pub mod client;
pub mod code;
pub mod error;
pub mod inbound;
#[cfg(feature = "redis")]
pub mod redis_dedup;
pub mod request;
pub mod response;
#[cfg(feature = "axum")]
pub mod router;
pub mod sign;
pub mod verify;

pub use card::AvailableCard;
pub use client::{ApiKey, Client, ClientBuilder, PlatIdParam};
pub use code::ResponseCode;
pub use error::{Error, SignatureError};
pub use inbound::credit_limit::{
    CreditLimitAnswer, CreditLimitHandler, CreditLimitQuery, CreditLimitSource,
};
pub use inbound::webhook;
pub use inbound::webhook::{
    EventData, EventType, MemoryDedupStore, Recorded, WebhookDedupStore, WebhookDelivery,
    WebhookEvent, WebhookHandler, WebhookSink,
};
#[cfg(feature = "redis")]
pub use redis_dedup::RedisDedupStore;
pub use request::{CustomerNoField, IdentifyAuthRequest};
pub use response::{CashierUrl, IdentifyAuth};
pub use verify::{InboundHeaders, InboundVerifier};

/// Re-exported so that code using this crate needs no other dependency than this crate and an
/// async runtime.
pub use gameauth_core::prelude::*;
