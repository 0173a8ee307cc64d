//! `RedisDedupStore`: webhook de-duplication shared by several instances, on a private
//! `redis-server`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gameauth_core::{AuthError, async_trait};
use gameauth_creditpay::redis_dedup::{RedisConfig, RedisConnection};
use gameauth_creditpay::webhook::MIN_DEDUP_TTL;
use gameauth_creditpay::{
    Error, Recorded, RedisDedupStore, WebhookDedupStore, WebhookDelivery, WebhookHandler,
    WebhookSink,
};
use http::StatusCode;
use testkit::redis::{Deployment, DeploymentKind, RedisServer};

use crate::support::*;

const TIMEOUT: Duration = Duration::from_millis(500);

async fn connection(redis: &RedisServer) -> RedisConnection {
    RedisConfig::single(redis.url())
        .timeout(TIMEOUT)
        .connect()
        .await
        .unwrap()
}

fn store(conn: RedisConnection) -> RedisDedupStore {
    RedisDedupStore::builder(conn)
        .key_prefix("cp:webhook:")
        .build()
        .unwrap()
}

#[derive(Default)]
struct Counter(AtomicUsize);

#[async_trait]
impl WebhookSink for Counter {
    async fn handle(&self, _: &WebhookDelivery) -> Result<(), AuthError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn handler(store: RedisDedupStore, sink: Arc<Counter>) -> WebhookHandler {
    WebhookHandler::builder()
        .verifier(verifier(WEBHOOK_ROUTE))
        .store(Arc::new(store))
        .sink(sink)
        .build()
        .unwrap()
}

fn delivery(event_id: &str) -> http::Request<bytes::Bytes> {
    let body = format!(
        r#"{{"type":"PAY_SUCCESS","platform_id":"{PLAT_ID}","retry":0,"event_id":"{event_id}","data":{{"orderNo":"P1","amount":"100.00","currency":"CNY"}}}}"#
    );
    signed_request(WEBHOOK_ROUTE, KEY, &body, &[])
}

async fn pttl(conn: &mut RedisConnection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query_async(conn).await.unwrap()
}

#[tokio::test]
async fn an_event_is_claimed_once_then_remembered_for_the_ttl() {
    let Some(redis) = RedisServer::start_or_skip("redis dedup record") else {
        return;
    };
    let mut conn = connection(&redis).await;
    let s = store(conn.clone());
    let lease = Duration::from_secs(120);
    assert_eq!(s.claim("ev-1", lease).await.unwrap(), Recorded::New);
    assert_eq!(s.claim("ev-1", lease).await.unwrap(), Recorded::InProgress);
    let ttl = pttl(&mut conn, "cp:webhook:ev-1").await;
    assert!(ttl > 60_000 && ttl <= 120_000, "claim TTL {ttl} ms");
    s.complete("ev-1", MIN_DEDUP_TTL).await.unwrap();
    assert_eq!(s.claim("ev-1", lease).await.unwrap(), Recorded::Duplicate);
    let ttl = pttl(&mut conn, "cp:webhook:ev-1").await;
    let day = i64::try_from(MIN_DEDUP_TTL.as_millis()).unwrap();
    assert!(ttl > day - 60_000 && ttl <= day, "record TTL {ttl} ms");
    s.forget("ev-1").await.unwrap();
    assert_eq!(
        s.claim("ev-1", lease).await.unwrap(),
        Recorded::Duplicate,
        "forget never drops a processed record"
    );

    // A claim is dropped by forget, or lapses by itself.
    assert_eq!(s.claim("ev-2", lease).await.unwrap(), Recorded::New);
    s.forget("ev-2").await.unwrap();
    assert_eq!(
        s.claim("ev-2", Duration::from_millis(50)).await.unwrap(),
        Recorded::New
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        s.claim("ev-2", lease).await.unwrap(),
        Recorded::New,
        "a lapsed claim no longer holds the event"
    );

    // The scripts survive a SCRIPT FLUSH.
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(s.claim("ev-3", lease).await.unwrap(), Recorded::New);
    s.forget("ev-3").await.unwrap();
    assert_eq!(s.claim("ev-3", lease).await.unwrap(), Recorded::New);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_of_one_event_are_claimed_once() {
    let Some(redis) = RedisServer::start_or_skip("redis dedup race") else {
        return;
    };
    let conn = connection(&redis).await;
    for round in 0..10 {
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let s = store(conn.clone());
                tokio::spawn(async move {
                    s.claim(&format!("ev-race-{round}"), Duration::from_secs(120))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut new = 0;
        for t in tasks {
            match t.await.unwrap() {
                Recorded::New => new += 1,
                Recorded::InProgress => {}
                Recorded::Duplicate => panic!("nothing was completed"),
            }
        }
        assert_eq!(new, 1, "round {round}");
    }
}

#[tokio::test]
async fn two_instances_process_a_redelivered_event_once() {
    let Some(redis) = RedisServer::start_or_skip("redis dedup two instances") else {
        return;
    };
    let sink = Arc::new(Counter::default());
    let a = handler(store(connection(&redis).await), sink.clone());
    let b = handler(store(connection(&redis).await), sink.clone());
    assert_eq!(
        a.handle(delivery("ev-shared")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        b.handle(delivery("ev-shared")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        a.handle(delivery("ev-shared")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        sink.0.load(Ordering::SeqCst),
        1,
        "processed once across instances"
    );
    assert_eq!(
        b.handle(delivery("ev-other")).await.status(),
        StatusCode::OK
    );
    assert_eq!(sink.0.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn redis_down_is_never_acknowledged_and_the_event_is_processed_after_recovery() {
    let Some(redis) = RedisServer::start_or_skip("redis dedup outage") else {
        return;
    };
    let sink = Arc::new(Counter::default());
    let h = handler(store(connection(&redis).await), sink.clone());
    redis.kill();
    let started = Instant::now();
    let response = h.handle(delivery("ev-outage")).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < GENEROUS, "{:?}", started.elapsed());
    assert_eq!(
        sink.0.load(Ordering::SeqCst),
        0,
        "nothing processed unrecorded"
    );

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    while status != StatusCode::OK && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = h.handle(delivery("ev-outage")).await.status();
    }
    assert_eq!(
        status,
        StatusCode::OK,
        "Credit Pay's redelivery succeeds once Redis is back"
    );
    assert_eq!(sink.0.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn prefix_and_timeout_are_checked_and_debug_is_pinned() {
    let Some(redis) = RedisServer::start_or_skip("redis dedup settings") else {
        return;
    };
    let conn = connection(&redis).await;
    for bad in ["cp{", "a b", "x*", &"p".repeat(65)] {
        assert!(matches!(
            RedisDedupStore::builder(conn.clone())
                .key_prefix(bad)
                .build(),
            Err(Error::Config(_))
        ));
    }
    assert!(matches!(
        RedisDedupStore::builder(conn.clone())
            .timeout(Duration::ZERO)
            .build(),
        Err(Error::Config(_))
    ));
    assert_eq!(
        format!(
            "{:?}",
            RedisDedupStore::builder(conn.clone()).build().unwrap()
        ),
        "RedisDedupStore { key_prefix: \"cp:webhook:\", timeout: 500ms, .. }"
    );
    assert_eq!(
        format!("{:?}", store(conn)),
        "RedisDedupStore { key_prefix: \"cp:webhook:\", timeout: 500ms, .. }"
    );
}

/// Claims, completion and two instances sharing de-duplication on `deployment`.
async fn dedup_on(deployment: &Deployment) {
    let conn = deployment
        .config()
        .timeout(Duration::from_secs(3))
        .connect()
        .await
        .expect("connect to the deployment");
    let s = store(conn.clone());
    let lease = Duration::from_secs(120);
    for i in 0..20 {
        let event = format!("ev-topology-{i}");
        assert_eq!(s.claim(&event, lease).await.unwrap(), Recorded::New);
        assert_eq!(s.claim(&event, lease).await.unwrap(), Recorded::InProgress);
        s.complete(&event, MIN_DEDUP_TTL).await.unwrap();
        assert_eq!(s.claim(&event, lease).await.unwrap(), Recorded::Duplicate);
    }
    let sink = Arc::new(Counter::default());
    let a = handler(store(conn), sink.clone());
    let other = deployment
        .config()
        .timeout(Duration::from_secs(3))
        .connect()
        .await
        .unwrap();
    let b = handler(store(other), sink.clone());
    for _ in 0..2 {
        assert_eq!(
            a.handle(delivery("ev-shared")).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            b.handle(delivery("ev-shared")).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        sink.0.load(Ordering::SeqCst),
        1,
        "processed once across instances"
    );
}

#[tokio::test]
async fn dedup_runs_on_tls_sentinel_and_cluster() {
    for kind in [
        DeploymentKind::Tls,
        DeploymentKind::Sentinel,
        DeploymentKind::Cluster,
    ] {
        let Some(deployment) = Deployment::start_or_skip(kind, "redis dedup topologies") else {
            return;
        };
        dedup_on(&deployment).await;
    }
}
