//! The Redis grant store: the conformance suite, atomicity under concurrency, and what it keeps
//! at rest.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use gameauth_core::ManualClock;
use gameauth_vegaslounge::GrantStore;
use gameauth_vegaslounge::store::{
    Grant, GrantId, NewCode, NewPair, RedeemCode, Redeemed, TokenHash,
};

use gameauth_vegaslounge::store::conformance;
use gameauth_vegaslounge::store::redis::RedisConnection;
use testkit::redis::RedisServer;

use crate::redis_support::{clock, connection, instance, instance_with_limit, keys, store};
use crate::{
    CLIENT, Harness, PLAYER, assert_vl_error, body_json, body_text, code_form, form_post,
    location_params, refresh_form,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_passes_the_conformance_suite() {
    let Some(redis) = RedisServer::start_or_skip("redis_store_passes_the_conformance_suite") else {
        return;
    };
    conformance_on(&connection(&redis).await, "").await;
}

/// The store conformance suite on `conn`, every rule under a fresh prefix starting with `tag`.
pub(crate) async fn conformance_on(conn: &RedisConnection, tag: &str) {
    // The suite's times start at this instant; the store turns them into TTLs from it.
    let suite_clock = ManualClock::at_unix_seconds(1_700_000_000);
    let next = AtomicUsize::new(0);
    conformance::run_conformance(|| {
        // Every rule gets an empty store: a prefix of its own.
        let prefix = format!("{tag}conf{}:", next.fetch_add(1, Ordering::Relaxed));
        let store = store(conn.clone(), &prefix, &suite_clock);
        async move { store }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_have_exactly_one_winner_in_each_of_50_rounds() {
    let Some(redis) = RedisServer::start_or_skip("concurrent redemptions") else {
        return;
    };
    let conn = connection(&redis).await;
    concurrent_redemptions(&instance_with_limit(&conn, "race:", &clock(), 64), 50).await;
}

/// 32 concurrent redemptions of one code, `rounds` times: exactly one wins each round, the
/// others see a used code (401, never a store failure).
pub(crate) async fn concurrent_redemptions(h: &Harness, rounds: usize) {
    for round in 0..rounds {
        let code = h.code().await;
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let server = Arc::clone(&h.server);
                let form = code_form(&code);
                tokio::spawn(async move {
                    let peer = "127.0.0.1:40000".parse().unwrap();
                    server
                        .handle(form_post("/oauth2.0/token", &form), peer)
                        .await
                })
            })
            .collect();
        let mut winners = 0;
        for t in tasks {
            let response = t.await.unwrap();
            match response.status().as_u16() {
                200 => winners += 1,
                // The losers see a used code: refused as invalid, never as a store failure.
                _ => assert_vl_error(&response, 401, 1001),
            }
        }
        assert_eq!(winners, 1, "round {round}: exactly one redemption must win");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_refreshes_of_one_token_never_produce_two_live_pairs() {
    let Some(redis) = RedisServer::start_or_skip("concurrent refreshes") else {
        return;
    };
    let conn = connection(&redis).await;
    concurrent_refreshes(&instance(&conn, "refresh-race:", &clock()), 20).await;
}

/// Two concurrent refreshes of one token, `rounds` times: both get the same pair (one rotates,
/// one repeats), and that pair works.
pub(crate) async fn concurrent_refreshes(h: &Harness, rounds: usize) {
    for round in 0..rounds {
        let (_, refresh) = h.tokens().await;
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let server = Arc::clone(&h.server);
                let form = refresh_form(&refresh);
                tokio::spawn(async move {
                    let peer = "127.0.0.1:40000".parse().unwrap();
                    server
                        .handle(form_post("/oauth2.0/refresh", &form), peer)
                        .await
                })
            })
            .collect();
        let mut pairs = HashSet::new();
        for t in tasks {
            let response = t.await.unwrap();
            assert_eq!(
                response.status(),
                200,
                "round {round}: {}",
                body_text(&response)
            );
            let json = body_json(&response);
            pairs.insert((
                json["access_token"].as_str().unwrap().to_owned(),
                json["refresh_token"].as_str().unwrap().to_owned(),
            ));
        }
        assert_eq!(
            pairs.len(),
            1,
            "round {round}: both refreshes must get the same pair (one rotates, one repeats)"
        );
        let (access, _) = pairs.into_iter().next().unwrap();
        assert_eq!(h.account(&access).await.status(), 200);
    }
}

#[tokio::test]
async fn after_a_full_flow_every_key_has_a_ttl_and_no_key_or_value_holds_a_raw_token() {
    let Some(redis) = RedisServer::start_or_skip("keys at rest") else {
        return;
    };
    let mut conn = connection(&redis).await;
    let h = instance(&conn, "rest:", &clock());
    let mut secrets = Vec::new();

    // Browser flow, exchange, refresh, a repeat inside the grace window, account.
    let authorize = h
        .authorize(
            "response_type=code&client_id=VL001&redirect_uri=https%3A%2F%2Ffl.vegaslounge.live",
            Some(PLAYER),
        )
        .await;
    let code = location_params(&authorize)["code"].clone();
    secrets.push(code.clone());
    let tokens = body_json(&h.token(&code_form(&code)).await);
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    secrets.push(tokens["access_token"].as_str().unwrap().to_owned());
    secrets.push(refresh.clone());
    let rotated = body_json(
        &h.send(form_post("/oauth2.0/refresh", &refresh_form(&refresh)))
            .await,
    );
    let repeat = body_json(
        &h.send(form_post("/oauth2.0/refresh", &refresh_form(&refresh)))
            .await,
    );
    assert_eq!(
        rotated, repeat,
        "the grace-window repeat is answered from the sealed record"
    );
    let access = rotated["access_token"].as_str().unwrap().to_owned();
    secrets.push(access.clone());
    secrets.push(rotated["refresh_token"].as_str().unwrap().to_owned());
    assert_eq!(h.account(&access).await.status(), 200);
    // A second grant that is then replayed, and a failed client authentication.
    let code2 = h.code().await;
    secrets.push(code2.clone());
    let tokens2 = body_json(&h.token(&code_form(&code2)).await);
    secrets.push(tokens2["access_token"].as_str().unwrap().to_owned());
    secrets.push(tokens2["refresh_token"].as_str().unwrap().to_owned());
    assert_vl_error(&h.token(&code_form(&code2)).await, 401, 1001);
    let bad = format!("grant_type=authorization_code&code=x&client_id={CLIENT}&client_secret=nope");
    assert_vl_error(&h.token(&bad).await, 401, 1001);
    let unredeemed = h.code().await;
    secrets.push(unredeemed);

    let all = keys(&mut conn, "rest:").await;
    let kinds: HashSet<&str> = all
        .iter()
        .filter_map(|k| k.strip_prefix("rest:")?.split(':').next())
        .collect();
    for expected in ["code", "access", "refresh", "player", "throttle"] {
        assert!(kinds.contains(expected), "no {expected} key among {all:?}");
    }
    assert!(all.iter().any(|k| k.ends_with(":grant")), "{all:?}");
    assert!(all.iter().any(|k| k.ends_with(":sealed")), "{all:?}");
    for key in &all {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
        let dump: Vec<u8> = redis::cmd("DUMP")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let kind: String = redis::cmd("TYPE")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let values: Vec<Vec<u8>> = match kind.as_str() {
            "string" => vec![
                redis::cmd("GET")
                    .arg(key)
                    .query_async(&mut conn)
                    .await
                    .unwrap(),
            ],
            "hash" => redis::cmd("HGETALL")
                .arg(key)
                .query_async(&mut conn)
                .await
                .unwrap(),
            "zset" => redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .query_async(&mut conn)
                .await
                .unwrap(),
            other => panic!("{key}: unexpected type {other}"),
        };
        for secret in &secrets {
            assert!(!key.contains(secret.as_str()), "{key} holds a raw token");
            let raw = secret.as_bytes();
            for v in values.iter().chain([&dump]) {
                assert!(
                    !v.windows(raw.len()).any(|w| w == raw),
                    "{key} holds a raw token in its value"
                );
            }
        }
    }
    // The keys one script touches share the grant's hash tag, hence one cluster slot.
    for sealed in all.iter().filter(|k| k.ends_with(":sealed")) {
        let tag = sealed
            .strip_prefix("rest:{")
            .and_then(|k| k.strip_suffix("}:sealed"))
            .expect("a hash-tagged sealed key");
        assert_eq!(tag.len(), 32, "{sealed}");
        assert!(all.contains(&format!("rest:{{{tag}}}:grant")), "{sealed}");
    }
}

#[tokio::test]
async fn a_players_grant_set_holds_only_grants_within_their_retention() {
    let Some(redis) = RedisServer::start_or_skip("player set pruning") else {
        return;
    };
    let mut conn = connection(&redis).await;
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_711_954_264);
    let store = store(
        conn.clone(),
        "prune:",
        &ManualClock::at_unix_seconds(1_711_954_264),
    );
    let redeem = |grant: &str, at: SystemTime| {
        let code = TokenHash::of(&format!("code-{grant}"));
        let new_code = NewCode {
            code,
            grant: Arc::new(Grant {
                grant_id: GrantId::from_string(grant),
                client_id: CLIENT.to_owned(),
                player_id: PLAYER.to_owned(),
            }),
            redirect_uri: "https://fl.vegaslounge.live".to_owned(),
            pkce_challenge: None,
            expires_at: at + Duration::from_secs(60),
        };
        let request = RedeemCode {
            code,
            client_id: CLIENT.to_owned(),
            redirect_uri: None,
            pkce_verifier: None,
            now: at,
            pair: NewPair {
                access: TokenHash::of(&format!("access-{grant}")),
                access_expires_at: at + Duration::from_secs(10),
                refresh: TokenHash::of(&format!("refresh-{grant}")),
                refresh_expires_at: at + Duration::from_secs(20),
            },
        };
        (new_code, request)
    };
    for (i, at) in [t0, t0 + Duration::from_secs(3700)].into_iter().enumerate() {
        let (code, request) = redeem(&format!("g{i}"), at);
        store.put_code(code).await.unwrap();
        assert!(matches!(
            store.redeem_code(request).await.unwrap(),
            Redeemed::Issued(_)
        ));
    }
    let player_key = keys(&mut conn, "prune:player:").await;
    assert_eq!(player_key.len(), 1, "{player_key:?}");
    let members: usize = redis::cmd("ZCARD")
        .arg(&player_key[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        members, 1,
        "the first grant's retention ended before the second was redeemed"
    );
    assert_eq!(store.revoke_player(PLAYER).await, Ok(1));
    let members: usize = redis::cmd("ZCARD")
        .arg(&player_key[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(members, 0, "revoking the player empties its set");
}

#[tokio::test]
async fn refused_redemptions_leave_no_keys_behind() {
    let Some(redis) = RedisServer::start_or_skip("refused attempts leave no keys") else {
        return;
    };
    let mut conn = connection(&redis).await;
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_711_954_264);
    let store = store(
        conn.clone(),
        "refused:",
        &ManualClock::at_unix_seconds(1_711_954_264),
    );
    let code = TokenHash::of("code-r");
    store
        .put_code(NewCode {
            code,
            grant: Arc::new(Grant {
                grant_id: GrantId::from_string("gr"),
                client_id: CLIENT.to_owned(),
                player_id: PLAYER.to_owned(),
            }),
            redirect_uri: "https://fl.vegaslounge.live".to_owned(),
            pkce_challenge: None,
            expires_at: t0 + Duration::from_secs(60),
        })
        .await
        .unwrap();
    let before = keys(&mut conn, "refused:").await;
    let attempt = |client: &str, tag: &str, at: SystemTime| RedeemCode {
        code,
        client_id: client.to_owned(),
        redirect_uri: None,
        pkce_verifier: None,
        now: at,
        pair: NewPair {
            access: TokenHash::of(&format!("access-{tag}")),
            access_expires_at: at + Duration::from_secs(3600),
            refresh: TokenHash::of(&format!("refresh-{tag}")),
            refresh_expires_at: at + Duration::from_secs(30 * 86_400),
        },
    };
    // Another client's attempt, then one after the code expired: refused, and nothing written.
    assert_eq!(
        store.redeem_code(attempt("VL999", "x", t0)).await,
        Ok(Redeemed::Mismatch)
    );
    assert_eq!(keys(&mut conn, "refused:").await, before);
    assert_eq!(
        store
            .redeem_code(attempt(CLIENT, "y", t0 + Duration::from_secs(61)))
            .await,
        Ok(Redeemed::Expired)
    );
    let after: HashSet<String> = keys(&mut conn, "refused:").await.into_iter().collect();
    let before: HashSet<String> = before.into_iter().collect();
    assert!(after.is_subset(&before), "{after:?} not within {before:?}");
}

#[tokio::test]
async fn a_remembered_access_token_still_dies_with_its_rotation_revocation_and_retention() {
    let Some(redis) = RedisServer::start_or_skip("access cache") else {
        return;
    };
    let conn = connection(&redis).await;
    let clock = clock();
    let h = instance(&conn, "cache:", &clock);
    // Every lookup after the first takes the remembered path (one round trip).
    let (access, refresh) = h.tokens().await;
    for _ in 0..3 {
        assert_eq!(h.account(&access).await.status(), 200);
    }
    let rotated = body_json(
        &h.send(form_post("/oauth2.0/refresh", &refresh_form(&refresh)))
            .await,
    );
    assert_vl_error(&h.account(&access).await, 401, 1001);
    let access = rotated["access_token"].as_str().unwrap().to_owned();
    assert_eq!(h.account(&access).await.status(), 200);
    assert_eq!(h.account(&access).await.status(), 200);
    assert_eq!(h.server.store().revoke_player(PLAYER).await, Ok(1));
    assert_vl_error(&h.account(&access).await, 401, 1001);

    // Expired: 1004 while the store keeps it, unknown (1001) once its retention ended.
    let (access, _) = h.tokens().await;
    assert_eq!(h.account(&access).await.status(), 200);
    h.advance(3601);
    assert_vl_error(&h.account(&access).await, 401, 1004);
    h.advance(3600);
    assert_vl_error(&h.account(&access).await, 401, 1001);
}
