//! Server-side player authentication with Hive (Com2uS) Authentication v4.
//!
//! A game client logs in with the Hive SDK and hands the game server a player id, a device id,
//! a login token and an OAuth 2.0 access token. The game server asks Hive whether they are
//! valid. This crate does that asking:
//!
//! * **v2 token verification** (the default, [`Client::verify_token`]). The request carries
//!   the player's own access token in `X-Access-Token`, as Hive's v2 verify page describes it
//!   ([`VerifyParams::with_access_token`]); it needs no client credentials and no token fetch.
//!   For consoles that issue a server token for it instead, [`VerifyAccessToken::Server`] sends
//!   the app server's OAuth token, fetched with client credentials, cached until shortly before
//!   its JWT `exp`, shared by all concurrent callers, and replaced once when Hive refuses it.
//! * **Token-validated IdP list** ([`Client::player_idps`]): Hive checks the player's token
//!   and lists the IdP accounts of that player in one call.
//! * **v2 IdP list** ([`Client::idp_list`]) with the server token, with [`IdpIndex`] as an
//!   open integer.
//! * **Legacy v1** verification and IdP list with the optional certification key, for games that
//!   have not migrated yet. Hive refuses them from 20 Nov 2026 (extension on request until
//!   31 Dec 2026).
//! * **Primary → fallback routing**: one attempt on the primary host, then one on the distributed
//!   fallback host when the primary is broken (no answer, 5xx, 429, non-JSON 200), within an
//!   overall deadline, with a circuit breaker on the primary. Definitive answers never go to the
//!   fallback. Every result says which host answered ([`ServedBy`]).
//! * **Input checked first**: an empty token, a `player_id` that is not positive, an empty `did`
//!   or a missing access token is [`Error::InvalidInput`] before anything is sent, the server
//!   token fetch included.
//! * **Fail closed**: only `result_code == 0` in a well-formed answer verifies a player.
//!
//! [`Client`] also implements [`gameauth_core::TokenVerifier`] (the player's access token comes
//! from [`gameauth_core::VerifyRequest::access_token`]), so it can sit in a registry of verifiers
//! next to other providers.
//!
//! # Example
//!
//! The transport below stands in for Hive; in production leave it out (the default is a hardened
//! `reqwest` transport) and choose [`Environment::Production`].
//!
//! ```
//! use std::sync::Arc;
//! use gameauth_hive::{HttpTransport, PlayerToken, TransportError};
//! use gameauth_hive::bytes::Bytes;
//! use gameauth_hive::http;
//! use gameauth_hive::{Client, IncludeField, ServedBy, VerifyParams};
//!
//! // A stand-in for Hive that checks the player's access token and verifies.
//! let hive = |request: http::Request<Bytes>| async move {
//!     assert_eq!(request.headers()["x-access-token"], "access-token-from-the-game-client");
//!     let body = r#"{"result_code":0,"result_msg":"SUCCESS",
//!         "token_validation":{"result_code":0,"result_msg":"SUCCESS"},"data":{"is_blocked":false}}"#;
//!     Ok::<_, TransportError>(http::Response::new(Bytes::from_static(body.as_bytes())))
//! };
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let client = Client::builder()
//!     .primary_url("https://hive.example")
//!     .appid("com.com2us.example.normal.freefull.google.global.android.common")
//!     .transport(Arc::new(hive) as Arc<dyn HttpTransport>)
//!     .build()?;
//!
//! let params = VerifyParams::new(PlayerToken::new("token-from-the-game-client"), 21, "255764404509548")
//!     .with_access_token(PlayerToken::new("access-token-from-the-game-client"))
//!     .include(IncludeField::IsBlocked);
//! let verified = client.verify_token(&params).await?;
//! assert_eq!(verified.player_id, 21);
//! assert_eq!(verified.fields.is_blocked, Some(false));
//! assert_eq!(verified.served_by, ServedBy::Primary);
//! # Ok::<_, gameauth_hive::Error>(())
//! # }).unwrap();
//! ```
//!
//! # The server-token option
//!
//! ```
//! use std::sync::Arc;
//! use gameauth_hive::SecretString;
//! use gameauth_hive::{HttpTransport, PlayerToken, TransportError};
//! use gameauth_hive::bytes::Bytes;
//! use gameauth_hive::http;
//! use gameauth_hive::{Client, VerifyAccessToken, VerifyParams};
//!
//! // A stand-in for Hive: a server token, then a successful verification that carries it.
//! let hive = |request: http::Request<Bytes>| async move {
//!     let body = match request.uri().path() {
//!         "/oauth/token" => r#"{"result_code":0,"data":{"access_token":"server-token"}}"#,
//!         _ => {
//!             assert_eq!(request.headers()["x-access-token"], "server-token");
//!             r#"{"result_code":0,"result_msg":"SUCCESS"}"#
//!         }
//!     };
//!     Ok::<_, TransportError>(http::Response::new(Bytes::from_static(body.as_bytes())))
//! };
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let client = Client::builder()
//!     .primary_url("https://hive.example")
//!     .appid("com.com2us.example.normal.freefull.google.global.android.common")
//!     .client_credentials("project_abc123", SecretString::from("secret_xyz789"))
//!     .verify_access_token(VerifyAccessToken::Server)
//!     .transport(Arc::new(hive) as Arc<dyn HttpTransport>)
//!     .build()?;
//!
//! // No player access token in this mode.
//! let params = VerifyParams::new(PlayerToken::new("token-from-the-game-client"), 21, "255764404509548");
//! assert_eq!(client.verify_token(&params).await?.player_id, 21);
//! # Ok::<_, gameauth_hive::Error>(())
//! # }).unwrap();
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::missing_errors_doc)]

mod client;
pub mod code;
pub mod environment;
pub mod error;
pub mod idp;
pub mod oauth;
pub mod player_idps;
mod request;
mod response;
pub mod verify_token;

pub use client::builder::ClientBuilder;
pub use client::{
    Client, DEFAULT_DEADLINE, DEFAULT_FALLBACK_TIMEOUT, DEFAULT_OAUTH_ATTEMPT_TIMEOUT,
    DEFAULT_OAUTH_DEADLINE, DEFAULT_PRIMARY_TIMEOUT,
};
pub use code::{IdpCode, OAuthCode, PlayerIdpsCode, VerifyCode};
pub use environment::{Environment, ServedBy};
pub use error::{AttemptFailure, Error, Unavailable};
pub use gameauth_core::resilience::{BreakerConfig, BreakerState};
pub use idp::{IdpAccount, IdpIndex, IdpList};
pub use oauth::AccessToken;
pub use player_idps::{PlayerIdpAccount, PlayerIdps, PlayerIdpsParams};
pub use verify_token::{
    IncludeField, PlayerFields, VerifiedToken, VerifyAccessToken, VerifyParams,
};

/// Re-exported so that code using this crate needs no other dependency than this crate and an
/// async runtime.
pub use gameauth_core::prelude::*;

/// The provider guide (`docs/providers/hive.md`), compiled so its examples stay correct with only
/// this crate as a dependency.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/providers/hive.md")]
pub struct ProviderGuide;
