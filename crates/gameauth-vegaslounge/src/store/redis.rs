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
//! `EVALSHA` and loaded again when Redis answers `NOSCRIPT` (after `SCRIPT FLUSH` or a restart).
//!
//! # Failures
//! Every operation has a deadline ([`RedisStoreBuilder::timeout`]); a timeout, a lost connection
//! or an unexpected reply is a [`StoreError`], which the server answers with 503, never with
//! `invalid_grant`. The [`ConnectionManager`] reconnects by itself once Redis is back; see
//! [`connect`] for settings that keep its reconnection short.
//!
//! Times inside the records come from the caller's clock, so the store behaves like
//! [`MemoryStore`](super::MemoryStore) under a manual clock; Redis TTLs are derived from the same
//! times and only bound how long a record is kept. Expired records vanish by TTL: running
//! [`spawn_sweeper`](super::spawn_sweeper) is not needed (its [`sweep_expired`](GrantStore::sweep_expired)
//! scans every grant of the prefix).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use gameauth_core::{Clock, SystemClock};

pub use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{
    ACCESS_RETENTION, AccessGrant, Grant, GrantId, GrantStore, NewCode, NewPair, RedeemCode,
    Redeemed, RotateRefresh, Rotated, SealedAnswer, StoreError, TokenHash,
};
use crate::error::ConfigError;

/// Deadline of one store operation unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest accepted key prefix.
pub const MAX_PREFIX_LEN: usize = 64;

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
    put_code: ::redis::Script,
    redeem: ::redis::Script,
    rotate: ::redis::Script,
    revoke: ::redis::Script,
    sweep: ::redis::Script,
}

impl Scripts {
    fn new() -> Self {
        Self {
            put_code: ::redis::Script::new(grant_script!("put_code.lua")),
            redeem: ::redis::Script::new(grant_script!("redeem.lua")),
            rotate: ::redis::Script::new(grant_script!("rotate.lua")),
            revoke: ::redis::Script::new(grant_script!("revoke.lua")),
            sweep: ::redis::Script::new(grant_script!("sweep.lua")),
        }
    }
}

/// Connection settings for a store: `timeout` for each connection attempt and each reply, and a
/// short reconnection schedule (two quick retries) so a request waiting for a reconnection
/// fails within its deadline instead of queueing behind a long backoff.
pub fn manager_config(timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
}

/// Opens a [`ConnectionManager`] to `url` (`redis://host:port/db`, `redis+unix:///path`) with
/// [`manager_config`]`(timeout)`, and checks that Redis answers.
///
/// The error never contains the URL (it may carry a password).
///
/// # Errors
///
/// Returns a [`StoreError`] when `url` is not a valid Redis URL, when the connection or its
/// first check fails (refused, authentication failed, I/O error), or when it is not established
/// within four times `timeout`.
pub async fn connect(url: &str, timeout: Duration) -> Result<ConnectionManager, StoreError> {
    let client = ::redis::Client::open(url)
        .map_err(|e| StoreError::unavailable(format!("invalid Redis URL: {}", describe(&e))))?;
    let connecting = ConnectionManager::new_with_config(client, manager_config(timeout));
    match tokio::time::timeout(timeout.saturating_mul(4), connecting).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(unavailable("cannot connect", &e)),
        Err(_) => Err(StoreError::unavailable(
            "cannot connect to Redis: timed out",
        )),
    }
}

/// A description of a Redis error without keys, values or addresses.
pub(crate) fn describe(err: &::redis::RedisError) -> &'static str {
    if err.is_timeout() {
        "timed out"
    } else if err.is_connection_refusal() {
        "connection refused"
    } else if err.is_connection_dropped() {
        "connection lost"
    } else if err.is_io_error() {
        "I/O error"
    } else {
        match err.kind() {
            ::redis::ErrorKind::Server(_) => "server error",
            ::redis::ErrorKind::Parse | ::redis::ErrorKind::UnexpectedReturnType => {
                "unexpected reply"
            }
            ::redis::ErrorKind::InvalidClientConfig => "invalid client configuration",
            ::redis::ErrorKind::AuthenticationFailed => "authentication failed",
            _ => "client error",
        }
    }
}

pub(crate) fn unavailable(what: &str, err: &::redis::RedisError) -> StoreError {
    StoreError::unavailable(format!("Redis {what}: {}", describe(err)))
}

/// Runs `op` with a deadline; a late answer is a [`StoreError`].
pub(crate) async fn with_deadline<T>(
    timeout: Duration,
    op: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(timeout, op)
        .await
        .unwrap_or_else(|_| Err(StoreError::unavailable("Redis did not answer in time")))
}

