//! The default transport against misbehaving servers on real loopback sockets.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gameauth_core::TransportErrorKind;
use gameauth_omg::{AuthorizeRequest, Client, EnterGameRequest, Error, ScreenMode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::client_builder;

/// What the raw server does once it has read a request.
#[derive(Clone, Copy)]
enum Fault {
    /// Accept and never answer.
    Silent,
    /// Close the connection right after reading the request.
    Reset,
    /// Send half a status line, then close.
    PartialStatusLine,
    /// Promise 100 body bytes, send 10, then close.
    ShortBody,
    /// Send the headers, then stall the body.
    StalledBody,
}

/// A server on 127.0.0.1:0 that misbehaves with `fault`, counting connections.
async fn raw_server(fault: Fault) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(stream, fault));
        }
    });
    (format!("http://{addr}"), accepted)
}

async fn serve(mut stream: TcpStream, fault: Fault) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut seen = Vec::new();
    // Read until the end of the headers and the small JSON body have arrived.
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            return;
        }
        seen.extend_from_slice(&buf[..n]);
        if seen.ends_with(b"}") {
            break;
        }
    }
    let reply: &[u8] = match fault {
        Fault::Silent => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        Fault::Reset => return,
        Fault::PartialStatusLine => b"HTTP/1.1 20",
        Fault::ShortBody => b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"code\":0,",
        Fault::StalledBody => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"code\"")
                .await;
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
    };
    let _ = stream.write_all(reply).await;
}

fn fast_client(base_url: &str) -> Client {
    client_builder(base_url)
        .attempt_timeout(Duration::from_millis(300))
        .deadline(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn bill() -> AuthorizeRequest {
    AuthorizeRequest::new("10032355", "Bill").with_cid(0)
}

fn launch() -> EnterGameRequest {
    EnterGameRequest::new("1003803".into(), "49", ScreenMode::Half)
}

#[tokio::test]
async fn connection_refused_is_a_connect_error_that_sent_nothing() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = fast_client(&format!("http://{addr}"));
    let err = c.authorize(&bill()).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport(ref t) if t.is_connect() && !t.request_sent()),
        "{err:?}"
    );
    let err = c.enter_game(&launch()).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport(ref t) if t.is_connect()),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_silent_server_makes_authorize_outcome_unknown_and_is_not_retried() {
    let (url, accepted) = raw_server(Fault::Silent).await;
    let err = fast_client(&url).authorize(&bill()).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown), "{err:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_silent_server_makes_reads_time_out_within_the_deadline() {
    let (url, accepted) = raw_server(Fault::Silent).await;
    let start = Instant::now();
    let err = fast_client(&url).enter_game(&launch()).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport(ref t) if t.is_timeout()),
        "{err:?}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    // Generous bound on a real socket: the 5 s deadline holds.
    assert!(start.elapsed() < Duration::from_secs(7));
}

#[tokio::test]
async fn broken_answers_after_sending_make_authorize_outcome_unknown() {
    for fault in [
        Fault::Reset,
        Fault::PartialStatusLine,
        Fault::ShortBody,
        Fault::StalledBody,
    ] {
        let (url, accepted) = raw_server(fault).await;
        let err = fast_client(&url).authorize(&bill()).await.unwrap_err();
        assert!(matches!(err, Error::OutcomeUnknown), "{err:?}");
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn broken_answers_are_retried_for_reads() {
    for fault in [
        Fault::Reset,
        Fault::PartialStatusLine,
        Fault::ShortBody,
        Fault::StalledBody,
    ] {
        let (url, accepted) = raw_server(fault).await;
        let err = fast_client(&url).enter_game(&launch()).await.unwrap_err();
        assert!(
            matches!(err, Error::Transport(ref t) if matches!(t.kind(), TransportErrorKind::Io | TransportErrorKind::Timeout)),
            "{err:?}"
        );
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }
}
