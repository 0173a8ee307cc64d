//! `gameauth-bench-memory`: item 5's measurements of `MemoryStore`, each in a fresh process so
//! nothing else pollutes them, with a counting global allocator. `gameauth-bench` starts it and
//! reads the one JSON line it prints.
//!
//! - `grants N`: inserts `N` live grants (code issued, then redeemed for an access/refresh pair)
//!   and reports the growth of the resident set and of the bytes allocated; then sweeps the
//!   store twice (nothing expired; everything expired) while another thread looks up an access
//!   token back to back, and reports the slowest lookup during each sweep.
//! - `rotations N G`: issues `G` grants, then rotates their refresh tokens `N` times in turn
//!   and reports the growth over the rotations: every rotated token is remembered until it
//!   expires, for reuse detection.
//!
//! Everything goes through the `GrantStore` API, with token hashes made up without SHA-256 so
//! the loops stay fast.

#[path = "fixture.rs"]
mod fixture;

use std::alloc::System;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use cap::Cap;
use gameauth_vegaslounge::MemoryStore;
use gameauth_vegaslounge::store::{GrantStore, RotateRefresh, Rotated, SealedAnswer, TokenHash};
use serde_json::{Value, json};

use crate::fixture::{ACCESS, CLIENT_ID, REFRESH, issue, pair, player, rotate, token_hash};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// Resident set size in bytes, from `/proc/self/statm` (pages) and the page size.
fn rss_bytes() -> Result<u64, String> {
    let statm = std::fs::read_to_string("/proc/self/statm").map_err(|e| format!("statm: {e}"))?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .ok_or("statm has no resident field")?;
    Ok(pages * page_size())
}

fn page_size() -> u64 {
    std::fs::read_to_string("/proc/self/smaps")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("KernelPageSize:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(4096, |kb| kb * 1024)
}

/// Resident and allocated bytes at one moment.
#[derive(Debug, Clone, Copy)]
struct Usage {
    rss: u64,
    allocated: usize,
}

fn usage() -> Result<Usage, String> {
    Ok(Usage {
        rss: rss_bytes()?,
        allocated: ALLOCATOR.allocated(),
    })
}

/// The growth from `before` to `after`, per `count`.
fn growth(before: Usage, after: Usage, count: usize) -> Value {
    let per = |a: f64, b: f64| (a - b) / count as f64;
    json!({
        "rss_before": before.rss,
        "rss_after": after.rss,
        "allocated_before": before.allocated,
        "allocated_after": after.allocated,
        "rss_per_item": per(after.rss as f64, before.rss as f64),
        "allocated_per_item": per(after.allocated as f64, before.allocated as f64),
    })
}

/// `grants N`.
async fn grants(n: usize) -> Result<Value, String> {
    let store = MemoryStore::new();
    let now = SystemTime::now();
    let before = usage()?;
    for i in 0..n {
        issue(&store, i, player(i), now).await?;
    }
    let after = usage()?;
    // Prove the tokens are live, and keep the store alive until after the measurement.
    let live = store
        .access_token(&token_hash(n - 1, 0, ACCESS))
        .await
        .map_err(|e| e.to_string())?
        .is_some();
    if !live {
        return Err("the last access token is not live".into());
    }
    // Sweeping the full store: once with nothing to drop, once past every retention, while
    // another thread looks up an access token in a loop: its slowest lookup is the longest a
    // request waited on a sweep step.
    let store = Arc::new(store);
    let nothing = swept_while_probed(&store, now, token_hash(n / 2, 0, ACCESS)).await?;
    let everything = swept_while_probed(
        &store,
        now + Duration::from_secs(40 * 24 * 3600),
        token_hash(n / 2, 0, ACCESS),
    )
    .await?;
    Ok(json!({
        "grants": n,
        "growth": growth(before, after, n),
        "sweep_nothing_expired": nothing,
        "sweep_everything_expired": everything,
    }))
}

/// Looks `token` up back to back on another thread until told to stop; the handle returns
/// how many lookups ran, the slowest, and how many took over 1 ms.
fn probe(
    store: &Arc<MemoryStore>,
    token: TokenHash,
) -> (
    Arc<AtomicBool>,
    std::thread::JoinHandle<Result<Value, String>>,
) {
    let done = Arc::new(AtomicBool::new(false));
    let (store, stop) = (Arc::clone(store), Arc::clone(&done));
    let handle = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| e.to_string())?;
        let (mut lookups, mut over_1ms, mut slowest) = (0u64, 0u64, Duration::ZERO);
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            runtime
                .block_on(store.access_token(&token))
                .map_err(|e| e.to_string())?;
            let took = started.elapsed();
            slowest = slowest.max(took);
            over_1ms += u64::from(took > Duration::from_millis(1));
            lookups += 1;
        }
        Ok(json!({
            "lookups": lookups,
            "over_1ms": over_1ms,
            "slowest_us": slowest.as_secs_f64() * 1e6,
        }))
    });
    (done, handle)
}

