//! The Redis store on real deployments beyond one plain endpoint: TLS with certificates made at
//! test time, a Sentinel-managed primary with a replica, and a three-primary cluster. On each:
//! the conformance suite, the redemption and refresh races, two instances sharing grants; with
//! replicas, every decision confirmed by one, and a failover that keeps them.

use std::time::{Duration, Instant};

use gameauth_vegaslounge::store::redis::{
    ClientCache, RedisConfig, RedisConnection, RedisFailure, ReplicaAcks, TlsConfig,
};
use testkit::redis::{Deployment, DeploymentKind, RedisServer};

use crate::redis_instances::replay_across_instances;
use crate::redis_store::{concurrent_redemptions, concurrent_refreshes, conformance_on};
use crate::redis_support::{clock, instance, instance_with_limit};
use crate::{Harness, assert_vl_error, body_json, code_form};

/// Deadline of one store operation on these deployments: wide, for a loaded machine.
const TIMEOUT: Duration = Duration::from_secs(3);

/// How long a replica gets to acknowledge a decision.
const ACK_WAIT: Duration = Duration::from_millis(1000);

/// How long a failover may take before the test fails: the sentinels or the cluster need a few
/// seconds; the rest is margin for a busy machine.
const FAILOVER_LIMIT: Duration = Duration::from_secs(45);

async fn connect(deployment: &Deployment) -> RedisConnection {
    let mut config = deployment.config().timeout(TIMEOUT);
    if deployment.has_replicas() {
        config = config.replica_acks(ReplicaAcks::new(1, ACK_WAIT).unwrap());
    }
    config.connect().await.expect("connect to the deployment")
}

