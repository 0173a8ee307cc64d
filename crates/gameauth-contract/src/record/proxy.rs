//! The recording proxy: a loopback HTTP/1 server that forwards every request to the upstream
//! (no redirects followed, 1 MiB body cap both ways), hands the exchange to the recorder, and
//! only then returns the real answer, so the fixture on disk always includes the call the client
//! just saw complete.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use gameauth_core::inbound::{BodyError, DEFAULT_BODY_READ_TIMEOUT, read_body};
use gameauth_core::{HttpTransport, ReqwestTransport};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::Recorder;
use super::render::Exchange;

/// Largest request body the proxy accepts; the transport caps responses at the same size.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Headers that belong to one connection, or that the transport sets itself. `accept-encoding`
/// is dropped so the upstream answers in plain text that can be recorded.
const NOT_FORWARDED: &[&str] = &[
    "accept-encoding",
    "connection",
    "content-length",
    "host",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

struct Shared {
    upstream: String,
    /// The fixture host this proxy stands for.
    host: &'static str,
    transport: ReqwestTransport,
    recorder: Arc<Recorder>,
}

/// A running proxy; dropping it stops accepting connections.
pub struct Proxy {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on `listen` and forwards to `upstream` (`http(s)://host[:port][/prefix]`); the
    /// exchanges are recorded as made with the fixture host `host`.
    ///
    /// # Errors
    ///
    /// A message when `listen` cannot be bound or its local address read, or the HTTP client
    /// that forwards the requests cannot be built. `upstream` is not checked here: a bad one
    /// makes each forwarded request fail.
    pub async fn start(
        listen: SocketAddr,
        upstream: &str,
        host: &'static str,
        recorder: Arc<Recorder>,
    ) -> Result<Self, String> {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the listening address: {e}"))?;
        let transport = ReqwestTransport::builder()
            .max_body_bytes(MAX_BODY_BYTES)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            host,
            transport,
            recorder,
        });
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(handle(req, &shared).await) }
                    });
                    // A client that hangs up mid-request only ends its own connection.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr, task })
    }

    /// The address the proxy listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Runs until the process is stopped.
    pub async fn run(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn plain(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{message}\n"))));
    *r.status_mut() = status;
    r
}

fn copy_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if !NOT_FORWARDED.contains(&name.as_str()) {
            to.append(name.clone(), value.clone());
        }
    }
}

async fn handle(req: Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let (parts, body) = req.into_parts();
    let what = format!("{} {}", parts.method, parts.uri.path());
    let body = match read_body(
        &parts.headers,
        body,
        MAX_BODY_BYTES,
        DEFAULT_BODY_READ_TIMEOUT,
    )
    .await
    {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{what}: request body refused ({e}); limit {MAX_BODY_BYTES} bytes");
            let status = match e {
                BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                BodyError::TimedOut => StatusCode::REQUEST_TIMEOUT,
                _ => StatusCode::BAD_REQUEST,
            };
            return plain(status, "request body refused by the recording proxy");
        }
    };
    let target = match parts.uri.query() {
        Some(q) => format!("{}{}?{q}", shared.upstream, parts.uri.path()),
        None => format!("{}{}", shared.upstream, parts.uri.path()),
    };
    let mut forward = Request::new(body.clone());
    *forward.method_mut() = parts.method.clone();
    match target.parse() {
        Ok(uri) => *forward.uri_mut() = uri,
        Err(_) => return plain(StatusCode::BAD_REQUEST, "cannot forward this request"),
    }
    copy_headers(&parts.headers, forward.headers_mut());
    let answer = match shared.transport.send(forward).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{what}: upstream failed ({e}); answered 502, not recorded");
            return plain(StatusCode::BAD_GATEWAY, "the upstream did not answer");
        }
    };

    let exchange = exchange(shared.host, &parts, &body, &answer, at);
    shared.recorder.record(&what, exchange);

    let mut response = Response::new(Full::new(answer.body().clone()));
    *response.status_mut() = answer.status();
    copy_headers(answer.headers(), response.headers_mut());
    response
}

fn text_headers(headers: &HeaderMap) -> Result<Vec<(String, String)>, String> {
    headers
        .iter()
        .map(|(n, v)| {
            v.to_str()
                .map(|v| (n.as_str().to_owned(), v.to_owned()))
                .map_err(|_| format!("header `{n}` is not text"))
        })
        .collect()
}

fn exchange(
    host: &'static str,
    parts: &http::request::Parts,
    body: &Bytes,
    answer: &Response<Bytes>,
    at: i64,
) -> Result<Exchange, String> {
    let text = |b: &Bytes, what: &str| {
        String::from_utf8(b.to_vec()).map_err(|_| format!("the {what} body is not UTF-8 text"))
    };
    Ok(Exchange {
        host,
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        request_headers: text_headers(&parts.headers)?,
        request_body: text(body, "request")?,
        status: answer.status().as_u16(),
        response_headers: text_headers(answer.headers())?,
        response_body: text(answer.body(), "response")?,
        at,
    })
}
