//! Test support shared by the workspace's fault-injection and secret-leak tests.
//!
//! * [`ChaosServer`]: a tokio listener on loopback that misbehaves in one of the ways listed in
//!   the reliability rules ([`Fault`]), counting the connections it accepted and the requests it
//!   read, so a test can prove both what a client returned and what it sent.
//! * [`capture_logs`]: a TRACE-level `tracing` subscriber writing into memory, so a test can run a
//!   full flow and assert that no sentinel secret was logged, and that cannot miss events because
//!   other tests' threads reached an event site first.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use testkit::{ChaosServer, Fault};
//! let server = ChaosServer::start(Fault::Status(503)).await;
//! assert!(server.base_url().starts_with("http://127.0.0.1:"));
//! assert_eq!(server.accepted(), 0);
//! # });
//! ```

pub mod redis;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Size of [`Fault::HugeBody`]: 10 MiB.
pub const HUGE_BODY_BYTES: usize = 10 * 1024 * 1024;

/// How long "never" is for a silent or stalling server: longer than any test's deadline.
const STALL: Duration = Duration::from_secs(120);

/// One way for a server to misbehave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Nobody listens: connections are refused.
    Refuse,
    /// Accept and read the request, then never answer.
    Silent,
    /// Send a status line and headers announcing a body, then stall.
    HeadersThenStall,
    /// Read the request, then reset the connection.
    ResetAfterRequest,
    /// Send part of a status line, then close.
    PartialStatusLine,
    /// Announce a longer body than is sent, then close.
    ShortBody,
    /// An HTML error page with status 200.
    Html200,
    /// A 10 MiB JSON-looking body with status 200.
    HugeBody,
    /// A redirect to another host (give it a second server's URL to prove it is not followed).
    RedirectTo(String),
    /// A JSON body cut off in the middle, with status 200.
    TruncatedJson,
    /// Well-formed JSON whose fields have the wrong types, with status 200.
    WrongTypes,
    /// This status with a small JSON body.
    Status(u16),
    /// 429 with `Retry-After` in seconds.
    TooManyRequests {
        /// The `Retry-After` value.
        retry_after_secs: u64,
    },
    /// A well-formed answer.
    Respond {
        /// Status code.
        status: u16,
        /// `Content-Type`.
        content_type: String,
        /// Body bytes.
        body: Vec<u8>,
    },
}