/// The conformance suite (also with a client cache), the races and two instances sharing
/// grants, under `tag`.
async fn suites(deployment: &Deployment, tag: &str) {
    let conn = connect(deployment).await;
    conformance_on(&conn, tag).await;
    let mut cached = deployment
        .config()
        .timeout(TIMEOUT)
        .client_cache(ClientCache::new(1000).unwrap());
    if deployment.has_replicas() {
        cached = cached.replica_acks(ReplicaAcks::new(1, ACK_WAIT).unwrap());
    }
    let cached = cached.connect().await.expect("connect with a client cache");
    conformance_on(&cached, &format!("{tag}cached:")).await;
    let h = instance_with_limit(&conn, &format!("{tag}race:"), &clock(), 64);
    concurrent_redemptions(&h, 10).await;
    concurrent_refreshes(&h, 10).await;
    let clock = clock();
    let a = instance(&connect(deployment).await, &format!("{tag}shared:"), &clock);
    let b = instance(&connect(deployment).await, &format!("{tag}shared:"), &clock);
    replay_across_instances(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tls_redis_refuses_unknown_roots_and_missing_client_certificates_then_passes_every_suite() {
    let Some(deployment) = Deployment::start_or_skip(DeploymentKind::Tls, "tls redis") else {
        return;
    };
    let Deployment::Tls(server) = &deployment else {
        unreachable!()
    };
    let certs = server.certificates().expect("certificates");
    let system_roots = RedisConfig::single(server.url())
        .timeout(TIMEOUT)
        .connect()
        .await
        .expect_err("the test CA is not among the system roots");
    assert!(
        matches!(system_roots, RedisFailure::Unavailable(_)),
        "{system_roots}"
    );
    let no_client_cert = RedisConfig::single(server.url())
        .tls(TlsConfig::system_roots().with_ca_file(certs.ca()).unwrap())
        .timeout(TIMEOUT)
        .connect()
        .await;
    assert!(
        no_client_cert.is_err(),
        "the server requires a client certificate"
    );
    let plain = RedisConfig::single(server.url().replace("rediss://", "redis://"))
        .timeout(TIMEOUT)
        .connect()
        .await;
    assert!(plain.is_err(), "plain RESP to the TLS port must fail");
    suites(&deployment, "tls:").await;
}

/// Polls `/account` until it answers 200, returning how long that took, or `None` after
/// `limit`.
async fn recovery(h: &Harness, access: &str, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if h.account(access).await.status() == 200 {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Decisions taken before a failover (a live pair, a replay that revoked a grant) and what must
/// hold after it.
struct Decisions {
    live_access: String,
    revoked_access: String,
    replayed_code: String,
}

async fn decide(h: &Harness) -> Decisions {
    let (live_access, _) = h.tokens().await;
    let replayed_code = h.code().await;
    let tokens = body_json(&h.token(&code_form(&replayed_code)).await);
    let revoked_access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_vl_error(&h.token(&code_form(&replayed_code)).await, 401, 1001);
    assert_vl_error(&h.account(&revoked_access).await, 401, 1001);
    Decisions {
        live_access,
        revoked_access,
        replayed_code,
    }
}

/// After the failover: reads come back at once (the revoked token stays revoked); decisions
/// need a replica again, so `restart_old` brings the killed node back and waits until it is an
/// in-sync replica, after which a replay is still refused and new logins work.
async fn check_after_failover(h: &Harness, d: &Decisions, restart_old: impl FnOnce()) {
    let waited = recovery(h, &d.live_access, FAILOVER_LIMIT).await;
    assert!(
        waited.is_some(),
        "the store did not follow the new primary within {FAILOVER_LIMIT:?}"
    );
    assert_vl_error(&h.account(&d.revoked_access).await, 401, 1001);
    restart_old();
    assert!(
        recovery_of_writes(h, FAILOVER_LIMIT).await,
        "decisions are confirmed again once the old primary is back as a replica"
    );
    assert_vl_error(&h.account(&d.revoked_access).await, 401, 1001);
    assert_vl_error(&h.token(&code_form(&d.replayed_code)).await, 401, 1001);
    let (access, _) = h.tokens().await;
    assert_eq!(h.account(&access).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sentinel_set_passes_every_suite_refuses_unconfirmed_decisions_and_keeps_them_across_a_failover()
 {
    let Some(deployment) = Deployment::start_or_skip(DeploymentKind::Sentinel, "sentinel redis")
    else {
        return;
    };
    suites(&deployment, "sentinel:").await;
    let Deployment::Sentinel(set) = &deployment else {
        unreachable!()
    };
    let conn = connect(&deployment).await;
    let h = instance(&conn, "failover:", &clock());

    // With the replica hung, a revocation cannot be confirmed: a clean 503, not a 401 that a
    // failover could undo.
    let primary = set.primary_port().expect("a primary");
    let replica = set
        .servers()
        .iter()
        .find(|s| s.port() != primary)
        .expect("a replica");
    let code = h.code().await;
    assert_eq!(h.token(&code_form(&code)).await.status(), 200);
    replica.pause();
    let started = Instant::now();
    assert_vl_error(&h.token(&code_form(&code)).await, 503, 1003);
    assert!(
        started.elapsed() >= ACK_WAIT / 2,
        "answered before the replica could have: {:?}",
        started.elapsed()
    );
    replica.resume();
    assert!(
        recovery_of_writes(&h, Duration::from_secs(15)).await,
        "decisions are confirmed again once the replica answers"
    );

    let decisions = decide(&h).await;
    let old = set.kill_primary();
    assert!(
        set.wait_for_new_primary(old, FAILOVER_LIMIT),
        "the sentinels did not promote the replica"
    );
    check_after_failover(&h, &decisions, || {
        let primary = set.primary_port().expect("the new primary");
        set.server(old)
            .expect("the old primary")
            .restart_as_replica_of(primary);
        assert!(
            set.wait_for_replica(old, FAILOVER_LIMIT),
            "the old primary did not rejoin as a replica"
        );
    })
    .await;
}

/// Polls a fresh login until it succeeds within `limit`.
async fn recovery_of_writes(h: &Harness, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        let code = h.code().await;
        if h.token(&code_form(&code)).await.status() == 200 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_passes_every_suite_and_keeps_confirmed_decisions_across_a_primary_failover() {
    let Some(deployment) = Deployment::start_or_skip(DeploymentKind::Cluster, "cluster redis")
    else {
        return;
    };
    suites(&deployment, "cluster:").await;
    let Deployment::Cluster(cluster) = &deployment else {
        unreachable!()
    };
    let conn = connect(&deployment).await;
    let h = instance(&conn, "failover:", &clock());
    let decisions = decide(&h).await;
    let old = cluster.kill_a_primary();
    assert!(
        cluster.wait_for_failover(old, FAILOVER_LIMIT),
        "the cluster did not promote a replica"
    );
    check_after_failover(&h, &decisions, || {
        cluster.restart_node(old);
        assert!(
            cluster.wait_until_healthy(FAILOVER_LIMIT),
            "the old primary did not rejoin as a replica"
        );
    })
    .await;
}

#[tokio::test]
async fn replica_confirmation_needs_a_shorter_wait_than_the_timeout() {
    let Some(redis) = RedisServer::start_or_skip("replica confirmation settings") else {
        return;
    };
    let err = RedisConfig::single(redis.url())
        .timeout(Duration::from_millis(500))
        .replica_acks(ReplicaAcks::new(1, Duration::from_secs(1)).unwrap())
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, RedisFailure::Config(_)), "{err}");
    // A lone server has no replica: a confirmed decision is refused after the wait.
    let conn = RedisConfig::single(redis.url())
        .timeout(Duration::from_secs(2))
        .replica_acks(ReplicaAcks::new(1, Duration::from_millis(100)).unwrap())
        .connect()
        .await
        .unwrap();
    let h = instance(&conn, "lone:", &clock());
    let code = h.code().await;
    assert_vl_error(&h.token(&code_form(&code)).await, 503, 1003);
}
