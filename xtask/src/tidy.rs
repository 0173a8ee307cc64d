//! `cargo xtask tidy`, also run by `cargo test`: the repository's shape rules, checked over the
//! source tree.
//!
//! * every module under `crates/*/src` and `xtask/src` starts with a `//!` comment;
//! * no source file is longer than [`MAX_LINES`] lines, except test-only files (`tests.rs`,
//!   `*_tests.rs`);
//! * each outbound provider crate has the modules of the provider template
//!   ([`TEMPLATE_MODULES`], see `docs/adding-a-provider.md`), and a `verify` module there is an
//!   inbound signature check, never an outbound call;
//! * the helpers that have one home in `gameauth-core` have no second copy: the base-URL rule,
//!   the inbound body reader, the result-code idiom, the sensitive-header helper, the attempt
//!   timer, the JSON sniffing of answers ([`ONE_HOME`]).
//!
//! A rule names what it found and where, so a failure says what to fix.

use std::fs;
use std::path::{Path, PathBuf};

/// The longest a source file may be.
pub(crate) const MAX_LINES: usize = 800;

/// The provider crates that call a vendor, which follow the provider template.
pub(crate) const PROVIDER_CRATES: [&str; 3] =
    ["gameauth-omg", "gameauth-creditpay", "gameauth-hive"];

/// The modules every provider crate has, with the same meaning in each.
pub(crate) const TEMPLATE_MODULES: [&str; 5] = ["client", "request", "response", "code", "error"];

/// Code that exists once, in the file named: `(what, text that marks a copy, its one home)`.
pub(crate) const ONE_HOME: [(&str, &str, &str); 9] = [
    (
        "the base-URL scheme rule (https, http for loopback only)",
        "eq_ignore_ascii_case(\"localhost\")",
        "crates/gameauth-core/src/transport/base_url.rs",
    ),
    (
        "a base-URL validator",
        "fn validate_base_url",
        "crates/gameauth-core/src/transport/base_url.rs",
    ),
    (
        "a base-URL validator",
        "fn check_base_url",
        "crates/gameauth-core/src/transport/base_url.rs",
    ),
    (
        "an inbound body reader with a size cap",
        "Limited::new(",
        "crates/gameauth-core/src/inbound.rs",
    ),
    (
        "a result-code macro",
        "macro_rules! result_codes",
        "crates/gameauth-core/src/code.rs",
    ),
    (
        "a hand-written open result-code enum (use gameauth_core::result_codes!)",
        "Other(i64),",
        "crates/gameauth-core/src/code.rs",
    ),
    (
        "a sensitive-header helper",
        "set_sensitive(true)",
        "crates/gameauth-core/src/transport/request.rs",
    ),
    (
        "a JSON sniffer of answers",
        "fn is_json(",
        "crates/gameauth-core/src/outbound/engine.rs",
    ),
    (
        "a retry loop around one attempt (use gameauth_core::outbound::execute)",
        "RetryPolicy::IDEMPOTENT.backoff(",
        "crates/gameauth-core/src/resilience.rs",
    ),
];

/// Every `.rs` file below `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The `src` directories the rules cover: `crates/*/src` and `xtask/src`.
fn source_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root.join("crates"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let xtask = root.join("xtask").join("src");
    if xtask.is_dir() {
        dirs.push(xtask);
    }
    dirs
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Whether `path` holds only tests (its length is not limited).
fn test_only(path: &Path) -> bool {
    path.file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s == "tests" || s.ends_with("_tests"))
}

/// Whether the crate directory `krate` has the module `name` (`name.rs` or `name/mod.rs`).
fn has_module(krate: &Path, name: &str) -> bool {
    let src = krate.join("src");
    src.join(format!("{name}.rs")).is_file() || src.join(name).join("mod.rs").is_file()
}

/// Every violation of the rules in the tree at `root`, as `path: what` lines; empty when tidy.
pub(crate) fn check(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let this_file = Path::new(file!())
        .file_name()
        .map(|f| f.to_string_lossy().into_owned());
    for dir in source_dirs(root) {
        for path in rust_files(&dir) {
            let rel = relative(root, &path);
            let Ok(text) = fs::read_to_string(&path) else {
                found.push(format!("{rel}: cannot be read as UTF-8"));
                continue;
            };
            if !text.starts_with("//!") {
                found.push(format!("{rel}: does not start with a `//!` module comment"));
            }
            let lines = text.lines().count();
            if lines > MAX_LINES && !test_only(&path) {
                found.push(format!(
                    "{rel}: {lines} lines, more than {MAX_LINES}; split it by concept"
                ));
            }
            // The rules' own text names every marker.
            let is_tidy = rel.starts_with("xtask/")
                && path.file_name().map(|f| f.to_string_lossy().into_owned()) == this_file;
            if is_tidy {
                continue;
            }
            for (what, marker, home) in ONE_HOME {
                if rel != home && text.contains(marker) {
                    found.push(format!(
                        "{rel}: {what} (`{marker}`); it has one home: {home}"
                    ));
                }
            }
        }
    }
    for name in PROVIDER_CRATES {
        let krate = root.join("crates").join(name);
        for module in TEMPLATE_MODULES {
            if !has_module(&krate, module) {
                found.push(format!(
                    "crates/{name}: no `{module}` module (the provider template)"
                ));
            }
        }
        let verify = krate.join("src").join("verify.rs");
        if let Ok(text) = fs::read_to_string(&verify)
            && (text.contains("HttpTransport") || text.contains("outbound::execute"))
        {
            found.push(format!(
                "crates/{name}/src/verify.rs: `verify` is an inbound signature check, not an outbound call"
            ));
        }
    }
    found
}

