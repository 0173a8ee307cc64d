//! This repository's automation, run as `cargo xtask <command>`: the contract kit's
//! `contract-test`, `fixtures check` and `record`, over this repository's providers.

mod acme;
#[cfg(test)]
mod recording;

use std::path::Path;
use std::process::ExitCode;

use gameauth_contract::Provider;

/// This repository's providers: adding one is one module and one line here.
const PROVIDERS: &[&'static dyn Provider] = &[&acme::Acme];

fn main() -> ExitCode {
    // The repository root is the parent of this crate.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().unwrap_or(manifest);
    gameauth_contract::cli::main(root, PROVIDERS)
}
