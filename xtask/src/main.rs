//! Project automation, run as `cargo xtask <command>`.
//!
//! The contract commands (`contract-test`, `fixtures check`, `record`) are the contract kit's
//! (`gameauth-contract`) run over this repository's providers, which `providers` lists; `bench`,
//! `fuzz`, `man`, `msrv` and `tidy` are this repository's own. One `clap` parser reads them all.

mod bench;
mod fuzz;
mod man;
mod msrv;
mod providers;
mod tidy;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Project automation for the gameauth workspace.
#[derive(Debug, Parser)]
#[command(bin_name = "cargo xtask")]
struct Xtask {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Contract(Box<gameauth_contract::cli::Command>),
    /// Measure the SDK against hand-written baselines (release build); prints a markdown table
    /// and writes target/bench/report.json.
    Bench(bench::BenchArgs),
    /// Run every fuzz target for a while (needs nightly and cargo-fuzz), or rewrite the seed
    /// corpora from the fixtures.
    Fuzz(fuzz::FuzzArgs),
    /// Check that every dependency in Cargo.lock builds with the workspace's rust-version.
    Msrv,
    /// Write the `gameauth` man pages (one per command) to target/man or --out DIR.
    Man(man::ManArgs),
    /// Check the repository's shape rules (module comments, file length, the provider
    /// template, one home per shared helper); `cargo test` runs the same check.
    Tidy,
}

fn main() -> ExitCode {
    let result = match Xtask::parse().command {
        Command::Contract(command) => return command.run(&project_root(), providers::PROVIDERS),
        Command::Bench(args) => bench::cli(&args),
        Command::Fuzz(args) => fuzz::cli(&args),
        Command::Msrv => msrv::cli(),
        Command::Man(args) => man::cli(&args),
        Command::Tidy => tidy::cli(),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// The repository root (the parent of the `xtask` crate).
fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}
