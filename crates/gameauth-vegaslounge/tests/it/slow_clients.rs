//! `serve` on real sockets: every phase of a connection has a deadline, and slow clients can
//! neither hold connections forever nor lock out new ones.
//!
//! Deadlines here are short so the tests are quick; every assertion is "not before the deadline"
//! (exact: the server acts only after it) and "within a wide margin after it" (a busy machine may
//! be slow, never wrong).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::{get, post};
use gameauth_vegaslounge::HttpLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{Harness, code_form};

/// How long a busy machine may take beyond a deadline.
const MARGIN: Duration = Duration::from_secs(30);

fn limits(configure: impl FnOnce(&mut HttpLimits)) -> HttpLimits {
    let mut limits = HttpLimits::default();
    configure(&mut limits);
    limits
}

/// Serves the contract's router plus a health check and a host route that reads its body.
async fn start(h: &Harness, limits: HttpLimits) -> SocketAddr {
    let app = gameauth_vegaslounge::router(Arc::clone(&h.server))
        .route("/healthz", get(|| async { "ok" }))
        .route("/echo", post(|body: bytes::Bytes| async move { body }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(gameauth_vegaslounge::serve(
        listener,
        app,
        limits,
        std::future::pending(),
    ));
    addr
}

/// Opens a connection and sends `bytes`, typically an unfinished request.
async fn send_raw(addr: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

/// Reads until the server closes the connection; returns what it sent. Panics after `MARGIN`.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(MARGIN, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    });
    read.await.expect("the server never closed the connection");
    out
}

/// Whether the server has closed the connection (looked at for a moment).
async fn is_closed(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_millis(20), stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

const HALF_SENT_HEAD: &[u8] =
    b"POST /oauth2.0/token HTTP/1.1\r\nHost: operator\r\nContent-Type: appl";

#[tokio::test]
async fn half_sent_request_heads_are_closed_at_the_header_deadline() {
    let h = Harness::new();
    let deadline = Duration::from_millis(500);
    let addr = start(&h, limits(|l| l.header_read_timeout = deadline)).await;
    let started = Instant::now();
    let mut streams = Vec::new();
    for _ in 0..20 {
        streams.push(send_raw(addr, HALF_SENT_HEAD).await);
    }
    for stream in &mut streams {
        let answer = read_until_closed(stream).await;
        assert!(answer.is_empty(), "a half-sent head gets no answer");
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= deadline,
        "closed before the deadline: {elapsed:?}"
    );
    // A connection that sends nothing at all is closed the same way.
    let started = Instant::now();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert!(read_until_closed(&mut silent).await.is_empty());
    assert!(started.elapsed() >= deadline);
}

#[tokio::test]
async fn half_sent_requests_never_starve_healthz_or_the_token_endpoint() {
    let h = Harness::new();
    let cap = 8;
    // The header deadline is far away: only the connection cap's eviction can let others in.
    let addr = start(
        &h,
        limits(|l| {
            l.max_connections = cap;
            l.header_read_timeout = Duration::from_secs(300);
        }),
    )
    .await;
    let mut slow = Vec::new();
    for _ in 0..5 * cap {
        slow.push(send_raw(addr, HALF_SENT_HEAD).await);
    }
    let client = reqwest::Client::new();
    let health = tokio::time::timeout(MARGIN, client.get(format!("http://{addr}/healthz")).send())
        .await
        .expect("/healthz answered")
        .unwrap();
    assert_eq!(health.status(), 200);
    let code = h.code().await;
    let token = tokio::time::timeout(
        MARGIN,
        client
            .post(format!("http://{addr}/oauth2.0/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(code_form(&code))
            .send(),
    )
    .await
    .expect("the token endpoint answered")
    .unwrap();
    assert_eq!(token.status(), 200);
    // The cap holds: all but at most `cap` of the slow connections were closed.
    let waited = Instant::now();
    loop {
        let mut open = 0;
        for stream in &mut slow {
            if !is_closed(stream).await {
                open += 1;
            }
        }
        if open <= cap {
            break;
        }
        assert!(
            waited.elapsed() < MARGIN,
            "{open} slow connections still open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_body_that_never_finishes_arriving_is_answered_408_at_the_body_deadline() {
    let h = Harness::new();
    let deadline = Duration::from_millis(500);
    let addr = start(&h, limits(|l| l.body_read_timeout = deadline)).await;
    let head = "POST /oauth2.0/token HTTP/1.1\r\nHost: operator\r\n\
                Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
                grant_type=";
    let started = Instant::now();
    let mut stream = send_raw(addr, head.as_bytes()).await;
    let answer = String::from_utf8(read_until_closed(&mut stream).await).unwrap();
    assert!(started.elapsed() >= deadline, "{:?}", started.elapsed());
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""errorCode":1007"#), "{answer}");

    // The host's own routes get the same deadline: their body read fails and the connection is
    // closed.
    let started = Instant::now();
    let mut stream = send_raw(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: operator\r\nContent-Length: 100\r\n\r\npartial",
    )
    .await;
    let answer = String::from_utf8(read_until_closed(&mut stream).await).unwrap();
    assert!(started.elapsed() >= deadline);
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_at_the_keep_alive_deadline() {
    let h = Harness::new();
    let idle = Duration::from_millis(500);
    let addr = start(
        &h,
        limits(|l| {
            l.keep_alive_timeout = idle;
            l.header_read_timeout = Duration::from_secs(300);
        }),
    )
    .await;
    let mut stream = send_raw(addr, b"GET /healthz HTTP/1.1\r\nHost: operator\r\n\r\n").await;
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(b"ok") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&buf[..n]);
    }
    let answered = Instant::now();
    assert!(read_until_closed(&mut stream).await.is_empty());
    assert!(answered.elapsed() >= idle.saturating_sub(Duration::from_millis(50)));

    // A kept-alive connection whose next request stalls mid-head is closed at the header
    // deadline counted from that request's first byte, not left open.
    let addr = start(
        &h,
        limits(|l| {
            l.keep_alive_timeout = Duration::from_secs(300);
            l.header_read_timeout = idle;
        }),
    )
    .await;
    let mut stream = send_raw(addr, b"GET /healthz HTTP/1.1\r\nHost: operator\r\n\r\n").await;
    let mut answer = Vec::new();
    while !answer.ends_with(b"ok") {
        let n = stream.read(&mut buf).await.unwrap();
        answer.extend_from_slice(&buf[..n]);
    }
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let started = Instant::now();
    assert!(read_until_closed(&mut stream).await.is_empty());
    assert!(started.elapsed() >= idle.saturating_sub(Duration::from_millis(50)));
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_returns() {
    let h = Harness::new();
    let app = gameauth_vegaslounge::router(Arc::clone(&h.server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(gameauth_vegaslounge::serve(
        listener,
        app,
        limits(|l| l.header_read_timeout = Duration::from_secs(300)),
        async move {
            let _ = stopped.await;
        },
    ));
    let mut idle = TcpStream::connect(addr).await.unwrap();
    // Let the server accept it before stopping.
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    assert!(read_until_closed(&mut idle).await.is_empty());
    tokio::time::timeout(MARGIN, server)
        .await
        .expect("serve returned")
        .unwrap()
        .unwrap();
}
