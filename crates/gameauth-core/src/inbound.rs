//! Reading inbound request bodies: one reader with a size cap and a read deadline.
//!
//! Every router of the SDK (OMG callbacks, Credit Pay callbacks and webhooks, the Vegas Lounge
//! server) reads request bodies through [`read_body`]:
//!
//! * a declared `Content-Length` over the cap is refused before a byte of the body is read;
//! * a body without one is counted while it arrives and refused as soon as it passes the cap,
//!   so no more than the cap is ever buffered;
//! * the whole body must arrive within the deadline, however slowly it trickles in.
//!
//! [`DeadlineBody`] puts the same deadline on a body that is handed to code which reads it
//! itself (a host's own routes behind a server): reading past the deadline fails, and
//! [`read_body`] reports that failure as [`BodyError::TimedOut`] too.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

/// The boxed error of a body.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// The largest inbound body the SDK's routers accept unless configured otherwise: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long a client may take to send a whole body unless configured otherwise: 10 s.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is (or declares to be) larger than the cap: answer 413.
    #[error("the request body is too large")]
    TooLarge,
    /// The body did not arrive within the deadline: answer 408.
    #[error("the request body did not arrive in time")]
    TimedOut,
    /// The connection failed while the body was read (reset, malformed chunking): answer 400.
    #[error("the request body could not be read")]
    Unreadable,
}

impl BodyError {
    /// The `outcome` label of [`crate::telemetry::inbound_callback`] for this refusal:
    /// `too_large`, `timeout` or `unreadable`.
    pub fn outcome_label(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::TimedOut => "timeout",
            Self::Unreadable => "unreadable",
        }
    }
}

/// Reads a whole request body of at most `limit` bytes within `deadline`.
///
/// `headers` are the request's headers: a `Content-Length` above `limit` is refused at once.
///
/// # Errors
///
/// * [`BodyError::TooLarge`] when the declared `Content-Length` is above `limit` (before any
///   byte is read), or when more than `limit` bytes arrive;
/// * [`BodyError::TimedOut`] when the whole body has not arrived within `deadline`;
/// * [`BodyError::Unreadable`] when the body stream fails (a reset, malformed chunking).
pub async fn read_body<B>(
    headers: &HeaderMap,
    body: B,
    limit: usize,
    deadline: Duration,
) -> Result<Bytes, BodyError>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    if declared_length(headers).is_some_and(|len| len > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    match tokio::time::timeout(deadline, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if caused_by::<LengthLimitError>(&*e) => Err(BodyError::TooLarge),
        Ok(Err(e)) if caused_by::<DeadlineElapsed>(&*e) => Err(BodyError::TimedOut),
        Ok(Err(_)) => Err(BodyError::Unreadable),
        Err(_) => Err(BodyError::TimedOut),
    }
}

/// Whether `err` or one of its sources is a `T` (frameworks wrap body errors in their own).
fn caused_by<T: StdError + 'static>(err: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.is::<T>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// The declared `Content-Length`, when there is exactly one that parses.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    let mut values = headers.get_all(CONTENT_LENGTH).iter();
    match (values.next(), values.next()) {
        (Some(v), None) => v.to_str().ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// The error of a [`DeadlineBody`] read past its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct DeadlineElapsed;

/// A body that fails with [`DeadlineElapsed`] when it has not been read completely by its
/// deadline, counted from when it was wrapped (when the request's head was read).
#[derive(Debug)]
pub struct DeadlineBody<B> {
    inner: B,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl<B> DeadlineBody<B> {
    /// Wraps `inner`; reading it must end within `timeout` from now.
    pub fn new(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(DeadlineElapsed)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    use http_body_util::{Full, StreamBody};

    fn headers(content_length: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(len) = content_length {
            h.insert(CONTENT_LENGTH, len.parse().unwrap());
        }
        h
    }

    /// A body that yields `chunks` and then never ends.
    fn trickle(chunks: Vec<&'static [u8]>) -> impl Body<Data = Bytes, Error = Infallible> + Unpin {
        let frames = futures::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, Infallible>(Frame::data(Bytes::from_static(c)))),
        );
        StreamBody::new(futures::StreamExt::chain(
            frames,
            futures::stream::pending(),
        ))
    }

    #[tokio::test]
    async fn a_body_within_the_cap_is_read_whole() {
        let body = Full::new(Bytes::from_static(b"hello"));
        let read = read_body(&headers(Some("5")), body, 5, DEFAULT_BODY_READ_TIMEOUT).await;
        assert_eq!(read, Ok(Bytes::from_static(b"hello")));
    }

    #[tokio::test(start_paused = true)]
    async fn a_declared_length_over_the_cap_is_refused_before_reading() {
        // The body never arrives: only the declared length can answer, and it does at once.
        let read = read_body(&headers(Some("11")), trickle(vec![]), 10, Duration::MAX).await;
        assert_eq!(read, Err(BodyError::TooLarge));
    }

    #[tokio::test(start_paused = true)]
    async fn an_undeclared_body_is_refused_as_soon_as_it_passes_the_cap() {
        let body = trickle(vec![b"12345", b"67890", b"x"]);
        let read = read_body(&headers(None), body, 10, Duration::MAX).await;
        assert_eq!(read, Err(BodyError::TooLarge));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_never_finishes_times_out() {
        let body = trickle(vec![b"{\"partial\":"]);
        let read = read_body(&headers(Some("100")), body, 1000, Duration::from_secs(10)).await;
        assert_eq!(read, Err(BodyError::TimedOut));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_body_read_late_is_a_timeout_too() {
        let body = DeadlineBody::new(trickle(vec![b"a"]), Duration::from_secs(2));
        // The reader's own deadline is later: the body's deadline decides.
        let read = read_body(&headers(None), body, 1000, Duration::from_secs(60)).await;
        assert_eq!(read, Err(BodyError::TimedOut));
    }

    #[derive(Debug, thiserror::Error)]
    #[error("wrapped")]
    struct Wrapper(#[source] BoxError);

    #[tokio::test(start_paused = true)]
    async fn a_deadline_body_wrapped_by_a_framework_is_still_a_timeout() {
        let late = DeadlineBody::new(trickle(vec![b"a"]), Duration::from_secs(2));
        let wrapped = http_body_util::BodyExt::map_err(late, Wrapper);
        let read = read_body(&headers(None), wrapped, 1000, Duration::from_secs(60)).await;
        assert_eq!(read, Err(BodyError::TimedOut));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_body_read_in_time_is_unchanged() {
        let body = DeadlineBody::new(Full::new(Bytes::from_static(b"ok")), Duration::from_secs(2));
        let read = read_body(&headers(None), body, 10, Duration::from_secs(60)).await;
        assert_eq!(read, Ok(Bytes::from_static(b"ok")));
    }
}
