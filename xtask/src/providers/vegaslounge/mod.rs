//! Vegas Lounge: the operator-side OAuth server of `gameauth-vegaslounge` against the recorded
//! calls Vegas Lounge makes to it (inbound only; nothing is signed, so nothing is recorded).

mod contract;
mod seeds;

use gameauth_contract::{Fixture, Provider, SeedInput, Seeds, async_trait};

/// The Vegas Lounge provider.
pub(crate) struct VegasLounge;

#[async_trait]
impl Provider for VegasLounge {
    fn name(&self) -> &'static str {
        "vegaslounge"
    }

    async fn run(&self, fixture: &Fixture) -> Result<(), String> {
        contract::run(fixture).await
    }

    fn fuzz_seeds(&self, input: &SeedInput, seeds: &mut Seeds) -> Result<(), String> {
        seeds::add(input, seeds)
    }
}
