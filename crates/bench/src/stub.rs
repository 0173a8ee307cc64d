//! A minimal loopback HTTP/1.1 server on hyper: a fixed answer per path, nothing else.
//!
//! It stands in for Hive in items 2 and 3 and is the "bare hyper endpoint" baseline of item 4.
//! It can be switched to *silent*: connections are still accepted and requests read, but no
//! answer is ever sent (the failover scenario).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::runtime::Handle;

/// The fixed answers: `(path, body)`; any other path gets 404.
pub(crate) type Answers = Arc<Vec<(&'static str, Bytes)>>;

/// A running stub.
pub(crate) struct Stub {
    addr: SocketAddr,
    silent: Arc<AtomicBool>,
}

impl Stub {
    /// Starts a stub on a fresh loopback port, serving on `runtime`.
    pub(crate) fn start(runtime: &Handle, answers: Answers) -> Result<Self, String> {
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| format!("cannot bind the stub: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("stub address: {e}"))?;
        let silent = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&silent);
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // Same socket options as the server under test (axum, see `vegas`).
                let _ = stream.set_nodelay(true);
                let answers = Arc::clone(&answers);
                let flag = Arc::clone(&flag);
                let service = service_fn(move |request: Request<Incoming>| {
                    let answers = Arc::clone(&answers);
                    let flag = Arc::clone(&flag);
                    async move { Ok::<_, Infallible>(answer(request, &answers, &flag).await) }
                });
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr, silent })
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops (`true`) or resumes (`false`) answering.
    pub(crate) fn set_silent(&self, silent: bool) {
        self.silent.store(silent, Ordering::SeqCst);
    }
}

async fn answer(
    request: Request<Incoming>,
    answers: &[(&'static str, Bytes)],
    silent: &AtomicBool,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    // Read the request body as any server must before answering.
    let _ = request.into_body().collect().await;
    if silent.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    match answers.iter().find(|(p, _)| *p == path) {
        Some((_, body)) => {
            let mut response = Response::new(Full::new(body.clone()));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        None => {
            let mut response = Response::new(Full::new(Bytes::from_static(b"not found")));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    }
}
