//! The conformance suite every [`GrantStore`] must pass (feature `test-util`).
//!
//! Each rule is one public async function taking a fresh, empty store; [`run_conformance`] runs
//! them all with a factory. The functions panic (like `assert!`) on a violation, naming the rule.
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
//! use gameauth_vegaslounge::store::{MemoryStore, conformance};
//! conformance::run_conformance(|| async { MemoryStore::new() }).await;
//! # });
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{
    ACCESS_RETENTION, Grant, GrantId, GrantStore, NewCode, NewPair, RedeemCode, Redeemed,
    RotateRefresh, Rotated, SealedAnswer, TokenHash,
};

const T0: u64 = 1_700_000_000;
const CLIENT: &str = "VL001";
const REDIRECT: &str = "https://fl.vegaslounge.live";
const GRACE: Duration = Duration::from_secs(10);

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

fn hash(label: &str) -> TokenHash {
    TokenHash::of(label)
}

fn grant(id: &str, player: &str) -> Arc<Grant> {
    Arc::new(Grant {
        grant_id: GrantId::from_string(id),
        client_id: CLIENT.to_owned(),
        player_id: player.to_owned(),
    })
}

fn pair(tag: &str, now: u64) -> NewPair {
    NewPair {
        access: hash(&format!("access-{tag}")),
        access_expires_at: at(now + 3600),
        refresh: hash(&format!("refresh-{tag}")),
        refresh_expires_at: at(now + 30 * 86_400),
    }
}

async fn put_code<S: GrantStore + ?Sized>(store: &S, code: &str, grant: Arc<Grant>) {
    store
        .put_code(NewCode {
            code: hash(code),
            grant,
            redirect_uri: REDIRECT.to_owned(),
            pkce_challenge: None,
            expires_at: at(60),
        })
        .await
        .expect("put_code");
}

fn redeem(code: &str, client: &str, tag: &str, now: u64) -> RedeemCode {
    RedeemCode {
        code: hash(code),
        client_id: client.to_owned(),
        redirect_uri: None,
        pkce_verifier: None,
        now: at(now),
        pair: pair(tag, now),
    }
}

fn rotate(refresh: &str, client: &str, tag: &str, now: u64) -> RotateRefresh {
    RotateRefresh {
        refresh: hash(&format!("refresh-{refresh}")),
        client_id: client.to_owned(),
        now: at(now),
        grace: GRACE,
        pair: pair(tag, now),
        sealed: SealedAnswer(tag.as_bytes().to_vec()),
    }
}

async fn live<S: GrantStore + ?Sized>(store: &S, tag: &str) -> bool {
    store
        .access_token(&hash(&format!("access-{tag}")))
        .await
        .expect("access_token")
        .is_some()
}

/// Redeems a fresh code for grant `g1` / player `p1`, issuing pair `tag` at time 0.
async fn issued<S: GrantStore + ?Sized>(store: &S, tag: &str) {
    put_code(store, "code-1", grant("g1", "p1")).await;
    let out = store
        .redeem_code(redeem("code-1", CLIENT, tag, 0))
        .await
        .expect("redeem_code");
    assert!(
        matches!(out, Redeemed::Issued(_)),
        "a fresh code must redeem: {out:?}"
    );
}

/// A code redeems once; a replay fails and revokes every token issued from it.
pub async fn code_is_single_use_and_replay_revokes_the_grant<S: GrantStore + ?Sized>(store: &S) {
    issued(store, "a").await;
    assert!(live(store, "a").await);
    let replay = store
        .redeem_code(redeem("code-1", CLIENT, "b", 1))
        .await
        .expect("redeem_code");
    assert_eq!(
        replay,
        Redeemed::Replayed,
        "a used code must be refused as replayed"
    );
    assert!(
        !live(store, "a").await,
        "a replay must revoke the tokens issued from the code"
    );
    assert!(!live(store, "b").await, "a replay must not issue tokens");
    let rotated = store
        .rotate_refresh(rotate("a", CLIENT, "c", 2))
        .await
        .expect("rotate");
    assert_eq!(
        rotated,
        Rotated::NotFound,
        "the grant's refresh token must be revoked too"
    );
}

/// A used code is remembered for as long as its grant lives: a replay after the code's own expiry
/// (and a sweep) still fails as a replay and revokes the grant.
pub async fn replay_after_the_codes_expiry_still_revokes_the_grant<S: GrantStore + ?Sized>(
    store: &S,
) {
    issued(store, "a").await;
    store.sweep_expired(at(600)).await.expect("sweep");
    assert!(live(store, "a").await, "the grant outlives its code");
    let replay = store
        .redeem_code(redeem("code-1", CLIENT, "b", 600))
        .await
        .expect("redeem_code");
    assert_eq!(
        replay,
        Redeemed::Replayed,
        "a used code replayed after its expiry must still count as a replay"
    );
    assert!(
        !live(store, "a").await,
        "a late replay must revoke the tokens issued from the code"
    );
    assert!(!live(store, "b").await, "a replay must not issue tokens");
}

