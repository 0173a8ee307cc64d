//! [`ReqwestTransport`]: the built-in transport over a `reqwest::Client` (feature `reqwest`).

use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use http::{Request, Response};

use super::request::invalid_target;
use super::{
    BaseUrl, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    HttpTransport, OutboundRequest, within,
};
use crate::error::{AuthError, TransportError, TransportErrorKind};

/// The default transport over a `reqwest::Client`.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    max_body_bytes: usize,
    attempt_timeout: Duration,
}

impl ReqwestTransport {
    /// A transport with the hardened defaults: rustls, no redirects, 5 s connect timeout, 10 s
    /// per attempt, 1 MiB response cap.
    ///
    /// # Errors
    ///
    /// Returns [`AuthError::Config`] when the `reqwest` client cannot be built (for example its
    /// TLS backend fails to initialise).
    pub fn new() -> Result<Self, AuthError> {
        Self::builder().build()
    }

    /// A builder for the default client with custom limits.
    pub fn builder() -> ReqwestTransportBuilder {
        ReqwestTransportBuilder::default()
    }

    /// Wraps a caller-configured client (proxy, CA roots, …).
    ///
    /// Configure it with `redirect(reqwest::redirect::Policy::none())`: a provider answering with
    /// a redirect must surface as an error, not be followed to another host. The body cap and the
    /// attempt timeout of this transport still apply.
    pub fn with_client(client: reqwest::Client) -> Self {
        Self {
            client,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
        }
    }

    /// Sets the response body cap.
    pub fn max_body_bytes(mut self, cap: usize) -> Self {
        self.max_body_bytes = cap;
        self
    }

    /// Sends `request` once and reads the capped answer; the caller times the attempt.
    async fn execute(&self, request: reqwest::Request) -> Result<Response<Bytes>, TransportError> {
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|e| map_reqwest_error(&e))?;
        let cap = self.max_body_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > cap as u64)
        {
            return Err(body_too_large(cap));
        }
        // The first chunk is kept as it arrived and copied only when a second one follows, so
        // the common single-chunk answer is neither copied nor collected in a list.
        let mut first: Option<Bytes> = None;
        let mut joined: Option<BytesMut> = None;
        let mut total = 0usize;
        while let Some(chunk) = response.chunk().await.map_err(|e| map_reqwest_error(&e))? {
            total += chunk.len();
            if total > cap {
                return Err(body_too_large(cap));
            }
            match (&mut joined, first.take()) {
                (Some(buf), _) => buf.extend_from_slice(&chunk),
                (None, None) => first = Some(chunk),
                (None, Some(head)) => {
                    let mut buf = BytesMut::with_capacity(total);
                    buf.extend_from_slice(&head);
                    buf.extend_from_slice(&chunk);
                    joined = Some(buf);
                }
            }
        }
        let body = match (joined, first) {
            (Some(buf), _) => buf.freeze(),
            (None, Some(only)) => only,
            (None, None) => Bytes::new(),
        };
        let mut out = Response::new(body);
        *out.status_mut() = response.status();
        *out.version_mut() = response.version();
        *out.headers_mut() = std::mem::take(response.headers_mut());
        Ok(out)
    }
}

#[async_trait]
impl HttpTransport for ReqwestTransport {
    /// Sends `request` once, without following redirects, within the attempt timeout, reading
    /// at most the body cap.
    ///
    /// # Errors
    ///
    /// Returns a [`TransportError`] of kind
    /// * [`InvalidRequest`](TransportErrorKind::InvalidRequest) when `request` cannot be sent
    ///   as it is (its URI is not an absolute `http` or `https` URL); nothing was sent;
    /// * [`Connect`](TransportErrorKind::Connect) when the connection cannot be established
    ///   (refused, unreachable, DNS, TLS handshake); nothing was sent;
    /// * [`Timeout`](TransportErrorKind::Timeout) when the connect timeout elapses (nothing was
    ///   sent) or the attempt timeout does (the request may have been sent);
    /// * [`Io`](TransportErrorKind::Io) when the connection breaks after it was established or
    ///   the response is malformed;
    /// * [`BodyTooLarge`](TransportErrorKind::BodyTooLarge) when the announced `Content-Length`
    ///   or the body received so far exceeds the cap.
    ///
    /// Every HTTP status, redirects included, is returned as a response.
    async fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, TransportError> {
        let request = reqwest::Request::try_from(request).map_err(|e| map_reqwest_error(&e))?;
        within(tokio::time::timeout(self.attempt_timeout, self.execute(request)).await)
    }

