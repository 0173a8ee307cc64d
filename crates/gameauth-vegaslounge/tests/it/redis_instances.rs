//! Several operator instances sharing one Redis: grants, replay detection and throttling are
//! shared; different key prefixes are not.

use std::time::Duration;

use gameauth_vegaslounge::store::redis::{RedisConnection, connect};
use gameauth_vegaslounge::{
    RedisStore, RedisThrottleStore, ThrottleConfig, ThrottleKey, ThrottleStore,
};
use testkit::redis::RedisServer;

use crate::redis_support::{TIMEOUT, clock, connection, instance};
use crate::{
    CLIENT, Harness, assert_vl_error, body_json, code_form, form_post, header, refresh_form,
};

#[tokio::test]
async fn code_issued_on_one_instance_is_redeemed_on_another_and_a_replay_on_the_first_revokes_the_grant()
 {
    let Some(redis) = RedisServer::start_or_skip("two instances") else {
        return;
    };
    let clock = clock();
    // Each instance has its own connection, as separate processes would.
    let a = instance(&connection(&redis).await, "vl:", &clock);
    let b = instance(&connection(&redis).await, "vl:", &clock);
    replay_across_instances(&a, &b).await;
}

/// A code issued on `a` is redeemed on `b`; the replay on `a` is refused and revokes the grant
/// on both.
pub(crate) async fn replay_across_instances(a: &Harness, b: &Harness) {
    let code = a.code().await;
    let tokens = b.token(&code_form(&code)).await;
    assert_eq!(tokens.status(), 200);
    let tokens = body_json(&tokens);
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(a.account(access).await.status(), 200, "A sees B's tokens");

    assert_vl_error(&a.token(&code_form(&code)).await, 401, 1001);
    assert_vl_error(&b.account(access).await, 401, 1001);
    assert_vl_error(
        &a.send(form_post("/oauth2.0/refresh", &refresh_form(refresh)))
            .await,
        401,
        1001,
    );
}

#[tokio::test]
async fn refresh_rotated_on_one_instance_is_a_repeat_then_a_reuse_on_another() {
    let Some(redis) = RedisServer::start_or_skip("rotation across instances") else {
        return;
    };
    let clock = clock();
    let a = instance(&connection(&redis).await, "vl:", &clock);
    let b = instance(&connection(&redis).await, "vl:", &clock);
    let (_, refresh) = a.tokens().await;
    let first = body_json(
        &a.send(form_post("/oauth2.0/refresh", &refresh_form(&refresh)))
            .await,
    );
    let repeat = body_json(
        &b.send(form_post("/oauth2.0/refresh", &refresh_form(&refresh)))
            .await,
    );
    assert_eq!(
        first, repeat,
        "a retry on another instance inside the grace window"
    );
    clock.advance(Duration::from_secs(11));
    assert_vl_error(
        &b.send(form_post("/oauth2.0/refresh", &refresh_form(&refresh)))
            .await,
        401,
        1001,
    );
    let access = first["access_token"].as_str().unwrap();
    assert_vl_error(&a.account(access).await, 401, 1001);
}

#[tokio::test]
async fn failed_client_authentication_is_throttled_across_instances() {
    let Some(redis) = RedisServer::start_or_skip("throttling across instances") else {
        return;
    };
    let clock = clock();
    let a = instance(&connection(&redis).await, "vl:", &clock);
    let b = instance(&connection(&redis).await, "vl:", &clock);
    let bad = format!("grant_type=authorization_code&code=c&client_id={CLIENT}&client_secret=bad");
    assert_vl_error(&a.token(&bad).await, 401, 1001);
    assert_vl_error(&b.token(&bad).await, 401, 1001);
    assert_vl_error(&a.token(&bad).await, 401, 1001);
    let refused = b.token(&code_form("c")).await;
    assert_vl_error(&refused, 429, 1001);
    assert_eq!(header(&refused, "retry-after"), Some("60"));
    clock.advance(Duration::from_secs(60));
    let code = b.code().await;
    assert_eq!(a.token(&code_form(&code)).await.status(), 200);
}

async fn throttle(conn: RedisConnection) -> RedisThrottleStore {
    RedisThrottleStore::builder(conn)
        .key_prefix("t:")
        .timeout(TIMEOUT)
        .build()
        .unwrap()
}

