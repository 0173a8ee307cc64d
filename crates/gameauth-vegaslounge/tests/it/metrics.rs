//! The metrics move with what happens: each test runs a flow under its own recorder (a
//! thread-local one, so tests running in parallel never see each other's counts) and reads the
//! recorded values back.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use gameauth_core::telemetry::testing::{Series, series};
use gameauth_vegaslounge::health::{Health, Readiness};
use gameauth_vegaslounge::metrics::{
    CODE_REPLAYS_TOTAL, GRANTS_ISSUED_TOTAL, READY, REFRESH_REUSE_TOTAL, REFRESHES_TOTAL,
    REQUEST_DURATION_SECONDS, REQUESTS_TOTAL, STORE_ERRORS_TOTAL, STORE_OPERATION_DURATION_SECONDS,
    THROTTLED_TOTAL,
};
use gameauth_vegaslounge::store::{
    AccessGrant, GrantId, GrantStore, NewCode, RedeemCode, Redeemed, RotateRefresh, Rotated,
    TokenHash,
};
use gameauth_vegaslounge::{MemoryStore, StoreError, ThrottleConfig, async_trait};
use http::Request;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

use crate::{CLIENT, DownStore, Harness, code_form, refresh_form};

/// What a flow recorded.
struct Recorded(Vec<Series>);

impl Recorded {
    fn take(snapshotter: &Snapshotter) -> Self {
        Self(series(snapshotter))
    }

    /// The value of `name` with exactly `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<&DebugValue> {
        self.0
            .iter()
            .find(|(n, l, _)| {
                n == name
                    && l.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, _, v)| v)
    }

    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        match self.value(name, labels) {
            Some(DebugValue::Counter(n)) => *n,
            None => 0,
            Some(other) => panic!("{name} is not a counter: {other:?}"),
        }
    }

    fn observations(&self, name: &str, labels: &[(&str, &str)]) -> usize {
        match self.value(name, labels) {
            Some(DebugValue::Histogram(values)) => values.len(),
            None => 0,
            Some(other) => panic!("{name} is not a histogram: {other:?}"),
        }
    }

    fn gauge(&self, name: &str) -> Option<f64> {
        match self.value(name, &[]) {
            Some(DebugValue::Gauge(v)) => Some(v.into_inner()),
            None => None,
            Some(other) => panic!("{name} is not a gauge: {other:?}"),
        }
    }

    /// Every label value recorded, for the "nothing secret in a label" check.
    fn label_values(&self) -> Vec<&str> {
        self.0
            .iter()
            .flat_map(|(_, l, _)| l.iter().map(|(_, v)| v.as_str()))
            .collect()
    }
}

/// Runs `flow` on a current-thread runtime (paused clock) under a fresh recorder.
fn record<F: Future<Output = ()>>(flow: impl FnOnce() -> F) -> Recorded {
    record_with(flow).0
}

/// [`record`], also returning what the flow returned.
fn record_with<T, F: Future<Output = T>>(flow: impl FnOnce() -> F) -> (Recorded, T) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let out = metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(flow())
    });
    (Recorded::take(&snapshotter), out)
}

