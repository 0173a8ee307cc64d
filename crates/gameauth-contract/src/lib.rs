//! Contract-test kit for gameauth providers: prove, without any network access, that a
//! provider crate still speaks its provider's documented wire format.
//!
//! A repository keeps recorded exchanges as versioned JSON fixtures
//! (`fixtures/<provider>/contract/*.json`) and describes each of its providers once, as a
//! [`Provider`]. The kit does the rest:
//!
//! * [`fixture`]: the versioned schema and its loader; the frozen clock and ids
//!   ([`Fixture::clock`], [`Fixture::ids`]) and the dummy keys ([`Fixture::key`]) every signature
//!   depends on, so the request a client builds is reproducible to the byte.
//! * [`MockUpstream`]: one wiremock server per host, one named mock per outbound interaction
//!   matching the recorded request exactly, and a catch-all that must see nothing and explains
//!   every stray request against the recorded ones.
//! * [`Inbound`]: inbound interactions replayed through any [`tower::Service`] (an axum `Router`,
//!   or a plain async function through [`inbound::from_fn`]), answers compared with volatile
//!   fields matched by rule and values captured for later requests.
//! * [`Expect`], [`ExpectedError`] and [`ErrorFacts`]: one expectation vocabulary for every
//!   provider's steps.
//! * [`contract_test`]: the runner and its report (one line per fixture, a summary per provider,
//!   the closing `N passed, N failed`); a fixture directory of no registered provider is an
//!   error, never skipped.
//! * [`check_fixtures`]: the schema, a secret-leak scan, and every signature recomputed through
//!   [`Provider::sign`] from the fixture's dummy keys.
//! * [`record`](mod@record): a recording proxy that scrubs real exchanges, re-signs them with the
//!   dummy key and writes fixtures that replay.
//! * [`cli`]: the `contract-test`, `fixtures check` and `record` commands for a repository's
//!   `xtask`.
//!
//! The repository's `examples/acme-provider/` is a complete user repository built on the kit,
//! and `docs/adding-a-provider.md` walks through it.
//!
//! # Example: a provider and its contract test
//!
//! ```
//! use std::sync::Arc;
//!
//! use bytes::Bytes;
//! use gameauth_contract::{
//!     Expect, ErrorFacts, Fixture, Layout, MockUpstream, Provider, Registry, RunOptions,
//!     async_trait, contract_test, same,
//! };
//! use gameauth_core::{HttpTransport, ReqwestTransport};
//!
//! /// A provider whose only call is `GET /ping`, answered with a body the step expects.
//! struct Ping;
//!
//! #[derive(serde::Deserialize)]
//! struct Step {
//!     expect: Expect<String>,
//! }
//!
//! #[async_trait]
//! impl Provider for Ping {
//!     fn name(&self) -> &'static str {
//!         "ping"
//!     }
//!
//!     async fn run(&self, fixture: &Fixture) -> Result<(), String> {
//!         let upstream = MockUpstream::start(fixture).await?;
//!         let transport = ReqwestTransport::new().map_err(|e| e.to_string())?;
//!         for raw in &fixture.steps {
//!             let step: Step = serde_json::from_value(raw.clone()).map_err(|e| e.to_string())?;
//!             let request = http::Request::get(format!("{}/ping", upstream.uri("default")?))
//!                 .body(Bytes::new())
//!                 .map_err(|e| e.to_string())?;
//!             let result = match transport.send(request).await {
//!                 Ok(r) if r.status() == 200 => Ok(String::from_utf8_lossy(r.body()).into_owned()),
//!                 Ok(r) => Err(ErrorFacts::new("http_status", &r.status()).status(r.status().as_u16())),
//!                 Err(e) => Err(ErrorFacts::new("transport", &e)),
//!             };
//!             step.expect.check(result, |got, want| same("body", &got, &want))?;
//!         }
//!         upstream.verify().await
//!     }
//! }
//!
//! // A repository with one fixture.
//! let root = std::env::temp_dir().join(format!("kit-doc-{}", std::process::id()));
//! std::fs::create_dir_all(root.join("fixtures/ping/contract"))?;
//! std::fs::write(root.join("fixtures/ping/contract/pong.json"), serde_json::json!({
//!     "schema": 1, "provider": "ping", "scenario": "pong",
//!     "source": "synthetic: the kit's documentation", "description": "GET /ping answers pong.",
//!     "clock": 1711954264,
//!     "steps": [{"expect": {"ok": "pong"}}],
//!     "interactions": [{"name": "ping", "direction": "outbound",
//!         "request": {"method": "GET", "path": "/ping"},
//!         "response": {"status": 200, "body": "pong"}}]
//! }).to_string())?;
//!
//! let registry = Registry::new(&[&Ping])?;
//! let mut report = Vec::new();
//! let summary = contract_test(&Layout::new(&root), &registry, &RunOptions::new(), &mut report)?;
//! assert!(summary.success());
//! assert!(String::from_utf8(report)?.ends_with("1 passed, 0 failed\n"));
//! # std::fs::remove_dir_all(&root)?;
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::missing_errors_doc)]

mod check;
pub mod cli;
mod expect;
pub mod fixture;
pub mod inbound;
mod layout;
mod provider;
pub mod record;
mod report;
mod run;
mod secret_names;
mod seeds;
mod upstream;

#[cfg(test)]
mod testing;

pub use async_trait::async_trait;
pub use check::{ALLOWLIST, CheckReport, Problem, check_fixtures};
pub use expect::{ErrorFacts, Expect, ExpectedError, same};
pub use fixture::{Direction, Fixture, Interaction};
pub use inbound::{Inbound, Vars};
pub use layout::Layout;
pub use provider::{Provider, Registry, SignInput, Signature};
pub use report::Summary;
pub use run::{FIXTURE_TIMEOUT, RunOptions, check_directories, contract_test, run_one};
pub use seeds::{SeedInput, Seeds};
pub use upstream::MockUpstream;

/// The guide `docs/adding-a-provider.md`, whose code is `examples/acme-provider/`: compiled so
/// it stays correct (the test `tests/guide.rs` keeps it equal to the example's files).
#[cfg(doctest)]
#[doc = include_str!("../../../docs/adding-a-provider.md")]
pub struct AddingAProviderGuide;

/// Why a command cannot run (a failing fixture or a problem found is a result, not an error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad arguments or settings: an unknown provider, a misnamed provider, a missing secret.
    #[error("{0}")]
    Usage(String),
    /// A fixture directory that no registered provider replays.
    #[error(
        "{dir} belongs to no registered provider (registered: {registered}): register its provider or remove the directory"
    )]
    Unregistered {
        /// The directory, relative to the repository root.
        dir: String,
        /// The registered providers.
        registered: String,
    },
    /// Reading the fixtures, writing the report, or starting the runtime failed.
    #[error("{0}")]
    Io(String),
}
