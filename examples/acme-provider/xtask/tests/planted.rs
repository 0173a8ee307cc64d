//! The contract test fails, loudly, on what it exists to catch: run on a copy of this
//! repository's fixtures with a wrong signature or an unmatched request planted in one fixture,
//! `cargo xtask contract-test` exits non-zero and says which fixture failed and why.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The repository's fixture root.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// A copy of the fixture root, `<tmp>/fixtures`.
struct Copy(tempfile::TempDir);

impl Copy {
    fn path(&self) -> PathBuf {
        self.0.path().join("fixtures")
    }
}

fn copy_of_fixtures() -> Copy {
    let copy = Copy(tempfile::tempdir().unwrap());
    copy_dir(&fixtures(), &copy.path());
    copy
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Rewrites one fixture of the copy.
fn plant(root: &Path, scenario: &str, change: impl FnOnce(&mut Value)) {
    let path = root.join("acme/contract").join(format!("{scenario}.json"));
    let mut fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    change(&mut fixture);
    std::fs::write(&path, serde_json::to_string_pretty(&fixture).unwrap()).unwrap();
}

/// `cargo xtask <args> --fixtures <root>`.
fn xtask(args: &[&str], root: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .arg("--fixtures")
        .arg(root)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_unchanged_copy_passes() {
    let copy = copy_of_fixtures();
    let output = xtask(&["contract-test"], &copy.path());
    assert!(output.status.success(), "{}", stdout(&output));
    assert!(stdout(&output).contains(" passed, 0 failed\n"));
    let output = xtask(&["fixtures", "check"], &copy.path());
    assert!(output.status.success(), "{}", stdout(&output));
    assert!(stdout(&output).ends_with(" 0 problem(s)\n"));
}

#[test]
fn a_planted_wrong_signature_fails_the_run_and_the_check() {
    let copy = copy_of_fixtures();
    plant(&copy.path(), "verify_success", |f| {
        f["interactions"][0]["request"]["headers"]["signature"] =
            "AAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    });
    let output = xtask(&["contract-test"], &copy.path());
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("test acme/verify_success ... FAILED: step 0:"),
        "{text}"
    );
    assert!(
        text.contains("unexpected request(s) on host `default`: POST /verify"),
        "{text}"
    );
    assert!(
        text.contains("header `signature` is")
            && text.contains("expected \"AAAAAAAAAAAAAAAAAAAAAAAAAAA=\""),
        "{text}"
    );
    assert!(text.contains(" 1 failed\n"), "{text}");

    let output = xtask(&["fixtures", "check"], &copy.path());
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("acme/contract/verify_success.json: interactions[0] (verify): `signature` does not follow from the fixture's keys"),
        "{text}"
    );
}

#[test]
fn a_planted_unmatched_request_fails_the_run() {
    let copy = copy_of_fixtures();
    // The verifier calls `/verify`, but the recorded interaction is on another path.
    plant(&copy.path(), "verify_success", |f| {
        f["interactions"][0]["request"]["path"] = "/v2/verify".into();
    });
    let output = xtask(&["contract-test"], &copy.path());
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "test acme/verify_success ... FAILED: step 0: expected success, got HttpStatus { status: 599"
        ),
        "{text}"
    );
    assert!(
        text.contains("1 unexpected request(s) on host `default`: POST /verify; vs `verify`: path is not /v2/verify"),
        "{text}"
    );
}

#[test]
fn a_fixture_directory_of_no_registered_provider_is_an_error() {
    let copy = copy_of_fixtures();
    copy_dir(&copy.path().join("acme"), &copy.path().join("beta"));
    let output = xtask(&["contract-test"], &copy.path());
    let error = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{error}");
    assert!(
        error.contains("beta belongs to no registered provider (registered: acme)"),
        "{error}"
    );
}
