//! Acme's known-answer signing vectors (`fixtures/acme/signing/`): the signature of each, and
//! the request the verifier builds for it on a frozen clock and nonce.

use std::path::PathBuf;
use std::sync::Arc;

use acme_auth::{AcmeVerifier, VERIFY_PATH, sign};
use gameauth_core::{FixedIds, ManualClock};
use serde::Deserialize;

/// One vector.
#[derive(Deserialize)]
struct Vector {
    key: String,
    token: String,
    ts: i64,
    nonce: String,
    body: String,
    signature: String,
}

fn vectors() -> Vec<(String, Vector)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/acme/signing");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("fixtures/acme/signing exists") {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let vector: Vector = serde_json::from_str(&text).unwrap();
        out.push((path.display().to_string(), vector));
    }
    assert!(!out.is_empty(), "no vector in {}", dir.display());
    out
}

#[test]
fn every_vector_signs_its_body() {
    for (name, v) in vectors() {
        assert_eq!(
            sign(v.key.as_bytes(), VERIFY_PATH, v.body.as_bytes()),
            v.signature,
            "{name}"
        );
    }
}

#[test]
fn the_verifier_builds_each_vector_byte_for_byte() {
    for (name, v) in vectors() {
        let verifier = AcmeVerifier::builder()
            .base_url("https://acme.example")
            .key(v.key.clone())
            .clock(Arc::new(ManualClock::at_unix_seconds(v.ts)))
            .ids(Arc::new(FixedIds::new([v.nonce.clone()])))
            .build()
            .unwrap();
        let request = verifier.build_request(&v.token).unwrap();
        assert_eq!(request.uri(), "https://acme.example/verify", "{name}");
        assert_eq!(request.body().as_ref(), v.body.as_bytes(), "{name}");
        assert_eq!(
            request.headers()["signature"],
            v.signature.as_str(),
            "{name}"
        );
    }
}

#[test]
fn the_key_never_shows_in_debug() {
    let verifier = AcmeVerifier::builder()
        .base_url("https://acme.example")
        .key("dummy-acme-signing-key")
        .build()
        .unwrap();
    let shown = format!("{verifier:?}");
    assert!(shown.contains("[redacted]"), "{shown}");
    assert!(!shown.contains("dummy-acme-signing-key"), "{shown}");
}

#[test]
fn settings_that_cannot_work_are_refused() {
    assert!(AcmeVerifier::builder().key("k").build().is_err());
    assert!(
        AcmeVerifier::builder()
            .base_url("ftp://acme.example")
            .key("k")
            .build()
            .is_err()
    );
    assert!(
        AcmeVerifier::builder()
            .base_url("https://acme.example")
            .key("")
            .build()
            .is_err()
    );
}
