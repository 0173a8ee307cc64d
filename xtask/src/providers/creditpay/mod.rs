//! Credit Pay: the `gameauth-creditpay` client against a mocked gateway, the credit-limit and
//! webhook handlers against recorded calls, and
//! `signature = base64(HMAC-SHA1(key, path after the gateway prefix + body))` in both
//! directions.

mod contract;
mod record;
mod seeds;

use gameauth_contract::record::RecordRules;
use gameauth_contract::{
    Direction, Fixture, Provider, SeedInput, Seeds, SignInput, Signature, async_trait,
};
use gameauth_creditpay::request::IDENTIFY_AUTH_PATH;

/// The published example key of the Credit Pay contract (vectors C1–C9), the fixtures' dummy
/// signature key.
pub(crate) const PUBLISHED_KEY: &str = "18dd8a3c8003d2adcd13cb9981618bedd759a19f697a46d270542c6023479a08f541a5fa7f2e09a6f93cab7fe5de3b1b465abxxx";

/// The Credit Pay provider.
pub(crate) struct CreditPay;

/// The signed path: an outbound path without its gateway prefix (`/dg` of
/// `/dg/v1/platform/identify/auth`), an inbound path as routed.
fn signed_path<'a>(request: &SignInput<'a>) -> &'a str {
    let path = request.path;
    if request.direction == Direction::Inbound {
        return path;
    }
    if path.ends_with(IDENTIFY_AUTH_PATH) {
        return &path[path.len() - IDENTIFY_AUTH_PATH.len()..];
    }
    path.find("/v1/").map_or(path, |at| &path[at..])
}

#[async_trait]
impl Provider for CreditPay {
    fn name(&self) -> &'static str {
        "creditpay"
    }

    async fn run(&self, fixture: &Fixture) -> Result<(), String> {
        contract::run(fixture).await
    }

    /// Computed here from the signing primitive, not by the SDK's signer: the check stays an
    /// independent oracle of the documented rule. A request that carries the misspelt
    /// `signerature` header (which the SDK accepts on inbound calls) is checked under that name.
    fn sign(&self, request: &SignInput<'_>, key: &str) -> Option<Signature> {
        let header = if request.header("signerature").is_some() {
            "signerature"
        } else {
            "signature"
        };
        let signature = gameauth_core::sign::hmac_sha1_base64(
            key.as_bytes(),
            &[signed_path(request).as_bytes(), request.body],
        );
        Some(Signature::exact(header, signature))
    }

    /// The player's token on `identify/auth`.
    fn secret_fields(&self) -> &[&'static str] {
        &["customer_token"]
    }

    fn published_keys(&self) -> &[&'static str] {
        &[PUBLISHED_KEY]
    }

    fn vector_readers(&self) -> &[&'static str] {
        &["crates/gameauth-creditpay"]
    }

    fn recording(&self) -> Option<&dyn RecordRules> {
        Some(self)
    }

    fn fuzz_seeds(&self, input: &SeedInput, seeds: &mut Seeds) -> Result<(), String> {
        seeds::add(input, seeds)
    }
}

#[cfg(test)]
mod record_tests;
