//! The memory store against the conformance suite, and the sweeper.

use std::sync::Arc;
use std::time::Duration;

use gameauth_core::ManualClock;
use gameauth_vegaslounge::store::{GrantStore, MemoryStore, TokenHash, conformance, spawn_sweeper};

use crate::{Harness, T0};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_the_conformance_suite() {
    conformance::run_conformance(|| async { MemoryStore::new() }).await;
}

#[tokio::test]
async fn store_keeps_only_hashes_of_tokens() {
    let store = Arc::new(MemoryStore::new());
    let h = Harness::with_store(store.clone(), |_| {});
    let (access, refresh) = h.tokens().await;
    let found = store.access_token(&TokenHash::of(&access)).await.unwrap();
    assert!(
        found.is_some(),
        "records are keyed by the SHA-256 of the token"
    );
    let debug = format!("{store:?} {found:?}");
    assert!(
        !debug.contains(&access) && !debug.contains(&refresh),
        "{debug}"
    );
}

#[tokio::test(start_paused = true)]
async fn sweeper_drops_expired_records_on_its_schedule() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::at_unix_seconds(T0);
    let h = Harness::with_store(store.clone(), |_| {});
    h.code().await;
    let handle = spawn_sweeper(
        store.clone(),
        Arc::new(clock.clone()),
        Duration::from_secs(30),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        format!("{store:?}").contains("codes: 1"),
        "a live code survives a sweep"
    );
    clock.advance(Duration::from_secs(61));
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(
        format!("{store:?}"),
        "MemoryStore { codes: 0, access_tokens: 0, refresh_tokens: 0, grants: 0 }"
    );
    handle.stop();
}
