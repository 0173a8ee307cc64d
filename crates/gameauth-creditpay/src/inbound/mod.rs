//! The inbound side: requests Credit Pay sends to the platform, each admitted by the
//! [`InboundVerifier`](crate::verify::InboundVerifier) (size, then signature) before its body is
//! parsed, and answered as framework-neutral `http::Response<Bytes>`.
//!
//! * [`credit_limit`]: the credit-limit query, answered from the platform's own
//!   [`CreditLimitSource`](credit_limit::CreditLimitSource);
//! * [`webhook`]: payment events, de-duplicated by `event_id` and handed to the platform's
//!   [`WebhookSink`](webhook::WebhookSink).
//!
//! With the `axum` feature, the `router` module mounts both.

pub mod credit_limit;
pub(crate) mod reply;
pub mod webhook;
