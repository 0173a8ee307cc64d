//! A small in-process HTTP/1.1 load generator: one hyper client connection (keep-alive) per
//! simulated caller, each sending its next request as soon as the previous answer is read, for a
//! fixed time. Every answer is checked and its latency recorded.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::stats::percentile;

/// What one connection sends and how it reads the answers.
pub(crate) trait Conversation: Send + 'static {
    /// The next request.
    fn request(&mut self) -> Request<Full<Bytes>>;
    /// Checks an answer (and keeps whatever the next request needs).
    fn response(&mut self, status: StatusCode, body: &[u8]) -> Result<(), String>;
}

/// The outcome of one load run.
#[derive(Debug, Clone)]
pub(crate) struct LoadResult {
    /// Answers completed inside the measured window.
    pub(crate) requests: u64,
    /// Length of the measured window.
    pub(crate) seconds: f64,
    /// Latencies (µs) of those answers, sorted.
    pub(crate) latencies_us: Vec<u32>,
}

impl LoadResult {
    /// Requests per second.
    pub(crate) fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    /// Median latency (µs).
    pub(crate) fn p50(&self) -> f64 {
        f64::from(percentile(&self.latencies_us, 50.0))
    }

    /// 99th percentile latency (µs).
    pub(crate) fn p99(&self) -> f64 {
        f64::from(percentile(&self.latencies_us, 99.0))
    }
}

/// Opens one connection per conversation to `addr`, runs them all for `warmup` (not counted)
/// plus `measure`, and collects what completed inside the measured window.
pub(crate) async fn run(
    addr: SocketAddr,
    conversations: Vec<Box<dyn Conversation>>,
    warmup: Duration,
    measure: Duration,
) -> Result<LoadResult, String> {
    let mut senders = Vec::with_capacity(conversations.len());
    for _ in 0..conversations.len() {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("load generator cannot connect: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
        tokio::spawn(connection);
        senders.push(sender);
    }
    let start = Instant::now() + warmup;
    let end = start + measure;
    let tasks: Vec<_> = senders
        .into_iter()
        .zip(conversations)
        .map(|(mut sender, mut conversation)| {
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < end {
                    sender
                        .ready()
                        .await
                        .map_err(|e| format!("connection closed: {e}"))?;
                    let request = conversation.request();
                    let sent = Instant::now();
                    let response = sender
                        .send_request(request)
                        .await
                        .map_err(|e| format!("request failed: {e}"))?;
                    let status = response.status();
                    let body = response
                        .into_body()
                        .collect()
                        .await
                        .map_err(|e| format!("reading the answer: {e}"))?
                        .to_bytes();
                    let done = Instant::now();
                    conversation.response(status, &body)?;
                    if done >= start && done < end {
                        let micros = done.duration_since(sent).as_micros();
                        latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                    }
                }
                Ok::<_, String>(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        let latencies = task
            .await
            .map_err(|e| format!("load task panicked: {e}"))??;
        all.extend(latencies);
    }
    all.sort_unstable();
    Ok(LoadResult {
        requests: all.len() as u64,
        seconds: measure.as_secs_f64(),
        latencies_us: all,
    })
}
