//! Project automation, run as `cargo xtask <command>`.
//!
//! * `contract-test [--provider P] [--filter S]`: replays every recorded fixture under
//!   `fixtures/<provider>/contract/` against the SDK and prints one line per fixture, a summary per
//!   provider and the closing `N passed, N failed` line.
//! * `fixtures check`: secret-leak scan, signature consistency and schema validation of
//!   `fixtures/`.
//! * `msrv`: every resolved dependency declares a `rust-version` no newer than the workspace's.
//! * `record --provider P --upstream URL --out DIR`: a recording proxy that writes scrubbed,
//!   re-signed fixtures.

mod bench;
mod contract;
mod fixtures;
mod fuzz;
mod msrv;
mod record;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  bench [--quick] [--only <1,2,...>]
      Measure the SDK against hand-written baselines (release build); prints a markdown
      table and writes target/bench/report.json.
  contract-test [--provider <omg|creditpay|hive|vegaslounge>] [--filter <substring>]
      Replay the recorded fixtures against the SDK (the main job).
  fixtures check
      Reject fixtures that leak secrets, carry signatures that do not follow from their dummy
      keys, break the schema, or that no test reads.
  fuzz [--seconds <N>] [--jobs <J>] [--target <NAME>]... | fuzz --seed
      Run every fuzz target N seconds (default 60; needs nightly and cargo-fuzz), J targets
      at a time (default 1), or rewrite the seed corpora from the fixtures.
  msrv
      Check that every dependency in Cargo.lock builds with the workspace's rust-version.
  record --provider <omg|creditpay|hive> --upstream <URL> --out <DIR>
         [--listen <ADDR>] [--scenario <NAME>] [--scrub-field <NAME>]...
         [--fallback-upstream <URL> [--fallback-listen <ADDR>]]
      A recording proxy: forwards to the upstream and writes a scrubbed, re-signed fixture
      after every exchange. Hive's second host is recorded through a second proxy
      (--fallback-upstream) that the client is given as its fallback URL. Real keys come from the environment (OMG_SIGN_KEY;
      CREDITPAY_API_KEY, CREDITPAY_SIGNATURE_KEY; HIVE_CLIENT_ID, HIVE_CLIENT_SECRET,
      HIVE_CERTIFICATION_KEY).
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "bench" => bench::cli(rest),
        "contract-test" => contract::cli(rest),
        "fixtures" => fixtures::cli(rest),
        "fuzz" => fuzz::cli(rest),
        "msrv" => msrv::cli(rest),
        "record" => record::cli(rest),
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
