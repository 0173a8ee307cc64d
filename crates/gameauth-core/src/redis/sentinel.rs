//! A connection that follows the primary a set of sentinels names: the `redis` crate's
//! `SentinelClient` finds (and checks) the primary; this keeps one multiplexed connection to it
//! and asks the sentinels again once that connection fails, the server stops being a primary, or
//! (checked every second) the sentinels name another primary.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    AsyncConnectionConfig, Cmd, ConnectionAddr, ErrorKind, Pipeline, ProtocolVersion, RedisError,
    RedisFuture, RedisResult, ServerErrorKind, TlsMode, Value,
};
use secrecy::ExposeSecret;

use super::{ClientCache, RedisFailure, SentinelConfig, TlsConfig, unavailable};

/// After a failed lookup, requests fail at once for this long instead of asking the sentinels
/// again, so an outage is answered quickly and the sentinels are not flooded.
const LOOKUP_BACKOFF: Duration = Duration::from_millis(100);

/// One lane to the current primary; clones share it.
#[derive(Clone)]
pub(crate) struct SentinelLane(Arc<Shared>);

struct Shared {
    lookup: tokio::sync::Mutex<Lookup>,
    current: RwLock<Option<Current>>,
    connection: AsyncConnectionConfig,
    timeout: Duration,
    db: i64,
}

struct Lookup {
    client: SentinelClient,
    next_generation: u64,
    failed_at: Option<Instant>,
}

#[derive(Clone)]
struct Current {
    generation: u64,
    conn: MultiplexedConnection,
    /// The primary's address, as the sentinels named it.
    primary: ConnectionAddr,
}

/// How often a lane asks the sentinels whether the primary changed, so that after a failover
/// the next request goes to the new primary instead of failing once on the old connection.
const WATCH_EVERY: Duration = Duration::from_secs(1);

impl SentinelLane {
    /// Builds the sentinel client and connects to the primary once, so a configuration that
    /// cannot reach a primary fails at start-up.
    pub(crate) async fn connect(
        config: &SentinelConfig,
        tls: Option<&TlsConfig>,
        timeout: Duration,
        cache: Option<ClientCache>,
    ) -> Result<Self, RedisFailure> {
        let addresses = config.addresses()?.into_iter().map(|(host, port)| {
            if config.sentinel_tls {
                ConnectionAddr::TcpTls {
                    host,
                    port,
                    insecure: false,
                    tls_params: None,
                }
            } else {
                ConnectionAddr::Tcp(host, port)
            }
        });
        let certificates = tls.and_then(TlsConfig::certificates);
        let mut builder =
            SentinelClientBuilder::new(addresses, &config.service_name, SentinelServerType::Master)
                .map_err(|e| unavailable("Sentinel settings rejected", &e))?
                .set_client_to_redis_db(config.database);
        if let Some(user) = &config.sentinel_username {
            builder = builder.set_client_to_sentinel_username(user);
        }
        if let Some(password) = &config.sentinel_password {
            builder = builder.set_client_to_sentinel_password(password.expose_secret());
        }
        if let Some(user) = &config.primary_username {
            builder = builder.set_client_to_redis_username(user);
        }
        if let Some(password) = &config.primary_password {
            builder = builder.set_client_to_redis_password(password.expose_secret());
        }
        if config.sentinel_tls {
            builder = builder.set_client_to_sentinel_tls_mode(TlsMode::Secure);
            if let Some(certs) = &certificates {
                builder = builder.set_client_to_sentinel_certificates(certs.clone());
            }
        }
        if config.primary_tls {
            builder = builder.set_client_to_redis_tls_mode(TlsMode::Secure);
            if let Some(certs) = certificates {
                builder = builder.set_client_to_redis_certificates(certs);
            }
        }
        let mut connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        if let Some(cache) = cache {
            // A new connection (after a failover, say) starts with an empty cache.
            builder = builder.set_client_to_redis_protocol(ProtocolVersion::RESP3);
            connection = connection.set_cache_config(cache.redis_config());
        }
        let client = builder
            .build()
            .map_err(|e| unavailable("Sentinel settings rejected", &e))?;
        let lane = Self(Arc::new(Shared {
            lookup: tokio::sync::Mutex::new(Lookup {
                client,
                next_generation: 0,
                failed_at: None,
            }),
            current: RwLock::new(None),
            connection,
            timeout,
            db: config.database,
        }));
        lane.current()
            .await
            .map_err(|e| unavailable("cannot reach the primary through Sentinel", &e))?;
        tokio::spawn(watch(Arc::downgrade(&lane.0)));
        Ok(lane)
    }

