//! Hive: the `gameauth-hive` client against mocked `primary` and `fallback` hosts. Hive signs
//! nothing; its secrets are the client credentials, the certification key and the tokens.

mod contract;
mod record;
mod seeds;

use gameauth_contract::record::RecordRules;
use gameauth_contract::{Fixture, Provider, SeedInput, Seeds, async_trait};

/// The Hive provider.
pub(crate) struct Hive;

#[async_trait]
impl Provider for Hive {
    fn name(&self) -> &'static str {
        "hive"
    }

    async fn run(&self, fixture: &Fixture) -> Result<(), String> {
        contract::run(fixture).await
    }

    /// The v1 API's certification key, in its body field and header spellings.
    fn secret_fields(&self) -> &[&'static str] {
        &["certification_key", "hive_certification_key"]
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
