//! The Redis grant store (feature `redis`): every instance of the operator shares its grants.
//!
//! # Keys
//! With the key prefix `P` (for example `vl:`), a grant is one hash plus its sealed grace-window
//! answer, both under the grant's hash tag `T` (the first 128 bits of SHA-256 of the grant id, in
//! hex), so every script that changes a grant stays in one cluster slot:
//!
//! | key | type | holds | TTL |
//! |---|---|---|---|
//! | `P{T}:grant` | hash | client, player, code hash, PKCE challenge hash, expiries, one field per access/refresh token hash | the grant's retention |
//! | `P{T}:sealed` | hash | the last rotation's answer, encrypted under the old refresh token | the grace window |
//! | `Pcode:<hash>`, `Paccess:<hash>`, `Prefresh:<hash>` | string | `T:<player tag>`: where the token's grant lives | the token's retention |
//! | `Pplayer:<player tag>` | sorted set | the tags of the player's redeemed grants, scored by retention | the longest retention |
//!
//! Keys and values hold only SHA-256 hashes of codes and tokens, never a raw one.
//!
//! # Atomicity
//! The index keys only point at a grant; they are written before the grant changes and never
//! decide anything. Every decision (single-use consume, rotation, grace-window repeat, reuse and
//! replay revocation) is one Lua script over the grant's two keys. Scripts are sent with
//! `EVALSHA` and sent whole when Redis answers `NOSCRIPT` (after `SCRIPT FLUSH`, a restart or a
//! failover). No command or script spans two cluster slots, so the store runs unchanged on one
//! endpoint, behind Sentinel or on a Redis Cluster ([`RedisConfig`]).
//!
//! # Replicas
//! With [`ReplicaAcks`] on the connection, every decision a client is told about — a redemption,
//! a rotation, a revocation (replay, reuse, `revoke_grant`, `revoke_player`) — and the index
//! entries of newly issued tokens are acknowledged by replicas (`WAIT`) before the store
//! answers; fewer acknowledgements in time is a [`StoreError`] (503). Only a new code is not
//! waited for: losing it in a failover costs the player a new launch.
//!
//! # Failures
//! Every operation has a deadline ([`RedisStoreBuilder::timeout`]); a timeout, a lost connection
//! or an unexpected reply is a [`StoreError`], which the server answers with 503, never with
//! `invalid_grant`. The [`RedisConnection`] reconnects by itself once Redis is back, and follows
//! the primary after a failover.
//!
//! Times inside the records come from the caller's clock, so the store behaves like
//! [`MemoryStore`](super::MemoryStore) under a manual clock; Redis TTLs are derived from the same
//! times and only bound how long a record is kept. Expired records vanish by TTL: running
//! [`spawn_sweeper`](super::spawn_sweeper) is not needed (its [`sweep_expired`](GrantStore::sweep_expired)
//! scans every grant of the prefix, on every primary of a cluster).

mod keys;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use gameauth_core::redis::{ScanCursor, StoreScript, with_deadline};
use gameauth_core::{Clock, SystemClock};

pub use gameauth_core::redis::{
    ClientCache, DEFAULT_TIMEOUT, MAX_PREFIX_LEN, RedisConfig, RedisConnection, RedisFailure,
    ReplicaAcks, SentinelConfig, TlsConfig, TopologyKind, connect, validate_key_prefix,
};

pub(crate) use keys::short_hash;
use keys::{
    Keys, Membership, Pointer, arg, duration_ms, grant_from, hash_from_hex, is_tag, millis, text,
    time_from_ms, ttl_ms,
};

use super::{
    ACCESS_RETENTION, AccessGrant, Grant, GrantId, GrantStore, NewCode, NewPair, RedeemCode,
    Redeemed, RotateRefresh, Rotated, SealedAnswer, StoreError, TokenHash,
};
use crate::error::ConfigError;

/// How many keys one `SCAN` step of a sweep asks for.
const SCAN_COUNT: usize = 500;

macro_rules! grant_script {
    ($file:literal) => {
        concat!(
            include_str!("redis/common.lua"),
            "\n",
            include_str!(concat!("redis/", $file))
        )
    };
}