/// Checks a key prefix: at most [`MAX_PREFIX_LEN`] characters from `A-Z a-z 0-9 : _ . -`, so it
/// can neither open a hash tag nor act as a `SCAN` pattern. The builders call it; configuration
/// loaders can call it early.
///
/// # Errors
///
/// Returns a [`ConfigError`] when `prefix` is longer than [`MAX_PREFIX_LEN`] bytes or has a
/// character outside `A-Z a-z 0-9 : _ . -`.
pub fn validate_key_prefix(prefix: &str) -> Result<(), ConfigError> {
    if prefix.len() > MAX_PREFIX_LEN
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'.' | b'-'))
    {
        return Err(ConfigError(format!(
            "the Redis key prefix must be at most {MAX_PREFIX_LEN} characters from A-Z a-z 0-9 : _ . -"
        )));
    }
    Ok(())
}

/// First 128 bits of SHA-256 of `text`, in hex: a short, fixed-alphabet tag for ids that may
/// hold any character.
pub(crate) fn short_hash(text: &str) -> String {
    TokenHash::of(text).to_hex()[..32].to_owned()
}

/// Unix milliseconds of `t`, clamped at the epoch.
fn millis(t: SystemTime) -> i64 {
    gameauth_core::clock::unix_millis(t).max(0)
}

/// Milliseconds from `now` to `until`, at least 1 (a Redis TTL must be positive).
fn ttl_ms(until: SystemTime, now: SystemTime) -> i64 {
    (millis(until) - millis(now)).max(1)
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn time_from_ms(text: &[u8]) -> Result<SystemTime, StoreError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
        .ok_or_else(|| StoreError::unavailable("Redis returned a malformed time"))
}

fn text(bytes: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| StoreError::unavailable("Redis returned malformed text"))
}

fn hash_from_hex(bytes: &[u8]) -> Result<TokenHash, StoreError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(bytes, &mut out)
        .map_err(|_| StoreError::unavailable("Redis returned a malformed token hash"))?;
    Ok(TokenHash::from_bytes(out))
}

fn grant_from(reply: &[Vec<u8>]) -> Result<Arc<Grant>, StoreError> {
    match reply {
        [_, gid, client, player, ..] => Ok(Arc::new(Grant {
            grant_id: GrantId::from_string(text(gid)?),
            client_id: text(client)?,
            player_id: text(player)?,
        })),
        _ => Err(StoreError::unavailable(
            "Redis returned a short grant record",
        )),
    }
}

/// The key names of one prefix.
#[derive(Debug, Clone)]
struct Keys {
    prefix: String,
}

/// A grant's entry in its player's set: retention and now in Unix milliseconds, and the set's
/// TTL.
#[derive(Debug, Clone, Copy)]
struct Membership {
    retain: i64,
    now: i64,
    ttl: i64,
}

impl Membership {
    fn new(retain: SystemTime, now: SystemTime) -> Self {
        Self {
            retain: millis(retain),
            now: millis(now),
            ttl: ttl_ms(retain, now),
        }
    }
}

/// Where a token's grant lives, as stored in its index key.
struct Pointer {
    tag: String,
    player_tag: String,
}

impl Pointer {
    fn new(tag: String, player_tag: String) -> Self {
        Self { tag, player_tag }
    }

    fn encode(&self) -> String {
        format!("{}:{}", self.tag, self.player_tag)
    }

    fn decode(value: &str) -> Result<Self, StoreError> {
        let (tag, player_tag) = value
            .split_once(':')
            .filter(|(t, p)| is_tag(t) && is_tag(p))
            .ok_or_else(|| StoreError::unavailable("Redis returned a malformed index entry"))?;
        Ok(Self::new(tag.to_owned(), player_tag.to_owned()))
    }
}

fn is_tag(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Keys {
    fn grant(&self, tag: &str) -> String {
        format!("{}{{{tag}}}:grant", self.prefix)
    }
    fn sealed(&self, tag: &str) -> String {
        format!("{}{{{tag}}}:sealed", self.prefix)
    }
    fn code(&self, code: &TokenHash) -> String {
        format!("{}code:{}", self.prefix, code.to_hex())
    }
    fn access(&self, access: &TokenHash) -> String {
        format!("{}access:{}", self.prefix, access.to_hex())
    }
    fn refresh(&self, refresh: &TokenHash) -> String {
        format!("{}refresh:{}", self.prefix, refresh.to_hex())
    }
    fn player(&self, player_tag: &str) -> String {
        format!("{}player:{player_tag}", self.prefix)
    }
    fn grant_pattern(&self) -> String {
        format!("{}{{*}}:grant", self.prefix)
    }
    /// The tag inside a grant key found by `SCAN`.
    fn tag_of<'k>(&self, grant_key: &'k str) -> Option<&'k str> {
        grant_key
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix('{')?
            .strip_suffix("}:grant")
            .filter(|t| is_tag(t))
    }
}

