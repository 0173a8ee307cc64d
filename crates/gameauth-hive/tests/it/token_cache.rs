//! The server OAuth token (verification with `VerifyAccessToken::Server`, and the v2 IdP list):
//! cached, refreshed ahead of expiry, fetched once for concurrent callers, retried once, replaced
//! once when Hive refuses it.

use std::sync::Arc;
use std::time::Duration;

use gameauth_core::ManualClock;
use gameauth_hive::{AttemptFailure, Client, Error, OAuthCode, ServedBy};
use serde_json::json;
use wiremock::matchers::{header, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const NOW: i64 = 1_711_954_264;

fn client(server: &MockServer, clock: &ManualClock) -> Client {
    server_builder()
        .primary_url(server.uri())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

/// Mounts a token endpoint that answers `token` for the next `times` requests.
async fn token_once(server: &MockServer, token: &str, times: u64) {
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_answer(token)))
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
}

/// Mounts a verify endpoint that succeeds only for `access_token`.
async fn verified_for(server: &MockServer, access_token: &str, times: u64) {
    Mock::given(path("/v2/game/token/get-token"))
        .and(header("x-access-token", access_token))
        .respond_with(ResponseTemplate::new(200).set_body_json(verified_answer()))
        .expect(times)
        .mount(server)
        .await;
}

async fn token_requests(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/oauth/token")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_fetch_serves_32_concurrent_callers() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_answer("server-jwt"))
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    verified_for(&server, "server-jwt", 32).await;
    let client = client(&server, &ManualClock::at_unix_seconds(NOW));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.verify_token(&server_params()).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().player_id, PLAYER_ID);
    }
    server.verify().await;
}

#[tokio::test]
async fn unbounded_timeouts_are_accepted_and_verification_still_works() {
    let server = MockServer::start().await;
    token_once(&server, "server-jwt", 1).await;
    verified_for(&server, "server-jwt", 1).await;
    let client = server_builder()
        .primary_url(server.uri())
        .clock(Arc::new(ManualClock::at_unix_seconds(NOW)))
        .primary_timeout(Duration::MAX)
        .fallback_timeout(Duration::MAX)
        .deadline(Duration::MAX)
        .oauth_attempt_timeout(Duration::MAX)
        .oauth_deadline(Duration::MAX)
        .build()
        .unwrap();
    assert_eq!(
        client
            .verify_token(&server_params())
            .await
            .unwrap()
            .player_id,
        PLAYER_ID
    );
    server.verify().await;
}

#[tokio::test]
async fn token_is_refreshed_60_s_before_its_jwt_exp() {
    let server = MockServer::start().await;
    let (first, second) = (jwt(NOW + 600, "a"), jwt(NOW + 4000, "b"));
    token_once(&server, &first, 1).await;
    token_once(&server, &second, 1).await;
    verified_for(&server, &first, 2).await;
    verified_for(&server, &second, 1).await;
    let clock = ManualClock::at_unix_seconds(NOW);
    let client = client(&server, &clock);

    client.verify_token(&server_params()).await.unwrap();
    clock.set_unix_seconds(NOW + 600 - 61);
    client.verify_token(&server_params()).await.unwrap();
    assert_eq!(
        token_requests(&server).await,
        1,
        "still outside the 60 s window"
    );
    clock.set_unix_seconds(NOW + 600 - 59);
    client.verify_token(&server_params()).await.unwrap();
    assert_eq!(
        token_requests(&server).await,
        2,
        "refreshed inside the window"
    );
    server.verify().await;
}

#[tokio::test]
async fn without_a_readable_exp_the_token_lives_one_hour_from_issue() {
    let server = MockServer::start().await;
    token_once(&server, "opaque-1", 1).await;
    token_once(&server, "opaque-2", 1).await;
    verified_for(&server, "opaque-1", 2).await;
    verified_for(&server, "opaque-2", 1).await;
    let clock = ManualClock::at_unix_seconds(NOW);
    let client = client(&server, &clock);

    client.verify_token(&server_params()).await.unwrap();
    clock.set_unix_seconds(NOW + 3600 - 61);
    client.verify_token(&server_params()).await.unwrap();
    clock.set_unix_seconds(NOW + 3600 - 59);
    client.verify_token(&server_params()).await.unwrap();
    server.verify().await;
}

