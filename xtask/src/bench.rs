//! `cargo xtask bench [--quick] [--only 1,4]`: builds the `bench` package in release mode and
//! runs it, streaming its table; it prints a markdown table and writes
//! `target/bench/report.json`. See `docs/performance.md`.

use std::process::{Command, ExitCode};

/// Arguments of `cargo xtask bench`, passed on to the `bench` package.
#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// Fewer iterations: a quick look, not a measurement.
    #[arg(long)]
    quick: bool,
    /// Only these benchmarks, by number (`1,4`).
    #[arg(long, value_name = "N,N,...")]
    only: Option<String>,
}

/// Runs `cargo run --release -p bench -- <args>` from the workspace root.
pub(crate) fn cli(args: &BenchArgs) -> Result<ExitCode, String> {
    let mut forwarded = Vec::new();
    if args.quick {
        forwarded.push("--quick".to_owned());
    }
    if let Some(only) = &args.only {
        forwarded.extend(["--only".to_owned(), only.clone()]);
    }
    let status = Command::new(env!("CARGO"))
        .current_dir(crate::project_root())
        .args(["run", "--release", "--package", "bench", "--"])
        .args(forwarded)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(format!("the benchmark failed ({status})"))
    }
}