fn stop(
    probe: (
        Arc<AtomicBool>,
        std::thread::JoinHandle<Result<Value, String>>,
    ),
) -> Result<Value, String> {
    probe.0.store(true, Ordering::Relaxed);
    probe
        .1
        .join()
        .map_err(|_| "the probing thread panicked".to_owned())?
}

/// Sweeps `store` at `now` while another thread looks `token` up back to back, then lets the
/// same probe run as long again with no sweep (the machine's own noise, for comparison).
async fn swept_while_probed(
    store: &Arc<MemoryStore>,
    now: SystemTime,
    token: TokenHash,
) -> Result<Value, String> {
    let during = probe(store, token);
    let started = Instant::now();
    let dropped = store.sweep_expired(now).await;
    let took = started.elapsed();
    let during = stop(during)?;
    let control = probe(store, token);
    std::thread::sleep(took);
    let control = stop(control)?;
    Ok(json!({
        "dropped": dropped.map_err(|e| e.to_string())?,
        "ms": took.as_secs_f64() * 1e3,
        "probe_during_sweep": during,
        "probe_without_sweep": control,
    }))
}

/// `rotations N G`.
async fn rotations(n: usize, grants: usize) -> Result<Value, String> {
    let store = MemoryStore::new();
    let now = SystemTime::now();
    for i in 0..grants {
        issue(&store, i, player(i), now).await?;
    }
    // One rotation each first, so every grant already holds its grace-window answer and
    // retention: what follows grows only by the rotated tokens remembered.
    for i in 0..grants {
        rotate(&store, i, 1, now, pair(i, 1, now)).await?;
    }
    let before = usage()?;
    for k in 0..n {
        let (grant, step) = (k % grants, 2 + k / grants);
        rotate(&store, grant, step, now, pair(grant, step, now)).await?;
    }
    let after = usage()?;
    let held = format!("{store:?}");
    // Every rotated token is still remembered: presenting an early one is reuse.
    let early = grants / 2;
    let reuse = store
        .rotate_refresh(RotateRefresh {
            refresh: token_hash(early, 1, REFRESH),
            client_id: CLIENT_ID.to_owned(),
            now,
            grace: Duration::from_secs(10),
            pair: pair(early, 0, now),
            sealed: SealedAnswer(Vec::new()),
        })
        .await
        .map_err(|e| e.to_string())?;
    if reuse != Rotated::ReuseDetected {
        return Err(format!(
            "an early rotated token was not detected: {reuse:?}"
        ));
    }
    Ok(json!({
        "rotations": n,
        "grants": grants,
        "store": held,
        "growth": growth(before, after, n),
    }))
}

fn count(arg: Option<&String>, what: &str) -> Result<usize, String> {
    arg.and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("needs a positive {what}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gameauth-bench-memory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match args.first().map(String::as_str) {
        Some("grants") => {
            count(args.get(1), "grant count").and_then(|n| runtime.block_on(grants(n)))
        }
        Some("rotations") => count(args.get(1), "rotation count").and_then(|n| {
            let g = count(args.get(2), "grant count")?;
            runtime.block_on(rotations(n, g))
        }),
        _ => Err("usage: gameauth-bench-memory grants N | rotations N GRANTS".to_owned()),
    };
    match result {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gameauth-bench-memory: {e}");
            ExitCode::FAILURE
        }
    }
}
