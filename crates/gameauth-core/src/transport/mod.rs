//! The bytes-in/bytes-out HTTP transport, and what it is given to send.
//!
//! Provider clients build an [`OutboundRequest`] (the body already serialised and signed) for a
//! provider's [`BaseUrl`], and the call engine ([`crate::outbound`]) hands every attempt of it to
//! an [`HttpTransport`]. The built-in `ReqwestTransport` (feature `reqwest`, on by default) is
//! hardened: rustls, no redirects followed, connect and per-attempt timeouts, and a response
//! body cap enforced while reading. Tests may pass any async closure taking an
//! `http::Request<Bytes>` as a transport, and an application may bring its own client by
//! implementing the trait; without the `reqwest` feature, reqwest, rustls and webpki-roots are
//! not compiled.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::{Request, Response};

use crate::error::{AuthError, TransportError, TransportErrorKind};

/// Default cap on a response body: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time for one whole attempt (connect, send, read the capped body).
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends one HTTP request and returns the whole (capped) response.
///
/// Implementations must not follow redirects, must not retry, and must return a
/// [`TransportError`] that carries no URL, header value or body.
#[async_trait]
pub trait HttpTransport: Send + Sync {
    /// Sends `request` once.
    ///
    /// # Errors
    ///
    /// Returns a [`TransportError`] when no complete HTTP response within the implementation's
    /// limits was obtained: its [`kind`](TransportError::kind) says why, and
    /// [`request_sent`](TransportError::request_sent) whether any byte of the request may have
    /// reached the server. Every HTTP status, 3xx, 4xx and 5xx included, is a response (`Ok`),
    /// not an error.
    async fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, TransportError>;

    /// Sends `request` once, giving up after `timeout` if the implementation's own limits have
    /// not ended the attempt before. The call engine sends every attempt this way.
    ///
    /// The default runs [`send`](Self::send) under one more timer, as [`send_with_timeout`]
    /// does; a transport that already times each attempt can apply the shorter of the two
    /// bounds to its own timer instead, as the built-in `ReqwestTransport` does.
    ///
    /// # Errors
    ///
    /// The errors of [`send`](Self::send), and a [`TransportError`] of kind
    /// [`Timeout`](TransportErrorKind::Timeout) with `request_sent() == true` when `timeout`
    /// elapses first.
    async fn send_within(
        &self,
        request: Request<Bytes>,
        timeout: Duration,
    ) -> Result<Response<Bytes>, TransportError> {
        within(tokio::time::timeout(timeout, self.send(request)).await)
    }

    /// Sends one attempt of `request` to the host `base`, giving up after `timeout`: how the
    /// call engine sends every attempt.
    ///
    /// The default builds the `http::Request` ([`OutboundRequest::to_http`]) and sends it with
    /// [`send_within`](Self::send_within). A transport whose client has a request type of its
    /// own may build that directly instead, as the built-in `ReqwestTransport` does: it parses
    /// only the path and query against the base URL parsed once, where converting an
    /// `http::Request` would write its URI out and parse it again, host included.
    ///
    /// # Errors
    ///
    /// The errors of [`send_within`](Self::send_within), and a [`TransportError`] of kind
    /// [`InvalidRequest`](TransportErrorKind::InvalidRequest), nothing sent, when the base URL
    /// and the path do not form a URL that can be sent as it is.
    async fn send_outbound(
        &self,
        base: &BaseUrl,
        request: &OutboundRequest,
        timeout: Duration,
    ) -> Result<Response<Bytes>, TransportError> {
        let http = request.to_http(base)?;
        self.send_within(http, timeout).await
    }
}

#[async_trait]
impl<F, Fut> HttpTransport for F
where
    F: Fn(Request<Bytes>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Response<Bytes>, TransportError>> + Send,
{
    async fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, TransportError> {
        (self)(request).await
    }
}

/// Sends `request` through `transport`, giving up after `timeout`.
///
/// A timeout here cannot tell whether the request reached the server, so it reports
/// `request_sent() == true`: state-creating calls must treat it as "outcome unknown".
///
/// # Errors
///
/// Returns a [`TransportError`] of kind [`Timeout`](TransportErrorKind::Timeout) with
/// `request_sent() == true` when `timeout` elapses first, and otherwise the error of
/// `transport.send`, unchanged.
pub async fn send_with_timeout(
    transport: &dyn HttpTransport,
    request: Request<Bytes>,
    timeout: Duration,
) -> Result<Response<Bytes>, TransportError> {
    within(tokio::time::timeout(timeout, transport.send(request)).await)
}

/// The outcome of one attempt run under [`tokio::time::timeout`]: its own, or, when the time
/// ran out, a timeout that may have sent the request.
///
/// Each transport awaits `tokio::time::timeout(…)` in its own `async fn` and passes the result
/// here, rather than awaiting a helper `async fn` around it: such a helper would keep room for
/// the attempt beside the timer holding it, doubling the future a transport boxes.
fn within(
    timed: Result<Result<Response<Bytes>, TransportError>, tokio::time::error::Elapsed>,
) -> Result<Response<Bytes>, TransportError> {
    timed.unwrap_or_else(|_| {
        Err(TransportError::new(
            TransportErrorKind::Timeout,
            true,
            "attempt timed out",
        ))
    })
}

/// Parses a `Retry-After` header given in seconds. HTTP-date forms are ignored (`None`).
pub fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let v = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The transport a client builder uses when none is given: the built-in `ReqwestTransport` with
/// `connect_timeout` and `attempt_timeout`, shared by every provider client builder.
///
/// # Errors
///
/// Returns [`AuthError::Config`] when the `reqwest` feature is off (a transport must then be
/// given), when a timeout is zero, or when the reqwest client cannot be built (for example its
/// TLS backend fails to initialise).
pub fn default_transport(
    connect_timeout: Duration,
    attempt_timeout: Duration,
) -> Result<std::sync::Arc<dyn HttpTransport>, AuthError> {
    #[cfg(feature = "reqwest")]
    {
        let transport = ReqwestTransport::builder()
            .connect_timeout(connect_timeout)
            .attempt_timeout(attempt_timeout)
            .build()?;
        Ok(std::sync::Arc::new(transport))
    }
    #[cfg(not(feature = "reqwest"))]
    {
        let _ = (connect_timeout, attempt_timeout);
        Err(AuthError::Config(
            "no transport is set, and the built-in one needs the `reqwest` feature".into(),
        ))
    }
}

mod base_url;
mod request;
#[cfg(feature = "reqwest")]
mod reqwest_transport;
#[cfg(any(test, feature = "test-util"))]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;
pub use base_url::{BaseUrl, BaseUrlError};
pub use request::{OutboundRequest, sensitive_header};
#[cfg(feature = "reqwest")]
pub use reqwest_transport::{ReqwestTransport, ReqwestTransportBuilder};

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn closures_are_transports() {
        let t = |_req: Request<Bytes>| async {
            Ok::<_, TransportError>(Response::new(Bytes::from_static(b"ok")))
        };
        let resp = t.send(Request::new(Bytes::new())).await.unwrap();
        assert_eq!(resp.body().as_ref(), b"ok");
    }

    #[tokio::test(start_paused = true)]
    async fn send_with_timeout_reports_a_sent_timeout() {
        let t = |_req: Request<Bytes>| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, TransportError>(Response::new(Bytes::new()))
        };
        let err = send_with_timeout(&t, Request::new(Bytes::new()), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(err.is_timeout());
        assert!(err.request_sent());
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static("7"),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static("soon"),
        );
        assert_eq!(retry_after(&h), None);
    }
}
