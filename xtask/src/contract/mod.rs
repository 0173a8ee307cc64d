//! `cargo xtask contract-test`: replays recorded provider exchanges against the SDK.
//!
//! A fixture (schema in `docs/fixtures.md`) freezes the clock, the generated ids and the keys, so
//! every signature our clients compute is deterministic and the mocked provider can demand it
//! byte for byte. Outbound interactions are served by one wiremock server per host with one named
//! mock per interaction and a catch-all that must see nothing; inbound interactions are sent to
//! our verifiers and servers and their answers compared with the recording.

mod creditpay;
mod fixture;
mod hive;
mod inbound;
mod omg;
mod upstream;
mod vegaslounge;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

pub(crate) use fixture::{Direction, Fixture, Interaction, decode_form};
pub(crate) use inbound::{Vars, check_inbound_response, inbound_request};
pub(crate) use upstream::MockUpstream;

/// The providers with contract fixtures, in report order.
pub(crate) const PROVIDERS: &[&str] = &["omg", "creditpay", "hive", "vegaslounge"];

/// Longest a single fixture may run before it counts as failed.
const FIXTURE_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the fixture through its provider's runner.
pub(crate) async fn dispatch(fixture: &Fixture) -> Result<(), String> {
    match fixture.provider.as_str() {
        "creditpay" => creditpay::run(fixture).await,
        "hive" => hive::run(fixture).await,
        "omg" => omg::run(fixture).await,
        "vegaslounge" => vegaslounge::run(fixture).await,
        other => Err(format!("no contract runner for provider `{other}`")),
    }
}

struct Options {
    provider: Option<String>,
    filter: Option<String>,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut opts = Options {
        provider: None,
        filter: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--provider" => {
                let p = value("--provider")?;
                if !PROVIDERS.contains(&p.as_str()) {
                    return Err(format!(
                        "unknown provider `{p}` (expected one of: {})",
                        PROVIDERS.join(", ")
                    ));
                }
                opts.provider = Some(p);
            }
            "--filter" => opts.filter = Some(value("--filter")?),
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    Ok(opts)
}

/// Every fixture file of `provider`, sorted by name.
pub(crate) fn fixture_files(root: &Path, provider: &str) -> Result<Vec<PathBuf>, String> {
    let dir = root.join("fixtures").join(provider).join("contract");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Entry point of `cargo xtask contract-test`.
pub(crate) fn cli(args: &[String]) -> Result<ExitCode, String> {
    let opts = parse_args(args)?;
    let root = crate::project_root();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;

    let mut totals: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for &provider in PROVIDERS {
        if opts.provider.as_deref().is_some_and(|p| p != provider) {
            continue;
        }
        for path in fixture_files(&root, provider)? {
            let name = format!(
                "{provider}/{}",
                path.file_stem().and_then(|s| s.to_str()).unwrap_or("?")
            );
            if opts.filter.as_deref().is_some_and(|f| !name.contains(f)) {
                continue;
            }
            let outcome = match Fixture::load(&path, provider) {
                Ok(fixture) => runtime.block_on(run_one(fixture)),
                Err(e) => Err(e),
            };
            let entry = totals.entry(provider).or_default();
            match outcome {
                Ok(()) => {
                    entry.0 += 1;
                    println!("test {name} ... ok");
                }
                Err(reason) => {
                    entry.1 += 1;
                    println!("test {name} ... FAILED: {reason}");
                    failures.push(name);
                }
            }
        }
    }

    println!();
    let (mut passed, mut failed) = (0, 0);
    for (provider, (p, f)) in &totals {
        println!("{provider}: {p} passed, {f} failed");
        passed += p;
        failed += f;
    }
    if !failures.is_empty() {
        println!("\nfailed fixtures:");
        for f in &failures {
            println!("    {f}");
        }
    }
    if passed + failed == 0 {
        println!("no fixture matched");
        println!("0 passed, 0 failed");
        return Ok(ExitCode::FAILURE);
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs one fixture on its own task, so a panic or a hang fails only that fixture.
async fn run_one(fixture: Fixture) -> Result<(), String> {
    let fixture = Arc::new(fixture);
    let task = tokio::spawn({
        let fixture = fixture.clone();
        async move { dispatch(&fixture).await }
    });
    match tokio::time::timeout(FIXTURE_TIMEOUT, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) if join.is_panic() => Err("the runner panicked".into()),
        Ok(Err(_)) => Err("the runner was cancelled".into()),
        Err(_) => Err(format!("did not finish within {FIXTURE_TIMEOUT:?}")),
    }
}
