//! The in-memory grant store: one process, no external service.
//!
//! # Layout
//! Memory per live grant is what limits a single instance, so a grant is one fixed-size record
//! in a slab (`records`) and every lookup table holds only 4-byte slot numbers:
//!
//! - `tokens` finds a record by the hash of its code, access token or refresh token. Its entries
//!   are a slot plus which of the three hashes it stands for; the full 32-byte hash lives once,
//!   in the record, and every match is confirmed against it. Stored hashes are SHA-256 of tokens
//!   the server drew at random, so their first 8 bytes are used as the table hash directly: a
//!   presented token can only probe, never lengthen, a chain.
//! - `grants` and `players` find live grants by grant id and by player id (keyed hashes of the
//!   ids, confirmed against the record).
//! - Client ids are interned: a record holds an index into the few registered clients. Grant and
//!   player ids up to 22 bytes are stored inline.
//! - Everything only some grants need sits in a boxed side record: a pending code's redirect
//!   URI, the last rotation's grace-window answer, the rotated refresh tokens still remembered
//!   for reuse detection (those are found through `retired`), and the retention of a rotated
//!   grant.
//!
//! Times are kept as nanoseconds since the Unix epoch, which is exact from 1970 to 2554.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hashbrown::HashTable;

use super::{
    ACCESS_RETENTION, AccessGrant, Grant, GrantId, GrantStore, NewCode, RedeemCode, Redeemed,
    RotateRefresh, Rotated, SealedAnswer, StoreError, TokenHash,
};

/// A [`GrantStore`] in process memory, the default for a single instance.
///
/// All state sits behind one reader-writer lock: writes (issue, redeem, rotate, revoke) are
/// serialised, which makes each of them trivially atomic; the access-token check takes the read
/// lock for one table lookup by the token's hash.
///
/// A live grant costs about 230 bytes (one record, three token-table entries, one entry each
/// in the grant and player tables). A used code is remembered, to detect replays, until the
/// code's own expiry.
///
/// Expired records are dropped by [`sweep_expired`](GrantStore::sweep_expired), called by
/// [`spawn_sweeper`](super::spawn_sweeper) or by the host.
#[derive(Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.read();
        let count = |flag: u8| {
            inner
                .records
                .iter()
                .flatten()
                .filter(|r| r.has(flag))
                .count()
        };
        f.debug_struct("MemoryStore")
            .field("codes", &count(CODE))
            .field("access_tokens", &count(ACCESS))
            .field("refresh_tokens", &(count(REFRESH) + inner.retired.len()))
            .field("grants", &inner.grants.len())
            .finish()
    }
}

/// Nanoseconds since the Unix epoch.
type Nanos = u64;

fn nanos(t: SystemTime) -> Nanos {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn time(n: Nanos) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(n)
}

fn duration_nanos(d: Duration) -> Nanos {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// How long a pair keeps its grant: until the refresh token expires or the access token's
/// retention ends, whichever is later.
fn pair_retention(access_expires: Nanos, refresh_expires: Nanos) -> Nanos {
    refresh_expires.max(access_expires.saturating_add(duration_nanos(ACCESS_RETENTION)))
}

/// The most records the store holds: slot numbers share 32 bits with the entry kind.
const MAX_SLOTS: u32 = 1 << 30;

/// Record flags.
/// The code is remembered: unused until its expiry; used (a tombstone, so that a replay revokes
/// the grant) for as long as the grant it created lives, and at least until the code's expiry.
const CODE: u8 = 1;
/// The code was redeemed.
const USED: u8 = 1 << 1;
/// The grant was issued and is neither revoked nor past its retention.
const LIVE: u8 = 1 << 2;
/// The record's access token is live (or expired but within its retention).
const ACCESS: u8 = 1 << 3;
/// The record's refresh token is live (or expired but not yet swept).
const REFRESH: u8 = 1 << 4;

#[derive(Default)]
struct Inner {
    /// One record per code; `None` marks a free slot.
    records: Vec<Option<Record>>,
    /// Free slots of `records`, reused first.
    free: Vec<u32>,
    /// Code, access and refresh hashes → the record that holds them.
    tokens: HashTable<Entry>,
    /// Rotated refresh tokens, remembered until they expire so a reuse revokes the grant.
    retired: HashMap<TokenHash, Retired>,
    /// Live grants by grant id.
    grants: HashTable<u32>,
    /// Live grants by player id (one entry per grant).
    players: HashTable<u32>,
    clients: Clients,
    /// Keys the grant and player tables, whose ids come from outside.
    hasher: RandomState,
}

/// Which of a record's hashes a token-table entry stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Code = 0,
    Access = 1,
    Refresh = 2,
}

