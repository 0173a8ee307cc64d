//! The operator walkthrough against a running `serve`, and reading its Prometheus endpoint.

use std::collections::BTreeMap;

use super::ServerProcess;
use super::vegaslounge::{account, code_from, http, serve_config, token, write_config};

/// A `serve` configuration on the memory store with player `p0`, no refresh grace window (so
/// a second use of a rotated refresh token is reuse at once) and a drain delay of `drain_ms`.
pub(crate) fn memory_config(name: &str, drain_ms: u64) -> std::path::PathBuf {
    let text = serve_config("[store]\nkind = \"memory\"\n", &["p0".to_owned()], false)
        .replace("refresh_grace_secs = 60", "refresh_grace_secs = 0");
    write_config(
        name,
        &format!("{text}\n[health]\ndrain_delay_ms = {drain_ms}\n"),
    )
}

/// `serve` on a memory-store configuration (see [`memory_config`]) named `name`, with the
/// metrics endpoint on a free port.
pub(crate) fn start_with_metrics(name: &str, drain_ms: u64) -> ServerProcess {
    let config = memory_config(name, drain_ms);
    let config = config.to_str().expect("UTF-8 path");
    ServerProcess::start(
        &[
            "vegaslounge",
            "serve",
            "--config",
            config,
            "--metrics-listen",
            "127.0.0.1:0",
        ],
        |_| {},
    )
}

/// `http://ADDR/metrics` from the `metrics on …` startup line.
pub(crate) fn metrics_url(server: &ServerProcess) -> String {
    server
        .startup
        .iter()
        .find_map(|l| l.strip_prefix("metrics on "))
        .unwrap_or_else(|| panic!("no `metrics on` line: {:#?}", server.startup))
        .to_owned()
}

/// What the walkthrough moves, by series: the expected value after one run of [`walkthrough`]
/// on a fresh server. Series are `name{label="value",…}` with labels sorted by name.
pub(crate) const EXPECTED: [(&str, f64); 14] = [
    ("gameauth_vl_grants_issued_total", 1.0),
    ("gameauth_vl_refreshes_total", 1.0),
    ("gameauth_vl_code_replays_total", 1.0),
    ("gameauth_vl_refresh_reuse_total", 1.0),
    ("gameauth_vl_throttled_total{kind=\"client_auth\"}", 1.0),
    (
        "gameauth_vl_requests_total{outcome=\"ok\",route=\"authorize\"}",
        1.0,
    ),
    (
        "gameauth_vl_requests_total{outcome=\"ok\",route=\"token\"}",
        1.0,
    ),
    (
        "gameauth_vl_requests_total{outcome=\"ok\",route=\"refresh\"}",
        1.0,
    ),
    (
        "gameauth_vl_requests_total{outcome=\"ok\",route=\"account\"}",
        1.0,
    ),
    (
        "gameauth_vl_requests_total{outcome=\"unauthorized\",route=\"token\"}",
        11.0,
    ),
    (
        "gameauth_vl_requests_total{outcome=\"unauthorized\",route=\"refresh\"}",
        1.0,
    ),
    (
        "gameauth_vl_requests_total{outcome=\"throttled\",route=\"token\"}",
        1.0,
    ),
    (
        "gameauth_store_operation_duration_seconds_count{operation=\"redeem_code\",store=\"memory\"}",
        2.0,
    ),
    ("gameauth_vl_ready", 1.0),
];

/// The README's walkthrough and its failure cases on `base`: log in, authorize, exchange the
/// code, refresh, read the account, reuse the rotated refresh token (revokes the grant), replay
/// the code, then fail client authentication until throttled (10 wrong secrets fill the
/// default limit, the 11th is refused with 429).
pub(crate) async fn walkthrough(base: &str) {
    let client = http();
    let code = code_from(&client, base).await;
    let (status, tokens) = token(
        &client,
        base,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refresh_form = |token: &str| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("client_id", "VL001"),
                ("client_secret", super::vegaslounge::SECRET),
            ])
            .finish()
    };
    let refresh_at = |token: String| {
        let client = client.clone();
        let body = refresh_form(&token);
        async move {
            let response = client
                .post(format!("{base}/oauth2.0/refresh"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response.bytes().await.unwrap();
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            )
        }
    };
    let (status, refreshed) = refresh_at(refresh.clone()).await;
    assert_eq!(status, 200, "{refreshed}");
    let access = refreshed["access_token"].as_str().unwrap();
    let (status, body) = account(&client, base, access).await.unwrap();
    assert_eq!(status, 200, "{body}");
    // The first refresh token again: rotated, grace window 0: reuse (401), which revokes
    // the grant.
    let (status, body) = refresh_at(refresh).await;
    assert_eq!(status, 401, "{body}");
    // The code again: a replay (401).
    let (status, body) = token(
        &client,
        base,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await
    .unwrap();
    assert_eq!(status, 401, "{body}");
    // Wrong secrets: 10 failures fill the default limit of 10 per minute, then 429.
    let wrong = "grant_type=authorization_code&code=x&client_id=VL001&client_secret=wrong";
    for expected in [401; 10].into_iter().chain([429]) {
        let response = client
            .post(format!("{base}/oauth2.0/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), expected);
    }
}

/// The samples of a Prometheus text exposition, by series with labels sorted by name.
pub(crate) fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("a number: {line}"));
        samples.insert(canonical(series), value);
    }
    samples
}

/// `name{b="2",a="1"}` as `name{a="1",b="2"}`.
pub(crate) fn canonical(series: &str) -> String {
    let Some((name, labels)) = series.split_once('{') else {
        return series.to_owned();
    };
    let labels = labels.trim_end_matches('}');
    let mut pairs: Vec<&str> = labels.split(',').filter(|p| !p.is_empty()).collect();
    pairs.sort_unstable();
    if pairs.is_empty() {
        name.to_owned()
    } else {
        format!("{name}{{{}}}", pairs.join(","))
    }
}
