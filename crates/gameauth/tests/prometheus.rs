//! A real Prometheus server scrapes a running `gameauth vegaslounge serve` after the operator
//! walkthrough and finds every expected series with its value through its HTTP query API.
//!
//! Needs the `prometheus` binary (Debian package `prometheus`); without it the test is skipped
//! with a printed reason, unless `GAMEAUTH_REQUIRE_PROMETHEUS=1` makes a missing binary a
//! failure (as in CI). Everything listens on 127.0.0.1 only.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::metrics::{EXPECTED, metrics_url, start_with_metrics, walkthrough};
use support::vegaslounge::http;

/// How long Prometheus gets to be up, and a series to reach its value: wide, for a busy machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// The `prometheus` binary, or `None` with the reason printed (a failure when required).
fn prometheus_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join("prometheus"))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("GAMEAUTH_REQUIRE_PROMETHEUS").as_deref() != Ok("1"),
            "GAMEAUTH_REQUIRE_PROMETHEUS=1 but no `prometheus` on PATH (apt-get install prometheus)"
        );
        eprintln!("skipped: no `prometheus` on PATH (apt-get install prometheus)");
    }
    found
}

/// A Prometheus server, killed when dropped.
struct Prometheus {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port on 127.0.0.1 (bound, then released for the child to take).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (`host:port`, path `/metrics`) every second.
    fn start(binary: &Path, target: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: gameauth\n    metrics_path: /metrics\n    \
                 static_configs:\n      - targets: [\"{target}\"]\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// The value of the instant vector `query` when it has exactly one sample.
    async fn value(&self, client: &reqwest::Client, query: &str) -> Option<f64> {
        let response = client
            .get(format!("{}/api/v1/query", self.base))
            .query(&[("query", query)])
            .send()
            .await
            .ok()?;
        let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.ok()?).ok()?;
        let result = body["data"]["result"].as_array()?;
        match result.as_slice() {
            [sample] => sample["value"][1].as_str()?.parse().ok(),
            _ => None,
        }
    }

    /// Polls `query` until it equals `expected` (within [`PATIENCE`]); the last value seen
    /// otherwise.
    async fn wait_for(
        &mut self,
        client: &reqwest::Client,
        query: &str,
        expected: f64,
    ) -> Result<(), Option<f64>> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let seen = self.value(client, query).await;
            if seen == Some(expected) {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("prometheus exited: {status}");
            }
            if Instant::now() >= deadline {
                return Err(seen);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// `name{b="2",a="1"}` as the PromQL selector `name{b="2",a="1",job="gameauth"}`.
fn selector(series: &str) -> String {
    match series.split_once('{') {
        Some((name, labels)) => format!(
            "{name}{{{},job=\"gameauth\"}}",
            labels.trim_end_matches('}')
        ),
        None => format!("{series}{{job=\"gameauth\"}}"),
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_every_expected_series_after_the_walkthrough() {
    let Some(binary) = prometheus_binary() else {
        return;
    };
    let server = start_with_metrics("prometheus-scrape", 0);
    let target = metrics_url(&server)
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_owned();
    let mut prometheus = Prometheus::start(&binary, &target);
    let client = http();
    // The target is up before the walkthrough: the counters start from their first scrape.
    prometheus
        .wait_for(&client, "up{job=\"gameauth\"}", 1.0)
        .await
        .unwrap_or_else(|seen| panic!("the target never came up: {seen:?}"));

    walkthrough(&server.base).await;

    let mut missing = Vec::new();
    for (series, expected) in EXPECTED {
        let query = selector(series);
        if let Err(seen) = prometheus.wait_for(&client, &query, expected).await {
            missing.push(format!("{query}: expected {expected}, last seen {seen:?}"));
        }
    }
    // Histograms arrive as Prometheus histograms: a latency quantile can be computed.
    let p99 = "histogram_quantile(0.99, sum by (le) (gameauth_vl_request_duration_seconds_bucket{job=\"gameauth\",route=\"token\"}))";
    let quantile = prometheus.value(&client, p99).await;
    assert!(
        quantile.is_some_and(|q| q > 0.0 && q <= 10.0),
        "p99 of the token route: {quantile:?}"
    );
    assert!(
        missing.is_empty(),
        "series not found:\n{}",
        missing.join("\n")
    );
    server.terminate();
}