fn token_json(response: &http::Response<Bytes>) -> (String, String) {
    let json = crate::body_json(response);
    (
        json["access_token"].as_str().unwrap().to_owned(),
        json["refresh_token"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn a_login_token_refresh_account_flow_and_a_replay_move_their_counters() {
    let (recorded, secrets) = record_with(|| async {
        let h = Harness::new();
        let code = h.code().await;
        let first = h.token(&code_form(&code)).await;
        assert_eq!(first.status(), 200);
        let (access, refresh) = token_json(&first);
        let refreshed = h
            .send(crate::form_post(
                "/oauth2.0/refresh",
                &refresh_form(&refresh),
            ))
            .await;
        assert_eq!(refreshed.status(), 200);
        let (access2, _) = token_json(&refreshed);
        assert_eq!(h.account(&access2).await.status(), 200);
        assert_eq!(h.account(&access).await.status(), 401);
        // The code again: a replay, which revokes the grant.
        assert_eq!(h.token(&code_form(&code)).await.status(), 401);
        [code, access, access2, refresh]
    });
    assert_eq!(recorded.counter(GRANTS_ISSUED_TOTAL, &[]), 1);
    assert_eq!(recorded.counter(REFRESHES_TOTAL, &[]), 1);
    assert_eq!(recorded.counter(CODE_REPLAYS_TOTAL, &[]), 1);
    assert_eq!(recorded.counter(REFRESH_REUSE_TOTAL, &[]), 0);
    let requests = |route, outcome| {
        recorded.counter(REQUESTS_TOTAL, &[("route", route), ("outcome", outcome)])
    };
    assert_eq!(requests("token", "ok"), 1);
    assert_eq!(requests("token", "unauthorized"), 1);
    assert_eq!(requests("refresh", "ok"), 1);
    assert_eq!(requests("account", "ok"), 1);
    assert_eq!(requests("account", "unauthorized"), 1);
    assert_eq!(
        recorded.observations(REQUEST_DURATION_SECONDS, &[("route", "token")]),
        2
    );
    assert_eq!(
        recorded.observations(REQUEST_DURATION_SECONDS, &[("route", "account")]),
        2
    );
    let store_op = |operation| {
        recorded.observations(
            STORE_OPERATION_DURATION_SECONDS,
            &[("store", "memory"), ("operation", operation)],
        )
    };
    assert_eq!(store_op("put_code"), 1);
    assert_eq!(store_op("redeem_code"), 2);
    assert_eq!(store_op("rotate_refresh"), 1);
    assert_eq!(store_op("access_token"), 2);
    // Every client authentication reserves and (when right) releases a throttle place.
    assert_eq!(store_op("throttle_reserve"), 3);
    assert_eq!(store_op("throttle_release"), 3);
    assert_eq!(
        recorded.counter(
            STORE_ERRORS_TOTAL,
            &[("store", "memory"), ("operation", "redeem_code")]
        ),
        0
    );
    for value in recorded.label_values() {
        for secret in &secrets {
            assert!(
                !value.contains(secret.as_str()),
                "a label holds a secret: {value}"
            );
        }
        assert!(
            !value.contains(CLIENT) && !value.contains(crate::PLAYER),
            "{value}"
        );
        assert!(
            !value.contains("127.0.0.1") && !value.contains('/'),
            "{value}"
        );
    }
}

#[test]
fn a_refresh_token_reused_after_the_grace_window_counts_as_reuse() {
    let recorded = record(|| async {
        let h = Harness::with(|c| c.refresh_grace = Duration::ZERO);
        let (_, refresh) = h.tokens().await;
        assert_eq!(h.token(&refresh_form(&refresh)).await.status(), 200);
        h.advance(1);
        assert_eq!(h.token(&refresh_form(&refresh)).await.status(), 401);
    });
    assert_eq!(recorded.counter(REFRESHES_TOTAL, &[]), 1);
    assert_eq!(recorded.counter(REFRESH_REUSE_TOTAL, &[]), 1);
    assert_eq!(recorded.counter(GRANTS_ISSUED_TOTAL, &[]), 1);
}

#[test]
fn refused_client_authentications_beyond_the_limit_count_as_throttled() {
    let recorded = record(|| async {
        let h = Harness::with(|c| c.throttle = ThrottleConfig::new(2, Duration::from_secs(60)));
        let wrong =
            format!("grant_type=authorization_code&code=x&client_id={CLIENT}&client_secret=wrong");
        for expected in [401, 401, 429, 429] {
            assert_eq!(h.token(&wrong).await.status(), expected);
        }
    });
    assert_eq!(
        recorded.counter(THROTTLED_TOTAL, &[("kind", "client_auth")]),
        2
    );
    assert_eq!(
        recorded.counter(
            REQUESTS_TOTAL,
            &[("route", "token"), ("outcome", "throttled")]
        ),
        2
    );
    assert_eq!(
        recorded.counter(
            REQUESTS_TOTAL,
            &[("route", "token"), ("outcome", "unauthorized")]
        ),
        2
    );
}

#[test]
fn store_failures_count_as_store_errors_and_server_errors() {
    let recorded = record(|| async {
        let h = Harness::with_store(Arc::new(DownStore), |_| {});
        let response = h.token(&code_form("some-code")).await;
        assert_eq!(response.status(), 503);
        let authorize = h
            .authorize(
                "response_type=code&client_id=VL001&redirect_uri=https%3A%2F%2Ffl.vegaslounge.live",
                Some(crate::PLAYER),
            )
            .await;
        assert_eq!(
            authorize.status(),
            302,
            "errors after the client is trusted redirect"
        );
    });
    let errors = |operation| {
        recorded.counter(
            STORE_ERRORS_TOTAL,
            &[("store", "custom"), ("operation", operation)],
        )
    };
    assert_eq!(errors("redeem_code"), 1);
    assert_eq!(errors("put_code"), 1);
    assert_eq!(
        recorded.counter(
            REQUESTS_TOTAL,
            &[("route", "token"), ("outcome", "server_error")]
        ),
        1
    );
    assert_eq!(
        recorded.counter(REQUESTS_TOTAL, &[("route", "authorize"), ("outcome", "ok")]),
        1
    );
}

/// A store that never answers a lookup.
#[derive(Debug)]
struct HangingStore(MemoryStore);

#[async_trait]
impl GrantStore for HangingStore {
    async fn put_code(&self, code: NewCode) -> Result<(), StoreError> {
        self.0.put_code(code).await
    }
    async fn redeem_code(&self, request: RedeemCode) -> Result<Redeemed, StoreError> {
        self.0.redeem_code(request).await
    }
    async fn rotate_refresh(&self, request: RotateRefresh) -> Result<Rotated, StoreError> {
        self.0.rotate_refresh(request).await
    }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<AccessGrant>, StoreError> {
        std::future::pending().await
    }
    async fn revoke_grant(&self, grant_id: &GrantId) -> Result<(), StoreError> {
        self.0.revoke_grant(grant_id).await
    }
    async fn revoke_player(&self, player_id: &str) -> Result<usize, StoreError> {
        self.0.revoke_player(player_id).await
    }
    async fn sweep_expired(&self, now: SystemTime) -> Result<usize, StoreError> {
        self.0.sweep_expired(now).await
    }
}

#[test]
fn readiness_follows_the_store_and_draining_and_sets_the_gauge() {
    let mut gauges = Vec::new();
    let snapshot_gauge = |recorded: Recorded| recorded.gauge(READY);
    let recorded = record(|| async {
        let health = Health::new(Harness::new().server, Duration::from_secs(1));
        assert_eq!(health.check().await, Readiness::Ready);
    });
    gauges.push(snapshot_gauge(recorded));
    let recorded = record(|| async {
        let down = Health::new(
            Harness::with_store(Arc::new(DownStore), |_| {}).server,
            Duration::from_secs(1),
        );
        assert_eq!(down.check().await, Readiness::StoreUnavailable);
    });
    assert_eq!(
        recorded.counter(
            STORE_ERRORS_TOTAL,
            &[("store", "custom"), ("operation", "ping")]
        ),
        1
    );
    gauges.push(snapshot_gauge(recorded));
    let recorded = record(|| async {
        // The paused clock jumps to the deadline: the check fails after exactly one second.
        let hanging = Health::new(
            Harness::with_store(Arc::new(HangingStore(MemoryStore::new())), |_| {}).server,
            Duration::from_secs(1),
        );
        let start = tokio::time::Instant::now();
        assert_eq!(hanging.check().await, Readiness::StoreTimedOut);
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    });
    gauges.push(snapshot_gauge(recorded));
    let recorded = record(|| async {
        let health = Health::new(Harness::new().server, Duration::from_secs(1));
        assert!(health.check().await.is_ready());
        health.start_draining();
        assert_eq!(health.check().await, Readiness::Draining);
    });
    gauges.push(snapshot_gauge(recorded));
    assert_eq!(gauges, [Some(1.0), Some(0.0), Some(0.0), Some(0.0)]);
}

#[test]
fn unknown_paths_are_not_counted() {
    let recorded = record(|| async {
        let h = Harness::new();
        let response = h
            .send(
                Request::get("/oauth2.0/token/extra")
                    .body(Bytes::new())
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status(), 404);
    });
    assert!(recorded.0.iter().all(|(name, _, _)| name != REQUESTS_TOTAL));
}

/// Span fields as recorded: (span name, field, value).
#[derive(Clone, Default)]
struct SpanFields(Arc<std::sync::Mutex<Vec<(String, String, String)>>>);

struct Visitor<'a>(&'a SpanFields, &'static str);

impl tracing::field::Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.0.lock().unwrap().push((
            self.1.to_owned(),
            field.name().to_owned(),
            format!("{value:?}"),
        ));
    }
}

impl<S> tracing_subscriber::Layer<S> for SpanFields
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        attrs.record(&mut Visitor(self, attrs.metadata().name()));
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let name = ctx.span(id).map_or("?", |s| s.name());
        values.record(&mut Visitor(self, name));
    }
}

