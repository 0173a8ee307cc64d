//! [`StoreScript`]: a store's Lua script, sent by hash, sent whole when Redis has lost it, and
//! optionally confirmed by replicas in the same round trip.

use redis::aio::ConnectionLike;
use redis::{Cmd, ErrorKind, FromRedisValue, RedisResult, ServerErrorKind, ToRedisArgs, Value};

use super::connection::{Lane, check_acks};
use super::{RedisConnection, RedisFailure, unavailable};

/// A Lua script of a store, compiled into the binary.
///
/// It is sent with `EVALSHA`; when Redis answers `NOSCRIPT` (after `SCRIPT FLUSH`, a restart,
/// or a failover to a server that never ran it) it is sent whole with `EVAL`, which also puts it
/// back into the server's script cache. Every key a script touches must be passed as a key
/// and share one cluster slot.
///
/// ```no_run
/// # async fn run(conn: gameauth_core::redis::RedisConnection) -> Result<(), gameauth_core::redis::RedisFailure> {
/// use gameauth_core::redis::StoreScript;
///
/// let claim = StoreScript::new("return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', 60000)");
/// let reply: Option<String> = claim
///     .prepare()
///     .key("app:{event-1}")
///     .arg("processing")
///     .run(&conn, "claiming an event")
///     .await?;
/// # let _ = reply;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct StoreScript {
    source: String,
    hash: String,
}

impl StoreScript {
    /// A script from its Lua source.
    pub fn new(source: &str) -> Self {
        Self {
            hash: redis::Script::new(source).get_hash().to_owned(),
            source: source.to_owned(),
        }
    }

    /// The script's SHA-1, as `EVALSHA` names it.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// A call of this script; add keys and arguments, then run it.
    pub fn prepare(&self) -> ScriptCall<'_> {
        ScriptCall {
            script: self,
            keys: Vec::new(),
            args: Vec::new(),
        }
    }
}

/// One call of a [`StoreScript`]: its keys and arguments.
#[derive(Debug)]
pub struct ScriptCall<'s> {
    script: &'s StoreScript,
    keys: Vec<Vec<u8>>,
    args: Vec<Vec<u8>>,
}