/// A [`GrantStore`] in Redis, shared by every instance that uses the same Redis and key prefix.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use gameauth_vegaslounge::store::redis::{connect, RedisStore};
///
/// let conn = connect("redis://127.0.0.1:6379/", Duration::from_secs(2)).await?;
/// let store = RedisStore::builder(conn).key_prefix("vl:").build()?;
/// # let _ = Arc::new(store);
/// # Ok(()) }
/// ```
pub struct RedisStore {
    conn: ConnectionManager,
    keys: Keys,
    timeout: Duration,
    clock: Arc<dyn Clock>,
    scripts: Arc<Scripts>,
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
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    clock: Arc<dyn Clock>,
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

    /// The deadline of one store operation (default [`DEFAULT_TIMEOUT`]).
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

    /// Checks the settings: the prefix is at most [`MAX_PREFIX_LEN`] characters from
    /// `A-Z a-z 0-9 : _ . -`, and the timeout is positive.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] when the prefix fails [`validate_key_prefix`] or the timeout is
    /// zero.
    pub fn build(self) -> Result<RedisStore, ConfigError> {
        validate_key_prefix(&self.prefix)?;
        if self.timeout.is_zero() {
            return Err(ConfigError("the Redis timeout must be positive".into()));
        }
        Ok(RedisStore {
            conn: self.conn,
            keys: Keys {
                prefix: self.prefix,
            },
            timeout: self.timeout,
            clock: self.clock,
            scripts: Arc::new(Scripts::new()),
        })
    }
}

impl RedisStore {
    /// A builder over a connection the caller opened (for example with [`connect`]).
    pub fn builder(conn: ConnectionManager) -> RedisStoreBuilder {
        RedisStoreBuilder {
            conn,
            prefix: "vl:".to_owned(),
            timeout: DEFAULT_TIMEOUT,
            clock: Arc::new(SystemClock),
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
            .map_err(|e| unavailable("GET failed", &e))?;
        value.as_deref().map(Pointer::decode).transpose()
    }

    /// Writes index entries (each with its TTL in milliseconds) and, when `member` is given,
    /// records the grant in its player's set. Safe to repeat; it never decides anything, so a
    /// pointer to a grant that did not take the token is harmless.
    /// Points a new pair's access and refresh keys (and `extra`, when given) at the grant and
    /// keeps the grant in its player's set until `retain`.
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
        self.link(pointer, &entries, Some(Membership::new(retain, now)))
            .await
    }

    async fn link(
        &self,
        pointer: &Pointer,
        entries: &[(String, i64)],
        member: Option<Membership>,
    ) -> Result<(), StoreError> {
        let value = pointer.encode();
        let mut pipe = ::redis::pipe();
        for (key, ttl) in entries {
            pipe.cmd("SET")
                .arg(key)
                .arg(&value)
                .arg("PX")
                .arg(*ttl)
                .ignore();
        }
        if let Some(m) = member {
            let player = self.keys.player(&pointer.player_tag);
            // The score is the grant's retention: GT only lengthens it, and members whose
            // retention ended are dropped here, so the set never outgrows the live grants.
            pipe.cmd("ZADD")
                .arg(&player)
                .arg("GT")
                .arg(m.retain)
                .arg(&pointer.tag)
                .ignore();
            pipe.cmd("ZREMRANGEBYSCORE")
                .arg(&player)
                .arg("-inf")
                .arg(m.now)
                .ignore();
            // NX sets a TTL on a new set, GT only ever lengthens an existing one.
            pipe.cmd("PEXPIRE")
                .arg(&player)
                .arg(m.ttl)
                .arg("NX")
                .ignore();
            pipe.cmd("PEXPIRE")
                .arg(&player)
                .arg(m.ttl)
                .arg("GT")
                .ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|e| unavailable("index update failed", &e))
    }

    async fn run_script(
        &self,
        script: &::redis::Script,
        tag: &str,
        args: &[Vec<u8>],
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut invocation = script.key(self.keys.grant(tag));
        invocation.key(self.keys.sealed(tag));
        for a in args {
            invocation.arg(a.as_slice());
        }
        let mut conn = self.conn.clone();
        invocation
            .invoke_async(&mut conn)
            .await
            .map_err(|e| unavailable("script failed", &e))
    }

