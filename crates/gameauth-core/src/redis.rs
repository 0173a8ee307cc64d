//! Redis support shared by every Redis-backed store (feature `redis`).
//!
//! * [`RedisConfig`]: where Redis is — one endpoint (`redis://`, `rediss://`, `redis+unix://`),
//!   a primary found through Sentinel ([`SentinelConfig`]), or a Cluster — with TLS
//!   ([`TlsConfig`]: the system roots or a CA file, optionally a client certificate), a deadline,
//!   and optional replica confirmation ([`ReplicaAcks`]). [`RedisConfig::connect`] opens a
//!   [`RedisConnection`]; [`connect`] is the one-endpoint shorthand.
//! * [`RedisConnection`]: a cheap-to-clone handle on any of these topologies, usable wherever the
//!   `redis` crate takes an async connection; it reconnects by itself and follows a failover.
//! * [`StoreScript`]: a store's Lua script, sent by hash, sent whole after `SCRIPT FLUSH`, and
//!   optionally confirmed by replicas in the same round trip.
//! * [`validate_key_prefix`], [`with_deadline`], [`describe`]: the rules every store applies.
//!
//! TLS, Sentinel discovery and Cluster routing are the `redis` crate's own (`tokio-rustls-comp`,
//! `sentinel`, `cluster-async`); this module only chooses and combines them. Errors are
//! [`RedisFailure`]s, whose texts never hold a key, a value, an address or a password.

use std::time::Duration;

mod cache;
mod config;
mod connection;
mod script;
mod sentinel;
mod tls;

pub use config::{ClientCache, DEFAULT_TIMEOUT, RedisConfig, ReplicaAcks, SentinelConfig};
pub use connection::{RedisConnection, ScanCursor, TopologyKind, connect, manager_config};
pub use script::{ScriptCall, StoreScript};
pub use tls::TlsConfig;

/// The `redis` crate this module speaks, for commands and pipelines on a [`RedisConnection`].
pub use ::redis as driver;

/// The longest accepted key prefix.
pub const MAX_PREFIX_LEN: usize = 64;

/// A failed Redis operation or bad Redis settings, described without keys, values, addresses
/// or passwords.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedisFailure {
    /// The settings are invalid: a URL, a certificate, a prefix, a timeout.
    #[error("invalid Redis settings: {0}")]
    Config(String),
    /// Redis could not be reached, did not answer in time, or answered unexpectedly.
    #[error("Redis {0}")]
    Unavailable(String),
    /// A write was applied on the primary, but fewer replicas than configured acknowledged it
    /// in time, so a failover may still lose it.
    #[error("Redis write not confirmed: {0}")]
    NotConfirmed(String),
}

impl RedisFailure {
    /// The description without the kind's prefix.
    pub fn detail(&self) -> &str {
        match self {
            Self::Config(m) | Self::Unavailable(m) | Self::NotConfirmed(m) => m,
        }
    }
}

/// A description of a Redis error without keys, values or addresses: what kind of failure,
/// and for a server error its code (`READONLY`, `NOPERM`, `OOM`, …).
pub fn describe(err: &::redis::RedisError) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connection_refusal() {
        "connection refused"
    } else if err.is_connection_dropped() {
        "connection lost"
    } else if err.is_io_error() {
        "I/O error"
    } else {
        match err.kind() {
            ::redis::ErrorKind::Server(_) | ::redis::ErrorKind::Extension => "server error",
            ::redis::ErrorKind::Parse | ::redis::ErrorKind::UnexpectedReturnType => {
                "unexpected reply"
            }
            ::redis::ErrorKind::InvalidClientConfig => "invalid client configuration",
            ::redis::ErrorKind::AuthenticationFailed => "authentication failed",
            ::redis::ErrorKind::MasterNameNotFoundBySentinel => {
                "the sentinels know no primary by that name"
            }
            ::redis::ErrorKind::EmptySentinelList => "no sentinel configured",
            ::redis::ErrorKind::ClusterConnectionNotFound => "no cluster node reachable",
            _ => "client error",
        }
    };
    match err.code() {
        Some(code)
            if (1..=16).contains(&code.len())
                && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') =>
        {
            format!("{kind} ({code})")
        }
        _ => kind.to_owned(),
    }
}

/// `what` failed with `err`, as a [`RedisFailure::Unavailable`].
pub fn unavailable(what: &str, err: &::redis::RedisError) -> RedisFailure {
    RedisFailure::Unavailable(format!("{what}: {}", describe(err)))
}

/// Runs `op` with a deadline; a late answer is a [`RedisFailure::Unavailable`], converted into
/// the store's own error type.
///
/// # Errors
/// `op`'s own, or the deadline's.
pub async fn with_deadline<T, E: From<RedisFailure>>(
    timeout: Duration,
    op: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    tokio::time::timeout(timeout, op)
        .await
        .unwrap_or_else(|_| Err(RedisFailure::Unavailable("did not answer in time".into()).into()))
}

/// Checks a key prefix: at most [`MAX_PREFIX_LEN`] characters from `A-Z a-z 0-9 : _ . -`, so
/// it can neither open a hash tag nor act as a `SCAN` pattern.
///
/// # Errors
/// [`RedisFailure::Config`].
pub fn validate_key_prefix(prefix: &str) -> Result<(), RedisFailure> {
    if prefix.len() > MAX_PREFIX_LEN
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'.' | b'-'))
    {
        return Err(RedisFailure::Config(format!(
            "the Redis key prefix must be at most {MAX_PREFIX_LEN} characters from A-Z a-z 0-9 : _ . -"
        )));
    }
    Ok(())
}

/// Checks a store's operation deadline: positive.
///
/// # Errors
/// [`RedisFailure::Config`].
pub fn validate_timeout(timeout: Duration) -> Result<(), RedisFailure> {
    if timeout.is_zero() {
        return Err(RedisFailure::Config(
            "the Redis timeout must be positive".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_prefix_alphabet_is_checked() {
        assert!(validate_key_prefix("vl:").is_ok());
        assert!(validate_key_prefix("").is_ok());
        assert!(validate_key_prefix("prod.vl-2_a:").is_ok());
        for bad in ["vl{", "vl}", "v*", "v?", "v[", "a b", "vl\n"] {
            assert!(validate_key_prefix(bad).is_err(), "{bad:?}");
        }
        assert!(validate_key_prefix(&"a".repeat(MAX_PREFIX_LEN + 1)).is_err());
        assert!(validate_timeout(Duration::ZERO).is_err());
    }

    #[test]
    fn descriptions_name_the_kind_and_server_code_only() {
        let err = ::redis::RedisError::from((
            ::redis::ErrorKind::Server(::redis::ServerErrorKind::ReadOnly),
            "You can't write against a read only replica.",
        ));
        assert_eq!(describe(&err), "server error (READONLY)");
        let io =
            ::redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(describe(&io), "connection refused");
        assert_eq!(
            unavailable("GET failed", &io).to_string(),
            "Redis GET failed: connection refused"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_answer_is_unavailable() {
        let late = with_deadline(Duration::from_millis(10), async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok::<_, RedisFailure>(())
        })
        .await;
        assert_eq!(
            late,
            Err(RedisFailure::Unavailable("did not answer in time".into()))
        );
    }
}