impl Fault {
    /// A 200 `application/json` answer with `body`.
    pub fn json(body: &str) -> Self {
        Self::Respond {
            status: 200,
            content_type: "application/json".into(),
            body: body.as_bytes().to_vec(),
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicUsize,
    requests: AtomicUsize,
    bodies: Mutex<Vec<Vec<u8>>>,
}

/// A misbehaving HTTP/1.1 server on `127.0.0.1`.
///
/// Each connection is answered with the next fault of the list given at start (the last one
/// repeats) and then closed.
#[derive(Debug)]
pub struct ChaosServer {
    addr: SocketAddr,
    counters: Arc<Counters>,
    task: Option<JoinHandle<()>>,
}

impl ChaosServer {
    /// A server that answers every connection with `fault`.
    pub async fn start(fault: Fault) -> Self {
        Self::start_sequence(vec![fault]).await
    }

    /// A server that answers the n-th connection with the n-th fault, repeating the last.
    ///
    /// # Panics
    /// When `faults` is empty or no loopback port can be bound (test set-up errors).
    pub async fn start_sequence(faults: Vec<Fault>) -> Self {
        assert!(!faults.is_empty(), "give at least one fault");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let counters = Arc::new(Counters::default());
        if faults == [Fault::Refuse] {
            // Free the port again: connecting to it is now refused.
            drop(listener);
            return Self {
                addr,
                counters,
                task: None,
            };
        }
        let task = tokio::spawn({
            let counters = counters.clone();
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let n = counters.accepted.fetch_add(1, Ordering::SeqCst);
                    let fault = faults[n.min(faults.len() - 1)].clone();
                    tokio::spawn(serve(stream, fault, counters.clone()));
                }
            }
        });
        Self {
            addr,
            counters,
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.counters.accepted.load(Ordering::SeqCst)
    }

    /// Complete requests (head and announced body) read so far.
    pub fn requests(&self) -> usize {
        self.counters.requests.load(Ordering::SeqCst)
    }

    /// The bodies of the requests read so far, in order.
    pub fn request_bodies(&self) -> Vec<Vec<u8>> {
        self.counters
            .bodies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for ChaosServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Reads one request: the head, then `Content-Length` bytes of body. `None` on EOF or error.
async fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&seen[..head_end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while seen.len() < head_end + len {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    Some(seen[head_end..head_end + len].to_vec())
}

fn response(status: u16, extra: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n",
        reason(status),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

async fn serve(mut stream: TcpStream, fault: Fault, counters: Arc<Counters>) {
    let Some(body) = read_request(&mut stream).await else {
        return;
    };
    counters.requests.fetch_add(1, Ordering::SeqCst);
    counters
        .bodies
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(body);
    let bytes = match fault {
        Fault::Refuse => return,
        Fault::Silent => {
            tokio::time::sleep(STALL).await;
            return;
        }
        Fault::HeadersThenStall => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 64\r\n\r\n{\"code\":")
                .await;
            tokio::time::sleep(STALL).await;
            return;
        }
        Fault::ResetAfterRequest => {
            // A zero linger makes the close a TCP reset, the fault under test.
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            return;
        }
        Fault::PartialStatusLine => b"HTTP/1.1 20".to_vec(),
        Fault::ShortBody => {
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"code\":0}"
                .to_vec()
        }
        Fault::Html200 => response(
            200,
            "",
            "text/html",
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        ),
        Fault::HugeBody => {
            let mut body = Vec::with_capacity(HUGE_BODY_BYTES);
            body.extend_from_slice(b"{\"padding\":\"");
            body.resize(HUGE_BODY_BYTES - 2, b'x');
            body.extend_from_slice(b"\"}");
            response(200, "", "application/json", &body)
        }
        Fault::RedirectTo(location) => response(
            302,
            &format!("location: {location}\r\n"),
            "text/plain",
            b"",
        ),
        Fault::TruncatedJson => response(
            200,
            "",
            "application/json",
            b"{\"code\":0,\"result_code\":0,\"data\":{\"tok",
        ),
        Fault::WrongTypes => response(
            200,
            "",
            "application/json",
            b"{\"code\":[],\"msg\":{},\"result_code\":[],\"data\":7}",
        ),
        Fault::Status(status) => response(status, "", "application/json", b"{\"error\":\"fault\"}"),
        Fault::TooManyRequests { retry_after_secs } => response(
            429,
            &format!("retry-after: {retry_after_secs}\r\n"),
            "application/json",
            b"{\"error\":\"slow down\"}",
        ),
        Fault::Respond {
            status,
            content_type,
            body,
        } => response(status, "", &content_type, &body),
    };
    let _ = stream.write_all(&bytes).await;
    let _ = stream.shutdown().await;
}

/// Log lines captured by [`capture_logs`].
#[derive(Debug, Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    /// Everything logged so far.
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs a TRACE-level subscriber for the current thread until the guard drops, and returns
/// what it writes. Use with a current-thread runtime so every task logs through it.
///
/// Records of the `log` crate (used by some dependencies) are forwarded to it too.
///
/// `tracing` caches, per event site, whether any subscriber wants it, and decides that when a
/// thread first reaches the site: while only one thread-local subscriber exists, it asks the
/// reaching thread's own subscriber. A site first reached by another test's thread (which has
/// none) would then be cached as unwanted, and this thread's subscriber would miss its events.
/// So the first call also installs a global subscriber that wants every site but records
/// nothing ([`EverySite`]): no site is ever cached as unwanted, and each event still goes to
/// the subscriber of the thread that emits it.
pub fn capture_logs() -> (tracing::subscriber::DefaultGuard, LogBuffer) {
    every_site_wanted();
    // Only the first call in a process installs the bridge; later ones find it in place.
    let _ = tracing_log::LogTracer::init();
    let buffer = LogBuffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (tracing::subscriber::set_default(subscriber), buffer)
}

/// Installs [`EverySite`] as the global subscriber once per process (a test binary whose own
/// code set one keeps it). Call it first in any test that watches events or spans through a
/// thread-local subscriber (as [`capture_logs`] does), so no site is cached as unwanted by
/// another test's thread.
pub fn every_site_wanted() {
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        let _ = tracing::subscriber::set_global_default(EverySite);
    });
}

/// The global subscriber of [`capture_logs`]: interested in every event site, so that `tracing`
/// never caches a site as unwanted, and enabled for nothing, so it records nothing.
#[derive(Debug, Clone, Copy)]
pub struct EverySite;

impl tracing::Subscriber for EverySite {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        false
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        // Never called: no span is enabled.
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, _: &tracing::Event<'_>) {}

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn raw_get(url: &str) -> std::io::Result<Vec<u8>> {
        let addr = url.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}")
            .await?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await?;
        Ok(out)
    }

    #[tokio::test]
    async fn refuse_refuses() {
        let s = ChaosServer::start(Fault::Refuse).await;
        assert!(raw_get(&s.base_url()).await.is_err());
        assert_eq!(s.accepted(), 0);
    }

    #[tokio::test]
    async fn sequence_answers_in_order_and_counts() {
        let s =
            ChaosServer::start_sequence(vec![Fault::Status(503), Fault::json("{\"ok\":1}")]).await;
        let first = raw_get(&s.base_url()).await.unwrap();
        assert!(first.starts_with(b"HTTP/1.1 503"));
        let second = raw_get(&s.base_url()).await.unwrap();
        assert!(second.ends_with(b"{\"ok\":1}"));
        let third = raw_get(&s.base_url()).await.unwrap();
        assert!(third.ends_with(b"{\"ok\":1}"));
        assert_eq!(s.accepted(), 3);
        assert_eq!(s.requests(), 3);
        assert_eq!(s.request_bodies()[0], b"{}");
    }

    #[tokio::test]
    async fn partial_status_line_and_short_body_are_truncated() {
        let s = ChaosServer::start(Fault::PartialStatusLine).await;
        assert_eq!(raw_get(&s.base_url()).await.unwrap(), b"HTTP/1.1 20");
        let s = ChaosServer::start(Fault::ShortBody).await;
        let out = raw_get(&s.base_url()).await.unwrap();
        assert!(out.ends_with(b"{\"code\":0}"));
    }

    fn emit_from_a_shared_callsite(value: &str) {
        tracing::warn!(value, "an event whose callsite two threads share");
    }

    #[test]
    fn an_event_whose_callsite_another_thread_saw_first_is_still_captured() {
        let (guard, logs) = capture_logs();
        // Another thread, without a subscriber, is the first to reach the callsite: tracing
        // caches that callsite's interest then, and must not cache "never".
        std::thread::spawn(|| emit_from_a_shared_callsite("elsewhere"))
            .join()
            .unwrap();
        emit_from_a_shared_callsite("sentinel-here");
        drop(guard);
        let text = logs.contents();
        assert!(text.contains("sentinel-here"), "missed: {text:?}");
        assert!(
            !text.contains("elsewhere"),
            "another thread's event was captured"
        );
    }

    #[test]
    fn logs_are_captured() {
        let (guard, logs) = capture_logs();
        tracing::trace!(value = "visible", "hello");
        drop(guard);
        assert!(logs.contents().contains("visible"));
    }
}
