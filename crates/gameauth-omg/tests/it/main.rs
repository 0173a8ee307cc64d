//! Integration tests of `gameauth-omg`: the client against a mocked OMG (wiremock and raw sockets),
//! and the callback side through direct calls and the axum router.

mod callback;
mod client;
mod connect_timeout;
mod faults;
mod metrics;
#[cfg(feature = "axum")]
mod router;
mod support;