#[tokio::test]
async fn access_token_refused_with_2499_is_replaced_once_and_the_call_retried() {
    let server = MockServer::start().await;
    token_once(&server, "stale", 1).await;
    token_once(&server, "fresh", 1).await;
    Mock::given(path("/v2/game/token/get-token"))
        .and(header("x-access-token", "stale"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 2499, "result_msg": "JWT verification failed"
        })))
        .expect(1)
        .mount(&server)
        .await;
    verified_for(&server, "fresh", 2).await;
    let client = client(&server, &ManualClock::at_unix_seconds(NOW));
    let v = client.verify_token(&server_params()).await.unwrap();
    assert_eq!((v.player_id, v.served_by), (PLAYER_ID, ServedBy::Primary));
    client.verify_token(&server_params()).await.unwrap();
    server.verify().await;
}

#[tokio::test]
async fn failed_token_validation_is_treated_like_2499() {
    let server = MockServer::start().await;
    token_once(&server, "stale", 1).await;
    token_once(&server, "fresh", 1).await;
    Mock::given(path("/v2/game/player/get-idp"))
        .and(header("x-access-token", "stale"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 0,
            "result_msg": "SUCCESS",
            "token_validation": {"result_code": 1, "result_msg": "expired"},
            "data": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v2/game/player/get-idp"))
        .and(header("x-access-token", "fresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 0,
            "data": [{"seq": 1, "player_id": 5, "idp_user_id": "u", "idp_index": 3, "idp_id": "GOOGLE"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, &ManualClock::at_unix_seconds(NOW));
    let list = client.idp_list(5).await.unwrap();
    assert_eq!(
        list.accounts.len(),
        1,
        "the answer under the refused token is not used"
    );
    server.verify().await;
}

#[tokio::test]
async fn a_refusal_after_the_refresh_is_access_token_rejected() {
    let server = MockServer::start().await;
    token_once(&server, "t1", 1).await;
    token_once(&server, "t2", 1).await;
    Mock::given(path("/v2/game/token/get-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result_code": 2499, "result_msg": "JWT verification failed"
        })))
        .expect(2)
        .mount(&server)
        .await;
    let client = client(&server, &ManualClock::at_unix_seconds(NOW));
    match client.verify_token(&server_params()).await {
        Err(Error::AccessTokenRejected { code, message }) => {
            assert_eq!(code, 2499);
            assert_eq!(message, "JWT verification failed");
        }
        other => panic!("{other:?}"),
    }
    server.verify().await;
}

#[tokio::test]
async fn oauth_token_is_retried_once_on_a_5xx() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    token_once(&server, "server-jwt", 1).await;
    verified_for(&server, "server-jwt", 1).await;
    let client = client(&server, &ManualClock::at_unix_seconds(NOW));
    client.verify_token(&server_params()).await.unwrap();
    server.verify().await;
}

#[tokio::test]
async fn oauth_token_gets_exactly_one_retry() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(502))
        .expect(2)
        .mount(&server)
        .await;
    mount_verified(&server, 0).await;
    let client = client(&server, &ManualClock::at_unix_seconds(NOW));
    match client.verify_token(&server_params()).await {
        Err(Error::Unavailable(u)) => {
            assert_eq!(u.primary, AttemptFailure::Status(502));
            assert_eq!(u.fallback, None);
        }
        other => panic!("{other:?}"),
    }
    server.verify().await;
}

#[tokio::test]
async fn oauth_token_comes_only_from_the_primary_host() {
    let (primary, fallback) = (MockServer::start().await, MockServer::start().await);
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(503))
        .expect(2)
        .mount(&primary)
        .await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_answer("x")))
        .expect(0)
        .mount(&fallback)
        .await;
    let client = server_builder()
        .primary_url(primary.uri())
        .fallback_url(fallback.uri())
        .build()
        .unwrap();
    assert!(matches!(
        client.verify_token(&server_params()).await,
        Err(Error::Unavailable(_))
    ));
    primary.verify().await;
    fallback.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_queued_behind_a_failed_fetch_share_its_error() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"result_code": 4001, "result_msg": "client auth failed"}))
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, &ManualClock::at_unix_seconds(NOW));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.verify_token(&server_params()).await })
        })
        .collect();
    for t in tasks {
        assert!(matches!(
            t.await.unwrap(),
            Err(Error::OAuthRejected {
                code: OAuthCode::ClientAuthenticationFailed,
                ..
            })
        ));
    }
    server.verify().await;
}

#[tokio::test]
async fn a_later_call_after_a_failed_fetch_tries_again() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result_code": 5000})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    token_once(&server, "server-jwt", 1).await;
    verified_for(&server, "server-jwt", 1).await;
    let client = client(&server, &ManualClock::at_unix_seconds(NOW));
    assert!(client.verify_token(&server_params()).await.is_err());
    client.verify_token(&server_params()).await.unwrap();
    server.verify().await;
}
