//! The one outbound call engine every provider client uses.
//!
//! A provider client builds its request once ([`OutboundRequest`]: path, headers, the body
//! serialised and signed), describes the call as data ([`CallPolicy`]: state-creating or
//! idempotent, retry policy, per-attempt timeout, overall deadline) and where it goes
//! ([`Route`]: one [`BaseUrl`], or a primary and a fallback behind a circuit breaker), and hands
//! all three to [`execute`]. The provider then decodes the [`Answer`] in its own wire format, or
//! maps the [`CallError`] to its own error type. A provider that tells a broken host by its
//! answer's body (an HTML error page where JSON belongs) passes its decoder to
//! [`execute_read`] instead, so each answer is read once and the reading decides.
//!
//! # The rules, decided once
//!
//! * **Idempotent calls** are repeated after a retryable transport failure (connect error,
//!   timeout, broken connection) and after a broken answer (HTTP 5xx or 429, and with
//!   [`execute_read`] an answer its reader finds is not JSON), with the retry policy's jittered
//!   backoff and a `Retry-After` honoured up to its bound, all within the deadline. Any other
//!   answer is definitive and returned.
//! * **State-creating calls** are repeated only when the request provably never left: the
//!   transport says [`request_sent() == false`](crate::TransportError::request_sent) and the
//!   failure is retryable. **A connect-phase timeout with nothing sent is such a failure and is
//!   repeated**, like a refused connection: the server cannot have seen a byte. A timeout of
//!   the whole attempt (which cannot tell whether bytes left), a broken connection, or an
//!   oversized answer after sending is [`CallError::OutcomeUnknown`], never repeated. Every
//!   HTTP answer, 5xx included, is returned as it is: the provider answered, so it may have
//!   acted.
//! * **Fallback routing**: only a broken primary (no response, or a broken answer) sends a call
//!   to the fallback; any other answer is definitive. The breaker on the primary opens after a
//!   run of failures and lets one probe through after its cool-down.
//! * The [`CallError`] tells a transport failure with nothing created
//!   ([`Transport`](CallError::Transport)), an unknown outcome
//!   ([`OutcomeUnknown`](CallError::OutcomeUnknown)), a deadline
//!   ([`Deadline`](CallError::Deadline)) and broken hosts
//!   ([`Unavailable`](CallError::Unavailable)) apart.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use gameauth_core::outbound::{execute, BaseUrl, CallKind, CallPolicy, OutboundRequest, Route};
//! use gameauth_core::TransportError;
//! use http::HeaderMap;
//!
//! let provider = |_request: http::Request<Bytes>| async {
//!     Ok::<_, TransportError>(http::Response::new(Bytes::from_static(b"{\"code\":0}")))
//! };
//! let route = Route::single(BaseUrl::parse("https://api.example").unwrap());
//! let policy = CallPolicy::new("acme", "login", CallKind::StateCreating);
//! let request = OutboundRequest::post("/v1/login", HeaderMap::new(), Bytes::from_static(b"{}"));
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let answer = execute(&provider, &route, &policy, &request, None).await.unwrap();
//! assert_eq!(answer.value.body().as_ref(), b"{\"code\":0}");
//! # });
//! ```

mod engine;
mod policy;
#[cfg(test)]
mod tests;

pub use crate::transport::{BaseUrl, BaseUrlError, OutboundRequest, sensitive_header};
pub use engine::{
    Answer, AttemptFailure, CallError, NotJson, Unavailable, execute, execute_read, is_json,
};
pub use policy::{CallKind, CallPolicy, FallbackHost, Route};
