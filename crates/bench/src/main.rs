//! `gameauth-bench`: measures what the SDK costs over the work it wraps.
//!
//! Every row compares the SDK with a floor measured in the same run on the same machine — the
//! same work written by hand with the same libraries, or a bare hyper endpoint — and reports the
//! ratio, because absolute times on a shared machine are not comparable between runs. Ours and
//! the baseline are sampled alternately and each side's median is used.
//!
//! Run it as `cargo xtask bench [--quick]`. It prints a markdown table and writes the raw
//! numbers to `target/bench/report.json`. `--only 1,4` limits the run to some items.

mod fixture;
mod hive;
mod housekeeping;
mod load;
mod memory;
mod profile;
mod redis;
mod report;
mod serve_probe;
mod signing;
mod stats;
mod stub;
mod vegas;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::json;
use tokio::runtime::Runtime;

use crate::report::Row;

/// Run-wide options.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    /// Shorter windows and fewer repetitions (CI smoke).
    pub(crate) quick: bool,
    /// Items to run (1–6); empty means all.
    pub(crate) only: Vec<u8>,
}

impl Settings {
    fn wants(&self, item: u8) -> bool {
        self.only.is_empty() || self.only.contains(&item)
    }
}

const USAGE: &str = "usage: gameauth-bench [--quick] [--only 1,2,...]\n       \
                     gameauth-bench --serve-probe --gameauth <PATH> [--rotations N] [--grants G]\n       \
                     gameauth-bench --profile <account|refresh|hive|hive-bare> N";

fn parse_args(args: &[String]) -> Result<Settings, String> {
    let mut settings = Settings::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => settings.quick = true,
            "--only" => {
                let list = it.next().ok_or("--only needs a list such as 1,4")?;
                for item in list.split(',') {
                    match item.trim().parse::<u8>() {
                        Ok(n @ 1..=6) => settings.only.push(n),
                        _ => return Err(format!("--only: `{item}` is not an item 1-6")),
                    }
                }
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
        }
    }
    Ok(settings)
}

/// A multi-threaded runtime with `workers` threads.
fn runtime(name: &str, workers: usize) -> Result<Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name(name)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the {name} runtime: {e}"))
}

/// `target/bench/report.json` of this workspace (or of `CARGO_TARGET_DIR`).
fn report_path() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest
        .ancestors()
        .nth(2)
        .map_or_else(|| manifest.clone(), PathBuf::from);
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| workspace.join("target"), |t| workspace.join(t));
    target.join("bench").join("report.json")
}

/// One item of the issue: its number, a label and what measures it.
type Item<'a> = (u8, &'a str, &'a dyn Fn() -> Result<Vec<Row>, String>);

fn run(settings: &Settings) -> Result<Vec<Row>, String> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    // Servers and callers get their own runtimes; on a small machine they still share cores,
    // which is why every row is a ratio against a baseline run under the same conditions.
    let server_rt = runtime("bench-server", cores)?;
    let client_rt = runtime("bench-client", cores)?;
    let mut rows = Vec::new();
    let items: [Item<'_>; 6] = [
        (1, "signing", &|| signing::run(settings)),
        (2, "Hive verify", &|| {
            hive::run_verify(settings, &server_rt, &client_rt)
        }),
        (3, "Hive failover", &|| {
            hive::run_failover(settings, &server_rt, &client_rt)
        }),
        (4, "Vegas Lounge server", &|| {
            let mut rows = vegas::run(settings, &server_rt, &client_rt)?;
            rows.extend(housekeeping::run(settings, &server_rt, &client_rt)?);
            Ok(rows)
        }),
        (5, "memory", &memory::run),
        (6, "Redis store", &|| {
            redis::run(settings, &server_rt, &client_rt)
        }),
    ];
    for (n, label, item) in items {
        if !settings.wants(n) {
            continue;
        }
        let started = Instant::now();
        eprintln!("bench: item {n} ({label}) …");
        let new = item().map_err(|e| format!("item {n} ({label}): {e}"))?;
        for row in &new {
            let verdict = match (row.met(), &row.skipped) {
                (Some(true), _) => "met",
                (Some(false), _) => "MISSED",
                (None, Some(_)) => "skipped",
                (None, None) => "no target",
            };
            eprintln!(
                "bench:   {} — ratio {} — {verdict}",
                row.name,
                row.ratio.map_or("—".to_owned(), |r| format!("{r:.3}"))
            );
        }
        eprintln!(
            "bench: item {n} took {:.1} s",
            started.elapsed().as_secs_f64()
        );
        rows.extend(new);
    }
    Ok(rows)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(profile::FLAG) {
        return match profile::run(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.first().map(String::as_str) == Some(serve_probe::FLAG) {
        let probe = match serve_probe::parse(&args[1..]) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        let dir = report_path()
            .parent()
            .map_or_else(|| PathBuf::from("."), PathBuf::from);
        return match serve_probe::run(&probe, dir) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let settings = match parse_args(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let rows = match run(&settings) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    println!("{}", report::markdown(&rows));
    if let Some(latency) = report::latency_markdown(&rows) {
        println!("Latency under load (median of the runs' percentiles):\n\n{latency}");
    }
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let settings_json = json!({
        "quick": settings.quick,
        "only": settings.only,
        "cores": cores,
        "elapsed_s": elapsed,
        "unix_time": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    });
    let path = report_path();
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| {
            let text = serde_json::to_string_pretty(&report::json_report(settings_json, &rows))
                .unwrap_or_default();
            std::fs::write(&path, text)
        });
    if let Err(e) = written {
        eprintln!("error: cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    let missed = rows.iter().filter(|r| r.met() == Some(false)).count();
    println!(
        "{} rows, {missed} missed, {} skipped; {elapsed:.0} s; raw numbers in {}",
        rows.len(),
        rows.iter().filter(|r| r.skipped.is_some()).count(),
        path.display()
    );
    ExitCode::SUCCESS
}
