//! Item 5: what `MemoryStore` costs per live grant and per remembered rotated refresh token,
//! measured by `gameauth-bench-memory` (a process of its own with a counting allocator, built
//! next to this binary).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::report::{Bound, Row};

/// Live grants inserted for 5a.
pub(crate) const GRANTS: usize = 1_000_000;
/// Rotations for 5b, over `ROTATED_GRANTS` grants (a small operator: about a thousand players
/// refreshing hourly rotate this often in six weeks).
pub(crate) const ROTATIONS: usize = 1_000_000;
const ROTATED_GRANTS: usize = 1_000;
const GRANT_TARGET_BYTES: f64 = 300.0;
const ROTATION_TARGET_BYTES: f64 = 40.0;

/// The measuring binary beside this one.
fn child_path() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let child = exe.with_file_name(format!(
        "gameauth-bench-memory{}",
        std::env::consts::EXE_SUFFIX
    ));
    if child.is_file() {
        Ok(child)
    } else {
        Err(format!(
            "{} is missing: build it with `cargo build --release -p bench` (`cargo xtask bench` does)",
            child.display()
        ))
    }
}

/// Runs the child with `args` and returns its JSON line.
fn measure(args: &[String]) -> Result<Value, String> {
    let output = Command::new(child_path()?)
        .args(args)
        .output()
        .map_err(|e| format!("cannot start the memory child: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "memory child failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let line = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(line.trim()).map_err(|e| format!("memory child output: {e}"))
}

fn per_item(v: &Value, field: &str) -> Result<f64, String> {
    v["growth"][field]
        .as_f64()
        .ok_or_else(|| format!("memory child output has no {field}"))
}

/// Runs both measurements and builds the rows.
pub(crate) fn run() -> Result<Vec<Row>, String> {
    let grants = measure(&["grants".to_owned(), GRANTS.to_string()])?;
    let rotations = measure(&[
        "rotations".to_owned(),
        ROTATIONS.to_string(),
        ROTATED_GRANTS.to_string(),
    ])?;
    Ok(vec![
        Row::measured(
            format!("5 `MemoryStore` resident bytes per live grant ({GRANTS} grants)"),
            "B",
            per_item(&grants, "rss_per_item")?,
            None,
            None,
            Bound::ValueAtMost(GRANT_TARGET_BYTES),
            grants,
        ),
        Row::measured(
            format!(
                "5b `MemoryStore` bytes allocated per remembered rotated refresh token \
                 ({ROTATIONS} rotations of {ROTATED_GRANTS} grants)"
            ),
            "B",
            per_item(&rotations, "allocated_per_item")?,
            None,
            None,
            Bound::ValueAtMost(ROTATION_TARGET_BYTES),
            rotations,
        ),
    ])
}
