//! `cargo xtask bench [--quick] [--only 1,4]`: builds the `bench` package in release mode and
//! runs it, streaming its table; it prints a markdown table and writes
//! `target/bench/report.json`. `cargo xtask bench --serve-probe [--rotations N] [--grants G]`
//! also builds `gameauth` and probes a real `gameauth vegaslounge serve` process instead. See
//! `docs/performance.md`.

use std::path::PathBuf;
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
    /// Drive a real `gameauth vegaslounge serve` through refresh rotations, then probe
    /// `/account` sequentially across two sweep ticks; writes target/bench/serve-probe.json.
    #[arg(long)]
    serve_probe: bool,
    /// With --serve-probe: how many refresh rotations (default 1000000).
    #[arg(long, value_name = "N", requires = "serve_probe")]
    rotations: Option<u64>,
    /// With --serve-probe: over how many grants (default 10000).
    #[arg(long, value_name = "G", requires = "serve_probe")]
    grants: Option<u64>,
}

/// Runs `cargo` with `args` from the workspace root.
fn cargo(args: &[&str], extra: &[String]) -> Result<(), String> {
    let status = Command::new(env!("CARGO"))
        .current_dir(crate::project_root())
        .args(args)
        .args(extra)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

/// The release `gameauth` binary of this workspace (or of `CARGO_TARGET_DIR`).
fn gameauth_binary() -> PathBuf {
    let root = crate::project_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| root.join("target"), |t| root.join(t));
    target
        .join("release")
        .join(format!("gameauth{}", std::env::consts::EXE_SUFFIX))
}

/// Builds every bench binary (item 5 runs one of its own), then runs the bench.
pub(crate) fn cli(args: &BenchArgs) -> Result<ExitCode, String> {
    let mut build = vec!["build", "--release", "--package", "bench"];
    if args.serve_probe {
        build.extend(["--package", "gameauth"]);
    }
    cargo(&build, &[])?;
    let mut forwarded = Vec::new();
    if args.serve_probe {
        // The probe mode takes its flag first, then the server binary.
        forwarded.extend([
            "--serve-probe".to_owned(),
            "--gameauth".to_owned(),
            gameauth_binary().display().to_string(),
        ]);
    }
    if args.quick {
        forwarded.push("--quick".to_owned());
    }
    if let Some(only) = &args.only {
        forwarded.extend(["--only".to_owned(), only.clone()]);
    }
    if let Some(rotations) = args.rotations {
        forwarded.extend(["--rotations".to_owned(), rotations.to_string()]);
    }
    if let Some(grants) = args.grants {
        forwarded.extend(["--grants".to_owned(), grants.to_string()]);
    }
    let run = [
        "run",
        "--release",
        "--package",
        "bench",
        "--bin",
        "gameauth-bench",
        "--",
    ];
    cargo(&run, &forwarded).map_err(|_| "the benchmark failed".to_owned())?;
    Ok(ExitCode::SUCCESS)
}