/// A token-table entry: the slot in the low 30 bits, the [`Kind`] in the top 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry(u32);

impl Entry {
    fn new(slot: u32, kind: Kind) -> Self {
        Self(slot | ((kind as u32) << 30))
    }

    fn slot(self) -> u32 {
        self.0 & (MAX_SLOTS - 1)
    }

    fn kind(self) -> Kind {
        match self.0 >> 30 {
            0 => Kind::Code,
            1 => Kind::Access,
            _ => Kind::Refresh,
        }
    }
}

/// Where a rotated refresh token's grant is, and when the token expires.
#[derive(Debug, Clone, Copy)]
struct Retired {
    slot: u32,
    expires: Nanos,
}

/// One code and the grant it creates, with its live pair.
struct Record {
    code: TokenHash,
    access: TokenHash,
    refresh: TokenHash,
    code_expires: Nanos,
    access_expires: Nanos,
    refresh_expires: Nanos,
    grant_id: Compact,
    player_id: Compact,
    client: u32,
    flags: u8,
    extra: Option<Box<Extra>>,
}

/// What only some records need.
#[derive(Default)]
struct Extra {
    /// The redirect URI an unused code was issued for.
    redirect_uri: Option<Box<str>>,
    /// The PKCE challenge an unused code was issued with.
    pkce_challenge: Option<TokenHash>,
    /// The last rotation, until its grace window closes.
    grace: Option<Grace>,
    /// The grant's rotated refresh tokens (keys of [`Inner::retired`]).
    retired: Vec<TokenHash>,
    /// Once the grant rotated: the longest retention of any pair it issued.
    retain_until: Option<Nanos>,
}

impl Extra {
    fn is_empty(&self) -> bool {
        self.redirect_uri.is_none()
            && self.pkce_challenge.is_none()
            && self.grace.is_none()
            && self.retired.is_empty()
            && self.retain_until.is_none()
    }
}

/// The last rotation of a grant.
struct Grace {
    /// The refresh token it rotated.
    refresh: TokenHash,
    until: Nanos,
    sealed: SealedAnswer,
}

impl Record {
    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    fn hash(&self, kind: Kind) -> &TokenHash {
        match kind {
            Kind::Code => &self.code,
            Kind::Access => &self.access,
            Kind::Refresh => &self.refresh,
        }
    }

    fn grant(&self, clients: &Clients) -> Arc<Grant> {
        Arc::new(Grant {
            grant_id: GrantId::from_string(self.grant_id.to_string()),
            client_id: clients.get(self.client).to_owned(),
            player_id: self.player_id.to_string(),
        })
    }

    fn retain_until(&self) -> Nanos {
        self.extra
            .as_ref()
            .and_then(|e| e.retain_until)
            .unwrap_or_else(|| pair_retention(self.access_expires, self.refresh_expires))
    }

    /// Drops the side record once nothing is left in it.
    fn trim_extra(&mut self) {
        if self.extra.as_ref().is_some_and(|e| e.is_empty()) {
            self.extra = None;
        }
    }
}

/// The length of the longest id stored inline.
const INLINE: usize = 22;

/// An id stored inline when short (24 bytes either way).
enum Compact {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl Compact {
    fn new(s: &str) -> Self {
        match u8::try_from(s.len()) {
            Ok(len) if s.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..s.len()].copy_from_slice(s.as_bytes());
                Self::Inline { len, bytes }
            }
            _ => Self::Heap(s.into()),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Self::Heap(s) => s.as_bytes(),
        }
    }
}

impl std::fmt::Display for Compact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bytes were copied from a `str`, so nothing is ever replaced.
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

/// Interned client ids: there are few clients and millions of grants.
#[derive(Default)]
struct Clients {
    ids: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
}

impl Clients {
    fn intern(&mut self, id: &str) -> Result<u32, StoreError> {
        if let Some(&i) = self.index.get(id) {
            return Ok(i);
        }
        let i = u32::try_from(self.ids.len())
            .map_err(|_| StoreError::unavailable("too many distinct client ids"))?;
        self.ids.push(id.into());
        self.index.insert(id.into(), i);
        Ok(i)
    }

