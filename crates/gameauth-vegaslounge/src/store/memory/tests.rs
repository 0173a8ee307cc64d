//! The memory store's own rules beyond the conformance suite: tombstones, slot reuse, marker
//! expiry and sweeping in steps.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::retired::BUCKET_SECS;
use super::slab::FreeSlot;
use super::sweep::SLOTS_PER_HOLD;
use super::*;
use crate::store::{Grant, NewPair, SealedAnswer};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn grant(id: &str) -> Arc<Grant> {
    Arc::new(Grant {
        grant_id: GrantId::from_string(id),
        client_id: "VL001".into(),
        player_id: "p1".into(),
    })
}

fn pair(tag: &str, now: u64) -> NewPair {
    NewPair {
        access: TokenHash::of(&format!("access-{tag}")),
        access_expires_at: at(now + 3600),
        refresh: TokenHash::of(&format!("refresh-{tag}")),
        refresh_expires_at: at(now + 86_400),
    }
}

fn free(slot: u32, generation: u16) -> FreeSlot {
    FreeSlot { slot, generation }
}

/// Issues grant `label` at time 0: code `code-<label>`, pair `<label>`.
async fn issue(store: &MemoryStore, label: &str) {
    store
        .put_code(NewCode {
            code: TokenHash::of(&format!("code-{label}")),
            grant: grant(label),
            redirect_uri: "https://fl.vegaslounge.live".into(),
            pkce_challenge: None,
            expires_at: at(60),
        })
        .await
        .unwrap();
    let out = store
        .redeem_code(RedeemCode {
            code: TokenHash::of(&format!("code-{label}")),
            client_id: "VL001".into(),
            redirect_uri: None,
            pkce_verifier: None,
            now: at(0),
            pair: pair(label, 0),
        })
        .await
        .unwrap();
    assert!(matches!(out, Redeemed::Issued(_)), "{out:?}");
}

async fn rotate(store: &MemoryStore, from: &str, to: &str, now: u64) -> Rotated {
    store
        .rotate_refresh(RotateRefresh {
            refresh: TokenHash::of(&format!("refresh-{from}")),
            client_id: "VL001".into(),
            now: at(now),
            grace: Duration::from_secs(10),
            pair: pair(to, now),
            sealed: SealedAnswer(to.as_bytes().to_vec()),
        })
        .await
        .unwrap()
}

