//! Unit tests of the contract checks against small fixture trees.

use super::*;
use crate::testing::{KEY, Md5Provider, fixture_json, good_sign, tree};

fn check(root: &Path) -> CheckReport {
    let registry = Registry::new(&[&Md5Provider]).unwrap();
    check_fixtures(&Layout::new(root), &registry).unwrap()
}

fn fixture(api_key: &str, sign: &str, tampered: bool) -> String {
    fixture_json(api_key, sign, tampered).to_string()
}

#[test]
fn a_clean_fixture_passes() {
    let t = tree(&[(
        "fixtures/test/contract/s.json",
        &fixture("dummy-secret", &good_sign(), false),
    )]);
    let report = check(t.path());
    assert_eq!(report.files, 1);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_planted_secret_names_the_file_and_field() {
    let t = tree(&[(
        "fixtures/test/contract/s.json",
        &fixture("Zq8rT2vLx9PmW4kA", &good_sign(), false),
    )]);
    let problems = check(t.path()).problems;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].file(), "fixtures/test/contract/s.json");
    assert_eq!(problems[0].field(), "steps[0].input.client_secret");
}

#[test]
fn a_real_key_in_keys_is_refused() {
    let text = fixture("dummy-secret", &good_sign(), false)
        .replace(KEY, "0123456789abcdef0123456789abcdef");
    let t = tree(&[("fixtures/test/contract/s.json", &text)]);
    let problems = check(t.path()).problems;
    assert!(
        problems.iter().any(|p| p.field() == "keys.sign_key"),
        "{problems:?}"
    );
}

#[test]
fn a_jwt_anywhere_is_refused() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
    let text = fixture("dummy-secret", &good_sign(), false).replace("\"d\"", &format!("\"{jwt}\""));
    let t = tree(&[("fixtures/test/contract/s.json", &text)]);
    let problems = check(t.path()).problems;
    assert!(
        problems.iter().any(|p| p.field() == "description"),
        "{problems:?}"
    );
}

#[test]
fn signatures_must_follow_from_the_dummy_key_unless_marked_tampered() {
    let bad = "00000000000000000000000000000000";
    let t = tree(&[(
        "fixtures/test/contract/s.json",
        &fixture("dummy-secret", bad, false),
    )]);
    let problems = check(t.path()).problems;
    assert!(
        problems[0].message().contains("does not follow"),
        "{problems:?}"
    );

    let t = tree(&[(
        "fixtures/test/contract/s.json",
        &fixture("dummy-secret", bad, true),
    )]);
    assert!(check(t.path()).problems.is_empty());

    let t = tree(&[(
        "fixtures/test/contract/s.json",
        &fixture("dummy-secret", &good_sign().to_uppercase(), true),
    )]);
    let problems = check(t.path()).problems;
    assert!(
        problems[0].message().contains("marked tampered"),
        "{problems:?}"
    );
}

#[test]
fn stray_files_are_reported() {
    let t = tree(&[("fixtures/test/notes.txt", "hello")]);
    let problems = check(t.path()).problems;
    assert!(problems[0].message().contains("unexpected file"));
}

#[test]
fn a_directory_of_no_registered_provider_is_named() {
    // The key is not one of a registered provider's published keys any more: a dummy it is.
    let text = fixture("dummy-secret", &good_sign(), false)
        .replace("\"test\"", "\"acme\"")
        .replace(KEY, "dummy-sign-key");
    let t = tree(&[("fixtures/acme/contract/s.json", &text)]);
    let problems = check(t.path()).problems;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].file(), "fixtures/acme/contract/s.json");
    assert!(
        problems[0]
            .message()
            .contains("`acme` is not a registered provider (registered: test)"),
        "{problems:?}"
    );
}

#[test]
fn signing_vectors_must_be_read_by_a_test() {
    let vector = r#"{"query": "trace_id=a", "body": "{}"}"#;
    let t = tree(&[("fixtures/test/signing/v1.json", vector)]);
    let problems = check(t.path()).problems;
    assert_eq!(
        problems[0].message(),
        "no test under src reads fixtures/test/signing"
    );
    let t = tree(&[
        ("fixtures/test/signing/v1.json", vector),
        (
            "src/sign.rs",
            "const VECTORS: &str = \"fixtures/test/signing\";",
        ),
    ]);
    assert!(check(t.path()).problems.is_empty());
}
