//! Item 5: resident memory per live grant in `MemoryStore`, measured in a child process so
//! nothing else the bench allocates pollutes it.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gameauth_vegaslounge::MemoryStore;
use gameauth_vegaslounge::store::{
    Grant, GrantId, GrantStore, NewCode, NewPair, RedeemCode, Redeemed, TokenHash,
};
use serde_json::{Value, json};

use crate::report::{Bound, Row};
use crate::vegas::{CLIENT_ID, REDIRECT_URI, player};

/// The argument that selects the child mode.
pub(crate) const CHILD_FLAG: &str = "--memory-child";
/// Grants inserted.
pub(crate) const GRANTS: usize = 1_000_000;
const TARGET_BYTES: f64 = 300.0;

/// A distinct hash per index and kind, without the cost of SHA-256 in the timed loop.
fn hash(i: usize, kind: u8) -> TokenHash {
    let mut bytes = [kind; 32];
    bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
    TokenHash::from_bytes(bytes)
}

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

/// The child: inserts `grants` live grants (code issued, then redeemed for a token pair) through
/// the store's public API and prints the resident-set growth as one JSON line.
pub(crate) fn child(grants: usize) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    let store = MemoryStore::new();
    let now = SystemTime::now();
    let before = rss_bytes()?;
    runtime.block_on(async {
        for i in 0..grants {
            let grant = Arc::new(Grant {
                grant_id: GrantId::random(),
                client_id: CLIENT_ID.to_owned(),
                player_id: player(i),
            });
            store
                .put_code(NewCode {
                    code: hash(i, 1),
                    grant,
                    redirect_uri: REDIRECT_URI.to_owned(),
                    pkce_challenge: None,
                    expires_at: now + Duration::from_secs(60),
                })
                .await
                .map_err(|e| e.to_string())?;
            let redeemed = store
                .redeem_code(RedeemCode {
                    code: hash(i, 1),
                    client_id: CLIENT_ID.to_owned(),
                    redirect_uri: None,
                    pkce_verifier: None,
                    now,
                    pair: NewPair {
                        access: hash(i, 2),
                        access_expires_at: now + Duration::from_secs(3600),
                        refresh: hash(i, 3),
                        refresh_expires_at: now + Duration::from_secs(30 * 24 * 3600),
                    },
                })
                .await
                .map_err(|e| e.to_string())?;
            if !matches!(redeemed, Redeemed::Issued(_)) {
                return Err(format!("grant {i} was not issued: {redeemed:?}"));
            }
        }
        Ok(())
    })?;
    let after = rss_bytes()?;
    // Prove the tokens are live, and keep the store alive until after the measurement.
    let live = runtime
        .block_on(store.access_token(&hash(grants - 1, 2)))
        .map_err(|e| e.to_string())?
        .is_some();
    println!(
        "{}",
        json!({ "grants": grants, "rss_before": before, "rss_after": after, "last_token_live": live })
    );
    Ok(())
}

/// Runs the child and builds the row.
pub(crate) fn run() -> Result<Vec<Row>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = Command::new(exe)
        .args([CHILD_FLAG, &GRANTS.to_string()])
        .output()
        .map_err(|e| format!("cannot start the memory child: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "memory child failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let line = String::from_utf8_lossy(&output.stdout);
    let v: Value =
        serde_json::from_str(line.trim()).map_err(|e| format!("memory child output: {e}"))?;
    let (before, after) = (
        v["rss_before"].as_f64().unwrap_or(0.0),
        v["rss_after"].as_f64().unwrap_or(0.0),
    );
    if v["last_token_live"] != Value::Bool(true) {
        return Err("memory child: the last access token is not live".into());
    }
    let per_grant = (after - before) / GRANTS as f64;
    Ok(vec![Row::measured(
        format!("5 `MemoryStore` resident bytes per live grant ({GRANTS} grants)"),
        "B",
        per_grant,
        None,
        None,
        Bound::ValueAtMost(TARGET_BYTES),
        v,
    )])
}
