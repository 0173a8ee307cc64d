//! Shared set-up of the Redis tests: a private `redis-server`, stores on it, servers over them.

use std::sync::Arc;
use std::time::Duration;

use gameauth_core::ManualClock;
use gameauth_vegaslounge::store::redis::{RedisConnection, connect};
use gameauth_vegaslounge::{
    OAuthServer, RedisStore, RedisThrottleStore, ServerConfig, ThrottleConfig,
};
use testkit::redis::RedisServer;

use crate::{CookieSessions, Directory, Harness, T0, clients};

/// The store deadline used by the tests: short, so outages are quick to observe.
pub(crate) const TIMEOUT: Duration = Duration::from_millis(500);

/// A connection to `redis` with the recommended settings.
pub(crate) async fn connection(redis: &RedisServer) -> RedisConnection {
    connect(&redis.url(), TIMEOUT)
        .await
        .expect("connect to the test redis-server")
}

/// A grant store on `conn` under `prefix`, with the harness clock and the connection's timeout.
pub(crate) fn store(conn: RedisConnection, prefix: &str, clock: &ManualClock) -> RedisStore {
    RedisStore::builder(conn)
        .key_prefix(prefix)
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("valid store settings")
}

/// One operator instance: its own server over the shared Redis `prefix`, with Redis throttling
/// (3 attempts may fail a minute) and the given clock.
pub(crate) fn instance(conn: &RedisConnection, prefix: &str, clock: &ManualClock) -> Harness {
    instance_with_limit(conn, prefix, clock, 3)
}

/// Like [`instance`], allowing `limit` failures a minute. Concurrent attempts with the right
/// secret also take a place while they are checked, so races of many good requests need a
/// limit above their number.
pub(crate) fn instance_with_limit(
    conn: &RedisConnection,
    prefix: &str,
    clock: &ManualClock,
    limit: u32,
) -> Harness {
    let mut config = ServerConfig::default();
    config.throttle = ThrottleConfig::new(limit, Duration::from_secs(60));
    let throttle = RedisThrottleStore::builder(conn.clone())
        .key_prefix(prefix)
        .build()
        .expect("valid throttle settings");
    let directory = Arc::new(Directory::demo());
    let server = OAuthServer::builder()
        .config(config)
        .store(Arc::new(store(conn.clone(), prefix, clock)))
        .throttle_store(Arc::new(throttle))
        .clients(Arc::new(clients()))
        .sessions(Arc::new(CookieSessions))
        .accounts(directory.clone())
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("valid server settings");
    Harness {
        server: Arc::new(server),
        clock: clock.clone(),
        directory,
    }
}

/// A fresh manual clock at the harness's start time.
pub(crate) fn clock() -> ManualClock {
    ManualClock::at_unix_seconds(T0)
}

/// Every key under `prefix` (on every primary of a cluster).
pub(crate) async fn keys(conn: &mut RedisConnection, prefix: &str) -> Vec<String> {
    let mut cursor = gameauth_core::redis::ScanCursor::start();
    let mut out = Vec::new();
    loop {
        let (next, batch) = conn
            .scan_step(cursor, &format!("{prefix}*"), 1000)
            .await
            .unwrap();
        out.extend(batch);
        if next.is_done() {
            return out;
        }
        cursor = next;
    }
}
