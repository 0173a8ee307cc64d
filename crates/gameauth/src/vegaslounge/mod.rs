//! `gameauth vegaslounge …`: the Vegas Lounge operator server.

mod check;
mod config;
mod demo;
mod login;
mod redis_config;
mod serve;

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::error::CliError;

/// Vegas Lounge commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the operator-side OAuth server (authorize, token, refresh, account, logout) with a
    /// minimal demo login.
    Serve(ServeArgs),
    /// Act as Vegas Lounge against an operator deployment and report which contract checks pass.
    Check(check::CheckArgs),
}

/// Arguments of `gameauth vegaslounge serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// TOML configuration file; without it an embedded demo configuration is used.
    #[arg(long, value_name = "FILE.toml")]
    config: Option<PathBuf>,
    /// Address to listen on (overrides `listen` in the configuration), e.g. 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
}

/// Runs a Vegas Lounge command.
pub(crate) async fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Serve(args) => serve::run(args).await,
        Command::Check(args) => check::run(args).await,
    }
}
