//! `gameauth`: the command-line tool of the gameauth SDK.
//!
//! The binary is a thin wrapper around [`run`]; [`command`] is the argument parser, for tools
//! that generate a man page or shell completions from it.
//!
//! One module per command group (`omg`, `creditpay`, `hive`, `vegaslounge`). Output
//! rules: machine-readable JSON on stdout (the one exception: `completions` prints the script),
//! human diagnostics on stderr. Exit codes: 0 success, 1 the provider or the check said no,
//! 2 usage, configuration or transport failure.

// The doc comments of the argument structs are the `--help` text, which clap prints verbatim:
// URLs and `scheme://host[:port]` stay plain there instead of becoming rustdoc links.
#![allow(rustdoc::bare_urls, rustdoc::broken_intra_doc_links)]

mod body;
mod creditpay;
mod error;
mod hive;
mod omg;
mod output;
mod secrets;
mod vegaslounge;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

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
    /// OMG: sign and verify requests, ask for a player token.
    #[command(subcommand)]
    Omg(omg::Command),
    /// Credit Pay: sign and verify requests, ask for a one-time authorization code.
    #[command(subcommand)]
    Creditpay(creditpay::Command),
    /// Hive: verify a player's login token, list a player's IdP accounts.
    #[command(subcommand)]
    Hive(hive::Command),
    /// Vegas Lounge: run the operator-side OAuth server, or check a deployment against the contract.
    #[command(subcommand)]
    Vegaslounge(vegaslounge::Command),
    /// Print a shell completion script to stdout, e.g. `gameauth completions bash >
    /// /etc/bash_completion.d/gameauth`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The argument parser of `gameauth`: every command, flag and help text.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Runs `gameauth` with the process's arguments; the return value is the exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return parse_failure(&e),
    };
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(shell, &mut command(), "gameauth", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(&CliError::Io(format!("cannot start the runtime: {e}"))),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Omg(command) => omg::run(command).await,
            Command::Creditpay(command) => creditpay::run(command).await,
            Command::Hive(command) => hive::run(command).await,
            Command::Vegaslounge(command) => vegaslounge::run(command).await,
            Command::Completions { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

/// clap's verdict on the arguments: `--help` and `--version` are answers (exit 0); anything else
/// is a usage failure, which like every other failure prints its one JSON object on stdout, with
/// clap's explanation on stderr.
fn parse_failure(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let message = if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        "a command is required (see --help)".to_owned()
    } else {
        let rendered = e.render().to_string();
        let first = rendered.lines().next().unwrap_or_default();
        first
            .strip_prefix("error: ")
            .unwrap_or(first)
            .trim()
            .to_owned()
    };
    output::print_usage_error(&message);
    // clap writes its own explanation (with the usage line) to stderr.
    let _ = e.print();
    ExitCode::from(output::FAILED)
}

fn report(err: &CliError) -> ExitCode {
    eprintln!("error: {err}");
    ExitCode::from(err.exit_code())
}

#[cfg(test)]
mod tests {
    use clap::builder::ValueParser;

    /// Every argument of every command, with its command path.
    fn all_args(command: &clap::Command, path: &str, out: &mut Vec<(String, clap::Arg)>) {
        for arg in command.get_arguments() {
            out.push((path.to_owned(), arg.clone()));
        }
        for sub in command.get_subcommands() {
            all_args(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_numeric_flag_takes_negative_numbers_as_values() {
        let numeric = [
            ValueParser::from(clap::value_parser!(i64)).type_id(),
            ValueParser::from(clap::value_parser!(u64)).type_id(),
            ValueParser::from(clap::value_parser!(u32)).type_id(),
            ValueParser::from(clap::value_parser!(usize)).type_id(),
        ];
        let mut command = super::command();
        command.build();
        let mut args = Vec::new();
        all_args(&command, "gameauth", &mut args);
        let mut checked = 0;
        for (path, arg) in &args {
            if numeric.contains(&arg.get_value_parser().type_id()) {
                checked += 1;
                assert!(
                    arg.is_allow_negative_numbers_set() || arg.is_allow_hyphen_values_set(),
                    "{path} --{}: a negative number would be taken for a flag",
                    arg.get_id()
                );
            }
        }
        assert!(checked >= 6, "only {checked} numeric flags found");
    }
}