async fn live(store: &MemoryStore, tag: &str) -> bool {
    store
        .access_token(&TokenHash::of(&format!("access-{tag}")))
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn used_code_tombstone_lives_as_long_as_its_grant() {
    let store = MemoryStore::new();
    issue(&store, "a").await;
    // Past the code's expiry the tombstone stays: the grant it created is live.
    assert_eq!(store.sweep_expired(at(600)).await.unwrap(), 0);
    assert!(format!("{store:?}").contains("codes: 1"));
    assert!(live(&store, "a").await);
    // A replay long after the code expired still revokes the grant.
    let replay = store
        .redeem_code(RedeemCode {
            code: TokenHash::of("code-a"),
            client_id: "VL001".into(),
            redirect_uri: None,
            pkce_verifier: None,
            now: at(600),
            pair: pair("x", 600),
        })
        .await
        .unwrap();
    assert!(matches!(replay, Redeemed::Replayed), "{replay:?}");
    assert!(!live(&store, "a").await);
    // Revoked and expired: the next sweep forgets the code and frees the slot.
    assert_eq!(store.sweep_expired(at(601)).await.unwrap(), 1);
    assert_eq!(
        format!("{store:?}"),
        "MemoryStore { codes: 0, access_tokens: 0, refresh_tokens: 0, grants: 0 }"
    );
    assert_eq!(store.read().free, vec![free(0, 0)]);
}

#[tokio::test]
async fn a_grant_that_ends_takes_its_used_code_along() {
    let store = MemoryStore::new();
    issue(&store, "a").await;
    // Far past the refresh token's lifetime and every retention: nothing is left.
    store.sweep_expired(at(10 * 86_400)).await.unwrap();
    assert_eq!(
        format!("{store:?}"),
        "MemoryStore { codes: 0, access_tokens: 0, refresh_tokens: 0, grants: 0 }"
    );
    assert_eq!(store.read().free, vec![free(0, 0)]);
}

#[tokio::test]
async fn freed_slots_are_reused_and_never_answer_for_old_tokens() {
    let store = MemoryStore::new();
    issue(&store, "a").await;
    store
        .revoke_grant(&GrantId::from_string("a"))
        .await
        .unwrap();
    // The revoked grant's code stays a tombstone until the code expires.
    assert!(store.read().free.is_empty());
    store.sweep_expired(at(60)).await.unwrap();
    assert_eq!(
        store.read().free,
        vec![free(0, 0)],
        "the revoked grant's slot is free"
    );
    issue(&store, "b").await;
    assert_eq!(store.read().records.len(), 1, "the free slot was reused");
    for old in ["access-a", "refresh-a", "code-a"] {
        assert!(
            store
                .access_token(&TokenHash::of(old))
                .await
                .unwrap()
                .is_none(),
            "{old}"
        );
    }
    let found = store
        .access_token(&TokenHash::of("access-b"))
        .await
        .unwrap()
        .expect("the new grant's token");
    assert_eq!(found.grant.grant_id.as_str(), "b");
}

/// A revoked grant's markers stay until they expire; once its slot holds the next grant, an old
/// rotated token must neither revoke that grant nor be taken for its own.
#[tokio::test]
async fn a_marker_of_a_revoked_grant_never_answers_for_the_slots_next_grant() {
    let store = MemoryStore::new();
    issue(&store, "a").await;
    assert!(matches!(
        rotate(&store, "a", "a2", 100).await,
        Rotated::Rotated(_)
    ));
    store
        .revoke_grant(&GrantId::from_string("a"))
        .await
        .unwrap();
    assert_eq!(rotate(&store, "a", "x", 200).await, Rotated::NotFound);
    store.sweep_expired(at(200)).await.unwrap();
    assert_eq!(store.read().free, vec![free(0, 0)]);
    issue(&store, "b").await;
    assert_eq!(store.read().record(0).map(|r| r.generation), Some(1));
    assert!(
        format!("{store:?}").contains("refresh_tokens: 2"),
        "the marker is still held: {store:?}"
    );
    assert_eq!(rotate(&store, "a", "y", 300).await, Rotated::NotFound);
    assert!(
        live(&store, "b").await,
        "the slot's next grant is untouched"
    );
    assert!(!live(&store, "y").await);
}

#[tokio::test]
async fn a_slot_whose_generations_are_used_up_is_never_reused() {
    let store = MemoryStore::new();
    issue(&store, "a").await;
    if let Some(r) = store.write().record_mut(0) {
        r.generation = u16::MAX;
    }
    store
        .revoke_grant(&GrantId::from_string("a"))
        .await
        .unwrap();
    store.sweep_expired(at(60)).await.unwrap();
    assert!(store.read().free.is_empty());
    assert!(store.read().records[0].is_none());
    issue(&store, "b").await;
    assert_eq!(store.read().records.len(), 2, "a new slot was taken");
}

/// A rotated token is reuse until its marker's bucket ends, then unknown, and the sweep that
/// passes the bucket's end drops it without walking.
#[tokio::test]
async fn markers_are_forgotten_when_their_bucket_ends() {
    let store = MemoryStore::new();
    issue(&store, "a").await;
    issue(&store, "b").await;
    assert!(matches!(
        rotate(&store, "a", "a2", 100).await,
        Rotated::Rotated(_)
    ));
    assert!(matches!(
        rotate(&store, "b", "b2", 100).await,
        Rotated::Rotated(_)
    ));
    // The rotated tokens expire at 86,400 s; their bucket ends at most BUCKET_SECS later.
    let expiry = 1_700_000_000 + 86_400;
    let bucket_end = (expiry / BUCKET_SECS + 1) * BUCKET_SECS - 1_700_000_000;
    assert_eq!(rotate(&store, "a", "x", 200).await, Rotated::ReuseDetected);
    assert!(!live(&store, "a2").await, "reuse revokes the grant");
    assert_eq!(store.read().retired.len(), 2);
    // Grant b2 is long past its retention at the bucket's end, so the sweep takes both.
    assert_eq!(
        rotate(&store, "b", "y", bucket_end).await,
        Rotated::NotFound,
        "a marker whose bucket ended answers nothing, swept or not"
    );
    let dropped = store.sweep_expired(at(bucket_end)).await.unwrap();
    assert_eq!(store.read().retired.len(), 0);
    assert!(dropped >= 2, "{dropped}");
}

/// The sweep walks the slab in steps and releases the lock between them: a task on the same
/// single-threaded runtime gets in mid-sweep.
#[tokio::test]
async fn the_sweep_lets_requests_in_between_steps() {
    let store = Arc::new(MemoryStore::new());
    let grants = 4 * SLOTS_PER_HOLD as usize;
    for i in 0..grants {
        issue(&store, &format!("g{i}")).await;
    }
    issue(&store, "kept").await;
    // `kept` rotates late, so it outlives the others (retained until 86,400 s).
    assert!(matches!(
        rotate(&store, "kept", "kept2", 80_000).await,
        Rotated::Rotated(_)
    ));
    let seen = Arc::new(AtomicUsize::new(usize::MAX));
    let watcher = {
        let (store, seen) = (Arc::clone(&store), Arc::clone(&seen));
        tokio::spawn(async move {
            // Runs as soon as the sweep first yields.
            let found = store.access_token(&TokenHash::of("access-kept2")).await;
            assert!(found.unwrap().is_some());
            seen.store(store.read().grants.len(), Ordering::SeqCst);
        })
    };
    let dropped = store.sweep_expired(at(87_000)).await.unwrap();
    watcher.await.unwrap();
    let mid = seen.load(Ordering::SeqCst);
    assert!(
        mid > 1 && mid < grants + 1,
        "the watcher ran mid-sweep, when {mid} of {} grants were left",
        grants + 1
    );
    assert_eq!(store.read().grants.len(), 1, "only `kept` is left");
    assert!(
        store
            .read()
            .records
            .iter()
            .flatten()
            .all(|r| !super::sweep::is_due(r, nanos(at(87_000)))),
        "a swept store has nothing left due"
    );
    assert!(live(&store, "kept2").await);
    // Each dropped grant: itself, its access and refresh tokens, its code's tombstone.
    assert_eq!(dropped, 4 * grants);
}

/// What a sweep can change in a slot.
fn snapshot(inner: &Inner, slot: u32) -> Option<(u8, bool, bool, bool)> {
    inner.record(slot).map(|r| {
        (
            r.flags,
            r.extra.is_some(),
            r.grace().is_some(),
            r.pending_code().is_some(),
        )
    })
}

/// The sweep skips, under the read lock, every record `is_due` calls clean: at every moment of
/// a grant's life, sweeping every record regardless changes none of the skipped ones, and leaves
/// nothing due.
#[tokio::test]
async fn the_sweep_skips_only_records_with_nothing_due() {
    let store = MemoryStore::new();
    for label in ["a", "b", "c", "d"] {
        issue(&store, label).await;
    }
    assert!(matches!(
        rotate(&store, "b", "b2", 100).await,
        Rotated::Rotated(_)
    ));
    assert!(matches!(
        rotate(&store, "d", "d2", 5_000).await,
        Rotated::Rotated(_)
    ));
    store
        .revoke_grant(&GrantId::from_string("c"))
        .await
        .unwrap();
    store
        .put_code(NewCode {
            code: TokenHash::of("code-pending"),
            grant: grant("pending"),
            redirect_uri: "https://fl.vegaslounge.live".into(),
            pkce_challenge: None,
            expires_at: at(30),
        })
        .await
        .unwrap();
    for now in [
        0, 29, 30, 59, 60, 105, 110, 5_005, 5_010, 7_199, 7_200, 12_000, 86_400, 91_400, 200_000,
    ] {
        let now = nanos(at(now));
        let mut inner = store.write();
        let slots = u32::try_from(inner.records.len()).unwrap();
        let before: Vec<_> = (0..slots)
            .map(|s| {
                let due = inner
                    .record(s)
                    .is_some_and(|r| super::sweep::is_due(r, now));
                (due, snapshot(&inner, s))
            })
            .collect();
        for slot in 0..slots {
            inner.sweep_slot(slot, now);
        }
        for (slot, (due, was)) in (0..slots).zip(before) {
            if !due {
                assert_eq!(snapshot(&inner, slot), was, "slot {slot} changed at {now}");
            }
            assert!(
                !inner
                    .record(slot)
                    .is_some_and(|r| super::sweep::is_due(r, now)),
                "slot {slot} still due at {now}"
            );
        }
    }
    assert_eq!(
        format!("{store:?}"),
        "MemoryStore { codes: 0, access_tokens: 0, refresh_tokens: 2, grants: 0 }",
        "only the two rotated tokens' markers are left, until their bucket ends"
    );
}
