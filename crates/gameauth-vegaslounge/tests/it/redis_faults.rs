//! The Redis grant store when Redis misbehaves: killed, hung, restarted, script cache flushed.

use std::time::{Duration, Instant};

use testkit::redis::RedisServer;

use crate::redis_support::{TIMEOUT, clock, connection, instance};
use crate::{Harness, assert_vl_error, body_json, code_form, form_post, refresh_form};

/// The store's deadline plus generous slack for a loaded machine: a real-socket bound on "answers
/// 503 within the timeout", not a speed target.
const OUTAGE_BOUND: Duration = TIMEOUT.saturating_add(Duration::from_secs(2));

/// Polls `/account` until it answers 200 or `limit` passes.
async fn recovers(h: &Harness, access: &str, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if h.account(access).await.status() == 200 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn killed_redis_is_503_within_the_timeout_and_a_persistent_restart_recovers_without_restarting_the_service()
 {
    let Some(redis) = RedisServer::start_persistent_or_skip("redis killed mid-flow") else {
        return;
    };
    let conn = connection(&redis).await;
    let h = instance(&conn, "kill:", &clock());
    let (access, refresh) = h.tokens().await;
    let code = h.code().await;

    redis.kill();
    for attempt in 0..3 {
        let started = Instant::now();
        let response = h.account(&access).await;
        assert!(
            started.elapsed() < OUTAGE_BOUND,
            "attempt {attempt} took {:?}",
            started.elapsed()
        );
        assert_vl_error(&response, 503, 1003);
    }
    let started = Instant::now();
    assert_vl_error(&h.token(&code_form(&code)).await, 503, 1003);
    assert_vl_error(
        &h.send(form_post("/oauth2.0/refresh", &refresh_form(&refresh)))
            .await,
        503,
        1003,
    );
    assert!(started.elapsed() < OUTAGE_BOUND * 2);

    redis.restart();
    assert!(
        recovers(&h, &access, Duration::from_secs(15)).await,
        "the service must reconnect by itself once Redis is back"
    );
    // Everything written before the crash survived, and writes work again.
    let exchanged = h.token(&code_form(&code)).await;
    assert_eq!(
        exchanged.status(),
        200,
        "the code issued before the crash is still good"
    );
    let rotated = h
        .send(form_post("/oauth2.0/refresh", &refresh_form(&refresh)))
        .await;
    assert_eq!(rotated.status(), 200);
    assert_vl_error(&h.account(&access).await, 401, 1001);
}

#[tokio::test]
async fn hung_redis_is_503_within_the_timeout_and_recovers_when_it_answers_again() {
    let Some(redis) = RedisServer::start_or_skip("redis hung mid-flow") else {
        return;
    };
    let conn = connection(&redis).await;
    let h = instance(&conn, "hang:", &clock());
    let (access, _) = h.tokens().await;
    let code = h.code().await;

    redis.pause();
    let started = Instant::now();
    let response = h.account(&access).await;
    let waited = started.elapsed();
    assert_vl_error(&response, 503, 1003);
    assert!(
        waited >= TIMEOUT / 2,
        "answered before any deadline: {waited:?}"
    );
    assert!(waited < OUTAGE_BOUND, "waited {waited:?} for a hung Redis");
    assert_vl_error(&h.token(&code_form(&code)).await, 503, 1003);

    redis.resume();
    assert!(recovers(&h, &access, Duration::from_secs(15)).await);
}

#[tokio::test]
async fn script_flush_mid_run_is_not_an_error() {
    let Some(redis) = RedisServer::start_or_skip("SCRIPT FLUSH mid-run") else {
        return;
    };
    let mut conn = connection(&redis).await;
    let h = instance(&conn, "flush:", &clock());
    let bad = "grant_type=authorization_code&code=x&client_id=VL001&client_secret=wrong";
    for round in 0..3 {
        let (_, refresh) = h.tokens().await;
        assert_vl_error(&h.token(bad).await, 401, 1001);
        let () = redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut conn)
            .await
            .unwrap();
        let response = h
            .send(form_post("/oauth2.0/refresh", &refresh_form(&refresh)))
            .await;
        assert_eq!(response.status(), 200, "round {round}");
        let access = body_json(&response)["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let () = redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut conn)
            .await
            .unwrap();
        // Redeem, throttle counting and revocation each reload their script.
        let code = h.code().await;
        let () = redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(h.token(&code_form(&code)).await.status(), 200);
        assert_vl_error(&h.token(bad).await, 401, 1001);
        assert_eq!(h.account(&access).await.status(), 200);
        let () = redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(h.server.store().revoke_player(crate::PLAYER).await, Ok(2));
        assert_vl_error(&h.account(&access).await, 401, 1001);
        // Let the failure window (3 a minute) end before the next round.
        h.advance(61);
    }
}
