//! The Redis store on a connection with a client cache (`RedisConfig::client_cache`): it passes
//! the conformance suite, `/account` stops asking Redis for a token it has seen, a revocation
//! made through another instance reaches it, one made through itself is seen at once, and a
//! Redis that stops answering is not papered over by the cache.

use std::time::{Duration, Instant};

use gameauth_vegaslounge::store::redis::{ClientCache, RedisConfig, RedisConnection};
use testkit::redis::RedisServer;

use crate::redis_store::conformance_on;
use crate::redis_support::{TIMEOUT, clock, instance};
use crate::{assert_vl_error, body_json, code_form};

/// How long a revocation made elsewhere may take to reach a cached instance before the test
/// fails: the invalidation crosses loopback in well under a millisecond; the rest is margin for
/// a busy machine.
const REACH_LIMIT: Duration = Duration::from_secs(5);

async fn cached_connection(redis: &RedisServer) -> RedisConnection {
    RedisConfig::single(redis.url())
        .timeout(TIMEOUT)
        .client_cache(ClientCache::new(1000).unwrap())
        .connect()
        .await
        .expect("connect with a client cache")
}

/// How many `HGET`s the server has run, from `INFO commandstats`.
async fn hget_calls(redis: &RedisServer) -> u64 {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_hget:calls="))
        .map_or(0, |rest| {
            rest.split(',')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_store_on_a_cached_connection_passes_the_conformance_suite() {
    let Some(redis) = RedisServer::start_or_skip("client cache conformance") else {
        return;
    };
    let conn = cached_connection(&redis).await;
    assert!(conn.has_client_cache());
    conformance_on(&conn, "cached:").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn account_calls_for_a_known_token_are_answered_from_the_cache() {
    let Some(redis) = RedisServer::start_or_skip("client cache hits") else {
        return;
    };
    let h = instance(&cached_connection(&redis).await, "hits:", &clock());
    let (access, _) = h.tokens().await;
    // The first call learns where the grant lives; the second reads (and caches) its field.
    assert_eq!(h.account(&access).await.status(), 200);
    assert_eq!(h.account(&access).await.status(), 200);
    let before = hget_calls(&redis).await;
    for _ in 0..50 {
        assert_eq!(h.account(&access).await.status(), 200);
    }
    let asked = hget_calls(&redis).await - before;
    // The cache answers while the heartbeat keeps proving the connection (every 200 ms, trusted
    // for 1 s); only a machine stalled for over a second makes a call ask Redis again.
    assert!(asked < 10, "50 cached calls asked Redis {asked} times");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_through_another_instance_reaches_a_cached_instance() {
    let Some(redis) = RedisServer::start_or_skip("client cache invalidation") else {
        return;
    };
    let clock = clock();
    let a = instance(&cached_connection(&redis).await, "shared:", &clock);
    let b = instance(&cached_connection(&redis).await, "shared:", &clock);
    let code = a.code().await;
    let tokens = body_json(&b.token(&code_form(&code)).await);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        assert_eq!(a.account(&access).await.status(), 200, "A caches B's token");
    }
    // A replay through B revokes the grant in Redis; Redis tells A's connection.
    assert_vl_error(&b.token(&code_form(&code)).await, 401, 1001);
    let started = Instant::now();
    loop {
        let status = a.account(&access).await.status();
        if status == 401 {
            break;
        }
        assert_eq!(status, 200, "only the cached answer may still show");
        assert!(
            started.elapsed() < REACH_LIMIT,
            "the revocation did not reach the cached instance within {REACH_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_through_the_cached_instance_itself_is_seen_at_once() {
    let Some(redis) = RedisServer::start_or_skip("client cache read-your-writes") else {
        return;
    };
    let h = instance(&cached_connection(&redis).await, "own:", &clock());
    for _ in 0..20 {
        let code = h.code().await;
        let tokens = body_json(&h.token(&code_form(&code)).await);
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        assert_eq!(h.account(&access).await.status(), 200);
        assert_eq!(h.account(&access).await.status(), 200);
        assert_vl_error(&h.token(&code_form(&code)).await, 401, 1001);
        // The replay's script ran on the cached connection: the invalidation came before its
        // answer, so the very next call must not see the token.
        assert_vl_error(&h.account(&access).await, 401, 1001);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_that_stops_answering_is_not_hidden_by_the_cache() {
    let Some(redis) = RedisServer::start_or_skip("client cache and a hung server") else {
        return;
    };
    let h = instance(&cached_connection(&redis).await, "hung:", &clock());
    let (access, _) = h.tokens().await;
    for _ in 0..3 {
        assert_eq!(h.account(&access).await.status(), 200);
    }
    redis.pause();
    // Past the heartbeat's trust (1 s after the last answered PING), a cached token is asked of
    // Redis again, which does not answer: a clean 503, as without a cache.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let during = h.account(&access).await;
    redis.resume();
    assert_vl_error(&during, 503, 1003);
    let started = Instant::now();
    while h.account(&access).await.status() != 200 {
        assert!(
            started.elapsed() < REACH_LIMIT,
            "the instance did not recover"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
