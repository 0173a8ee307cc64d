//! The default transport against real loopback sockets that misbehave.

use std::time::Duration;

use bytes::Bytes;
use gameauth_core::transport::{DEFAULT_MAX_BODY_BYTES, ReqwestTransport};
use gameauth_core::{HttpTransport, TransportErrorKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A one-shot server: accepts one connection, reads the request head, then runs `behave`.
async fn server<F, Fut>(behave: F) -> String
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        if let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = vec![0u8; 8192];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            behave(stream).await;
        }
    });
    format!("http://{addr}/path?secret_query=sentinel-secret")
}

fn transport(attempt: Duration) -> ReqwestTransport {
    ReqwestTransport::builder()
        .connect_timeout(Duration::from_secs(2))
        .attempt_timeout(attempt)
        .build()
        .unwrap()
}

fn get(url: &str) -> http::Request<Bytes> {
    http::Request::get(url).body(Bytes::new()).unwrap()
}

#[tokio::test]
async fn refused_connection_is_a_connect_error_with_nothing_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = transport(Duration::from_secs(5))
        .send(get(&format!("http://{addr}/x?k=sentinel-secret")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Connect);
    assert!(!err.request_sent());
    assert!(!err.to_string().contains("sentinel"), "{err}");
    assert!(!err.to_string().contains("127.0.0.1"), "{err}");
}

#[tokio::test]
async fn accepted_but_silent_server_times_out_after_sending() {
    let url = server(|stream| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(stream);
    })
    .await;
    let err = transport(Duration::from_millis(300))
        .send(get(&url))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Timeout);
    assert!(err.request_sent());
    assert!(!err.to_string().contains("sentinel"));
}

#[tokio::test]
async fn send_within_applies_the_shorter_of_its_bound_and_the_attempt_timeout() {
    let (short, long) = (Duration::from_millis(300), Duration::from_secs(60));
    // First the caller's bound is the shorter one, then the transport's own attempt timeout.
    for (attempt_timeout, bound) in [(long, short), (short, long)] {
        let url = server(|stream| async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(stream);
        })
        .await;
        let started = std::time::Instant::now();
        let err = transport(attempt_timeout)
            .send_within(get(&url), bound)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::Timeout);
        assert!(err.request_sent());
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the 60 s timer ended the attempt ({attempt_timeout:?}, {bound:?})"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn send_within_of_a_transport_without_its_own_timer_adds_one() {
    let never = |_request: http::Request<Bytes>| std::future::pending();
    let err = never
        .send_within(get("http://127.0.0.1:9/x"), Duration::from_secs(3))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Timeout);
    assert!(err.request_sent());
}

#[tokio::test]
async fn headers_then_stalled_body_times_out() {
    let url = server(|mut stream| async move {
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"a\":")
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let err = transport(Duration::from_millis(300))
        .send(get(&url))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Timeout);
}

#[tokio::test]
async fn reset_after_the_request_is_an_io_error_after_sending() {
    let url = server(|stream| async move {
        // A zero linger turns the close into a TCP reset, which is the fault under test; the
        // blocking-on-drop concern behind the deprecation does not apply to a zero timeout.
        #[allow(deprecated)]
        let _ = stream.set_linger(Some(Duration::ZERO));
        drop(stream);
    })
    .await;
    let err = transport(Duration::from_secs(5))
        .send(get(&url))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Io);
    assert!(err.request_sent());
}

#[tokio::test]
async fn partial_status_line_then_eof_is_an_io_error() {
    let url = server(|mut stream| async move {
        let _ = stream.write_all(b"HTTP/1.1 20").await;
    })
    .await;
    let err = transport(Duration::from_secs(5))
        .send(get(&url))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Io);
}

#[tokio::test]
async fn body_shorter_than_content_length_is_an_io_error() {
    let url = server(|mut stream| async move {
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{\"short\":1}")
            .await;
    })
    .await;
    let err = transport(Duration::from_secs(5))
        .send(get(&url))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Io);
}

#[tokio::test]
async fn declared_ten_mebibyte_body_is_refused_before_reading() {
    let url = server(|mut stream| async move {
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
            10 * 1024 * 1024
        );
        let _ = stream.write_all(head.as_bytes()).await;
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..160 {
            if stream.write_all(&chunk).await.is_err() {
                return;
            }
        }
    })
    .await;
    let err = transport(Duration::from_secs(5))
        .send(get(&url))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::BodyTooLarge);
}

