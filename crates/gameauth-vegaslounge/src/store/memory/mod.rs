//! The in-memory grant store: one process, no external service.
//!
//! # Layout
//! Memory per live grant is what limits a single instance, so a grant is one fixed-size record
//! in a slab (`records`, [`record`]) and every lookup table holds only 4-byte slot numbers
//! ([`tables`]):
//!
//! - `tokens` finds a record by the hash of its code, access token or refresh token. Its entries
//!   are a slot plus which of the three hashes it stands for; the full 32-byte hash lives once,
//!   in the record, and every match is confirmed against it.
//! - `grants` and `players` find live grants by grant id and by player id (keyed hashes of the
//!   ids, confirmed against the record).
//! - Client ids are interned: a record holds an index into the few registered clients. Grant and
//!   player ids up to 22 bytes are stored inline.
//! - Everything only some grants need sits in a boxed side record: a pending code's checks, the
//!   last rotation's grace-window answer, and the retention of a rotated grant.
//! - Rotated refresh tokens, remembered for reuse detection, are 16-byte markers in buckets by
//!   expiry that are dropped whole ([`retired`]).
//!
//! Expiry ([`sweep`]) drops marker buckets without walking them and walks the slab in bounded
//! steps, releasing the lock between them.
//!
//! Times are kept as nanoseconds since the Unix epoch, which is exact from 1970 to 2554.

mod record;
mod retired;
mod slab;
mod sweep;
mod tables;
#[cfg(test)]
mod tests;

use std::hash::RandomState;
use std::time::SystemTime;

use async_trait::async_trait;
use hashbrown::HashTable;
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use self::record::{
    ACCESS, CODE, Clients, Grace, Kind, LIVE, REFRESH, Record, USED, duration_nanos, nanos,
    pair_retention, time,
};
use self::retired::{Owner, RetiredTokens};
use self::slab::FreeSlot;
use self::tables::Entry;
use super::{
    AccessGrant, GrantId, GrantStore, NewCode, RedeemCode, Redeemed, RotateRefresh, Rotated,
    StoreError, TokenHash,
};

/// A [`GrantStore`] in process memory, the default for a single instance.
///
/// All state sits behind one reader-writer lock: writes (issue, redeem, rotate, revoke) are
/// serialised, which makes each of them trivially atomic; the access-token check takes the read
/// lock for one table lookup by the token's hash.
///
/// A live grant costs about 230 bytes (one record, three token-table entries, one entry each
/// in the grant and player tables); a rotated refresh token, remembered until it expires so
/// that a reuse revokes its grant, about 20 bytes. A used code is remembered, to detect
/// replays, for as long as its grant lives.
///
/// Expired records are dropped by [`sweep_expired`](GrantStore::sweep_expired), called by
/// [`spawn_sweeper`](super::spawn_sweeper) or by the host. A sweep works in bounded steps (at most
/// 1,024 records and 200 µs): it examines records under the read lock, which access-token checks
/// share, takes the write lock only for records with something due, and hands the lock to
/// waiting requests between steps, so requests do not wait on it however large the store is.
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

/// Everything behind the lock.
#[derive(Default)]
struct Inner {
    /// One record per code; `None` marks a free slot.
    records: Vec<Option<Record>>,
    /// Free slots of `records`, reused first.
    free: Vec<FreeSlot>,
    /// Code, access and refresh hashes → the record that holds them.
    tokens: HashTable<Entry>,
    /// Rotated refresh tokens, remembered until they expire so a reuse revokes the grant.
    retired: RetiredTokens,
    /// Live grants by grant id.
    grants: HashTable<u32>,
    /// Live grants by player id (one entry per grant).
    players: HashTable<u32>,
    clients: Clients,
    /// Keys the grant and player tables, whose ids come from outside.
    hasher: RandomState,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read()
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write()
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
        let slot = inner.allocate(Record::pending(&code, client))?;
        inner.link(slot, Kind::Code);
        Ok(())
    }

    async fn redeem_code(&self, request: RedeemCode) -> Result<Redeemed, StoreError> {
        let now = nanos(request.now);
        let (access_expires, refresh_expires) = (
            nanos(request.pair.access_expires_at),
            nanos(request.pair.refresh_expires_at),
        );
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
        let stored_uri = record.pending_code().map(|p| &*p.redirect_uri);
        if inner.clients.get(record.client) != request.client_id
            || request
                .redirect_uri
                .as_deref()
                .is_some_and(|r| Some(r) != stored_uri)
        {
            return Ok(Redeemed::Mismatch);
        }
        if record.pending_code().and_then(|p| p.pkce_challenge) != request.pkce_verifier {
            return Ok(Redeemed::PkceMismatch);
        }
        if record.code_expires <= now {
            inner.drop_code(slot);
            return Ok(Redeemed::Expired);
        }
        let pair = &request.pair;
        let Some(record) = inner.record_mut(slot) else {
            return Ok(Redeemed::NotFound);
        };
        record.access = pair.access;
        record.access_expires = access_expires;
        record.refresh = pair.refresh;
        record.refresh_expires = refresh_expires;
        record.flags |= USED | LIVE | ACCESS | REFRESH;
        record.clear_pending();
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
        // Times converted before the lock is taken, to keep the hold short.
        let now = nanos(request.now);
        let (access_expires, refresh_expires) = (
            nanos(request.pair.access_expires_at),
            nanos(request.pair.refresh_expires_at),
        );
        let mut inner = self.write();
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
            let owner = Owner {
                slot,
                generation: record.generation,
            };
            let retain = record.retain_until();
            if record.has(ACCESS) {
                inner.unlink(slot, Kind::Access);
            }
            inner.unlink(slot, Kind::Refresh);
            inner.retired.insert(&old_refresh, old_expires, owner);
            let pair = &request.pair;
            let Some(record) = inner.record_mut(slot) else {
                return Ok(Rotated::NotFound);
            };
            record.access = pair.access;
            record.access_expires = access_expires;
            record.refresh = pair.refresh;
            record.refresh_expires = refresh_expires;
            record.flags |= ACCESS | REFRESH;
            let new_retention = pair_retention(record.access_expires, record.refresh_expires);
            let extra = record.extra.get_or_insert_default();
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
        let Some(owner) = inner.retired.find(&request.refresh, now) else {
            return Ok(Rotated::NotFound);
        };
        // A marker of a revoked grant, or of an earlier grant in a reused slot, answers nothing.
        let Some(record) = inner
            .record(owner.slot)
            .filter(|r| r.generation == owner.generation && r.has(LIVE))
        else {
            return Ok(Rotated::NotFound);
        };
        if inner.clients.get(record.client) != request.client_id {
            return Ok(Rotated::Mismatch);
        }
        // A repeat is answered only for the last rotation, inside its window, while the pair it
        // issued is still unused.
        if let Some(grace) = record.grace()
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
        inner.revoke(owner.slot);
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
        Ok(self.sweep(nanos(now)).await)
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}
