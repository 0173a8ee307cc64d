//! The kit's commands for a repository's `xtask`: `contract-test`, `fixtures check` and
//! `record`, parsed with `clap`.
//!
//! The smallest `xtask` hands its providers to [`main`]. An `xtask` with commands of its own
//! flattens [`Command`] into its own parser and calls [`Command::run`]:
//!
//! ```no_run
//! use clap::{Parser, Subcommand};
//! use gameauth_contract::cli;
//! # struct Acme;
//! # #[gameauth_contract::async_trait]
//! # impl gameauth_contract::Provider for Acme {
//! #     fn name(&self) -> &'static str { "acme" }
//! #     async fn run(&self, _: &gameauth_contract::Fixture) -> Result<(), String> { Ok(()) }
//! # }
//!
//! #[derive(Parser)]
//! #[command(bin_name = "cargo xtask")]
//! struct Xtask {
//!     #[command(subcommand)]
//!     command: Commands,
//! }
//!
//! #[derive(Subcommand)]
//! enum Commands {
//!     #[command(flatten)]
//!     Contract(cli::Command),
//!     /// A command of this repository's own.
//!     Lint,
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
//!     match Xtask::parse().command {
//!         Commands::Contract(command) => command.run(&root, &[&Acme]),
//!         Commands::Lint => std::process::ExitCode::SUCCESS,
//!     }
//! }
//! ```

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::record::session::{
    any_loopback_port, parse_field, parse_listen, parse_scenario, parse_upstream,
};
use crate::record::{RecordOptions, record};
use crate::{Error, Layout, Provider, Registry, RunOptions, check_fixtures, contract_test};

/// The kit's commands.
#[derive(Debug, Clone, Subcommand)]
#[non_exhaustive]
pub enum Command {
    /// Replay the recorded fixtures against the SDK: one line per fixture, a summary per
    /// provider and `N passed, N failed`.
    ContractTest(ContractTestArgs),
    /// Fixture maintenance.
    #[command(subcommand)]
    Fixtures(FixturesCommand),
    /// A recording proxy: forwards to the real upstream and writes a scrubbed, re-signed
    /// fixture after every exchange. The real keys come from the environment.
    Record(Box<RecordArgs>),
}

/// `fixtures` subcommands.
#[derive(Debug, Clone, Subcommand)]
#[non_exhaustive]
pub enum FixturesCommand {
    /// Reject fixtures that leak secrets, carry signatures that do not follow from their dummy
    /// keys, break the schema, belong to no registered provider, or that no test reads.
    Check(CheckArgs),
}

/// Where the fixtures are.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct FixtureRoot {
    /// The fixture root (default: `fixtures` in the repository root).
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
}

/// Arguments of `contract-test`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct ContractTestArgs {
    /// Only this provider's fixtures.
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,
    /// Only fixtures whose `<provider>/<scenario>` name contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub root: FixtureRoot,
}

/// Arguments of `fixtures check`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct CheckArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub root: FixtureRoot,
}

/// Arguments of `record`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct RecordArgs {
    /// The provider to record.
    #[arg(long, value_name = "NAME")]
    pub provider: String,
    /// The real base URL (`http(s)://host[:port][/prefix]`).
    #[arg(long, value_name = "URL", value_parser = parse_upstream)]
    pub upstream: url::Url,
    /// Where the proxy listens: a loopback address (default: an unused port).
    #[arg(long, value_name = "ADDR", value_parser = parse_listen, default_value_t = any_loopback_port())]
    pub listen: SocketAddr,
    /// The fixture's directory (default: `<fixtures>/<provider>/contract`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The fixture's name and file stem (default: `recorded_<unix seconds>`).
    #[arg(long, value_name = "NAME", value_parser = parse_scenario)]
    pub scenario: Option<String>,
    /// A personal field to replace (JSON key, form field, query parameter or header name).
    #[arg(long = "scrub-field", value_name = "NAME", value_parser = parse_field)]
    pub scrub_fields: Vec<String>,
    /// The real fallback host, for a provider that has one: a second proxy records its calls.
    #[arg(long, value_name = "URL", value_parser = parse_upstream)]
    pub fallback_upstream: Option<url::Url>,
    /// Where the fallback host's proxy listens: a loopback address (default: an unused port).
    #[arg(long, value_name = "ADDR", value_parser = parse_listen, requires = "fallback_upstream")]
    pub fallback_listen: Option<SocketAddr>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub root: FixtureRoot,
}

impl RecordArgs {
    /// The recording these arguments describe.
    pub fn options(&self) -> RecordOptions {
        let mut options = RecordOptions::new(self.provider.clone(), self.upstream.clone());
        options.listen = self.listen;
        options.fallback = self
            .fallback_upstream
            .clone()
            .map(|url| (url, self.fallback_listen.unwrap_or_else(any_loopback_port)));
        options.out.clone_from(&self.out);
        options.scenario.clone_from(&self.scenario);
        options.personal.clone_from(&self.scrub_fields);
        options
    }
}

/// The layout of the repository at `root`, with the fixture root of `root_args` (relative to
/// the current directory) when given.
fn layout(root: &Path, root_args: &FixtureRoot) -> Result<Layout, Error> {
    let layout = Layout::new(root);
    let Some(dir) = &root_args.fixtures else {
        return Ok(layout);
    };
    let dir = if dir.is_absolute() {
        dir.clone()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::Io(format!("cannot read the current directory: {e}")))?
            .join(dir)
    };
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "--fixtures {}: no such directory",
            dir.display()
        )));
    }
    Ok(layout.with_fixtures(dir))
}