    /// The connection to the current primary, asking the sentinels when there is none.
    async fn current(&self) -> RedisResult<Current> {
        if let Some(current) = self.read() {
            return Ok(current);
        }
        let mut lookup = self.0.lookup.lock().await;
        // Another request may have found the primary while this one waited.
        if let Some(current) = self.read() {
            return Ok(current);
        }
        if lookup
            .failed_at
            .is_some_and(|at| at.elapsed() < LOOKUP_BACKOFF)
        {
            return Err(RedisError::from((
                ErrorKind::Io,
                "no primary found through Sentinel; asking again shortly",
            )));
        }
        let found = tokio::time::timeout(self.0.timeout, async {
            let client = lookup.client.async_get_client().await?;
            let primary = client.get_connection_info().addr().clone();
            client
                .get_multiplexed_async_connection_with_config(&self.0.connection)
                .await
                .map(|conn| (conn, primary))
        })
        .await
        .unwrap_or_else(|_| {
            Err(RedisError::from((
                ErrorKind::Io,
                "Sentinel lookup timed out",
            )))
        });
        match found {
            Ok((conn, primary)) => {
                lookup.failed_at = None;
                lookup.next_generation += 1;
                let current = Current {
                    generation: lookup.next_generation,
                    conn,
                    primary,
                };
                *self.0.current.write().unwrap_or_else(|p| p.into_inner()) = Some(current.clone());
                Ok(current)
            }
            Err(e) => {
                lookup.failed_at = Some(Instant::now());
                Err(e)
            }
        }
    }

    fn read(&self) -> Option<Current> {
        self.0
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Drops the connection of `generation` (not a newer one) after `err`, when the error
    /// means the server is gone or no longer the primary.
    fn after_error(&self, generation: u64, err: &RedisError) {
        if !needs_new_primary(err) {
            return;
        }
        let mut current = self.0.current.write().unwrap_or_else(|p| p.into_inner());
        if current.as_ref().is_some_and(|c| c.generation == generation) {
            *current = None;
        }
    }
}

/// Every [`WATCH_EVERY`], while the lane lives: when the sentinels name another primary than the
/// one the lane is connected to, the connection is dropped, so the next request asks again.
async fn watch(lane: std::sync::Weak<Shared>) {
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let Some(shared) = lane.upgrade() else {
            return;
        };
        let lane = SentinelLane(shared);
        let Some(current) = lane.read() else {
            continue;
        };
        let named = {
            let mut lookup = lane.0.lookup.lock().await;
            tokio::time::timeout(lane.0.timeout, lookup.client.async_get_client())
                .await
                .ok()
                .and_then(Result::ok)
                .map(|client| client.get_connection_info().addr().clone())
        };
        if named.is_some_and(|addr| addr != current.primary) {
            let mut slot = lane.0.current.write().unwrap_or_else(|p| p.into_inner());
            if slot
                .as_ref()
                .is_some_and(|c| c.generation == current.generation)
            {
                *slot = None;
            }
        }
    }
}

/// Whether `err` means the connection's server is gone, hung, or no longer the primary.
fn needs_new_primary(err: &RedisError) -> bool {
    err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_io_error()
        || err.is_timeout()
        || err.is_unrecoverable_error()
        || matches!(
            err.kind(),
            ErrorKind::Server(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown)
        )
        // A script that writes on a replica fails with READONLY inside a script error.
        || err.to_string().contains("READONLY")
}

impl ConnectionLike for SentinelLane {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let Current {
                generation,
                mut conn,
                ..
            } = self.current().await?;
            let result = conn.req_packed_command(cmd).await;
            if let Err(e) = &result {
                self.after_error(generation, e);
            }
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let Current {
                generation,
                mut conn,
                ..
            } = self.current().await?;
            let result = conn.req_packed_commands(pipeline, offset, count).await;
            if let Err(e) = &result {
                self.after_error(generation, e);
            }
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.0.db
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_and_demoted_primaries_trigger_a_new_lookup() {
        let io = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(needs_new_primary(&io));
        let readonly = RedisError::from((
            ErrorKind::Server(ServerErrorKind::ReadOnly),
            "You can't write against a read only replica.",
        ));
        assert!(needs_new_primary(&readonly));
        let script = RedisError::from((
            ErrorKind::Server(ServerErrorKind::ResponseError),
            "ERR",
            "Error in script: READONLY You can't write against a read only replica.".to_owned(),
        ));
        assert!(needs_new_primary(&script));
        let refused = RedisError::from((ErrorKind::Server(ServerErrorKind::NoScript), "NOSCRIPT"));
        assert!(!needs_new_primary(&refused));
    }
}
