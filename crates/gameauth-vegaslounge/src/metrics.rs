//! Metrics and request spans, through the [`metrics`] and [`tracing`] facades.
//!
//! The crate records and never exports: install a recorder (for example
//! `metrics-exporter-prometheus`) in the process to collect them, and call [`describe`] once
//! after installing it to give every metric its help text and unit. Without a recorder every
//! call is a no-op.
//!
//! | metric | type | labels | counts or measures |
//! |---|---|---|---|
//! | [`REQUESTS_TOTAL`] | counter | `route`, `outcome` | requests to the contract's routes |
//! | [`REQUEST_DURATION_SECONDS`] | histogram | `route` | time to answer one request, body read included |
//! | [`GRANTS_ISSUED_TOTAL`] | counter | — | codes exchanged for a first token pair |
//! | [`REFRESHES_TOTAL`] | counter | — | successful refreshes (grace-window repeats included) |
//! | [`CODE_REPLAYS_TOTAL`] | counter | — | used codes presented again (the grant is revoked) |
//! | [`REFRESH_REUSE_TOTAL`] | counter | — | rotated refresh tokens presented again after the grace window (the grant is revoked) |
//! | [`THROTTLED_TOTAL`] | counter | `kind` | attempts refused because a throttle key was at its limit |
//! | [`STORE_OPERATION_DURATION_SECONDS`] | histogram | `store`, `operation` | one call of the grant or throttle store |
//! | [`STORE_ERRORS_TOTAL`] | counter | `store`, `operation` | store calls that failed (the request answered 503) |
//! | [`READY`] | gauge | — | 1 when the last readiness check passed, 0 when it failed or the server is draining |
//!
//! Every label takes values from a fixed set:
//! * `route`: `authorize`, `token`, `refresh`, `account`, `logout`;
//! * `outcome`, from the status of the answer: `ok` (2xx and 3xx; the authorize endpoint's
//!   error redirects included), `unauthorized` (401), `throttled` (429), `server_error` (5xx),
//!   `client_error` (any other 4xx);
//! * `kind`: `client_auth` (the token endpoint's client authentication) or `login` (a host's own
//!   login form, see [`Throttle::with_kind`](crate::Throttle::with_kind));
//! * `store`: the store's [`backend`](crate::GrantStore::backend) name, `memory` or `redis` for
//!   the crate's stores;
//! * `operation`: the [`GrantStore`](crate::GrantStore) method (`put_code`, `redeem_code`,
//!   `rotate_refresh`, `access_token`, `revoke_grant`, `revoke_player`, `sweep_expired`, `ping`)
//!   or the throttle's `throttle_reserve` and `throttle_release`.
//!
//! No label ever carries a token, a code, a client or player id, an address or a URL.
//!
//! Each request of the contract also runs inside a `request` span with OpenTelemetry's
//! semantic-convention fields `http.request.method` (the method, or `_OTHER`), `http.route`
//! (the route's path, never the query) and `http.response.status_code` (recorded when the
//! answer is ready); log lines written while the request is handled carry them.

use std::future::Future;
use std::time::Instant;

use ::metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, histogram};
use http::{Method, StatusCode};
use tracing::Instrument as _;

use crate::endpoint::{ACCOUNT_PATH, AUTHORIZE_PATH, LOGOUT_PATH, REFRESH_PATH, TOKEN_PATH};
use crate::error::StoreError;

/// Counter: requests to the contract's routes, by `route` and `outcome`.
pub const REQUESTS_TOTAL: &str = "gameauth_vl_requests_total";
/// Histogram (seconds): time to answer a request, by `route`.
pub const REQUEST_DURATION_SECONDS: &str = "gameauth_vl_request_duration_seconds";
/// Counter: authorization codes exchanged for a first token pair.
pub const GRANTS_ISSUED_TOTAL: &str = "gameauth_vl_grants_issued_total";
/// Counter: successful refreshes.
pub const REFRESHES_TOTAL: &str = "gameauth_vl_refreshes_total";
/// Counter: used authorization codes presented again.
pub const CODE_REPLAYS_TOTAL: &str = "gameauth_vl_code_replays_total";
/// Counter: rotated refresh tokens presented again after the grace window.
pub const REFRESH_REUSE_TOTAL: &str = "gameauth_vl_refresh_reuse_total";
/// Counter: attempts refused by a throttle, by `kind`.
pub const THROTTLED_TOTAL: &str = "gameauth_vl_throttled_total";
/// Histogram (seconds): one store call, by `store` and `operation`.
pub const STORE_OPERATION_DURATION_SECONDS: &str = "gameauth_store_operation_duration_seconds";
/// Counter: failed store calls, by `store` and `operation`.
pub const STORE_ERRORS_TOTAL: &str = "gameauth_store_errors_total";
/// Gauge: 1 when ready, 0 when not ready or draining.
pub const READY: &str = "gameauth_vl_ready";

/// Every metric of this crate, for exporters and tests that check a list against it.
pub const ALL: [&str; 10] = [
    REQUESTS_TOTAL,
    REQUEST_DURATION_SECONDS,
    GRANTS_ISSUED_TOTAL,
    REFRESHES_TOTAL,
    CODE_REPLAYS_TOTAL,
    REFRESH_REUSE_TOTAL,
    THROTTLED_TOTAL,
    STORE_OPERATION_DURATION_SECONDS,
    STORE_ERRORS_TOTAL,
    READY,
];