impl ScriptCall<'_> {
    /// Adds a key (`KEYS[n]`).
    pub fn key(&mut self, key: impl ToRedisArgs) -> &mut Self {
        self.keys.extend(key.to_redis_args());
        self
    }

    /// Adds an argument (`ARGV[n]`).
    pub fn arg(&mut self, arg: impl ToRedisArgs) -> &mut Self {
        self.args.extend(arg.to_redis_args());
        self
    }

    fn command(&self, by_hash: bool) -> Cmd {
        let mut cmd = if by_hash {
            let mut c = redis::cmd("EVALSHA");
            c.arg(&self.script.hash);
            c
        } else {
            let mut c = redis::cmd("EVAL");
            c.arg(&self.script.source);
            c
        };
        cmd.arg(self.keys.len());
        for k in &self.keys {
            cmd.arg(k.as_slice());
        }
        for a in &self.args {
            cmd.arg(a.as_slice());
        }
        cmd
    }

    /// Runs the script on the connection's main lane. `what` names the operation in errors.
    ///
    /// With a client cache, the script's answer is returned only once the invalidations its
    /// writes caused have reached the cache (Redis sends those to the writing connection right
    /// after the script's reply, so a `PING` follows the script in the same round trip; on a
    /// Cluster, a `PING` to every primary follows it), so this instance's next read sees them.
    ///
    /// # Errors
    /// [`RedisFailure::Unavailable`] when Redis fails, refuses the script or answers with a
    /// reply that is not a `T`.
    pub async fn run<T: FromRedisValue>(
        &self,
        conn: &RedisConnection,
        what: &str,
    ) -> Result<T, RedisFailure> {
        let mut lane = conn.main.clone();
        if conn.has_client_cache() {
            if matches!(lane, Lane::Cluster(_)) {
                let reply = self.run_plain(&mut lane, what).await?;
                conn.sync_cache(what).await?;
                return Ok(reply);
            }
            let mut replies = self
                .send(&mut lane, |cmd| {
                    let mut pipe = redis::pipe();
                    pipe.add_command(cmd).cmd("PING");
                    pipe
                })
                .await
                .map_err(|e| unavailable(what, &e))?;
            replies.pop();
            return replies
                .pop()
                .ok_or_else(no_reply)
                .and_then(|v| T::from_redis_value(v).map_err(Into::into))
                .map_err(|e| unavailable(what, &e));
        }
        self.run_plain(&mut lane, what).await
    }

    async fn run_plain<T: FromRedisValue>(
        &self,
        lane: &mut Lane,
        what: &str,
    ) -> Result<T, RedisFailure> {
        let reply: RedisResult<T> = match self.command(true).query_async(lane).await {
            Err(e) if is_noscript(&e) => self.command(false).query_async(lane).await,
            other => other,
        };
        reply.map_err(|e| unavailable(what, &e))
    }

    /// Runs the script and, when the connection has [`ReplicaAcks`](super::ReplicaAcks),
    /// `WAIT`s for replicas in the same round trip on the confirmation lane; without them it is
    /// [`run`](Self::run).
    ///
    /// # Errors
    /// As [`run`](Self::run), and [`RedisFailure::NotConfirmed`] when too few replicas
    /// acknowledged in time: the script ran on the primary, but a failover may lose its writes.
    pub async fn run_confirmed<T: FromRedisValue>(
        &self,
        conn: &RedisConnection,
        what: &str,
    ) -> Result<T, RedisFailure> {
        let Some((lane, acks)) = &conn.confirm else {
            return self.run(conn, what).await;
        };
        let mut lane = lane.clone();
        let mut replies = self
            .send(&mut lane, |cmd| {
                let mut pipe = redis::pipe();
                pipe.add_command(cmd)
                    .cmd("WAIT")
                    .arg(acks.replicas())
                    .arg(acks.timeout_ms());
                pipe
            })
            .await
            .map_err(|e| unavailable(what, &e))?;
        let acked = replies.pop();
        let reply = replies.pop().ok_or_else(no_reply);
        // The script's own failure comes first: an unconfirmed refusal is still a refusal.
        let reply = reply
            .and_then(|v| T::from_redis_value(v).map_err(Into::into))
            .map_err(|e| unavailable(what, &e))?;
        conn.sync_cache(what).await?;
        check_acks(acked.as_ref(), *acks)?;
        Ok(reply)
    }

    /// Sends the pipeline `wrap` makes around `EVALSHA`, and again around `EVAL` when the
    /// server does not know the script.
    async fn send(
        &self,
        lane: &mut (impl ConnectionLike + Send),
        wrap: impl Fn(Cmd) -> redis::Pipeline,
    ) -> RedisResult<Vec<Value>> {
        match wrap(self.command(true))
            .query_async::<Vec<Value>>(lane)
            .await
        {
            Err(e) if is_noscript(&e) => wrap(self.command(false)).query_async(lane).await,
            other => other,
        }
    }
}

fn is_noscript(err: &redis::RedisError) -> bool {
    err.kind() == ErrorKind::Server(ServerErrorKind::NoScript)
}

fn no_reply() -> redis::RedisError {
    redis::RedisError::from((ErrorKind::Parse, "no reply to the script"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_name_the_script_by_hash_or_send_it_whole() {
        let script = StoreScript::new("return KEYS[1]");
        assert_eq!(
            script.hash(),
            redis::Script::new("return KEYS[1]").get_hash()
        );
        let mut call = script.prepare();
        call.key("k").arg(7_u64).arg("v");
        let by_hash = call.command(true).get_packed_command();
        let text = String::from_utf8_lossy(&by_hash);
        assert!(
            text.contains("EVALSHA") && text.contains(script.hash()),
            "{text}"
        );
        let whole = call.command(false).get_packed_command();
        let text = String::from_utf8_lossy(&whole);
        assert!(
            text.contains("EVAL\r\n") && text.contains("return KEYS[1]"),
            "{text}"
        );
        assert!(
            text.ends_with("$1\r\n1\r\n$1\r\nk\r\n$1\r\n7\r\n$1\r\nv\r\n"),
            "{text}"
        );
    }
}