    fn get(&self, i: u32) -> &str {
        // Indexes only ever come from `intern`.
        self.ids.get(i as usize).map_or("", |s| s)
    }
}

/// The token-table hash of a token hash: its first 8 bytes (see the module docs).
fn token_key(hash: &TokenHash) -> u64 {
    let mut first = [0; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

fn record_of(records: &[Option<Record>], slot: u32) -> Option<&Record> {
    records.get(slot as usize)?.as_ref()
}

fn rehash_entry(records: &[Option<Record>], entry: &Entry) -> u64 {
    // Every entry points at a record that holds its hash.
    record_of(records, entry.slot()).map_or(0, |r| token_key(r.hash(entry.kind())))
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // No code path panics while holding the lock, so a poisoned lock still holds
        // consistent data.
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn record(&self, slot: u32) -> Option<&Record> {
        record_of(&self.records, slot)
    }

    fn record_mut(&mut self, slot: u32) -> Option<&mut Record> {
        self.records.get_mut(slot as usize)?.as_mut()
    }

    /// The slot whose `kind` hash is `token`.
    fn find(&self, kind: Kind, token: &TokenHash) -> Option<u32> {
        let records = &self.records;
        self.tokens
            .find(token_key(token), |e| {
                e.kind() == kind
                    && record_of(records, e.slot()).is_some_and(|r| r.hash(kind) == token)
            })
            .map(|e| e.slot())
    }

    fn link(&mut self, slot: u32, kind: Kind) {
        let Inner {
            records, tokens, ..
        } = self;
        if let Some(record) = record_of(records, slot) {
            let key = token_key(record.hash(kind));
            tokens.insert_unique(key, Entry::new(slot, kind), |e| rehash_entry(records, e));
        }
    }

    fn unlink(&mut self, slot: u32, kind: Kind) {
        let Some(key) = self.record(slot).map(|r| token_key(r.hash(kind))) else {
            return;
        };
        let wanted = Entry::new(slot, kind);
        if let Ok(entry) = self.tokens.find_entry(key, |e| *e == wanted) {
            entry.remove();
        }
    }

    fn id_key(&self, id: &[u8]) -> u64 {
        self.hasher.hash_one(id)
    }

    /// Adds a freshly issued grant to the grant and player tables.
    fn index_grant(&mut self, slot: u32) {
        let Some(record) = self.record(slot) else {
            return;
        };
        let (grant_key, player_key) = (
            self.id_key(record.grant_id.as_bytes()),
            self.id_key(record.player_id.as_bytes()),
        );
        let Inner {
            records,
            grants,
            players,
            hasher,
            ..
        } = self;
        grants.insert_unique(grant_key, slot, |&s| {
            record_of(records, s).map_or(0, |r| hasher.hash_one(r.grant_id.as_bytes()))
        });
        players.insert_unique(player_key, slot, |&s| {
            record_of(records, s).map_or(0, |r| hasher.hash_one(r.player_id.as_bytes()))
        });
    }

    fn unindex_grant(&mut self, slot: u32) {
        let Some(record) = self.record(slot) else {
            return;
        };
        let (grant_key, player_key) = (
            self.id_key(record.grant_id.as_bytes()),
            self.id_key(record.player_id.as_bytes()),
        );
        if let Ok(entry) = self.grants.find_entry(grant_key, |&s| s == slot) {
            entry.remove();
        }
        if let Ok(entry) = self.players.find_entry(player_key, |&s| s == slot) {
            entry.remove();
        }
    }

    /// The live grants in `table` whose id (picked by `id`) is `wanted`.
    fn live_slots(
        &self,
        table: &HashTable<u32>,
        wanted: &str,
        id: fn(&Record) -> &Compact,
    ) -> Vec<u32> {
        table
            .iter_hash(self.id_key(wanted.as_bytes()))
            .copied()
            .filter(|&s| {
                self.record(s)
                    .is_some_and(|r| id(r).as_bytes() == wanted.as_bytes())
            })
            .collect()
    }

    fn allocate(&mut self, record: Record) -> Result<u32, StoreError> {
        if let Some(slot) = self.free.pop()
            && let Some(free) = self.records.get_mut(slot as usize)
        {
            *free = Some(record);
            return Ok(slot);
        }
        let slot = u32::try_from(self.records.len())
            .ok()
            .filter(|s| *s < MAX_SLOTS)
            .ok_or_else(|| StoreError::unavailable("the memory store is full"))?;
        self.records.push(Some(record));
        Ok(slot)
    }

    /// Frees a slot that holds neither a code nor a live grant (so nothing points at it).
    fn release_if_empty(&mut self, slot: u32) {
        if let Some(place) = self.records.get_mut(slot as usize)
            && place.as_ref().is_some_and(|r| !r.has(CODE | LIVE))
        {
            *place = None;
            self.free.push(slot);
        }
    }

    /// Forgets a record's code (unused or tombstone).
    fn drop_code(&mut self, slot: u32) {
        self.unlink(slot, Kind::Code);
        if let Some(record) = self.record_mut(slot) {
            record.flags &= !CODE;
            if let Some(extra) = &mut record.extra {
                extra.redirect_uri = None;
            }
            record.trim_extra();
        }
        self.release_if_empty(slot);
    }

    /// Revokes a live grant: every token issued under it stops working; the code's tombstone
    /// stays until the code's expiry. Returns whether the grant was live.
    fn revoke(&mut self, slot: u32) -> bool {
        let Some(record) = self.record(slot).filter(|r| r.has(LIVE)) else {
            return false;
        };
        let (access, refresh) = (record.has(ACCESS), record.has(REFRESH));
        if access {
            self.unlink(slot, Kind::Access);
        }
        if refresh {
            self.unlink(slot, Kind::Refresh);
        }
        self.unindex_grant(slot);
        let Inner {
            records, retired, ..
        } = self;
        if let Some(Some(record)) = records.get_mut(slot as usize) {
            if let Some(mut extra) = record.extra.take() {
                for h in &extra.retired {
                    retired.remove(h);
                }
                extra.retired = Vec::new();
                extra.grace = None;
                extra.retain_until = None;
                record.extra = Some(extra);
                record.trim_extra();
            }
            record.flags &= !(LIVE | ACCESS | REFRESH);
        }
        self.release_if_empty(slot);
        true
    }

    /// Drops whatever of one record's retention ended at `now`; returns how many codes, tokens
    /// and grants were dropped.
    fn sweep_slot(&mut self, slot: u32, now: Nanos) -> usize {
        let Some(record) = self.record(slot) else {
            return 0;
        };
        let mut dropped = 0;
        if record.has(LIVE) && record.retain_until() <= now {
            let retired = record.extra.as_ref().map_or(0, |e| e.retired.len());
            dropped +=
                1 + usize::from(record.has(ACCESS)) + usize::from(record.has(REFRESH)) + retired;
            self.revoke(slot);
        } else if record.has(LIVE) {
            let access_expired = record.has(ACCESS)
                && record
                    .access_expires
                    .saturating_add(duration_nanos(ACCESS_RETENTION))
                    <= now;
            let refresh_expired = record.has(REFRESH) && record.refresh_expires <= now;
            if access_expired {
                self.unlink(slot, Kind::Access);
                dropped += 1;
            }
            if refresh_expired {
                self.unlink(slot, Kind::Refresh);
                dropped += 1;
            }
            let Inner {
                records, retired, ..
            } = self;
            if let Some(Some(record)) = records.get_mut(slot as usize) {
                if access_expired {
                    record.flags &= !ACCESS;
                }
                if refresh_expired {
                    record.flags &= !REFRESH;
                }
                if let Some(extra) = &mut record.extra {
                    extra.retired.retain(|h| match retired.get(h) {
                        Some(r) if r.expires > now => true,
                        _ => {
                            retired.remove(h);
                            dropped += 1;
                            false
                        }
                    });
                    if extra.grace.as_ref().is_some_and(|g| g.until <= now) {
                        extra.grace = None;
                    }
                }
                record.trim_extra();
            }
        }
        // Decided after the grant's own retention: a grant that ended in this sweep takes its
        // code's tombstone with it once the code has expired too.
        let code_done = self
            .record(slot)
            .is_some_and(|r| r.has(CODE) && r.code_expires <= now && !(r.has(USED) && r.has(LIVE)));
        if code_done {
            self.drop_code(slot);
            dropped += 1;
        }
        dropped
    }
}

#[async_trait]
impl GrantStore for MemoryStore {
    async fn put_code(&self, code: NewCode) -> Result<(), StoreError> {
        let mut inner = self.write();
        if let Some(old) = inner.find(Kind::Code, &code.code) {
            inner.drop_code(old);
        }
        let client = inner.clients.intern(&code.grant.client_id)?;
        let record = Record {
            code: code.code,
            access: TokenHash::from_bytes([0; 32]),
            refresh: TokenHash::from_bytes([0; 32]),
            code_expires: nanos(code.expires_at),
            access_expires: 0,
            refresh_expires: 0,
            grant_id: Compact::new(code.grant.grant_id.as_str()),
            player_id: Compact::new(&code.grant.player_id),
            client,
            flags: CODE,
            extra: Some(Box::new(Extra {
                redirect_uri: Some(code.redirect_uri.into_boxed_str()),
                pkce_challenge: code.pkce_challenge,
                ..Extra::default()
            })),
        };
        let slot = inner.allocate(record)?;
        inner.link(slot, Kind::Code);
        Ok(())
    }

    async fn redeem_code(&self, request: RedeemCode) -> Result<Redeemed, StoreError> {
        let mut inner = self.write();
        let Some(slot) = inner.find(Kind::Code, &request.code) else {
            return Ok(Redeemed::NotFound);
        };
        let Some(record) = inner.record(slot) else {
            return Ok(Redeemed::NotFound);
        };
        if record.has(USED) {
            inner.revoke(slot);
            return Ok(Redeemed::Replayed);
        }
        let stored_uri = record
            .extra
            .as_ref()
            .and_then(|e| e.redirect_uri.as_deref());
        if inner.clients.get(record.client) != request.client_id
            || request
                .redirect_uri
                .as_deref()
                .is_some_and(|r| Some(r) != stored_uri)
        {
            return Ok(Redeemed::Mismatch);
        }
        if record.extra.as_ref().and_then(|e| e.pkce_challenge) != request.pkce_verifier {
            return Ok(Redeemed::PkceMismatch);
        }
        if record.code_expires <= nanos(request.now) {
            inner.drop_code(slot);
            return Ok(Redeemed::Expired);
        }
        let pair = &request.pair;
        let Some(record) = inner.record_mut(slot) else {
            return Ok(Redeemed::NotFound);
        };
        record.access = pair.access;
        record.access_expires = nanos(pair.access_expires_at);
        record.refresh = pair.refresh;
        record.refresh_expires = nanos(pair.refresh_expires_at);
        record.flags |= USED | LIVE | ACCESS | REFRESH;
        if let Some(extra) = &mut record.extra {
            extra.redirect_uri = None;
            extra.pkce_challenge = None;
        }
        record.trim_extra();
        inner.link(slot, Kind::Access);
        inner.link(slot, Kind::Refresh);
        inner.index_grant(slot);
        let grant = inner
            .record(slot)
            .map(|r| r.grant(&inner.clients))
            .ok_or_else(|| StoreError::unavailable("the issued grant vanished"))?;
        Ok(Redeemed::Issued(grant))
    }

    async fn rotate_refresh(&self, request: RotateRefresh) -> Result<Rotated, StoreError> {
        let mut inner = self.write();
        let now = nanos(request.now);
        if let Some(slot) = inner.find(Kind::Refresh, &request.refresh) {
            let Some(record) = inner.record(slot) else {
                return Ok(Rotated::NotFound);
            };
            if inner.clients.get(record.client) != request.client_id {
                return Ok(Rotated::Mismatch);
            }
            if record.refresh_expires <= now {
                return Ok(Rotated::Expired);
            }
            let (old_refresh, old_expires) = (record.refresh, record.refresh_expires);
            let retain = record.retain_until();
            if record.has(ACCESS) {
                inner.unlink(slot, Kind::Access);
            }
            inner.unlink(slot, Kind::Refresh);
            inner.retired.insert(
                old_refresh,
                Retired {
                    slot,
                    expires: old_expires,
                },
            );
            let pair = &request.pair;
            let Some(record) = inner.record_mut(slot) else {
                return Ok(Rotated::NotFound);
            };
            record.access = pair.access;
            record.access_expires = nanos(pair.access_expires_at);
            record.refresh = pair.refresh;
            record.refresh_expires = nanos(pair.refresh_expires_at);
            record.flags |= ACCESS | REFRESH;
            let new_retention = pair_retention(record.access_expires, record.refresh_expires);
            let extra = record.extra.get_or_insert_default();
            extra.retired.push(old_refresh);
            extra.retain_until = Some(retain.max(new_retention));
            extra.grace = Some(Grace {
                refresh: old_refresh,
                until: now.saturating_add(duration_nanos(request.grace)),
                sealed: request.sealed,
            });
            inner.link(slot, Kind::Access);
            inner.link(slot, Kind::Refresh);
            let grant = inner
                .record(slot)
                .map(|r| r.grant(&inner.clients))
                .ok_or_else(|| StoreError::unavailable("the rotated grant vanished"))?;
            return Ok(Rotated::Rotated(grant));
        }
        let Some(&Retired { slot, .. }) = inner.retired.get(&request.refresh) else {
            return Ok(Rotated::NotFound);
        };
        let Some(record) = inner.record(slot) else {
            return Ok(Rotated::NotFound);
        };
        if inner.clients.get(record.client) != request.client_id {
            return Ok(Rotated::Mismatch);
        }
        // A repeat is answered only for the last rotation, inside its window, while the pair it
        // issued is still unused.
        if let Some(grace) = record.extra.as_ref().and_then(|e| e.grace.as_ref())
            && grace.refresh == request.refresh
            && now < grace.until
            && record.has(ACCESS)
            && record.has(REFRESH)
        {
            return Ok(Rotated::Repeat {
                grant: record.grant(&inner.clients),
                sealed: grace.sealed.clone(),
                access: record.access,
                access_expires_at: time(record.access_expires),
            });
        }
        inner.revoke(slot);
        Ok(Rotated::ReuseDetected)
    }

    async fn access_token(&self, token: &TokenHash) -> Result<Option<AccessGrant>, StoreError> {
        let inner = self.read();
        Ok(inner
            .find(Kind::Access, token)
            .and_then(|slot| inner.record(slot))
            .map(|r| AccessGrant {
                grant: r.grant(&inner.clients),
                expires_at: time(r.access_expires),
            }))
    }

    async fn revoke_grant(&self, grant_id: &GrantId) -> Result<(), StoreError> {
        let mut inner = self.write();
        for slot in inner.live_slots(&inner.grants, grant_id.as_str(), |r| &r.grant_id) {
            inner.revoke(slot);
        }
        Ok(())
    }

    async fn revoke_player(&self, player_id: &str) -> Result<usize, StoreError> {
        let mut inner = self.write();
        let slots = inner.live_slots(&inner.players, player_id, |r| &r.player_id);
        Ok(slots.into_iter().filter(|&s| inner.revoke(s)).count())
    }

    async fn sweep_expired(&self, now: SystemTime) -> Result<usize, StoreError> {
        let mut inner = self.write();
        let now = nanos(now);
        let slots = u32::try_from(inner.records.len()).unwrap_or(MAX_SLOTS);
        Ok((0..slots).map(|slot| inner.sweep_slot(slot, now)).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_stays_compact() {
        assert_eq!(std::mem::size_of::<Compact>(), 24);
        assert!(
            std::mem::size_of::<Option<Record>>() <= 184,
            "{}",
            std::mem::size_of::<Option<Record>>()
        );
    }

    #[test]
    fn ids_round_trip_inline_and_on_the_heap() {
        for id in [
            "",
            "p1",
            "player-00001",
            &"x".repeat(INLINE),
            &"y".repeat(INLINE + 1),
        ] {
            let c = Compact::new(id);
            assert_eq!(c.to_string(), id);
            assert_eq!(c.as_bytes(), id.as_bytes());
            assert_eq!(matches!(c, Compact::Inline { .. }), id.len() <= INLINE);
        }
        assert_eq!(Compact::new("jöß-玩家").to_string(), "jöß-玩家");
    }

    #[test]
    fn entries_keep_slot_and_kind_apart() {
        for kind in [Kind::Code, Kind::Access, Kind::Refresh] {
            let e = Entry::new(MAX_SLOTS - 1, kind);
            assert_eq!((e.slot(), e.kind()), (MAX_SLOTS - 1, kind));
        }
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    fn grant(id: &str) -> Arc<Grant> {
        Arc::new(Grant {
            grant_id: GrantId::from_string(id),
            client_id: "VL001".into(),
            player_id: "p1".into(),
        })
    }

    async fn issue(store: &MemoryStore, label: &str) {
        store
            .put_code(NewCode {
                code: TokenHash::of(&format!("code-{label}")),
                grant: grant(label),
                redirect_uri: "https://fl.vegaslounge.live".into(),
                pkce_challenge: None,
                expires_at: at(60),
            })
            .await
            .unwrap();
        let out = store
            .redeem_code(RedeemCode {
                code: TokenHash::of(&format!("code-{label}")),
                client_id: "VL001".into(),
                redirect_uri: None,
                pkce_verifier: None,
                now: at(0),
                pair: super::super::NewPair {
                    access: TokenHash::of(&format!("access-{label}")),
                    access_expires_at: at(3600),
                    refresh: TokenHash::of(&format!("refresh-{label}")),
                    refresh_expires_at: at(86_400),
                },
            })
            .await
            .unwrap();
        assert!(matches!(out, Redeemed::Issued(_)), "{out:?}");
    }

    #[tokio::test]
    async fn used_code_tombstone_lives_as_long_as_its_grant() {
        let store = MemoryStore::new();
        issue(&store, "a").await;
        // Past the code's expiry the tombstone stays: the grant it created is live.
        assert_eq!(store.sweep_expired(at(600)).await.unwrap(), 0);
        assert!(format!("{store:?}").contains("codes: 1"));
        let token = TokenHash::of("access-a");
        assert!(store.access_token(&token).await.unwrap().is_some());
        // A replay long after the code expired still revokes the grant.
        let replay = store
            .redeem_code(RedeemCode {
                code: TokenHash::of("code-a"),
                client_id: "VL001".into(),
                redirect_uri: None,
                pkce_verifier: None,
                now: at(600),
                pair: super::super::NewPair {
                    access: TokenHash::of("access-x"),
                    access_expires_at: at(4_200),
                    refresh: TokenHash::of("refresh-x"),
                    refresh_expires_at: at(86_400),
                },
            })
            .await
            .unwrap();
        assert!(matches!(replay, Redeemed::Replayed), "{replay:?}");
        assert!(store.access_token(&token).await.unwrap().is_none());
        // Revoked and expired: the next sweep forgets the code and frees the slot.
        assert_eq!(store.sweep_expired(at(601)).await.unwrap(), 1);
        assert_eq!(
            format!("{store:?}"),
            "MemoryStore { codes: 0, access_tokens: 0, refresh_tokens: 0, grants: 0 }"
        );
        assert_eq!(store.read().free, vec![0]);
    }

    #[tokio::test]
    async fn a_grant_that_ends_takes_its_used_code_along() {
        let store = MemoryStore::new();
        issue(&store, "a").await;
        // Far past the refresh token's lifetime and every retention: nothing is left.
        store.sweep_expired(at(10 * 86_400)).await.unwrap();
        assert_eq!(
            format!("{store:?}"),
            "MemoryStore { codes: 0, access_tokens: 0, refresh_tokens: 0, grants: 0 }"
        );
        assert_eq!(store.read().free, vec![0]);
    }

    #[tokio::test]
    async fn freed_slots_are_reused_and_never_answer_for_old_tokens() {
        let store = MemoryStore::new();
        issue(&store, "a").await;
        store
            .revoke_grant(&GrantId::from_string("a"))
            .await
            .unwrap();
        // The revoked grant's code stays a tombstone until the code expires.
        assert!(store.read().free.is_empty());
        store.sweep_expired(at(60)).await.unwrap();
        assert_eq!(
            store.read().free,
            vec![0],
            "the revoked grant's slot is free"
        );
        issue(&store, "b").await;
        assert_eq!(store.read().records.len(), 1, "the free slot was reused");
        for old in ["access-a", "refresh-a", "code-a"] {
            assert!(
                store
                    .access_token(&TokenHash::of(old))
                    .await
                    .unwrap()
                    .is_none(),
                "{old}"
            );
        }
        let found = store
            .access_token(&TokenHash::of("access-b"))
            .await
            .unwrap()
            .expect("the new grant's token");
        assert_eq!(found.grant.grant_id.as_str(), "b");
    }

    #[test]
    fn times_keep_nanoseconds() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        assert_eq!(time(nanos(t)), t);
    }
}
