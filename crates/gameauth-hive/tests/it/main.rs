//! Integration tests of gameauth-hive, one binary with a module per concern.

mod builder;
mod connect_timeout;
mod metrics;
mod player_idps;
mod routing;
mod secrets;
mod sockets;
mod support;
mod token_cache;
mod verifier;
mod wire;
