//! `cargo xtask msrv`: the dependency half of the minimum-Rust promise.
//!
//! The workspace claims a `rust-version`. Clippy's `incompatible_msrv` lint (denied in the
//! workspace lints) keeps our own code to the standard library of that version; this check keeps
//! the resolved dependency graph to it: every package in `Cargo.lock` that declares a
//! `rust-version` must declare one no newer than ours. Cargo's resolver (version 3) already
//! prefers such versions; this makes a lockfile update that breaks the promise fail CI.

use std::process::{Command, ExitCode};

use serde_json::Value;

pub(crate) fn cli() -> Result<ExitCode, String> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--all-features",
            "--locked",
        ])
        .current_dir(crate::project_root())
        .output()
        .map_err(|e| format!("cannot run `cargo metadata`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo metadata` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("`cargo metadata` printed no JSON: {e}"))?;
    let (ours, too_new) = check(&metadata)?;
    if too_new.is_empty() {
        println!("msrv: every dependency builds with Rust {}", show(ours));
        Ok(ExitCode::SUCCESS)
    } else {
        for (name, version, needs) in &too_new {
            println!("msrv: {name} {version} needs Rust {}", show(*needs));
        }
        println!(
            "msrv: {} package(s) need a newer Rust than the workspace's rust-version {}",
            too_new.len(),
            show(ours)
        );
        Ok(ExitCode::FAILURE)
    }
}

type Version = (u64, u64, u64);

/// A package that needs a newer Rust: name, version, the Rust it declares.
type TooNew = (String, String, Version);

/// The workspace members' `rust-version` (they must agree) and every package that needs more.
fn check(metadata: &Value) -> Result<(Version, Vec<TooNew>), String> {
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .ok_or("`cargo metadata` has no workspace_members")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let packages = metadata["packages"]
        .as_array()
        .ok_or("`cargo metadata` has no packages")?;
    let mut ours: Option<Version> = None;
    let mut too_new = Vec::new();
    for package in packages {
        let name = package["name"].as_str().unwrap_or("?");
        let Some(declared) = package["rust_version"].as_str() else {
            continue;
        };
        let version = parse(declared)
            .ok_or_else(|| format!("{name} declares an unreadable rust-version `{declared}`"))?;
        let id = package["id"].as_str().unwrap_or_default();
        if members.contains(&id) {
            match ours {
                None => ours = Some(version),
                Some(other) if other != version => {
                    return Err(format!(
                        "workspace members disagree on rust-version ({} and {})",
                        show(other),
                        show(version)
                    ));
                }
                Some(_) => {}
            }
        } else {
            too_new.push((
                name.to_owned(),
                package["version"].as_str().unwrap_or("?").to_owned(),
                version,
            ));
        }
    }
    let ours = ours.ok_or("no workspace member declares a rust-version")?;
    too_new.retain(|(_, _, needs)| *needs > ours);
    too_new.sort();
    Ok((ours, too_new))
}

/// `1.88`, `1.88.0` → (1, 88, 0).
fn parse(text: &str) -> Option<Version> {
    let mut parts = text.trim().split('.').map(|part| part.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().unwrap_or(Some(0))?;
    let patch = parts.next().unwrap_or(Some(0))?;
    parts.next().is_none().then_some((major, minor, patch))
}

fn show((major, minor, patch): Version) -> String {
    format!("{major}.{minor}.{patch}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metadata(dep_rust_version: &str) -> Value {
        json!({
            "workspace_members": ["path+file:///w/core#0.1.0"],
            "packages": [
                {"id": "path+file:///w/core#0.1.0", "name": "core", "version": "0.1.0", "rust_version": "1.88"},
                {"id": "registry+x#dep@1.0.0", "name": "dep", "version": "1.0.0", "rust_version": dep_rust_version},
                {"id": "registry+x#old@1.0.0", "name": "old", "version": "1.0.0", "rust_version": null}
            ]
        })
    }

    #[test]
    fn a_dependency_needing_a_newer_rust_is_reported() {
        let (ours, too_new) = check(&metadata("1.89")).unwrap();
        assert_eq!(ours, (1, 88, 0));
        assert_eq!(
            too_new,
            vec![("dep".to_owned(), "1.0.0".to_owned(), (1, 89, 0))]
        );
    }

    #[test]
    fn dependencies_at_or_below_the_promise_pass() {
        assert!(check(&metadata("1.88.0")).unwrap().1.is_empty());
        assert!(check(&metadata("1.70")).unwrap().1.is_empty());
    }

    #[test]
    fn versions_parse_with_or_without_patch() {
        assert_eq!(parse("1.88"), Some((1, 88, 0)));
        assert_eq!(parse("1.88.1"), Some((1, 88, 1)));
        assert_eq!(parse("1.x"), None);
        assert_eq!(parse("1.2.3.4"), None);
    }
}
