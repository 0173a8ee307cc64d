//! The operations side of `serve`: the log format and filter, the Prometheus endpoint, and the
//! health probes' settings.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use gameauth_vegaslounge::HttpLimits;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;
use tracing_subscriber::EnvFilter;

use crate::error::CliError;

/// How log lines are written to stderr.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, with the request span's fields.
    Json,
}

/// `[health]`: the readiness probe's store deadline and the drain before shutdown.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct HealthSection {
    readiness_timeout_ms: u64,
    drain_delay_ms: u64,
}

impl Default for HealthSection {
    fn default() -> Self {
        Self {
            readiness_timeout_ms: 1000,
            drain_delay_ms: 0,
        }
    }
}

/// The longest accepted `health.readiness_timeout_ms`.
const MAX_READINESS_TIMEOUT_MS: u64 = 60_000;
/// The longest accepted `health.drain_delay_ms`: five minutes.
const MAX_DRAIN_DELAY_MS: u64 = 300_000;

/// The validated operations settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpsSettings {
    /// Where `/metrics` is served; `None`: no Prometheus endpoint.
    pub(crate) metrics_listen: Option<SocketAddr>,
    pub(crate) log_format: LogFormat,
    /// How long `/readyz` waits for the store.
    pub(crate) readiness_timeout: Duration,
    /// How long `/readyz` answers 503 after SIGTERM before the listener closes.
    pub(crate) drain_delay: Duration,
}

/// Validates the operations settings of a file (after the flags replaced what they set).
pub(super) fn settings(
    metrics_listen: Option<&str>,
    log_format: Option<LogFormat>,
    health: &HealthSection,
) -> Result<OpsSettings, CliError> {
    let metrics_listen = metrics_listen
        .map(|text| {
            text.parse::<SocketAddr>().map_err(|_| {
                CliError::Config(format!("metrics_listen address `{text}` is not IP:PORT"))
            })
        })
        .transpose()?;
    if !(1..=MAX_READINESS_TIMEOUT_MS).contains(&health.readiness_timeout_ms) {
        return Err(CliError::Config(format!(
            "health.readiness_timeout_ms must be between 1 and {MAX_READINESS_TIMEOUT_MS}"
        )));
    }
    if health.drain_delay_ms > MAX_DRAIN_DELAY_MS {
        return Err(CliError::Config(format!(
            "health.drain_delay_ms must be at most {MAX_DRAIN_DELAY_MS}"
        )));
    }
    Ok(OpsSettings {
        metrics_listen,
        log_format: log_format.unwrap_or_default(),
        readiness_timeout: Duration::from_millis(health.readiness_timeout_ms),
        drain_delay: Duration::from_millis(health.drain_delay_ms),
    })
}

/// The log filter: `RUST_LOG` when set (its directives, e.g. `info,gameauth_vegaslounge=debug`),
/// otherwise `info`. A malformed `RUST_LOG` is an error, never ignored.
pub(super) fn log_filter(rust_log: Option<&str>) -> Result<EnvFilter, CliError> {
    match rust_log.map(str::trim) {
        None | Some("") => Ok(EnvFilter::new("info")),
        Some(directives) => EnvFilter::builder()
            .parse(directives)
            .map_err(|e| CliError::Config(format!("RUST_LOG: {e}"))),
    }
}

/// Logs to stderr (stdout stays free for machine-readable output) in `format`.
pub(super) fn init_logging(format: LogFormat) -> Result<(), CliError> {
    let rust_log = match std::env::var("RUST_LOG") {
        Ok(v) => Some(v),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(CliError::Config("RUST_LOG is not valid UTF-8".into()));
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(log_filter(rust_log.as_deref())?)
        .with_target(false);
    // A subscriber installed earlier in the process stays; that is not an error.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    Ok(())
}

/// Writes a startup line: as is in text format, as an `INFO` event in JSON format (so every
/// stderr line is JSON there).
pub(super) fn say(format: LogFormat, line: &str) {
    match format {
        LogFormat::Text => eprintln!("{line}"),
        LogFormat::Json => tracing::info!("{line}"),
    }
}

/// How often the Prometheus recorder drains its histograms' buffers when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The Prometheus endpoint: a recorder installed for the whole process and `GET /metrics` on
/// its own listener. Dropping it stops the endpoint.
pub(super) struct MetricsEndpoint {
    pub(super) addr: SocketAddr,
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Installs the Prometheus recorder (histograms with [`DURATION_BUCKETS`]) and serves it on
/// `addr` with `limits`.
///
/// [`DURATION_BUCKETS`]: gameauth_vegaslounge::metrics::DURATION_BUCKETS
pub(super) async fn start_metrics(
    addr: SocketAddr,
    limits: HttpLimits,
) -> Result<MetricsEndpoint, CliError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::Io(format!("cannot listen on {addr} for metrics: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::Io(format!("cannot read the metrics address: {e}")))?;
    let handle = PrometheusBuilder::new()
        .set_buckets(&gameauth_vegaslounge::metrics::DURATION_BUCKETS)
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| CliError::Io(format!("cannot install the metrics recorder: {e}")))?;
    gameauth_vegaslounge::metrics::describe();
    let handle = Arc::new(handle);
    let upkeep = {
        let handle = handle.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(UPKEEP_EVERY).await;
                handle.run_upkeep();
            }
        })
    };
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || render(handle.clone())),
    );
    let server = tokio::spawn(async move {
        if let Err(e) =
            gameauth_vegaslounge::serve(listener, app, limits, std::future::pending()).await
        {
            tracing::error!(error = %e, "the metrics endpoint stopped");
        }
    });
    Ok(MetricsEndpoint {
        addr,
        tasks: [upkeep, server],
    })
}

async fn render(handle: Arc<PrometheusHandle>) -> ([(http::HeaderName, &'static str); 1], String) {
    (
        [(
            http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_validated() {
        let ok = settings(
            Some("127.0.0.1:9464"),
            Some(LogFormat::Json),
            &HealthSection::default(),
        )
        .unwrap();
        assert_eq!(ok.metrics_listen, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(ok.log_format, LogFormat::Json);
        assert_eq!(ok.readiness_timeout, Duration::from_secs(1));
        assert_eq!(ok.drain_delay, Duration::ZERO);
        let defaults = settings(None, None, &HealthSection::default()).unwrap();
        assert_eq!(
            (defaults.metrics_listen, defaults.log_format),
            (None, LogFormat::Text)
        );
        for (listen, health, expected) in [
            (
                Some("localhost:9464"),
                HealthSection::default(),
                "metrics_listen",
            ),
            (
                None,
                HealthSection {
                    readiness_timeout_ms: 0,
                    drain_delay_ms: 0,
                },
                "health.readiness_timeout_ms",
            ),
            (
                None,
                HealthSection {
                    readiness_timeout_ms: 1,
                    drain_delay_ms: 300_001,
                },
                "health.drain_delay_ms",
            ),
        ] {
            let err = settings(listen, None, &health).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn rust_log_is_parsed_and_a_bad_one_is_an_error() {
        assert!(log_filter(None).is_ok());
        assert!(log_filter(Some("")).is_ok());
        assert!(log_filter(Some("warn,gameauth_vegaslounge=debug")).is_ok());
        let err = log_filter(Some("gameauth_vegaslounge=loud")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("configuration error: RUST_LOG:"),
            "{err}"
        );
        assert_eq!(err.exit_code(), 2);
    }
}
