//! `gameauth vegaslounge …`: the Vegas Lounge operator server.

mod check;
mod config;
mod demo;
mod env_config;
mod login;
mod ops;
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
///
/// Every setting of the configuration file can also come from the environment:
/// GAMEAUTH_VL__<SECTION>__<KEY> (e.g. GAMEAUTH_VL__STORE__KIND=redis,
/// GAMEAUTH_VL__CLIENTS__0__CLIENT_SECRET_ENV=VL001_SECRET); flags win over the environment, the
/// environment over the file. RUST_LOG filters the logs (default info).
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// TOML configuration file (- for stdin); without it an embedded demo configuration is used.
    #[arg(long, value_name = "FILE.toml")]
    config: Option<PathBuf>,
    /// Address to listen on (overrides `listen` in the configuration), e.g. 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics (overrides `metrics_listen`), e.g.
    /// 127.0.0.1:9464; without it no metrics endpoint is opened.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<String>,
    /// Log format on stderr (overrides `log_format`; default text).
    #[arg(long, value_enum, value_name = "FORMAT")]
    log_format: Option<ops::LogFormat>,
}

/// Runs a Vegas Lounge command.
pub(crate) async fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Serve(args) => serve::run(args).await,
        Command::Check(args) => check::run(args).await,
    }
}