/// The Lua scripts, compiled into the binary and loaded into Redis on first use.
struct Scripts {
    put_code: StoreScript,
    redeem: StoreScript,
    rotate: StoreScript,
    revoke: StoreScript,
    sweep: StoreScript,
}

impl Scripts {
    fn new() -> Self {
        Self {
            put_code: StoreScript::new(grant_script!("put_code.lua")),
            redeem: StoreScript::new(grant_script!("redeem.lua")),
            rotate: StoreScript::new(grant_script!("rotate.lua")),
            revoke: StoreScript::new(grant_script!("revoke.lua")),
            sweep: StoreScript::new(grant_script!("sweep.lua")),
        }
    }
}

/// Access tokens remembered by default (see [`RedisStoreBuilder::access_cache`]).
pub const DEFAULT_ACCESS_CACHE: usize = 10_000;

/// What never changes about a live access token: the tag of its grant's keys and whom the grant
/// is for. Whether the token is still live (and until when) is always asked of Redis.
#[derive(Clone)]
struct Known {
    grant_key: Arc<str>,
    grant: Arc<Grant>,
}

/// Whether a write must be acknowledged by replicas (when the connection asks for that).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirm {
    Yes,
    No,
}

/// A [`GrantStore`] in Redis, shared by every instance that uses the same Redis and key prefix.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use gameauth_vegaslounge::store::redis::{RedisConfig, RedisStore};
///
/// let conn = RedisConfig::single("redis://127.0.0.1:6379/")
///     .timeout(Duration::from_secs(2))
///     .connect()
///     .await?;
/// let store = RedisStore::builder(conn).key_prefix("vl:").build()?;
/// # let _ = Arc::new(store);
/// # Ok(()) }
/// ```
pub struct RedisStore {
    conn: RedisConnection,
    keys: Keys,
    timeout: Duration,
    clock: Arc<dyn Clock>,
    scripts: Arc<Scripts>,
    known: Option<quick_cache::sync::Cache<TokenHash, Known>>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("key_prefix", &self.keys.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RedisStore`]; see [`RedisStore::builder`].
pub struct RedisStoreBuilder {
    conn: RedisConnection,
    prefix: String,
    timeout: Duration,
    clock: Arc<dyn Clock>,
    access_cache: usize,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("key_prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    /// The prefix of every key (default `vl:`); [`build`](Self::build) checks its alphabet.
    /// Instances that share grants use the same prefix; different prefixes never see each other.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The deadline of one store operation (default: the connection's timeout), replica
    /// confirmation included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The clock used to turn a new code's expiry into a TTL (default: the system clock). Use
    /// the server's clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How many access tokens to remember the grant of (default [`DEFAULT_ACCESS_CACHE`]; 0
    /// turns it off). The first lookup of a token reads its index entry and its grant (two round
    /// trips); later ones only ask the grant whether the token is still live (one round trip).
    /// Only what never changes is remembered — which grant, and whom it is for — so a revocation
    /// takes effect on the next lookup as before. About 200 bytes per token.
    pub fn access_cache(mut self, tokens: usize) -> Self {
        self.access_cache = tokens;
        self
    }

    /// Checks the settings: the prefix is at most [`MAX_PREFIX_LEN`] characters from
    /// `A-Z a-z 0-9 : _ . -`, and the timeout is positive.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] when the prefix fails [`validate_key_prefix`] or the timeout is
    /// zero.
    pub fn build(self) -> Result<RedisStore, ConfigError> {
        validate_key_prefix(&self.prefix)?;
        gameauth_core::redis::validate_timeout(self.timeout)?;
        Ok(RedisStore {
            conn: self.conn,
            keys: Keys {
                prefix: self.prefix,
            },
            timeout: self.timeout,
            clock: self.clock,
            scripts: Arc::new(Scripts::new()),
            known: (self.access_cache > 0)
                .then(|| quick_cache::sync::Cache::new(self.access_cache)),
        })
    }
}

impl RedisStore {
    /// A builder over a connection the caller opened (with [`RedisConfig::connect`] or
    /// [`connect`]).
    pub fn builder(conn: RedisConnection) -> RedisStoreBuilder {
        RedisStoreBuilder {
            timeout: conn.timeout(),
            conn,
            prefix: "vl:".to_owned(),
            clock: Arc::new(SystemClock),
            access_cache: DEFAULT_ACCESS_CACHE,
        }
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.keys.prefix
    }

    async fn pointer(&self, index_key: String) -> Result<Option<Pointer>, StoreError> {
        let mut conn = self.conn.clone();
        let value: Option<String> = ::redis::cmd("GET")
            .arg(index_key)
            .query_async(&mut conn)
            .await
            .map_err(|e| gameauth_core::redis::unavailable("GET failed", &e))?;
        value.as_deref().map(Pointer::decode).transpose()
    }

    /// Points a new pair's access and refresh keys (and `extra`, when given) at the grant and
    /// keeps the grant in its player's set until `retain`; confirmed by replicas when the
    /// connection asks for that.
    async fn link_pair(
        &self,
        pointer: &Pointer,
        pair: &NewPair,
        now: SystemTime,
        retain: SystemTime,
        extra: Option<(String, i64)>,
    ) -> Result<(), StoreError> {
        let mut entries = vec![
            (
                self.keys.access(&pair.access),
                ttl_ms(pair.access_expires_at + ACCESS_RETENTION, now),
            ),
            (
                self.keys.refresh(&pair.refresh),
                ttl_ms(pair.refresh_expires_at, now),
            ),
        ];
        entries.extend(extra);
        self.link(
            pointer,
            &entries,
            Some(Membership::new(retain, now)),
            Confirm::Yes,
        )
        .await
    }

    /// Writes index entries (each with its TTL in milliseconds) and, when `member` is given,
    /// records the grant in its player's set. Safe to repeat; it never decides anything, so a
    /// pointer to a grant that did not take the token is harmless. Each key lives in its own
    /// cluster slot, so each is its own pipeline; they are sent together.
    async fn link(
        &self,
        pointer: &Pointer,
        entries: &[(String, i64)],
        member: Option<Membership>,
        confirm: Confirm,
    ) -> Result<(), StoreError> {
        let value = pointer.encode();
        let mut pipes: Vec<::redis::Pipeline> = entries
            .iter()
            .map(|(key, ttl)| {
                let mut pipe = ::redis::pipe();
                pipe.cmd("SET").arg(key).arg(&value).arg("PX").arg(*ttl);
                pipe
            })
            .collect();
        if let Some(m) = member {
            let player = self.keys.player(&pointer.player_tag);
            let mut pipe = ::redis::pipe();
            // The score is the grant's retention: GT only lengthens it, and members whose
            // retention ended are dropped here, so the set never outgrows the live grants.
            pipe.cmd("ZADD")
                .arg(&player)
                .arg("GT")
                .arg(m.retain)
                .arg(&pointer.tag);
            pipe.cmd("ZREMRANGEBYSCORE")
                .arg(&player)
                .arg("-inf")
                .arg(m.now);
            // NX sets a TTL on a new set, GT only ever lengthens an existing one.
            pipe.cmd("PEXPIRE").arg(&player).arg(m.ttl).arg("NX");
            pipe.cmd("PEXPIRE").arg(&player).arg(m.ttl).arg("GT");
            pipes.push(pipe);
        }
        let writes = pipes.iter().map(|pipe| async move {
            if confirm == Confirm::Yes {
                self.conn
                    .confirmed_pipeline(pipe, "index update failed")
                    .await
                    .map(drop)
            } else {
                let mut conn = self.conn.clone();
                pipe.query_async::<()>(&mut conn)
                    .await
                    .map_err(|e| gameauth_core::redis::unavailable("index update failed", &e))
            }
        });
        futures::future::try_join_all(writes).await?;
        Ok(())
    }

    async fn run_script(
        &self,
        script: &StoreScript,
        tag: &str,
        args: &[Vec<u8>],
        confirm: Confirm,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut call = script.prepare();
        call.key(self.keys.grant(tag)).key(self.keys.sealed(tag));
        for a in args {
            call.arg(a.as_slice());
        }
        let reply = match confirm {
            Confirm::Yes => call.run_confirmed(&self.conn, "script failed").await,
            Confirm::No => call.run(&self.conn, "script failed").await,
        };
        Ok(reply?)
    }

    /// Revokes one grant; returns whether it was live, and its player id.
    async fn revoke_tag(&self, tag: &str) -> Result<(bool, String), StoreError> {
        let reply = self
            .run_script(&self.scripts.revoke, tag, &[], Confirm::Yes)
            .await?;
        match reply.as_slice() {
            [revoked, player] => Ok((revoked.as_slice() == b"1", text(player)?)),
            _ => Err(StoreError::unavailable("Redis returned a malformed reply")),
        }
    }

    async fn forget_members(&self, player_tag: &str, tags: &[&str]) -> Result<(), StoreError> {
        if tags.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        ::redis::cmd("ZREM")
            .arg(self.keys.player(player_tag))
            .arg(tags)
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| gameauth_core::redis::unavailable("ZREM failed", &e).into())
    }

    async fn sweep_batch(&self, keys: Vec<String>, now: SystemTime) -> Result<usize, StoreError> {
        let args = [
            millis(now).to_string().into_bytes(),
            duration_ms(ACCESS_RETENTION).to_string().into_bytes(),
        ];
        let mut dropped = 0usize;
        for key in &keys {
            let Some(tag) = self.keys.tag_of(key) else {
                continue;
            };
            let mut call = self.scripts.sweep.prepare();
            call.key(key).key(self.keys.sealed(tag));
            for a in &args {
                call.arg(a.as_slice());
            }
            let n: usize = call.run(&self.conn, "sweep failed").await?;
            dropped += n;
        }
        Ok(dropped)
    }
}

#[async_trait]
impl GrantStore for RedisStore {
    async fn put_code(&self, code: NewCode) -> Result<(), StoreError> {
        with_deadline(self.timeout, async {
            let tag = short_hash(code.grant.grant_id.as_str());
            let pointer = Pointer::new(tag, short_hash(&code.grant.player_id));
            let ttl = ttl_ms(code.expires_at, self.clock.now());
            // A new code is the one write a failover may lose without harm (the player launches
            // again), so it is not waited for.
            self.link(
                &pointer,
                &[(self.keys.code(&code.code), ttl)],
                None,
                Confirm::No,
            )
            .await?;
            let args = [
                arg(code.code.to_hex()),
                arg(code.grant.grant_id.as_str()),
                arg(&code.grant.client_id),
                arg(&code.grant.player_id),
                arg(&code.redirect_uri),
                arg(millis(code.expires_at)),
                arg(ttl),
                arg(code.pkce_challenge.map(|h| h.to_hex()).unwrap_or_default()),
            ];
            self.run_script(&self.scripts.put_code, &pointer.tag, &args, Confirm::No)
                .await
                .map(drop)
        })
        .await
    }

    async fn redeem_code(&self, request: RedeemCode) -> Result<Redeemed, StoreError> {
        with_deadline(self.timeout, async {
            let Some(pointer) = self.pointer(self.keys.code(&request.code)).await? else {
                return Ok(Redeemed::NotFound);
            };
            let pair = &request.pair;
            let now = request.now;
            let retain = pair
                .refresh_expires_at
                .max(pair.access_expires_at + ACCESS_RETENTION);
            let keep = ttl_ms(retain, now);
            let args = [
                arg(request.code.to_hex()),
                arg(&request.client_id),
                arg(if request.redirect_uri.is_some() {
                    "1"
                } else {
                    "0"
                }),
                arg(request.redirect_uri.as_deref().unwrap_or("")),
                arg(millis(now)),
                arg(pair.access.to_hex()),
                arg(millis(pair.access_expires_at)),
                arg(pair.refresh.to_hex()),
                arg(millis(pair.refresh_expires_at)),
                arg(millis(retain)),
                arg(keep),
                arg(request
                    .pkce_verifier
                    .map(|h| h.to_hex())
                    .unwrap_or_default()),
            ];
            let reply = self
                .run_script(&self.scripts.redeem, &pointer.tag, &args, Confirm::Yes)
                .await?;
            match reply.first().map(Vec::as_slice) {
                Some(b"issued") => {
                    // Pointers only lead to the grant, which decides everything: written once
                    // the pair exists, so refused attempts leave no long-lived keys behind. The
                    // tokens reach the client only after this.
                    // The code's index must outlive its tombstone, which detects replays.
                    let code_index = (self.keys.code(&request.code), keep);
                    self.link_pair(&pointer, pair, now, retain, Some(code_index))
                        .await?;
                    Ok(Redeemed::Issued(grant_from(&reply)?))
                }
                Some(b"not_found") => Ok(Redeemed::NotFound),
                Some(b"expired") => Ok(Redeemed::Expired),
                Some(b"mismatch") => Ok(Redeemed::Mismatch),
                Some(b"pkce_mismatch") => Ok(Redeemed::PkceMismatch),
                Some(b"replayed") => Ok(Redeemed::Replayed),
                _ => Err(StoreError::unavailable("Redis returned an unknown outcome")),
            }
        })
        .await
    }

    async fn rotate_refresh(&self, request: RotateRefresh) -> Result<Rotated, StoreError> {
        with_deadline(self.timeout, async {
            let Some(pointer) = self.pointer(self.keys.refresh(&request.refresh)).await? else {
                return Ok(Rotated::NotFound);
            };
            let pair = &request.pair;
            let now = request.now;
            let retain = pair
                .refresh_expires_at
                .max(pair.access_expires_at + ACCESS_RETENTION);
            let keep = ttl_ms(retain, now);
            let args = [
                arg(request.refresh.to_hex()),
                arg(&request.client_id),
                arg(millis(now)),
                arg(millis(now + request.grace)),
                arg(pair.access.to_hex()),
                arg(millis(pair.access_expires_at)),
                arg(pair.refresh.to_hex()),
                arg(millis(pair.refresh_expires_at)),
                arg(millis(retain)),
                arg(keep),
                arg(duration_ms(request.grace)),
                request.sealed.0.clone(),
            ];
            let reply = self
                .run_script(&self.scripts.rotate, &pointer.tag, &args, Confirm::Yes)
                .await?;
            match reply.first().map(Vec::as_slice) {
                Some(b"rotated") => {
                    // As for a code: the new pair's pointers once it exists.
                    self.link_pair(&pointer, pair, now, retain, None).await?;
                    Ok(Rotated::Rotated(grant_from(&reply)?))
                }
                Some(b"repeat") => match reply.as_slice() {
                    [
                        _,
                        _,
                        _,
                        _,
                        sealed,
                        access,
                        expires,
                        refresh,
                        refresh_expires,
                    ] => {
                        let successor = NewPair {
                            access: hash_from_hex(access)?,
                            access_expires_at: time_from_ms(expires)?,
                            refresh: hash_from_hex(refresh)?,
                            refresh_expires_at: time_from_ms(refresh_expires)?,
                        };
                        // The rotation being repeated may have lost its answer before its
                        // pointers were written (a failover, a timeout): write them again, so
                        // the pair handed out now works.
                        let retain = successor
                            .refresh_expires_at
                            .max(successor.access_expires_at + ACCESS_RETENTION);
                        self.link_pair(&pointer, &successor, now, retain, None)
                            .await?;
                        Ok(Rotated::Repeat {
                            grant: grant_from(&reply)?,
                            sealed: SealedAnswer(sealed.clone()),
                            access: successor.access,
                            access_expires_at: successor.access_expires_at,
                        })
                    }
                    _ => Err(StoreError::unavailable("Redis returned a malformed reply")),
                },
                Some(b"not_found") => Ok(Rotated::NotFound),
                Some(b"expired") => Ok(Rotated::Expired),
                Some(b"mismatch") => Ok(Rotated::Mismatch),
                Some(b"reuse") => Ok(Rotated::ReuseDetected),
                _ => Err(StoreError::unavailable("Redis returned an unknown outcome")),
            }
        })
        .await
    }

    async fn access_token(&self, token: &TokenHash) -> Result<Option<AccessGrant>, StoreError> {
        with_deadline(self.timeout, async {
            // Where the grant lives and whom it is for never change: once known, one round
            // trip asks the grant itself whether the token is still live, and until when.
            // With a client cache on the connection (`RedisConfig::client_cache`) the answer
            // is kept until Redis reports a change to the grant.
            if let Some(known) = self.known.as_ref().and_then(|k| k.get(token)) {
                let mut conn = self.conn.clone();
                let mut read = ::redis::cmd("HGET");
                read.arg(&*known.grant_key)
                    .arg(format!("a:{}", token.to_hex()));
                let expires: Option<Vec<u8>> = self
                    .conn
                    .cacheable_read(&mut read)
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| gameauth_core::redis::unavailable("HGET failed", &e))?;
                let Some(expires) = expires else {
                    return Ok(None);
                };
                let expires_at = time_from_ms(&expires)?;
                // Past its retention the index entry is gone by TTL: unknown, as without the
                // cache.
                if expires_at + ACCESS_RETENTION <= self.clock.now() {
                    return Ok(None);
                }
                return Ok(Some(AccessGrant {
                    grant: Arc::clone(&known.grant),
                    expires_at,
                }));
            }
            let Some(pointer) = self.pointer(self.keys.access(token)).await? else {
                return Ok(None);
            };
            let mut conn = self.conn.clone();
            let fields: Vec<Option<Vec<u8>>> = ::redis::cmd("HMGET")
                .arg(self.keys.grant(&pointer.tag))
                .arg(format!("a:{}", token.to_hex()))
                .arg("gid")
                .arg("client")
                .arg("player")
                .query_async(&mut conn)
                .await
                .map_err(|e| gameauth_core::redis::unavailable("HMGET failed", &e))?;
            match fields.as_slice() {
                [None, ..] => Ok(None),
                [Some(expires), Some(gid), Some(client), Some(player)] => {
                    let grant = Arc::new(Grant {
                        grant_id: GrantId::from_string(text(gid)?),
                        client_id: text(client)?,
                        player_id: text(player)?,
                    });
                    if let Some(known) = &self.known {
                        known.insert(
                            *token,
                            Known {
                                grant_key: self.keys.grant(&pointer.tag).into(),
                                grant: Arc::clone(&grant),
                            },
                        );
                    }
                    Ok(Some(AccessGrant {
                        grant,
                        expires_at: time_from_ms(expires)?,
                    }))
                }
                _ => Err(StoreError::unavailable(
                    "Redis returned a short grant record",
                )),
            }
        })
        .await
    }

    async fn revoke_grant(&self, grant_id: &GrantId) -> Result<(), StoreError> {
        with_deadline(self.timeout, async {
            let tag = short_hash(grant_id.as_str());
            match self.revoke_tag(&tag).await? {
                (true, player) => self.forget_members(&short_hash(&player), &[&tag]).await,
                (false, _) => Ok(()),
            }
        })
        .await
    }

    async fn revoke_player(&self, player_id: &str) -> Result<usize, StoreError> {
        with_deadline(self.timeout, async {
            let player_tag = short_hash(player_id);
            let mut conn = self.conn.clone();
            let tags: Vec<String> = ::redis::cmd("ZRANGE")
                .arg(self.keys.player(&player_tag))
                .arg(0)
                .arg(-1)
                .query_async(&mut conn)
                .await
                .map_err(|e| gameauth_core::redis::unavailable("ZRANGE failed", &e))?;
            let tags: Vec<&str> = tags
                .iter()
                .map(String::as_str)
                .filter(|t| is_tag(t))
                .collect();
            let mut revoked = Vec::new();
            for tag in tags {
                if self.revoke_tag(tag).await?.0 {
                    revoked.push(tag);
                }
            }
            // Only what was revoked here leaves the set: a member that was not live is dead
            // already (the score-based pruning removes it) or belongs to a rotation racing this
            // revocation, which must stay findable by the next one.
            self.forget_members(&player_tag, &revoked).await?;
            Ok(revoked.len())
        })
        .await
    }

    /// Scans every grant of the prefix (`SCAN`, so it does not block Redis) and drops records
    /// whose retention ended at `now`. Redis expires keys by itself; this exists for hosts whose
    /// clock runs apart from real time and for parity with [`MemoryStore`](super::MemoryStore).
    async fn sweep_expired(&self, now: SystemTime) -> Result<usize, StoreError> {
        let pattern = self.keys.grant_pattern();
        let mut cursor = ScanCursor::start();
        let mut dropped = 0;
        loop {
            // One deadline per step: a sweep of a large keyspace may take long in total.
            let (next, keys) = with_deadline(
                self.timeout,
                self.conn.scan_step(cursor, &pattern, SCAN_COUNT),
            )
            .await?;
            dropped += with_deadline(self.timeout, self.sweep_batch(keys, now)).await?;
            if next.is_done() {
                return Ok(dropped);
            }
            cursor = next;
        }
    }
}