    /// Revokes one grant; returns whether it was live, and its player id.
    async fn revoke_tag(&self, tag: &str) -> Result<(bool, String), StoreError> {
        let reply = self.run_script(&self.scripts.revoke, tag, &[]).await?;
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
            .map_err(|e| unavailable("ZREM failed", &e))
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
            let mut invocation = self.scripts.sweep.key(key);
            invocation.key(self.keys.sealed(tag));
            for a in &args {
                invocation.arg(a.as_slice());
            }
            let mut conn = self.conn.clone();
            let n: usize = invocation
                .invoke_async(&mut conn)
                .await
                .map_err(|e| unavailable("sweep failed", &e))?;
            dropped += n;
        }
        Ok(dropped)
    }
}

fn arg(value: impl ToString) -> Vec<u8> {
    value.to_string().into_bytes()
}

#[async_trait]
impl GrantStore for RedisStore {
    async fn put_code(&self, code: NewCode) -> Result<(), StoreError> {
        with_deadline(self.timeout, async {
            let tag = short_hash(code.grant.grant_id.as_str());
            let pointer = Pointer::new(tag, short_hash(&code.grant.player_id));
            let ttl = ttl_ms(code.expires_at, self.clock.now());
            self.link(&pointer, &[(self.keys.code(&code.code), ttl)], None)
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
            self.run_script(&self.scripts.put_code, &pointer.tag, &args)
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
                .run_script(&self.scripts.redeem, &pointer.tag, &args)
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
                .run_script(&self.scripts.rotate, &pointer.tag, &args)
                .await?;
            match reply.first().map(Vec::as_slice) {
                Some(b"rotated") => {
                    // As for a code: the new pair's pointers once it exists.
                    self.link_pair(&pointer, pair, now, retain, None).await?;
                    Ok(Rotated::Rotated(grant_from(&reply)?))
                }
                Some(b"repeat") => match reply.as_slice() {
                    [_, _, _, _, sealed, access, expires] => Ok(Rotated::Repeat {
                        grant: grant_from(&reply)?,
                        sealed: SealedAnswer(sealed.clone()),
                        access: hash_from_hex(access)?,
                        access_expires_at: time_from_ms(expires)?,
                    }),
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
                .map_err(|e| unavailable("HMGET failed", &e))?;
            match fields.as_slice() {
                [None, ..] => Ok(None),
                [Some(expires), Some(gid), Some(client), Some(player)] => Ok(Some(AccessGrant {
                    grant: Arc::new(Grant {
                        grant_id: GrantId::from_string(text(gid)?),
                        client_id: text(client)?,
                        player_id: text(player)?,
                    }),
                    expires_at: time_from_ms(expires)?,
                })),
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
                .map_err(|e| unavailable("ZRANGE failed", &e))?;
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
        let mut cursor: u64 = 0;
        let mut dropped = 0;
        loop {
            // One deadline per step: a sweep of a large keyspace may take long in total.
            let (next, keys) = with_deadline(self.timeout, async {
                let mut conn = self.conn.clone();
                ::redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(SCAN_COUNT)
                    .query_async::<(u64, Vec<String>)>(&mut conn)
                    .await
                    .map_err(|e| unavailable("SCAN failed", &e))
            })
            .await?;
            dropped += with_deadline(self.timeout, self.sweep_batch(keys, now)).await?;
            if next == 0 {
                return Ok(dropped);
            }
            cursor = next;
        }
    }
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
    }

    #[test]
    fn keys_of_one_grant_share_a_hash_tag_and_hold_only_hashes() {
        let keys = Keys {
            prefix: "vl:".into(),
        };
        let tag = short_hash("grant-1");
        assert_eq!(keys.grant(&tag), format!("vl:{{{tag}}}:grant"));
        assert_eq!(keys.sealed(&tag), format!("vl:{{{tag}}}:sealed"));
        assert_eq!(keys.tag_of(&keys.grant(&tag)), Some(tag.as_str()));
        assert_eq!(keys.tag_of("vl:{nothex}:grant"), None);
        let code = TokenHash::of("raw-code");
        assert_eq!(keys.code(&code), format!("vl:code:{}", code.to_hex()));
        assert!(!keys.code(&code).contains("raw-code"));
    }

    #[test]
    fn pointers_round_trip_and_reject_garbage() {
        let p = Pointer::new(short_hash("g"), short_hash("p"));
        let back = Pointer::decode(&p.encode()).unwrap();
        assert_eq!((back.tag, back.player_tag), (p.tag, p.player_tag));
        assert!(Pointer::decode("nope").is_err());
        assert!(Pointer::decode("zz:zz").is_err());
    }

    #[test]
    fn ttls_are_positive_milliseconds() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        assert_eq!(ttl_ms(t + Duration::from_millis(1500), t), 1500);
        assert_eq!(ttl_ms(t, t + Duration::from_secs(5)), 1);
        assert_eq!(millis(SystemTime::UNIX_EPOCH - Duration::from_secs(5)), 0);
    }
}
