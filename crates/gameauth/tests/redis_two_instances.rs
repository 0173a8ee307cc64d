//! Two `gameauth vegaslounge serve` processes sharing one Redis — a plain `redis-server`, a TLS
//! one with certificates made at test time, a Sentinel-managed primary with a replica, and a
//! three-primary cluster: a code issued through one is redeemed through the other, a refresh
//! through the first rotates it, and a replay through the first is refused and revokes the
//! grant on both. The README's "Running several instances (Redis)" walks through the same steps
//! by hand.

#![cfg(unix)]

use testkit::redis::{Deployment, DeploymentKind, RedisServer};

mod support;

use support::vegaslounge::{
    Instance, account, code_from, deployment_store, http, plain_store, serve_config, token,
    write_config,
};

/// The scenario on two instances started from the `[store]` section `store`.
async fn two_instances(name: &str, store: &str) {
    let path = write_config(name, &serve_config(store, &["p0".to_owned()], false));
    let a = Instance::start(&path);
    let b = Instance::start(&path);
    let client = http();

    let code = code_from(&client, &a.base).await;
    let (status, tokens) = token(
        &client,
        &b.base,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    for base in [&a.base, &b.base] {
        let (status, body) = account(&client, base, &access).await.unwrap();
        assert_eq!(
            (status, body["playerId"].as_str()),
            (200, Some("player-p0")),
            "{base}"
        );
    }

    // A refresh through A rotates the pair issued through B.
    let (status, rotated) = token(
        &client,
        &a.base,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{rotated}");
    let new_access = rotated["access_token"].as_str().unwrap().to_owned();
    assert_eq!(account(&client, &b.base, &new_access).await.unwrap().0, 200);
    assert_eq!(
        account(&client, &b.base, &access).await.unwrap().0,
        401,
        "rotation killed the old pair"
    );

    // The code again, through A: refused, and every token of the grant dies on both instances.
    let (status, body) = token(
        &client,
        &a.base,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await
    .unwrap();
    assert_eq!(
        (status, &body["errorCode"]),
        (401, &serde_json::json!(1001)),
        "{body}"
    );
    for base in [&a.base, &b.base] {
        let (status, body) = account(&client, base, &new_access).await.unwrap();
        assert_eq!(
            (status, &body["errorCode"]),
            (401, &serde_json::json!(1001)),
            "{base}"
        );
    }
    let new_refresh = rotated["refresh_token"].as_str().unwrap();
    let (status, _) = token(
        &client,
        &b.base,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", new_refresh),
        ],
    )
    .await
    .unwrap();
    assert_eq!(status, 401, "the grant's refresh token is revoked too");

    a.stop();
    b.stop();
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn code_issued_through_one_instance_is_redeemed_through_the_other_and_a_replay_through_the_first_revokes_the_grant()
 {
    let Some(redis) = RedisServer::start_or_skip("two gameauth instances") else {
        return;
    };
    two_instances("redis-two-instances", &plain_store(&redis)).await;
}

/// On TLS, Sentinel and Cluster the instances also keep a client cache (RESP3 with
/// `CLIENT TRACKING`); the failover tests run the same deployments without one.
async fn on(kind: DeploymentKind, name: &str) {
    let Some(deployment) = Deployment::start_or_skip(kind, name) else {
        return;
    };
    let store = format!(
        "{}[store.client_cache]\nentries = 1000\n",
        deployment_store(&deployment)
    );
    two_instances(name, &store).await;
}

#[tokio::test]
async fn two_instances_share_grants_on_tls_redis() {
    on(DeploymentKind::Tls, "redis-two-instances-tls").await;
}

#[tokio::test]
async fn two_instances_share_grants_through_sentinel() {
    on(DeploymentKind::Sentinel, "redis-two-instances-sentinel").await;
}

#[tokio::test]
async fn two_instances_share_grants_on_a_cluster() {
    on(DeploymentKind::Cluster, "redis-two-instances-cluster").await;
}
