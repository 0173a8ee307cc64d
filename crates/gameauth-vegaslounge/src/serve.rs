//! Serving a router over HTTP/1.1 with deadlines on every phase and a connection cap (feature
//! `axum`).
//!
//! `axum::serve` has no read deadlines: a client that sends half a request and stops holds its
//! socket forever, and enough of them exhaust the file descriptors, after which nobody, not even
//! a health check, gets in. [`serve`] applies the [`HttpLimits`] to every connection and every
//! route of the router it is given (the host's own routes included):
//!
//! | phase of a connection | deadline | then |
//! |---|---|---|
//! | accepted, first request's head arriving | `header_read_timeout` from the accept | closed |
//! | a later request's head arriving | `header_read_timeout` from its first byte | closed |
//! | a request's body arriving | `body_read_timeout` from the end of its head | the body read fails: the contract's routes answer 408 |
//! | kept alive, waiting for the next request (or for the client to read an answer) | `keep_alive_timeout` | closed |
//! | a request being handled | none here: the handler's own deadlines apply | — |
//!
//! At most `max_connections` are open. When a new connection arrives at the cap, the connection
//! that has waited longest *without a request in progress* (a slow or idle client) is closed to
//! make room, so slow clients cannot lock out new ones; when every connection is busy, new ones
//! wait in the listen backlog. Running out of file descriptors is handled the same way: the
//! longest-waiting idle connection is closed and the accept is tried again.
//!
//! Each request carries `ConnectInfo<SocketAddr>` (the socket peer), which the contract's routes
//! need for the IP allow-list.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use gameauth_core::inbound::DeadlineBody;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

use crate::config::HttpLimits;

/// How long to wait for a closed connection to give its file descriptor back, or for anything
/// to change, before an accept that failed is tried again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// At most one warning per this interval while accepting keeps failing.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` with `limits` until `shutdown` completes, then stops accepting,
/// closes idle connections, lets requests in progress finish (within their deadlines) and
/// returns.
///
/// ```no_run
/// # async fn run(
/// #     server: std::sync::Arc<gameauth_vegaslounge::OAuthServer>,
/// #     stop: tokio::sync::oneshot::Receiver<()>,
/// # ) -> std::io::Result<()> {
/// let limits = server.config().http;
/// let app = gameauth_vegaslounge::router(server); // .merge(the host's own routes)
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// // Serves until `stop` fires (e.g. from a SIGTERM handler).
/// gameauth_vegaslounge::serve(listener, app, limits, async {
///     let _ = stop.await;
/// })
/// .await
/// # }
/// ```
///
/// # Errors
///
/// An I/O error of the listener that is not about one connection (for example, the listening
/// socket was closed).
pub async fn serve<F>(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    let registry = Arc::new(Registry::default());
    let (stop, stopped) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    let mut last_warning = None;
    loop {
        // Wait until a new connection can be admitted: below the cap, or one can be evicted.
        loop {
            let changed = registry.changed.notified();
            let mut changed = pin!(changed);
            changed.as_mut().enable();
            if registry.has_room(limits.max_connections) {
                break;
            }
            tokio::select! {
                () = changed => {}
                () = &mut shutdown => return drain(&registry, &stop).await,
            }
        }
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => return drain(&registry, &stop).await,
        };
        match accepted {
            Ok((stream, peer)) => {
                if registry.open() >= limits.max_connections && !registry.evict_longest_waiting() {
                    // Every connection turned busy since the check: the newcomer cannot be served.
                    tracing::debug!("connection refused at the connection cap");
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let conn = registry.add();
                tokio::spawn(serve_connection(
                    stream,
                    peer,
                    app.clone(),
                    limits,
                    conn,
                    registry.clone(),
                    stopped.clone(),
                ));
            }
            Err(e) if is_connection_error(&e) => {}
            Err(e) if is_resource_exhaustion(&e) => {
                // Out of file descriptors: free one held by a waiting client and try again.
                if last_warning.is_none_or(|at: Instant| at.elapsed() >= WARN_EVERY) {
                    tracing::warn!(error = %e, "cannot accept connections; closing idle ones");
                    last_warning = Some(Instant::now());
                }
                let changed = registry.changed.notified();
                registry.evict_longest_waiting();
                let _ = tokio::time::timeout(ACCEPT_RETRY, changed).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Stops every connection: idle ones close now, busy ones after their answer.
async fn drain(registry: &Registry, stop: &watch::Sender<bool>) -> std::io::Result<()> {
    let _ = stop.send(true);
    loop {
        let changed = registry.changed.notified();
        let mut changed = pin!(changed);
        changed.as_mut().enable();
        if registry.open() == 0 {
            return Ok(());
        }
        changed.await;
    }
}

fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::Interrupted
            | std::io::ErrorKind::WouldBlock
    )
}

/// `EMFILE`/`ENFILE` (too many open files, per process or system-wide), `ENOBUFS`, `ENOMEM`.
fn is_resource_exhaustion(e: &std::io::Error) -> bool {
    const ENOMEM: i32 = 12;
    const ENFILE: i32 = 23;
    const EMFILE: i32 = 24;
    const ENOBUFS: i32 = 105;
    matches!(e.raw_os_error(), Some(EMFILE | ENFILE | ENOBUFS | ENOMEM))
        || e.kind() == std::io::ErrorKind::OutOfMemory
}

/// The phase of a connection (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    /// Accepted; the first request's head is awaited.
    Fresh = 0,
    /// A later request's head is arriving.
    Head = 1,
    /// Kept alive between requests.
    Idle = 2,
    /// A request is being handled.
    Busy = 3,
    /// Chosen for eviction; closing.
    Evicted = 4,
}

impl Phase {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Fresh,
            1 => Self::Head,
            2 => Self::Idle,
            3 => Self::Busy,
            _ => Self::Evicted,
        }
    }
}