/// Under 32 concurrent redemptions of one code exactly one wins.
pub async fn concurrent_redemptions_have_exactly_one_winner<S: GrantStore + 'static>(
    store: Arc<S>,
) {
    put_code(&*store, "code-1", grant("g1", "p1")).await;
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .redeem_code(redeem("code-1", CLIENT, &format!("t{i}"), 0))
                    .await
                    .expect("redeem_code")
            })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        if matches!(t.await.expect("task"), Redeemed::Issued(_)) {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one concurrent redemption must win");
}

/// A code presented by another client (or with another redirect URI) is refused and stays
/// redeemable by its own client.
pub async fn code_is_bound_to_its_client_and_redirect_uri<S: GrantStore + ?Sized>(store: &S) {
    put_code(store, "code-1", grant("g1", "p1")).await;
    let other = store
        .redeem_code(redeem("code-1", "VL002", "x", 0))
        .await
        .expect("redeem_code");
    assert_eq!(
        other,
        Redeemed::Mismatch,
        "another client's code must be refused"
    );
    let mut wrong_uri = redeem("code-1", CLIENT, "y", 0);
    wrong_uri.redirect_uri = Some("https://fl.vegaslounge.live/".to_owned());
    assert_eq!(
        store.redeem_code(wrong_uri).await.expect("redeem_code"),
        Redeemed::Mismatch,
        "a different redirect URI must be refused"
    );
    assert!(!live(store, "x").await);
    let mut right = redeem("code-1", CLIENT, "z", 0);
    right.redirect_uri = Some(REDIRECT.to_owned());
    assert!(matches!(
        store.redeem_code(right).await.expect("redeem_code"),
        Redeemed::Issued(_)
    ));
}

/// A code issued with a PKCE challenge redeems only with the matching verifier; a verifier for
/// a code issued without a challenge is refused too. A refused attempt leaves the code unused.
pub async fn code_is_bound_to_its_pkce_challenge<S: GrantStore + ?Sized>(store: &S) {
    store
        .put_code(NewCode {
            code: hash("code-pkce"),
            grant: grant("g1", "p1"),
            redirect_uri: REDIRECT.to_owned(),
            pkce_challenge: Some(hash("the-verifier")),
            expires_at: at(60),
        })
        .await
        .expect("put_code");
    for (verifier, tag) in [(None, "a"), (Some(hash("another-verifier")), "b")] {
        let mut attempt = redeem("code-pkce", CLIENT, tag, 0);
        attempt.pkce_verifier = verifier;
        assert_eq!(
            store.redeem_code(attempt).await.expect("redeem_code"),
            Redeemed::PkceMismatch,
            "a missing or wrong verifier must be refused"
        );
        assert!(!live(store, tag).await);
    }
    let mut right = redeem("code-pkce", CLIENT, "c", 0);
    right.pkce_verifier = Some(hash("the-verifier"));
    assert!(
        matches!(
            store.redeem_code(right).await.expect("redeem_code"),
            Redeemed::Issued(_)
        ),
        "the right verifier must redeem the code"
    );
    put_code(store, "code-plain", grant("g2", "p1")).await;
    let mut unexpected = redeem("code-plain", CLIENT, "d", 0);
    unexpected.pkce_verifier = Some(hash("the-verifier"));
    assert_eq!(
        store.redeem_code(unexpected).await.expect("redeem_code"),
        Redeemed::PkceMismatch,
        "a verifier for a code issued without a challenge must be refused"
    );
    assert!(matches!(
        store
            .redeem_code(redeem("code-plain", CLIENT, "e", 0))
            .await
            .expect("redeem_code"),
        Redeemed::Issued(_)
    ));
}

/// A code past its expiry is refused, and an unknown code is not found.
pub async fn expired_code_is_refused<S: GrantStore + ?Sized>(store: &S) {
    put_code(store, "code-1", grant("g1", "p1")).await;
    assert_eq!(
        store
            .redeem_code(redeem("code-1", CLIENT, "a", 60))
            .await
            .expect("redeem"),
        Redeemed::Expired,
        "a code at its expiry must be refused"
    );
    assert_eq!(
        store
            .redeem_code(redeem("nope", CLIENT, "a", 0))
            .await
            .expect("redeem"),
        Redeemed::NotFound
    );
}