    /// As [`send`](Self::send), within the shorter of `timeout` and the attempt timeout: one
    /// timer for both bounds.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send); the timeout is the shorter of the two.
    async fn send_within(
        &self,
        request: Request<Bytes>,
        timeout: Duration,
    ) -> Result<Response<Bytes>, TransportError> {
        let request = reqwest::Request::try_from(request).map_err(|e| map_reqwest_error(&e))?;
        let limit = timeout.min(self.attempt_timeout);
        within(tokio::time::timeout(limit, self.execute(request)).await)
    }

    /// As [`send_within`](Self::send_within), building reqwest's request directly: the path
    /// and query are parsed against the base URL parsed once, and the request is sent only if
    /// its URL is exactly the base URL followed by the path and query as given.
    ///
    /// # Errors
    ///
    /// As [`send_within`](Self::send_within), and a [`TransportError`] of kind
    /// [`InvalidRequest`](TransportErrorKind::InvalidRequest), nothing sent, when the URL would
    /// differ from the text given (a space, a `..` segment, a `#fragment`).
    async fn send_outbound(
        &self,
        base: &BaseUrl,
        request: &OutboundRequest,
        timeout: Duration,
    ) -> Result<Response<Bytes>, TransportError> {
        let url = base
            .url_for(request.path_and_query())
            .ok_or_else(invalid_target)?;
        let mut outgoing = reqwest::Request::new(request.method().clone(), url);
        *outgoing.headers_mut() = request.headers().clone();
        *outgoing.body_mut() = Some(reqwest::Body::from(request.body().clone()));
        let limit = timeout.min(self.attempt_timeout);
        within(tokio::time::timeout(limit, self.execute(outgoing)).await)
    }
}

fn body_too_large(cap: usize) -> TransportError {
    TransportError::new(
        TransportErrorKind::BodyTooLarge,
        true,
        format!("response body exceeds {cap} bytes"),
    )
}

/// Maps a reqwest error to a [`TransportError`] without its URL.
fn map_reqwest_error(e: &reqwest::Error) -> TransportError {
    let (kind, sent) = if e.is_builder() {
        (TransportErrorKind::InvalidRequest, false)
    } else if e.is_connect() {
        if e.is_timeout() {
            (TransportErrorKind::Timeout, false)
        } else {
            (TransportErrorKind::Connect, false)
        }
    } else if e.is_timeout() {
        (TransportErrorKind::Timeout, true)
    } else {
        (TransportErrorKind::Io, true)
    };
    // The innermost cause (e.g. "connection refused") is useful and never holds the URL; the
    // outer reqwest message would.
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let message = if std::ptr::addr_eq(cause, e as &dyn std::error::Error) {
        "request failed".to_owned()
    } else {
        crate::error::sanitize_message(&cause.to_string())
    };
    TransportError::new(kind, sent, message)
}

/// Builder for [`ReqwestTransport`] with the hardened default client.
#[derive(Debug, Clone)]
pub struct ReqwestTransportBuilder {
    connect_timeout: Duration,
    attempt_timeout: Duration,
    max_body_bytes: usize,
}

impl Default for ReqwestTransportBuilder {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl ReqwestTransportBuilder {
    /// Connect timeout (TCP + TLS).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Time for one whole attempt.
    pub fn attempt_timeout(mut self, t: Duration) -> Self {
        self.attempt_timeout = t;
        self
    }

    /// Response body cap in bytes.
    pub fn max_body_bytes(mut self, cap: usize) -> Self {
        self.max_body_bytes = cap;
        self
    }

    /// Builds the transport.
    ///
    /// The attempt timeout is enforced around the whole exchange (connect, send, read the capped
    /// body) by the transport's own timer, which [`HttpTransport::send_within`] shares with the
    /// caller's bound, so the client itself gets only the connect timeout: one timer per
    /// attempt.
    ///
    /// # Errors
    ///
    /// Returns [`AuthError::Config`] when the connect timeout or the attempt timeout is zero, or
    /// when the `reqwest` client cannot be built (for example its TLS backend fails to
    /// initialise).
    pub fn build(self) -> Result<ReqwestTransport, AuthError> {
        if self.connect_timeout.is_zero() || self.attempt_timeout.is_zero() {
            return Err(AuthError::Config(
                "timeouts must be greater than zero".into(),
            ));
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout)
            .https_only(false)
            .build()
            .map_err(|_| AuthError::Config("cannot initialise the HTTP client".into()))?;
        Ok(ReqwestTransport {
            client,
            max_body_bytes: self.max_body_bytes,
            attempt_timeout: self.attempt_timeout,
        })
    }
}