/// `cargo xtask tidy`: prints every violation.
///
/// # Errors
///
/// A summary when the tree breaks a rule.
pub(crate) fn cli() -> Result<std::process::ExitCode, String> {
    let found = check(&crate::project_root());
    for line in &found {
        eprintln!("{line}");
    }
    if found.is_empty() {
        eprintln!("tidy: ok");
        Ok(std::process::ExitCode::SUCCESS)
    } else {
        Err(format!("tidy: {} violation(s)", found.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_is_tidy() {
        let found = check(&crate::project_root());
        assert!(found.is_empty(), "tidy violations:\n{}", found.join("\n"));
    }

    /// A minimal tree that follows every rule.
    fn tidy_tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in PROVIDER_CRATES {
            let src = dir.path().join("crates").join(name).join("src");
            fs::create_dir_all(&src).unwrap();
            fs::write(src.join("lib.rs"), "//! A provider.\n").unwrap();
            for module in TEMPLATE_MODULES {
                fs::write(src.join(format!("{module}.rs")), "//! A module.\n").unwrap();
            }
        }
        let core = dir.path().join("crates/gameauth-core/src/transport");
        fs::create_dir_all(&core).unwrap();
        fs::write(
            core.join("base_url.rs"),
            "//! The home.\nfn f(h: &str) -> bool { h.eq_ignore_ascii_case(\"localhost\") }\n",
        )
        .unwrap();
        fs::create_dir_all(dir.path().join("xtask/src")).unwrap();
        fs::write(dir.path().join("xtask/src/main.rs"), "//! Tasks.\n").unwrap();
        dir
    }

    #[test]
    fn a_tidy_tree_passes() {
        let tree = tidy_tree();
        assert_eq!(check(tree.path()), Vec::<String>::new());
    }

    #[test]
    fn a_module_without_its_comment_fails() {
        let tree = tidy_tree();
        fs::write(tree.path().join("xtask/src/extra.rs"), "fn main() {}\n").unwrap();
        let found = check(tree.path());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("xtask/src/extra.rs: does not start"),
            "{found:?}"
        );
    }

    #[test]
    fn a_long_file_fails_unless_it_holds_only_tests() {
        let tree = tidy_tree();
        let long = format!("//! Long.\n{}", "fn f() {}\n".repeat(MAX_LINES));
        let src = tree.path().join("crates/gameauth-omg/src");
        fs::write(src.join("launch.rs"), &long).unwrap();
        fs::write(src.join("tests.rs"), &long).unwrap();
        let found = check(tree.path());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("crates/gameauth-omg/src/launch.rs: 801 lines"),
            "{found:?}"
        );
    }

    #[test]
    fn a_missing_template_module_fails() {
        let tree = tidy_tree();
        fs::remove_file(tree.path().join("crates/gameauth-hive/src/response.rs")).unwrap();
        assert_eq!(
            check(tree.path()),
            vec!["crates/gameauth-hive: no `response` module (the provider template)".to_owned()]
        );
        // A directory module counts.
        let dir = tree.path().join("crates/gameauth-hive/src/response");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("mod.rs"), "//! Answers.\n").unwrap();
        assert!(check(tree.path()).is_empty());
    }

    #[test]
    fn an_outbound_call_in_verify_fails() {
        let tree = tidy_tree();
        fs::write(
            tree.path().join("crates/gameauth-hive/src/verify.rs"),
            "//! Verify.\nuse gameauth_core::HttpTransport;\n",
        )
        .unwrap();
        let found = check(tree.path());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("inbound signature check"), "{found:?}");
    }

    #[test]
    fn a_second_copy_of_a_core_helper_fails() {
        let tree = tidy_tree();
        fs::write(
            tree.path().join("crates/gameauth-omg/src/client.rs"),
            "//! Client.\nfn ok(h: &str) -> bool { h.eq_ignore_ascii_case(\"localhost\") }\n",
        )
        .unwrap();
        fs::write(
            tree.path().join("crates/gameauth-hive/src/code.rs"),
            "//! Codes.\npub enum Code {\n    A,\n    Other(i64),\n}\n",
        )
        .unwrap();
        let found = check(tree.path());
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("crates/gameauth-hive/src/code.rs: a hand-written"));
        assert!(found[1].starts_with("crates/gameauth-omg/src/client.rs: the base-URL"));
    }
}
