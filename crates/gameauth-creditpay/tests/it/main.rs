//! Integration tests of `gameauth-creditpay`, one binary with a module per concern.

mod support;

#[cfg(feature = "axum")]
mod axum_routes;
mod callback;
mod client;
mod connect_timeout;
mod faults;
mod inbound_faults;
mod metrics;
#[cfg(feature = "redis")]
mod redis_dedup;
mod secrets;
mod webhook;
