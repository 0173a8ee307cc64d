//! `gameauth`: the command-line tool of the gameauth SDK.
//!
//! One module per command group (`vegaslounge`, and later `omg`, `creditpay`, `hive`). Output
//! rules: machine-readable JSON on stdout, human diagnostics on stderr. Exit codes: 0 success,
//! 1 the provider or the check said no, 2 usage, configuration or transport failure.

mod error;
mod vegaslounge;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;

/// Authentication tooling for OMG, Credit Pay, Hive and Vegas Lounge integrations.
#[derive(Debug, Parser)]
#[command(name = "gameauth", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Vegas Lounge: run the operator-side OAuth server.
    #[command(subcommand)]
    Vegaslounge(vegaslounge::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(&CliError::Io(format!("cannot start the runtime: {e}"))),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Vegaslounge(command) => vegaslounge::run(command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

fn report(err: &CliError) -> ExitCode {
    eprintln!("error: {err}");
    ExitCode::from(err.exit_code())
}