#[test]
fn each_request_runs_in_a_span_with_opentelemetry_http_fields_and_no_query_or_token() {
    use tracing_subscriber::layer::SubscriberExt as _;
    // Spans created by other tests' threads first must not be cached as unwanted.
    testkit::every_site_wanted();
    let fields = SpanFields::default();
    let subscriber = tracing_subscriber::registry().with(fields.clone());
    let access = tracing::subscriber::with_default(subscriber, || {
        record_with(|| async {
            let h = Harness::new();
            let (access, _) = h.tokens().await;
            assert_eq!(h.account(&access).await.status(), 200);
            access
        })
        .1
    });
    let recorded = fields.0.lock().unwrap().clone();
    let values = |field: &str| -> Vec<String> {
        recorded
            .iter()
            .filter(|(span, f, _)| span == "request" && f == field)
            .map(|(_, _, v)| v.trim_matches('"').to_owned())
            .collect()
    };
    assert_eq!(values("http.request.method"), ["POST", "GET"]);
    assert_eq!(values("http.route"), ["/oauth2.0/token", "/account"]);
    assert_eq!(values("http.response.status_code"), ["200", "200"]);
    for (_, _, value) in &recorded {
        assert!(
            !value.contains(&access),
            "a span field holds the token: {value}"
        );
        assert!(
            !value.contains('?') && !value.contains("client_id"),
            "{value}"
        );
    }
}

#[test]
fn a_hosts_login_throttle_counts_under_its_own_kind() {
    use gameauth_vegaslounge::{MemoryThrottleStore, Throttle, ThrottleKey, ThrottleKind};
    let recorded = record(|| async {
        let throttle = Throttle::new(
            ThrottleConfig::new(1, Duration::from_secs(60)),
            Arc::new(MemoryThrottleStore::new()),
        )
        .with_kind(ThrottleKind::Login);
        let keys = [ThrottleKey::Account("alice".into())];
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        assert_eq!(throttle.reserve(&keys, now).await, Ok(None));
        assert!(throttle.reserve(&keys, now).await.unwrap().is_some());
    });
    assert_eq!(recorded.counter(THROTTLED_TOTAL, &[("kind", "login")]), 1);
    assert_eq!(
        recorded.counter(THROTTLED_TOTAL, &[("kind", "client_auth")]),
        0
    );
    assert_eq!(
        recorded.observations(
            STORE_OPERATION_DURATION_SECONDS,
            &[("store", "memory"), ("operation", "throttle_reserve")]
        ),
        2
    );
}
