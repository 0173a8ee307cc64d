//! The connect-phase timeout rule of the call engine, through the Hive client: verification is
//! idempotent, so a timeout (with or without anything sent) on the primary goes to the fallback,
//! and the server-token fetch is repeated once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use gameauth_core::{HttpTransport, TransportError, TransportErrorKind};
use gameauth_hive::ServedBy;

use crate::support::*;

fn connect_timeout() -> TransportError {
    TransportError::new(TransportErrorKind::Timeout, false, "connect timed out")
}

fn json(value: serde_json::Value) -> http::Response<Bytes> {
    http::Response::new(Bytes::from(value.to_string()))
}

#[tokio::test(start_paused = true)]
async fn a_connect_timeout_on_the_primary_goes_to_the_fallback() {
    let primary_calls = Arc::new(AtomicUsize::new(0));
    let counter = primary_calls.clone();
    let t = move |req: http::Request<Bytes>| {
        let primary = req.uri().host() == Some("127.0.0.1");
        if primary {
            counter.fetch_add(1, Ordering::SeqCst);
        }
        async move {
            if primary {
                Err(connect_timeout())
            } else {
                Ok(json(verified_answer()))
            }
        }
    };
    let client = builder()
        .primary_url("http://127.0.0.1:9")
        .fallback_url("http://localhost:9")
        .transport(Arc::new(t) as Arc<dyn HttpTransport>)
        .build()
        .unwrap();
    let verified = client.verify_token(&params()).await.unwrap();
    assert_eq!(verified.served_by, ServedBy::Fallback);
    assert_eq!(primary_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn the_server_token_fetch_is_repeated_after_a_connect_timeout() {
    let token_calls = Arc::new(AtomicUsize::new(0));
    let counter = token_calls.clone();
    let t = move |req: http::Request<Bytes>| {
        let is_token = req.uri().path() == "/oauth/token";
        let n = if is_token {
            counter.fetch_add(1, Ordering::SeqCst)
        } else {
            usize::MAX
        };
        async move {
            match (is_token, n) {
                (true, 0) => Err(connect_timeout()),
                (true, _) => Ok(json(token_answer("server-token"))),
                (false, _) => Ok(json(verified_answer())),
            }
        }
    };
    let client = server_builder()
        .primary_url("http://127.0.0.1:9")
        .transport(Arc::new(t) as Arc<dyn HttpTransport>)
        .build()
        .unwrap();
    let verified = client.verify_token(&server_params()).await.unwrap();
    assert_eq!(verified.served_by, ServedBy::Primary);
    assert_eq!(token_calls.load(Ordering::SeqCst), 2);
}