/// Histogram buckets (seconds) that suit both request and store latencies: 0.5 ms to 10 s.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Registers the help text and unit of every metric with the installed recorder, and the
/// counters without labels at 0 (so their rates exist from the start). Call it once, after
/// installing the recorder; calling it again is harmless.
pub fn describe() {
    for name in [
        GRANTS_ISSUED_TOTAL,
        REFRESHES_TOTAL,
        CODE_REPLAYS_TOTAL,
        REFRESH_REUSE_TOTAL,
    ] {
        counter!(name).increment(0);
    }
    describe_counter!(
        REQUESTS_TOTAL,
        "Requests to the Vegas Lounge routes, by route and outcome."
    );
    describe_histogram!(
        REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "Time to answer a Vegas Lounge request, body read included."
    );
    describe_counter!(
        GRANTS_ISSUED_TOTAL,
        "Authorization codes exchanged for a first token pair."
    );
    describe_counter!(
        REFRESHES_TOTAL,
        "Successful refresh-token rotations (grace-window repeats included)."
    );
    describe_counter!(
        CODE_REPLAYS_TOTAL,
        "Used authorization codes presented again; each revokes its grant."
    );
    describe_counter!(
        REFRESH_REUSE_TOTAL,
        "Rotated refresh tokens presented again after the grace window; each revokes its grant."
    );
    describe_counter!(
        THROTTLED_TOTAL,
        "Attempts refused because a throttle key was at its limit, by kind."
    );
    describe_histogram!(
        STORE_OPERATION_DURATION_SECONDS,
        Unit::Seconds,
        "Time of one grant or throttle store call, by store and operation."
    );
    describe_counter!(
        STORE_ERRORS_TOTAL,
        "Grant or throttle store calls that failed, by store and operation."
    );
    describe_gauge!(
        READY,
        "1 when the last readiness check passed, 0 when it failed or the server is draining."
    );
}

/// The `route` label of a request path of the contract.
pub(crate) fn route_label(path: &str) -> Option<&'static str> {
    match path {
        AUTHORIZE_PATH => Some("authorize"),
        TOKEN_PATH => Some("token"),
        REFRESH_PATH => Some("refresh"),
        ACCOUNT_PATH => Some("account"),
        LOGOUT_PATH => Some("logout"),
        _ => None,
    }
}

/// The route's path as `http.route`.
fn route_path(label: &str) -> &'static str {
    match label {
        "authorize" => AUTHORIZE_PATH,
        "token" => TOKEN_PATH,
        "refresh" => REFRESH_PATH,
        "account" => ACCOUNT_PATH,
        _ => LOGOUT_PATH,
    }
}

/// The `outcome` label of an answer's status.
pub(crate) fn outcome(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "unauthorized",
        429 => "throttled",
        500..=599 => "server_error",
        400..=499 => "client_error",
        _ => "ok",
    }
}

/// `http.request.method`: a known method as is, anything else `_OTHER` (a bounded set).
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::HEAD, "HEAD"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::PATCH, "PATCH"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN
        .iter()
        .find(|(m, _)| m == method)
        .map_or("_OTHER", |(_, name)| name)
}

/// Runs the handling of one request of `route` inside its span and records its count and
/// duration.
pub(crate) async fn observe<B, F>(
    route: &'static str,
    method: &Method,
    handle: F,
) -> http::Response<B>
where
    F: Future<Output = http::Response<B>>,
{
    let span = tracing::info_span!(
        "request",
        http.request.method = method_label(method),
        http.route = route_path(route),
        http.response.status_code = tracing::field::Empty,
    );
    let start = Instant::now();
    let response = handle.instrument(span.clone()).await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    counter!(REQUESTS_TOTAL, "route" => route, "outcome" => outcome(status)).increment(1);
    histogram!(REQUEST_DURATION_SECONDS, "route" => route).record(start.elapsed());
    response
}

/// Times one store call and counts its failure.
pub(crate) async fn store_call<T, F>(
    store: &'static str,
    operation: &'static str,
    call: F,
) -> Result<T, StoreError>
where
    F: Future<Output = Result<T, StoreError>>,
{
    let start = Instant::now();
    let result = call.await;
    histogram!(STORE_OPERATION_DURATION_SECONDS, "store" => store, "operation" => operation)
        .record(start.elapsed());
    if result.is_err() {
        counter!(STORE_ERRORS_TOTAL, "store" => store, "operation" => operation).increment(1);
    }
    result
}

/// Adds one to a counter without labels.
pub(crate) fn count(name: &'static str) {
    counter!(name).increment(1);
}

/// Adds one to [`THROTTLED_TOTAL`].
pub(crate) fn throttled(kind: &'static str) {
    counter!(THROTTLED_TOTAL, "kind" => kind).increment(1);
}

/// Sets [`READY`].
pub(crate) fn set_ready(ready: bool) {
    ::metrics::gauge!(READY).set(if ready { 1.0 } else { 0.0 });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_and_methods_are_bounded_sets() {
        for (status, expected) in [
            (200, "ok"),
            (302, "ok"),
            (400, "client_error"),
            (401, "unauthorized"),
            (403, "client_error"),
            (429, "throttled"),
            (503, "server_error"),
        ] {
            assert_eq!(outcome(StatusCode::from_u16(status).unwrap()), expected);
        }
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(
            method_label(&Method::from_bytes(b"BREW").unwrap()),
            "_OTHER"
        );
        for path in [
            AUTHORIZE_PATH,
            TOKEN_PATH,
            REFRESH_PATH,
            ACCOUNT_PATH,
            LOGOUT_PATH,
        ] {
            let label = route_label(path).unwrap();
            assert_eq!(route_path(label), path);
        }
        assert_eq!(route_label("/oauth2.0/token?code=x"), None);
    }
}