/// What the accept loop and a connection's watchdog share about one connection.
#[derive(Debug)]
struct Conn {
    id: u64,
    phase: AtomicU8,
    /// When the phase began, in milliseconds since `epoch`.
    since_ms: AtomicU64,
    epoch: Instant,
    /// Wakes the watchdog: the phase changed, or the connection was evicted.
    wake: Notify,
}

impl Conn {
    fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    fn since(&self) -> Instant {
        self.epoch + Duration::from_millis(self.since_ms.load(Ordering::Acquire))
    }

    fn enter(&self, phase: Phase) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.since_ms.store(ms, Ordering::Release);
        self.phase.store(phase as u8, Ordering::Release);
        self.wake.notify_one();
    }

    /// `from` → `to`, unless the phase changed meanwhile.
    fn advance(&self, from: Phase, to: Phase) -> bool {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let moved = self
            .phase
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if moved {
            self.since_ms.store(ms, Ordering::Release);
            self.wake.notify_one();
        }
        moved
    }

    /// When the connection must be closed in its current phase; `None` while busy.
    fn deadline(&self, limits: &HttpLimits) -> Option<Instant> {
        match self.phase() {
            Phase::Fresh | Phase::Head => Some(self.since() + limits.header_read_timeout),
            Phase::Idle => Some(self.since() + limits.keep_alive_timeout),
            Phase::Busy => None,
            Phase::Evicted => Some(self.since()),
        }
    }
}

/// The open connections.
#[derive(Debug, Default)]
struct Registry {
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    /// Notified when a connection ends or stops being busy.
    changed: Notify,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn open(&self) -> usize {
        self.lock().len()
    }

    /// Whether a new connection can be admitted, directly or by evicting a waiting one.
    fn has_room(&self, max: usize) -> bool {
        let conns = self.lock();
        conns.len() < max
            || conns
                .values()
                .any(|c| !matches!(c.phase(), Phase::Busy | Phase::Evicted))
    }

    fn add(&self) -> Arc<Conn> {
        let epoch = Instant::now();
        let conn = Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            phase: AtomicU8::new(Phase::Fresh as u8),
            since_ms: AtomicU64::new(0),
            epoch,
            wake: Notify::new(),
        });
        self.lock().insert(conn.id, conn.clone());
        conn
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
        self.changed.notify_waiters();
    }

    /// Closes the connection that has waited longest without a request in progress; `false`
    /// when every connection is busy (or already closing).
    fn evict_longest_waiting(&self) -> bool {
        let conns = self.lock();
        let victim = conns
            .values()
            .filter_map(|c| match c.phase() {
                p @ (Phase::Fresh | Phase::Head | Phase::Idle) => Some((c.since(), p, c)),
                Phase::Busy | Phase::Evicted => None,
            })
            .min_by_key(|(since, _, c)| (*since, c.id));
        match victim {
            Some((_, phase, conn)) if conn.advance(phase, Phase::Evicted) => {
                tracing::debug!(phase = ?phase, "connection closed to admit a new one");
                true
            }
            // It turned busy in between; the caller looks again.
            _ => false,
        }
    }
}

/// Removes a connection from the registry when its task ends, however it ends.
struct Registered {
    conn: Arc<Conn>,
    registry: Arc<Registry>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.remove(self.conn.id);
    }
}

/// Marks a connection busy while a request is handled.
struct InProgress {
    conn: Arc<Conn>,
    registry: Arc<Registry>,
}

impl InProgress {
    fn start(conn: &Arc<Conn>, registry: &Arc<Registry>) -> Self {
        conn.enter(Phase::Busy);
        Self {
            conn: conn.clone(),
            registry: registry.clone(),
        }
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        if self.conn.advance(Phase::Busy, Phase::Idle) {
            self.registry.changed.notify_waiters();
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: HttpLimits,
    conn: Arc<Conn>,
    registry: Arc<Registry>,
    mut stopped: watch::Receiver<bool>,
) {
    let _registered = Registered {
        conn: conn.clone(),
        registry: registry.clone(),
    };
    let io = TokioIo::new(Tracked {
        inner: stream,
        conn: conn.clone(),
    });
    let service = {
        let conn = conn.clone();
        hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            let in_progress = InProgress::start(&conn, &registry);
            request.extensions_mut().insert(ConnectInfo(peer));
            let request = request.map(|body| DeadlineBody::new(body, limits.body_read_timeout));
            let app = app.clone();
            async move {
                let response = app.oneshot(request).await;
                drop(in_progress);
                response
            }
        })
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    let mut connection = pin!(connection);
    let mut stopping = false;
    loop {
        let deadline = conn.deadline(&limits);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = conn.wake.notified() => {}
            () = sleep_until(deadline) => {
                if conn.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                    tracing::debug!(phase = ?conn.phase(), "connection closed at its deadline");
                    return;
                }
            }
            _ = stopped.wait_for(|stop| *stop), if !stopping => {
                // Hyper closes an idle connection at once and a busy one after its answer; the
                // deadlines above still bound a client that stalls.
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
        if conn.phase() == Phase::Evicted {
            return;
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The socket, noting when the first byte of a kept-alive connection's next request arrives.
struct Tracked {
    inner: TcpStream,
    conn: Arc<Conn>,
}

impl tokio::io::AsyncRead for Tracked {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.conn.advance(Phase::Idle, Phase::Head);
        }
        polled
    }
}

impl tokio::io::AsyncWrite for Tracked {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
