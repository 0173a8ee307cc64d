//! A scripted transport for tests (feature `test-util`): it plays answers and failures in turn
//! and counts the calls, so a test states what the provider does and how often it was asked.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use http::{Request, Response, StatusCode};

use super::HttpTransport;
use crate::error::TransportError;

/// What a [`Scripted`] transport does on one call.
#[derive(Debug, Clone)]
pub enum Step {
    /// Answers with this status and body.
    Answer(u16, &'static str),
    /// Fails with this error.
    Fail(TransportError),
}

/// A transport that plays its steps in turn (the last one repeats) and counts its calls.
///
/// ```
/// use gameauth_core::transport::testing::{Scripted, Step};
/// use gameauth_core::{HttpTransport, TransportError, TransportErrorKind};
///
/// let t = Scripted::new(vec![
///     Step::Fail(TransportError::new(TransportErrorKind::Connect, false, "refused")),
///     Step::Answer(200, "{}"),
/// ]);
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// assert!(t.send(http::Request::new(bytes::Bytes::new())).await.is_err());
/// assert_eq!(t.send(http::Request::new(bytes::Bytes::new())).await.unwrap().status(), 200);
/// # });
/// assert_eq!(t.calls(), 2);
/// ```
#[derive(Debug)]
pub struct Scripted {
    steps: Vec<Step>,
    calls: AtomicUsize,
}

impl Scripted {
    /// A transport playing `steps`; with no steps every call answers 200 with an empty body.
    pub fn new(steps: Vec<Step>) -> Self {
        Self {
            steps,
            calls: AtomicUsize::new(0),
        }
    }

    /// How many calls were made so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl HttpTransport for Scripted {
    async fn send(&self, _request: Request<Bytes>) -> Result<Response<Bytes>, TransportError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        match self.steps.get(n.min(self.steps.len().saturating_sub(1))) {
            Some(Step::Fail(e)) => Err(e.clone()),
            Some(Step::Answer(status, body)) => {
                let mut r = Response::new(Bytes::from_static(body.as_bytes()));
                *r.status_mut() = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
                Ok(r)
            }
            None => Ok(Response::new(Bytes::new())),
        }
    }
}
