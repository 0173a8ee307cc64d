//! `cargo xtask bench [--quick] [--only 1,4]`: builds the `bench` package in release mode and
//! runs it, streaming its table; it prints a markdown table and writes
//! `target/bench/report.json`. See `docs/performance.md`.

use std::process::{Command, ExitCode};

/// Runs `cargo run --release -p bench -- <args>` from the workspace root.
pub(crate) fn cli(args: &[String]) -> Result<ExitCode, String> {
    let status = Command::new(env!("CARGO"))
        .current_dir(crate::project_root())
        .args(["run", "--release", "--package", "bench", "--"])
        .args(args)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(format!("the benchmark failed ({status})"))
    }
}