#[tokio::test]
async fn a_declared_oversized_answer_is_refused_at_once_however_slowly_its_body_trickles() {
    // The body would take hours at this pace; only the declared length can answer, and the
    // answer is "too large" (final), never a timeout (which a caller might retry).
    let url = server(|mut stream| async move {
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
            10 * 1024 * 1024
        );
        let _ = stream.write_all(head.as_bytes()).await;
        loop {
            if stream.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let err = transport(Duration::from_secs(120))
        .send(get(&url))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::BodyTooLarge);
    assert!(
        !gameauth_core::AuthError::from(err).is_retryable(),
        "an oversized answer is final"
    );
}

#[tokio::test]
async fn chunked_body_over_the_cap_is_refused_while_reading() {
    let url = server(|mut stream| async move {
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            .await;
        let chunk = vec![b'x'; 64 * 1024];
        let head = format!("{:x}\r\n", chunk.len());
        for _ in 0..160 {
            if stream.write_all(head.as_bytes()).await.is_err()
                || stream.write_all(&chunk).await.is_err()
                || stream.write_all(b"\r\n").await.is_err()
            {
                return;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
    })
    .await;
    let err = transport(Duration::from_secs(10))
        .send(get(&url))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::BodyTooLarge);
    const { assert!(DEFAULT_MAX_BODY_BYTES < 10 * 1024 * 1024) };
}

#[tokio::test]
async fn redirect_to_another_host_is_returned_not_followed() {
    let url = server(|mut stream| async move {
        let _ = stream
            .write_all(
                b"HTTP/1.1 302 Found\r\nlocation: http://203.0.113.1/elsewhere\r\ncontent-length: 0\r\n\r\n",
            )
            .await;
    })
    .await;
    let resp = transport(Duration::from_secs(5))
        .send(get(&url))
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
}

#[tokio::test]
async fn well_formed_answer_passes_through_with_headers() {
    let url = server(|mut stream| async move {
        let _ = stream
            .write_all(
                b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 3\r\ncontent-length: 2\r\n\r\n{}",
            )
            .await;
    })
    .await;
    let resp = transport(Duration::from_secs(5))
        .send(get(&url))
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(
        gameauth_core::transport::retry_after(resp.headers()),
        Some(Duration::from_secs(3))
    );
    assert_eq!(resp.body().as_ref(), b"{}");
}

/// A server that answers one request with `200 ok` and hands back the request's bytes: its head
/// and the `content-length` bytes of body after it.
async fn recording_server() -> (String, tokio::sync::oneshot::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let mut seen = Vec::new();
        let mut buf = vec![0u8; 8192];
        loop {
            if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                if seen.len() >= end + 4 + length {
                    break;
                }
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .await;
        let _ = tx.send(seen);
    });
    (format!("http://{addr}/base"), rx)
}

fn outbound() -> gameauth_core::outbound::OutboundRequest {
    let mut headers = http::HeaderMap::new();
    headers.insert("sign", http::HeaderValue::from_static("abc"));
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    gameauth_core::outbound::OutboundRequest::post(
        "/v1/login?trace_id=t-1",
        headers,
        Bytes::from_static(br#"{"a":1}"#),
    )
}

#[tokio::test]
async fn send_outbound_sends_the_same_bytes_as_the_http_request_it_replaces() {
    use gameauth_core::outbound::BaseUrl;
    let request = outbound();
    let mut sent = Vec::new();
    for direct in [true, false] {
        let (url, rx) = recording_server().await;
        let base = BaseUrl::parse(&url).unwrap();
        let t = transport(Duration::from_secs(5));
        let response = if direct {
            t.send_outbound(&base, &request, Duration::from_secs(5))
                .await
        } else {
            t.send(request.to_http(&base).unwrap()).await
        }
        .unwrap();
        assert_eq!(response.body().as_ref(), b"ok");
        let bytes = String::from_utf8(rx.await.unwrap()).unwrap();
        // The port differs between the two servers; everything else must not.
        sent.push(bytes.replace(&url["http://".len()..url.len() - "/base".len()], "HOST"));
    }
    assert!(
        sent[0].starts_with("POST /base/v1/login?trace_id=t-1 HTTP/1.1\r\n"),
        "{}",
        sent[0]
    );
    assert!(sent[0].contains("\r\nsign: abc\r\n"), "{}", sent[0]);
    assert!(sent[0].ends_with("\r\n\r\n{\"a\":1}"), "{}", sent[0]);
    assert_eq!(sent[0], sent[1]);
}

#[tokio::test]
async fn send_outbound_refuses_a_path_it_would_rewrite_without_connecting() {
    use gameauth_core::outbound::{BaseUrl, OutboundRequest};
    // Nothing listens there: a connection attempt would be a connect error.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = BaseUrl::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    for path in ["/a b", "/a/../b", "/x#fragment"] {
        let request = OutboundRequest::post(path, http::HeaderMap::new(), Bytes::new());
        let err = transport(Duration::from_secs(5))
            .send_outbound(&base, &request, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::InvalidRequest, "{path}");
        assert!(!err.request_sent(), "{path}");
    }
}