/// The access-token lookup returns the grant and the expiry time.
pub async fn access_token_lookup_returns_grant_and_expiry<S: GrantStore + ?Sized>(store: &S) {
    issued(store, "a").await;
    let found = store
        .access_token(&hash("access-a"))
        .await
        .expect("access_token")
        .expect("the issued access token must be found");
    assert_eq!(found.grant.player_id, "p1");
    assert_eq!(found.grant.client_id, CLIENT);
    assert_eq!(found.expires_at, at(3600));
    assert!(
        store
            .access_token(&hash("refresh-a"))
            .await
            .expect("access_token")
            .is_none(),
        "a refresh token must not be usable as an access token"
    );
}

/// Rotation kills the old refresh token and its access token and makes the new pair live.
pub async fn rotation_kills_the_old_pair<S: GrantStore + ?Sized>(store: &S) {
    issued(store, "a").await;
    let out = store
        .rotate_refresh(rotate("a", CLIENT, "b", 100))
        .await
        .expect("rotate");
    assert!(
        matches!(out, Rotated::Rotated(_)),
        "a live refresh token must rotate: {out:?}"
    );
    assert!(
        !live(store, "a").await,
        "the old access token must die on rotation"
    );
    assert!(live(store, "b").await, "the new access token must be live");
    let again = store
        .rotate_refresh(rotate("b", CLIENT, "c", 200))
        .await
        .expect("rotate");
    assert!(
        matches!(again, Rotated::Rotated(_)),
        "the new refresh token must rotate"
    );
}

/// The same refresh repeated inside the grace window gets the first answer back.
pub async fn repeat_inside_grace_returns_the_sealed_answer<S: GrantStore + ?Sized>(store: &S) {
    issued(store, "a").await;
    store
        .rotate_refresh(rotate("a", CLIENT, "b", 100))
        .await
        .expect("rotate");
    let repeat = store
        .rotate_refresh(rotate("a", CLIENT, "c", 105))
        .await
        .expect("rotate");
    match repeat {
        Rotated::Repeat {
            sealed,
            access,
            access_expires_at,
            ..
        } => {
            assert_eq!(
                sealed.0,
                b"b".to_vec(),
                "the first rotation's sealed answer"
            );
            assert_eq!(access, hash("access-b"));
            assert_eq!(access_expires_at, at(3700));
        }
        other => panic!("a repeat inside the grace window must get the same answer: {other:?}"),
    }
    assert!(
        live(store, "b").await,
        "the first answer's pair must stay live"
    );
    assert!(
        !live(store, "c").await,
        "a repeat must not issue another pair"
    );
}

/// Re-presenting a rotated refresh token after the grace window revokes the whole grant.
pub async fn reuse_after_grace_revokes_the_grant<S: GrantStore + ?Sized>(store: &S) {
    issued(store, "a").await;
    store
        .rotate_refresh(rotate("a", CLIENT, "b", 100))
        .await
        .expect("rotate");
    let reuse = store
        .rotate_refresh(rotate("a", CLIENT, "c", 110))
        .await
        .expect("rotate");
    assert_eq!(
        reuse,
        Rotated::ReuseDetected,
        "reuse at the end of the grace window"
    );
    assert!(
        !live(store, "b").await,
        "reuse must revoke the live pair of the grant"
    );
    assert_eq!(
        store
            .rotate_refresh(rotate("b", CLIENT, "d", 111))
            .await
            .expect("rotate"),
        Rotated::NotFound,
        "the grant's current refresh token must be revoked"
    );
}

/// Once the successor refresh token was used, the old one is reuse even inside the grace window.
pub async fn reuse_after_successor_was_used_revokes_the_grant<S: GrantStore + ?Sized>(store: &S) {
    issued(store, "a").await;
    store
        .rotate_refresh(rotate("a", CLIENT, "b", 100))
        .await
        .expect("rotate");
    store
        .rotate_refresh(rotate("b", CLIENT, "c", 101))
        .await
        .expect("rotate");
    let reuse = store
        .rotate_refresh(rotate("a", CLIENT, "d", 102))
        .await
        .expect("rotate");
    assert_eq!(reuse, Rotated::ReuseDetected);
    assert!(!live(store, "c").await, "the grant must be revoked");
}

/// Concurrent refreshes of one token never leave two live pairs.
pub async fn concurrent_rotations_leave_one_live_pair<S: GrantStore + 'static>(store: Arc<S>) {
    issued(&*store, "a").await;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .rotate_refresh(rotate("a", CLIENT, &format!("n{i}"), 100))
                    .await
                    .expect("rotate")
            })
        })
        .collect();
    let mut rotated = 0;
    for t in tasks {
        match t.await.expect("task") {
            Rotated::Rotated(_) => rotated += 1,
            Rotated::Repeat { .. } => {}
            other => panic!("a concurrent refresh inside the grace window got {other:?}"),
        }
    }
    assert_eq!(rotated, 1, "exactly one concurrent refresh must rotate");
    let mut live_pairs = 0;
    for i in 0..16 {
        if live(&*store, &format!("n{i}")).await {
            live_pairs += 1;
        }
    }
    assert_eq!(live_pairs, 1, "exactly one pair must be live");
}