impl Command {
    /// Runs the command for the repository at `root` and its `providers`; prints the report
    /// on stdout and errors on stderr. Exit status: 0 on success, 1 when a fixture fails or a
    /// problem is found, 2 when the command cannot run.
    pub fn run(self, root: &Path, providers: &[&'static dyn Provider]) -> ExitCode {
        match self.execute(root, providers) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        }
    }

    fn execute(self, root: &Path, providers: &[&'static dyn Provider]) -> Result<ExitCode, Error> {
        let registry = Registry::new(providers)?;
        match self {
            Command::ContractTest(args) => {
                let layout = layout(root, &args.root)?;
                let mut options = RunOptions::new();
                options.provider = args.provider;
                options.filter = args.filter;
                let mut out = std::io::stdout().lock();
                let summary = contract_test(&layout, &registry, &options, &mut out)?;
                Ok(exit(summary.success()))
            }
            Command::Fixtures(FixturesCommand::Check(args)) => {
                let layout = layout(root, &args.root)?;
                let report = check_fixtures(&layout, &registry)?;
                let mut out = std::io::stdout().lock();
                let written: std::io::Result<()> = (|| {
                    for p in &report.problems {
                        writeln!(out, "{p}")?;
                    }
                    writeln!(
                        out,
                        "fixtures check: {} files, {} problem(s)",
                        report.files,
                        report.problems.len()
                    )
                })();
                written.map_err(|e| Error::Io(format!("cannot write the report: {e}")))?;
                Ok(exit(report.problems.is_empty()))
            }
            Command::Record(args) => {
                let layout = layout(root, &args.root)?;
                record(&layout, &registry, args.options())?;
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

fn exit(success: bool) -> ExitCode {
    if success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `cargo xtask <command>` with the kit's commands only.
#[derive(Debug, Parser)]
#[command(
    bin_name = "cargo xtask",
    about = "Contract tests of this repository's providers."
)]
struct KitOnly {
    #[command(subcommand)]
    command: Command,
}

/// The whole `main` of an `xtask` whose commands are the kit's: parses the command line and
/// runs the command for the repository at `root` and its `providers`.
pub fn main(root: &Path, providers: &[&'static dyn Provider]) -> ExitCode {
    KitOnly::parse().command.run(root, providers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        KitOnly::try_parse_from(std::iter::once("xtask").chain(args.iter().copied()))
            .map(|k| k.command)
    }

    #[test]
    fn the_record_command_line_refuses_unsafe_or_incomplete_settings() {
        let base = [
            "record",
            "--provider",
            "omg",
            "--upstream",
            "https://sandbox.example",
        ];
        let Ok(Command::Record(args)) = parse(&base) else {
            panic!("base arguments refused");
        };
        assert!(args.options().listen.ip().is_loopback());
        for (extra, why) in [
            (&["--listen", "0.0.0.0:8080"][..], "loopback"),
            (&["--scenario", "Bad Name"][..], "lower-case"),
            (&["--scrub-field", " "][..], "field name"),
            (&["--key", "x"][..], "--key"),
            (
                &["--fallback-listen", "127.0.0.1:9"][..],
                "--fallback-upstream",
            ),
            (
                &["--fallback-upstream", "ftp://f.example"][..],
                "http(s) URL",
            ),
        ] {
            let args: Vec<&str> = base.iter().chain(extra).copied().collect();
            let err = parse(&args).unwrap_err().to_string();
            assert!(err.contains(why), "{extra:?}: {err}");
        }
        for upstream in [
            "https://user:pw@h.example",
            "http://h.example/?q=1",
            "ftp://h",
        ] {
            let mut args = base;
            args[4] = upstream;
            assert!(parse(&args).is_err(), "{upstream}");
        }
        assert!(parse(&["record", "--provider", "omg"]).is_err());
        let args: Vec<&str> = base
            .iter()
            .chain(&["--fallback-upstream", "https://fallback.example"])
            .copied()
            .collect();
        let Ok(Command::Record(args)) = parse(&args) else {
            panic!("fallback refused");
        };
        let (url, listen) = args.options().fallback.expect("the fallback is kept");
        assert_eq!(url.as_str(), "https://fallback.example/");
        assert!(listen.ip().is_loopback());
    }

    #[test]
    fn contract_test_and_fixtures_check_take_a_fixture_root() {
        let Ok(Command::ContractTest(args)) = parse(&[
            "contract-test",
            "--provider",
            "acme",
            "--filter",
            "bad",
            "--fixtures",
            "/tmp/f",
        ]) else {
            panic!("contract-test refused");
        };
        assert_eq!(args.provider.as_deref(), Some("acme"));
        assert_eq!(args.root.fixtures.as_deref(), Some(Path::new("/tmp/f")));
        assert!(matches!(
            parse(&["fixtures", "check"]),
            Ok(Command::Fixtures(FixturesCommand::Check(_)))
        ));
        assert!(parse(&["fixtures"]).is_err());
        assert!(parse(&["contract-test", "extra"]).is_err());
    }
}