#[tokio::test]
async fn redis_throttle_store_counts_a_fixed_window_per_key() {
    let Some(redis) = RedisServer::start_or_skip("redis throttle window") else {
        return;
    };
    let store = throttle(connection(&redis).await).await;
    let config = ThrottleConfig::new(2, Duration::from_secs(60));
    let t0 = std::time::UNIX_EPOCH + Duration::from_secs(1_711_954_264);
    let keys = [ThrottleKey::Client("VL001".into())];
    let ip = [ThrottleKey::Ip("127.0.0.1".parse().unwrap())];
    assert_eq!(store.reserve(&keys, &config, t0).await, Ok(None));
    let t10 = t0 + Duration::from_secs(10);
    assert_eq!(store.reserve(&keys, &config, t10).await, Ok(None));
    let t20 = t0 + Duration::from_secs(20);
    assert_eq!(
        store.reserve(&keys, &config, t20).await,
        Ok(Some(Duration::from_secs(40)))
    );
    assert_eq!(store.reserve(&ip, &config, t20).await, Ok(None));
    let t60 = t0 + Duration::from_secs(60);
    assert_eq!(
        store.reserve(&keys, &config, t60).await,
        Ok(None),
        "a new window"
    );
    assert_eq!(store.reserve(&keys, &config, t60).await, Ok(None));
    assert!(store.reserve(&keys, &config, t60).await.unwrap().is_some());
    // A success gives its place back; a release for an ended window changes nothing.
    store.release(&keys, &config, t60).await.unwrap();
    assert_eq!(store.reserve(&keys, &config, t60).await, Ok(None));
    store.release(&keys, &config, t0).await.unwrap();
    assert!(store.reserve(&keys, &config, t60).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_throttle_reservations_are_exact_under_concurrency() {
    let Some(redis) = RedisServer::start_or_skip("redis throttle concurrency") else {
        return;
    };
    let store = std::sync::Arc::new(throttle(connection(&redis).await).await);
    let config = ThrottleConfig::new(10, Duration::from_secs(60));
    let t0 = std::time::UNIX_EPOCH + Duration::from_secs(1_711_954_264);
    let keys = [
        ThrottleKey::Ip("127.0.0.1".parse().unwrap()),
        ThrottleKey::Client("VL001".into()),
    ];
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let (store, keys) = (store.clone(), keys.clone());
            tokio::spawn(async move { store.reserve(&keys, &config, t0).await })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        if task.await.unwrap().unwrap().is_none() {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 10);
    // Refused attempts gave back what they had taken: exactly the limit is counted per key.
    for key in &keys {
        let one = std::slice::from_ref(key);
        assert!(store.reserve(one, &config, t0).await.unwrap().is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_secrets_across_instances_never_exceed_the_limit() {
    let Some(redis) = RedisServer::start_or_skip("throttling concurrent guesses") else {
        return;
    };
    let clock = clock();
    let conn = connection(&redis).await;
    // Three failures a minute (see `instance`), 40 concurrent guesses over two instances.
    let a = std::sync::Arc::new(instance(&conn, "vl:", &clock));
    let b = std::sync::Arc::new(instance(&conn, "vl:", &clock));
    let bad = format!("grant_type=authorization_code&code=c&client_id={CLIENT}&client_secret=bad");
    let statuses = crate::concurrent_token_statuses(&[a, b], &bad, 40).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        37,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn different_key_prefixes_do_not_share_grants() {
    let Some(redis) = RedisServer::start_or_skip("key prefixes") else {
        return;
    };
    let clock = clock();
    let conn = connection(&redis).await;
    let a = instance(&conn, "east:", &clock);
    let b = instance(&conn, "west:", &clock);
    let code = a.code().await;
    assert_vl_error(&b.token(&code_form(&code)).await, 401, 1001);
    assert_eq!(a.token(&code_form(&code)).await.status(), 200);
}

#[tokio::test]
async fn store_settings_are_checked_and_debug_shows_no_connection_details() {
    let Some(redis) = RedisServer::start_or_skip("store settings") else {
        return;
    };
    let conn = connect(&redis.url(), TIMEOUT).await.unwrap();
    for bad in ["vl{", "a b", "x*"] {
        assert!(
            RedisStore::builder(conn.clone())
                .key_prefix(bad)
                .build()
                .is_err(),
            "{bad}"
        );
        assert!(
            RedisThrottleStore::builder(conn.clone())
                .key_prefix(bad)
                .build()
                .is_err()
        );
    }
    assert!(
        RedisStore::builder(conn.clone())
            .timeout(Duration::ZERO)
            .build()
            .is_err()
    );
    let store = RedisStore::builder(conn.clone()).build().unwrap();
    assert_eq!(
        format!("{store:?}"),
        "RedisStore { key_prefix: \"vl:\", timeout: 500ms, .. }"
    );
    assert_eq!(
        format!("{:?}", throttle(conn).await),
        "RedisThrottleStore { key_prefix: \"t:\", timeout: 500ms, .. }"
    );
    let err = connect("redis://:hunter2@127.0.0.1:1/", TIMEOUT)
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(connect("http://127.0.0.1/", TIMEOUT).await.is_err());
}
