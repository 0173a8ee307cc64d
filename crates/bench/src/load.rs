//! A small in-process HTTP/1.1 load generator: one hyper client connection (keep-alive) per
//! simulated caller, each sending its next request as soon as the previous answer is read, for a
//! fixed time or a fixed number of requests. Every answer is checked and its latency recorded.

use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::{self, SendRequest};
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
    /// The answers completed inside a window of length `window`, by latency (µs).
    pub(crate) fn new(mut latencies_us: Vec<u32>, window: Duration) -> Self {
        latencies_us.sort_unstable();
        Self {
            requests: latencies_us.len() as u64,
            seconds: window.as_secs_f64(),
            latencies_us,
        }
    }

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

    /// The slowest answer (µs).
    pub(crate) fn max(&self) -> f64 {
        f64::from(self.latencies_us.last().copied().unwrap_or(0))
    }
}

/// The runs of one side of a load row, kept while [`Paired`](crate::stats::Paired) samples
/// their throughput.
#[derive(Debug, Default)]
pub(crate) struct Runs(RefCell<Vec<LoadResult>>);

impl Runs {
    /// Keeps a run and returns its throughput.
    pub(crate) fn rps(&self, run: Result<LoadResult, String>) -> Result<f64, String> {
        self.keep(run, LoadResult::rps)
    }

    /// Keeps a run and returns `value` of it.
    pub(crate) fn keep(
        &self,
        run: Result<LoadResult, String>,
        value: fn(&LoadResult) -> f64,
    ) -> Result<f64, String> {
        run.map(|r| {
            let v = value(&r);
            self.0.borrow_mut().push(r);
            v
        })
    }

    /// The runs kept.
    pub(crate) fn into_inner(self) -> Vec<LoadResult> {
        self.0.into_inner()
    }
}

/// A latency in whole microseconds.
pub(crate) fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// One keep-alive client connection to `addr` (TCP_NODELAY).
pub(crate) async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
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
    Ok(sender)
}

/// Sends the conversation's next request on `sender`, checks the answer and returns when it
/// was sent and when its body was read.
pub(crate) async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    conversation: &mut dyn Conversation,
) -> Result<(Instant, Instant), String> {
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
    Ok((sent, done))
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
        senders.push(connect(addr).await?);
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
                    let (sent, done) = exchange(&mut sender, conversation.as_mut()).await?;
                    if done >= start && done < end {
                        latencies.push(micros(done.duration_since(sent)));
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
    Ok(LoadResult::new(all, measure))
}

/// Sends `per_connection` requests on each conversation's own connection, all connections at
/// once; returns how long that took.
pub(crate) async fn run_count(
    addr: SocketAddr,
    conversations: Vec<Box<dyn Conversation>>,
    per_connection: usize,
) -> Result<Duration, String> {
    let mut senders = Vec::with_capacity(conversations.len());
    for _ in 0..conversations.len() {
        senders.push(connect(addr).await?);
    }
    let started = Instant::now();
    let tasks: Vec<_> = senders
        .into_iter()
        .zip(conversations)
        .map(|(mut sender, mut conversation)| {
            tokio::spawn(async move {
                for _ in 0..per_connection {
                    exchange(&mut sender, conversation.as_mut()).await?;
                }
                Ok::<_, String>(())
            })
        })
        .collect();
    for task in tasks {
        task.await
            .map_err(|e| format!("load task panicked: {e}"))??;
    }
    Ok(started.elapsed())
}

/// `callers` tasks calling `call` back to back for `warmup` (not counted) plus `window`; the
/// latency of every call completed inside the window is recorded.
pub(crate) async fn callers<F, Fut>(
    callers: usize,
    warmup: Duration,
    window: Duration,
    call: F,
) -> Result<LoadResult, String>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let call = Arc::new(call);
    let start = Instant::now() + warmup;
    let end = start + window;
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let call = Arc::clone(&call);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < end {
                    let sent = Instant::now();
                    call().await?;
                    let done = Instant::now();
                    if done >= start && done < end {
                        latencies.push(micros(done.duration_since(sent)));
                    }
                }
                Ok::<_, String>(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| format!("caller panicked: {e}"))??);
    }
    Ok(LoadResult::new(all, window))
}
