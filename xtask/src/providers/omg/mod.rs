//! OMG: the `gameauth-omg` client against mocked OMG hosts, the `verify_session` responder
//! against recorded callbacks, `sign = md5(query + body + key)` in both directions.

mod contract;
mod record;
mod seeds;

use gameauth_contract::record::RecordRules;
use gameauth_contract::{Fixture, Provider, SeedInput, Seeds, SignInput, Signature, async_trait};

/// The published example key of the OMG contract (vectors O1–O7), the fixtures' dummy key.
pub(crate) const PUBLISHED_KEY: &str = "39a6581c31ef3203a22edb2daa2ab6d1";

/// The OMG provider.
pub(crate) struct Omg;

#[async_trait]
impl Provider for Omg {
    fn name(&self) -> &'static str {
        "omg"
    }

    async fn run(&self, fixture: &Fixture) -> Result<(), String> {
        contract::run(fixture).await
    }

    /// Computed here from the signing primitive, not by the SDK's signer: the check stays an
    /// independent oracle of the documented rule.
    fn sign(&self, request: &SignInput<'_>, key: &str) -> Option<Signature> {
        let query = request.query.unwrap_or("");
        let sign = gameauth_core::sign::md5_hex(&[query.as_bytes(), request.body, key.as_bytes()]);
        Some(Signature::hex("sign", sign))
    }

    fn published_keys(&self) -> &[&'static str] {
        &[PUBLISHED_KEY]
    }

    fn vector_readers(&self) -> &[&'static str] {
        &["crates/gameauth-omg"]
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