/// A refresh token presented by another client is refused and left untouched.
pub async fn refresh_is_bound_to_its_client<S: GrantStore + ?Sized>(store: &S) {
    issued(store, "a").await;
    assert_eq!(
        store
            .rotate_refresh(rotate("a", "VL002", "b", 100))
            .await
            .expect("rotate"),
        Rotated::Mismatch
    );
    assert!(live(store, "a").await, "a mismatch must change nothing");
    assert!(matches!(
        store
            .rotate_refresh(rotate("a", CLIENT, "c", 101))
            .await
            .expect("rotate"),
        Rotated::Rotated(_)
    ));
}

/// An expired refresh token is refused.
pub async fn expired_refresh_is_refused<S: GrantStore + ?Sized>(store: &S) {
    issued(store, "a").await;
    assert_eq!(
        store
            .rotate_refresh(rotate("a", CLIENT, "b", 30 * 86_400))
            .await
            .expect("rotate"),
        Rotated::Expired
    );
}

/// Revoking a player revokes every grant of that player and no other.
pub async fn revoke_player_revokes_every_grant<S: GrantStore + ?Sized>(store: &S) {
    put_code(store, "c1", grant("g1", "p1")).await;
    put_code(store, "c2", grant("g2", "p1")).await;
    put_code(store, "c3", grant("g3", "p2")).await;
    for (code, tag) in [("c1", "a"), ("c2", "b"), ("c3", "c")] {
        store
            .redeem_code(redeem(code, CLIENT, tag, 0))
            .await
            .expect("redeem");
    }
    assert_eq!(store.revoke_player("p1").await.expect("revoke_player"), 2);
    assert!(!live(store, "a").await);
    assert!(!live(store, "b").await);
    assert!(live(store, "c").await, "another player's grant must stay");
    store
        .revoke_grant(&GrantId::from_string("g3"))
        .await
        .expect("revoke_grant");
    assert!(!live(store, "c").await);
}

/// Sweeping drops expired records and keeps live ones; expired access tokens stay findable for
/// [`ACCESS_RETENTION`].
pub async fn sweep_drops_only_expired_records<S: GrantStore + ?Sized>(store: &S) {
    issued(store, "a").await;
    put_code(store, "fresh", grant("g9", "p9")).await;
    store.sweep_expired(at(59)).await.expect("sweep");
    assert!(live(store, "a").await);
    store.sweep_expired(at(3600)).await.expect("sweep");
    assert!(
        live(store, "a").await,
        "an expired access token is kept for its retention"
    );
    store
        .sweep_expired(at(3600) + ACCESS_RETENTION)
        .await
        .expect("sweep");
    assert!(
        !live(store, "a").await,
        "the access token must be gone after its retention"
    );
    assert_eq!(
        store
            .redeem_code(redeem("fresh", CLIENT, "z", 0))
            .await
            .expect("redeem"),
        Redeemed::NotFound,
        "an expired code must be swept"
    );
    assert!(
        matches!(
            store
                .rotate_refresh(rotate("a", CLIENT, "b", 7200))
                .await
                .expect("rotate"),
            Rotated::Rotated(_)
        ),
        "a live refresh token must survive sweeping"
    );
}

/// Runs every rule, each on a fresh store from `factory`.
pub async fn run_conformance<F, Fut, S>(factory: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: GrantStore + 'static,
{
    code_is_single_use_and_replay_revokes_the_grant(&factory().await).await;
    replay_after_the_codes_expiry_still_revokes_the_grant(&factory().await).await;
    concurrent_redemptions_have_exactly_one_winner(Arc::new(factory().await)).await;
    code_is_bound_to_its_client_and_redirect_uri(&factory().await).await;
    code_is_bound_to_its_pkce_challenge(&factory().await).await;
    expired_code_is_refused(&factory().await).await;
    access_token_lookup_returns_grant_and_expiry(&factory().await).await;
    rotation_kills_the_old_pair(&factory().await).await;
    repeat_inside_grace_returns_the_sealed_answer(&factory().await).await;
    reuse_after_grace_revokes_the_grant(&factory().await).await;
    reuse_after_successor_was_used_revokes_the_grant(&factory().await).await;
    concurrent_rotations_leave_one_live_pair(Arc::new(factory().await)).await;
    refresh_is_bound_to_its_client(&factory().await).await;
    expired_refresh_is_refused(&factory().await).await;
    revoke_player_revokes_every_grant(&factory().await).await;
    sweep_drops_only_expired_records(&factory().await).await;
}
