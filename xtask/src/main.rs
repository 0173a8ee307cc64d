//! Project automation, run as `cargo xtask <command>`.
//!
//! * `contract-test [--provider P] [--filter S]`: replays every recorded fixture under
//!   `fixtures/<provider>/contract/` against the SDK and prints one line per fixture, a summary per
//!   provider and the closing `N passed, N failed` line.
//! * `fixtures check`: secret-leak scan, signature consistency and schema validation of
//!   `fixtures/`.

mod contract;
mod fixtures;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  contract-test [--provider <omg|creditpay|hive|vegaslounge>] [--filter <substring>]
      Replay the recorded fixtures against the SDK (the main job).
  fixtures check
      Reject fixtures that leak secrets, carry signatures that do not follow from their dummy
      keys, break the schema, or that no test reads.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "contract-test" => contract::cli(rest),
        "fixtures" => fixtures::cli(rest),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(format!("unknown command `{other}`\n{USAGE}")),
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
