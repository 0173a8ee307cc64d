//! Primary → fallback routing, deadline and breaker, checked on tokio's paused clock with an
//! in-memory stand-in for both hosts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use gameauth_core::{HttpTransport, TransportError, TransportErrorKind};
use gameauth_hive::{
    AttemptFailure, BreakerConfig, BreakerState, Client, ClientBuilder, DEFAULT_DEADLINE,
    Environment, Error, ServedBy, VerifyCode,
};
use tokio::time::Instant;

use crate::support::*;

/// How a host answers the verify and IdP calls.
#[derive(Clone, Copy)]
enum Reply {
    Json(&'static str),
    Status(u16),
    Hang,
    Refuse,
}

const OK: Reply = Reply::Json(r#"{"result_code":0,"result_msg":"SUCCESS"}"#);

/// Two hosts in memory. The OAuth token always succeeds; it is only counted.
struct FakeHive {
    primary: Mutex<Reply>,
    fallback: Mutex<Reply>,
    primary_calls: AtomicUsize,
    fallback_calls: AtomicUsize,
    hosts: Mutex<Vec<String>>,
}

impl FakeHive {
    fn new(primary: Reply, fallback: Reply) -> Arc<Self> {
        Arc::new(Self {
            primary: Mutex::new(primary),
            fallback: Mutex::new(fallback),
            primary_calls: AtomicUsize::new(0),
            fallback_calls: AtomicUsize::new(0),
            hosts: Mutex::new(Vec::new()),
        })
    }

    fn transport(self: &Arc<Self>) -> Arc<dyn HttpTransport> {
        let hive = self.clone();
        Arc::new(move |req: http::Request<Bytes>| {
            let hive = hive.clone();
            async move { hive.answer(req).await }
        })
    }

    async fn answer(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let host = req.uri().host().unwrap_or_default().to_owned();
        self.hosts
            .lock()
            .unwrap()
            .push(format!("{host}{}", req.uri().path()));
        if req.uri().path() == "/oauth/token" {
            return Ok(http::Response::new(Bytes::from(
                token_answer("server-jwt").to_string(),
            )));
        }
        let reply = if host.starts_with("primary")
            || host == "auth.qpyou.cn"
            || host.starts_with("sandbox")
        {
            self.primary_calls.fetch_add(1, Ordering::SeqCst);
            *self.primary.lock().unwrap()
        } else {
            self.fallback_calls.fetch_add(1, Ordering::SeqCst);
            *self.fallback.lock().unwrap()
        };
        match reply {
            Reply::Json(body) => Ok(http::Response::new(Bytes::from_static(body.as_bytes()))),
            Reply::Status(s) => Ok(http::Response::builder()
                .status(s)
                .body(Bytes::new())
                .unwrap()),
            Reply::Hang => std::future::pending().await,
            Reply::Refuse => Err(TransportError::new(
                TransportErrorKind::Connect,
                false,
                "connection refused",
            )),
        }
    }

    fn primary_calls(&self) -> usize {
        self.primary_calls.load(Ordering::SeqCst)
    }

    fn fallback_calls(&self) -> usize {
        self.fallback_calls.load(Ordering::SeqCst)
    }
}

fn custom(hive: &Arc<FakeHive>) -> ClientBuilder {
    builder()
        .primary_url("https://primary.test")
        .fallback_url("https://fallback.test")
        .transport(hive.transport())
}

fn unavailable(result: Result<impl std::fmt::Debug, Error>) -> gameauth_hive::Unavailable {
    match result {
        Err(Error::Unavailable(u)) => u,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_primary_times_out_and_the_fallback_answers() {
    let hive = FakeHive::new(Reply::Hang, OK);
    let client = custom(&hive).build().unwrap();
    let start = Instant::now();
    let v = client.verify_token(&params()).await.unwrap();
    assert_eq!(v.served_by, ServedBy::Fallback);
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(2),
        "primary attempt timeout"
    );
    assert_eq!((hive.primary_calls(), hive.fallback_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn both_hosts_down_is_unavailable_within_the_deadline() {
    let hive = FakeHive::new(Reply::Hang, Reply::Hang);
    let client = custom(&hive).build().unwrap();
    let start = Instant::now();
    let u = unavailable(client.verify_token(&params()).await);
    assert!(start.elapsed() <= DEFAULT_DEADLINE, "{:?}", start.elapsed());
    assert_eq!(
        u.primary,
        AttemptFailure::Transport(TransportErrorKind::Timeout)
    );
    assert_eq!(
        u.fallback,
        Some(AttemptFailure::Transport(TransportErrorKind::Timeout))
    );
}

#[tokio::test(start_paused = true)]
async fn the_deadline_caps_the_fallback_attempt() {
    let hive = FakeHive::new(Reply::Hang, Reply::Hang);
    let client = custom(&hive)
        .primary_timeout(Duration::from_secs(3))
        .fallback_timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let start = Instant::now();
    unavailable(client.verify_token(&params()).await);
    assert_eq!(start.elapsed(), DEFAULT_DEADLINE);
}

#[tokio::test(start_paused = true)]
async fn a_deadline_spent_on_the_primary_leaves_no_fallback_attempt() {
    let hive = FakeHive::new(Reply::Hang, OK);
    let client = custom(&hive)
        .primary_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let u = unavailable(client.verify_token(&params()).await);
    assert_eq!(u.fallback, Some(AttemptFailure::DeadlineExceeded));
    assert_eq!(hive.fallback_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn breaker_opens_after_5_primary_failures_and_probes_after_a_growing_cool_down() {
    let hive = FakeHive::new(Reply::Status(503), OK);
    let client = custom(&hive).build().unwrap();
    for _ in 0..5 {
        let v = client.verify_token(&params()).await.unwrap();
        assert_eq!(v.served_by, ServedBy::Fallback);
    }
    assert_eq!(hive.primary_calls(), 5);
    assert_eq!(client.breaker_state(), Some(BreakerState::Open));

    let v = client.verify_token(&params()).await.unwrap();
    assert_eq!(v.served_by, ServedBy::Fallback);
    assert_eq!(hive.primary_calls(), 5, "open breaker skips the primary");

    tokio::time::advance(Duration::from_secs(30)).await;
    client.verify_token(&params()).await.unwrap();
    assert_eq!(hive.primary_calls(), 6, "one half-open probe after 30 s");

    tokio::time::advance(Duration::from_secs(30)).await;
    client.verify_token(&params()).await.unwrap();
    assert_eq!(
        hive.primary_calls(),
        6,
        "the failed probe doubled the cool-down to 60 s"
    );

    *hive.primary.lock().unwrap() = OK;
    tokio::time::advance(Duration::from_secs(30)).await;
    let v = client.verify_token(&params()).await.unwrap();
    assert_eq!(v.served_by, ServedBy::Primary, "successful probe");
    assert_eq!(client.breaker_state(), Some(BreakerState::Closed));
    let v = client.verify_token(&params()).await.unwrap();
    assert_eq!(v.served_by, ServedBy::Primary);
}

#[tokio::test(start_paused = true)]
async fn open_breaker_with_the_fallback_down_is_unavailable_without_touching_the_primary() {
    let hive = FakeHive::new(Reply::Refuse, Reply::Refuse);
    let client = custom(&hive).build().unwrap();
    for _ in 0..5 {
        unavailable(client.verify_token(&params()).await);
    }
    let u = unavailable(client.verify_token(&params()).await);
    assert_eq!(u.primary, AttemptFailure::BreakerOpen);
    assert_eq!(
        u.fallback,
        Some(AttemptFailure::Transport(TransportErrorKind::Connect))
    );
    assert_eq!(hive.primary_calls(), 5);
}

#[tokio::test(start_paused = true)]
async fn definitive_answers_are_not_primary_failures() {
    let hive = FakeHive::new(
        Reply::Json(r#"{"result_code":7000,"result_msg":"invalid"}"#),
        OK,
    );
    let client = custom(&hive).build().unwrap();
    for _ in 0..8 {
        match client.verify_token(&params()).await {
            Err(Error::TokenRejected {
                code: VerifyCode::InvalidToken,
                served_by: ServedBy::Primary,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(client.breaker_state(), Some(BreakerState::Closed));
    assert_eq!(hive.fallback_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn code_5001_from_the_fallback_is_its_own_error() {
    let hive = FakeHive::new(
        Reply::Status(502),
        Reply::Json(
            r#"{"result_code":5001,"result_msg":"invalid token in distributed environment"}"#,
        ),
    );
    let client = custom(&hive).build().unwrap();
    match client.verify_token(&params()).await {
        Err(Error::DistributedTokenInvalid { served_by, message }) => {
            assert_eq!(served_by, ServedBy::Fallback);
            assert_eq!(message, "invalid token in distributed environment");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn production_uses_the_documented_hosts_and_oauth_only_on_the_primary_for_the_idp_list() {
    let hive = FakeHive::new(Reply::Status(503), OK);
    let client = Client::builder()
        .environment(Environment::Production)
        .appid(APPID)
        .client_credentials(
            CLIENT_ID,
            gameauth_core::secrecy::SecretString::from(CLIENT_SECRET),
        )
        .transport(hive.transport())
        .build()
        .unwrap();
    client.verify_token(&params()).await.unwrap();
    client.idp_list(5).await.unwrap();
    assert_eq!(
        *hive.hosts.lock().unwrap(),
        [
            // Verification carries the player's access token: no server token.
            "auth.qpyou.cn/v2/game/token/get-token",
            "auth.globalwithhive.com/v2/game/token/get-token",
            "auth.qpyou.cn/oauth/token",
            "auth.qpyou.cn/v2/game/player/get-idp",
            "auth.globalwithhive.com/v2/game/player/get-idp",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn sandbox_has_no_fallback_and_no_breaker() {
    let hive = FakeHive::new(Reply::Status(503), OK);
    let client = Client::builder()
        .environment(Environment::Sandbox)
        .appid(APPID)
        .client_credentials(
            CLIENT_ID,
            gameauth_core::secrecy::SecretString::from(CLIENT_SECRET),
        )
        .transport(hive.transport())
        .build()
        .unwrap();
    for _ in 0..7 {
        let u = unavailable(client.verify_token(&params()).await);
        assert_eq!((u.primary, u.fallback), (AttemptFailure::Status(503), None));
    }
    assert_eq!(hive.primary_calls(), 7, "every call tries the only host");
    assert_eq!(hive.fallback_calls(), 0);
    assert_eq!(client.breaker_state(), None);
    assert!(
        hive.hosts
            .lock()
            .unwrap()
            .iter()
            .all(|h| h.starts_with("sandbox-auth.qpyou.cn/"))
    );
}

#[tokio::test(start_paused = true)]
async fn custom_hosts_without_a_fallback_have_no_fallback() {
    let hive = FakeHive::new(Reply::Hang, OK);
    let client = builder()
        .primary_url("https://primary.test")
        .transport(hive.transport())
        .build()
        .unwrap();
    let start = Instant::now();
    let u = unavailable(client.verify_token(&params()).await);
    assert_eq!(u.fallback, None);
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(hive.fallback_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_breaker_with_a_short_cool_down_is_configurable() {
    let hive = FakeHive::new(Reply::Status(500), OK);
    let client = custom(&hive)
        .breaker(BreakerConfig {
            failure_threshold: 2,
            initial_cooldown: Duration::from_millis(100),
            max_cooldown: Duration::from_secs(1),
        })
        .build()
        .unwrap();
    client.verify_token(&params()).await.unwrap();
    client.verify_token(&params()).await.unwrap();
    assert_eq!(client.breaker_state(), Some(BreakerState::Open));
    tokio::time::advance(Duration::from_millis(100)).await;
    assert_eq!(client.breaker_state(), Some(BreakerState::HalfOpen));
}

/// Hive refuses the server token once; the fetch of a new one never answers. The repetition may
/// not stretch the call past its deadline.
#[tokio::test(start_paused = true)]
async fn a_refused_server_token_and_a_stalled_refresh_end_at_the_call_deadline() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let counted = fetches.clone();
    let transport: Arc<dyn HttpTransport> = Arc::new(move |req: http::Request<Bytes>| {
        let counted = counted.clone();
        async move {
            if req.uri().path() == "/oauth/token" {
                if counted.fetch_add(1, Ordering::SeqCst) > 0 {
                    std::future::pending::<()>().await;
                }
                return Ok(http::Response::new(Bytes::from(
                    token_answer("server-jwt").to_string(),
                )));
            }
            Ok::<_, TransportError>(http::Response::new(Bytes::from_static(
                br#"{"result_code":2499,"result_msg":"JWT verification failed"}"#,
            )))
        }
    });
    let client = server_builder()
        .primary_url("https://primary.test")
        .transport(transport.clone())
        .call_deadline(Duration::from_secs(3))
        .build()
        .unwrap();
    let start = Instant::now();
    let u = unavailable(client.verify_token(&server_params()).await);
    assert_eq!(start.elapsed(), Duration::from_secs(3), "the call deadline");
    assert_eq!(u.primary, AttemptFailure::DeadlineExceeded);
    // The first fetch, then the refresh's attempt and its retry.
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        3,
        "the token was fetched again"
    );

    // By default the deadline is the OAuth deadline plus the routing deadline: the stalled
    // refresh then ends on the OAuth deadline, well inside it.
    fetches.store(0, Ordering::SeqCst);
    let client = server_builder()
        .primary_url("https://primary.test")
        .transport(transport)
        .build()
        .unwrap();
    let start = Instant::now();
    assert!(client.verify_token(&server_params()).await.is_err());
    assert!(
        start.elapsed() <= gameauth_hive::DEFAULT_OAUTH_DEADLINE + DEFAULT_DEADLINE,
        "{:?}",
        start.elapsed()
    );
}

/// The token-validated IdP list goes through the same routing and the same breaker as
/// verification.
#[tokio::test(start_paused = true)]
async fn the_token_validated_idp_list_shares_the_routing_and_the_breaker() {
    let hive = FakeHive::new(
        Reply::Hang,
        Reply::Json(r#"{"result_code":0,"result_msg":"SUCCESS","data":{"list":[]}}"#),
    );
    let client = custom(&hive).build().unwrap();
    let idps = gameauth_hive::PlayerIdpsParams::new(
        gameauth_core::PlayerToken::new(PLAYER_TOKEN),
        PLAYER_ID,
        DID,
    );
    let start = Instant::now();
    let list = client.player_idps(&idps).await.unwrap();
    assert_eq!(list.served_by, ServedBy::Fallback);
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(2),
        "primary attempt timeout"
    );
    for _ in 0..2 {
        client.verify_token(&params()).await.unwrap();
        client.player_idps(&idps).await.unwrap();
    }
    assert_eq!(hive.primary_calls(), 5);
    assert_eq!(client.breaker_state(), Some(BreakerState::Open));
    let start = Instant::now();
    assert_eq!(
        client.player_idps(&idps).await.unwrap().served_by,
        ServedBy::Fallback
    );
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "the open breaker skips the primary"
    );
    assert_eq!(hive.primary_calls(), 5);
}
