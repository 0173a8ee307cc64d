//! The in-memory grant store: one process, no dependencies.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use async_trait::async_trait;

use super::{
    ACCESS_RETENTION, AccessGrant, Grant, GrantId, GrantStore, NewCode, NewPair, RedeemCode,
    Redeemed, RotateRefresh, Rotated, SealedAnswer, StoreError, TokenHash,
};

/// A [`GrantStore`] in process memory, the default for a single instance.
///
/// All state sits behind one reader-writer lock: writes (issue, redeem, rotate, revoke) are
/// serialised, which makes each of them trivially atomic; the access-token check takes the read
/// lock for one hash-map lookup and clones an `Arc`, so it does not allocate.
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
        f.debug_struct("MemoryStore")
            .field("codes", &inner.codes.len())
            .field("access_tokens", &inner.access.len())
            .field("refresh_tokens", &inner.refresh.len())
            .field("grants", &inner.grants.len())
            .finish()
    }
}

#[derive(Default)]
struct Inner {
    codes: HashMap<TokenHash, CodeEntry>,
    access: HashMap<TokenHash, AccessGrant>,
    refresh: HashMap<TokenHash, RefreshEntry>,
    grants: HashMap<GrantId, GrantEntry>,
    players: HashMap<String, HashSet<GrantId>>,
}

struct CodeEntry {
    grant: Arc<Grant>,
    redirect_uri: String,
    expires_at: SystemTime,
    /// `Some(retain_until)` once used: the tombstone that detects replays.
    used: Option<SystemTime>,
}

struct RefreshEntry {
    grant: Arc<Grant>,
    expires_at: SystemTime,
    rotated: Option<RotatedState>,
}

struct RotatedState {
    grace_until: SystemTime,
    successor_refresh: TokenHash,
    successor_access: TokenHash,
    access_expires_at: SystemTime,
    /// Dropped when the grace window closes.
    sealed: Option<SealedAnswer>,
}

struct GrantEntry {
    player_id: String,
    access: Vec<TokenHash>,
    refresh: Vec<TokenHash>,
    retain_until: SystemTime,
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

fn retain_until(pair: &NewPair) -> SystemTime {
    pair.refresh_expires_at
        .max(pair.access_expires_at + ACCESS_RETENTION)
}

impl Inner {
    fn insert_pair(&mut self, grant: &Arc<Grant>, pair: &NewPair) {
        self.access.insert(
            pair.access,
            AccessGrant {
                grant: Arc::clone(grant),
                expires_at: pair.access_expires_at,
            },
        );
        self.refresh.insert(
            pair.refresh,
            RefreshEntry {
                grant: Arc::clone(grant),
                expires_at: pair.refresh_expires_at,
                rotated: None,
            },
        );
    }

    fn revoke(&mut self, grant_id: &GrantId) -> bool {
        let Some(entry) = self.grants.remove(grant_id) else {
            return false;
        };
        for h in &entry.access {
            self.access.remove(h);
        }
        for h in &entry.refresh {
            self.refresh.remove(h);
        }
        if let Some(set) = self.players.get_mut(&entry.player_id) {
            set.remove(grant_id);
            if set.is_empty() {
                self.players.remove(&entry.player_id);
            }
        }
        true
    }

    fn successor_is_unused(&self, state: &RotatedState) -> bool {
        self.access.contains_key(&state.successor_access)
            && self
                .refresh
                .get(&state.successor_refresh)
                .is_some_and(|e| e.rotated.is_none())
    }
}

#[async_trait]
impl GrantStore for MemoryStore {
    async fn put_code(&self, code: NewCode) -> Result<(), StoreError> {
        self.write().codes.insert(
            code.code,
            CodeEntry {
                grant: code.grant,
                redirect_uri: code.redirect_uri,
                expires_at: code.expires_at,
                used: None,
            },
        );
        Ok(())
    }

    async fn redeem_code(&self, request: RedeemCode) -> Result<Redeemed, StoreError> {
        let mut inner = self.write();
        let Some(entry) = inner.codes.get_mut(&request.code) else {
            return Ok(Redeemed::NotFound);
        };
        if entry.used.is_some() {
            let grant_id = entry.grant.grant_id.clone();
            inner.revoke(&grant_id);
            return Ok(Redeemed::Replayed);
        }
        if entry.grant.client_id != request.client_id
            || request
                .redirect_uri
                .as_ref()
                .is_some_and(|r| *r != entry.redirect_uri)
        {
            return Ok(Redeemed::Mismatch);
        }
        if entry.expires_at <= request.now {
            inner.codes.remove(&request.code);
            return Ok(Redeemed::Expired);
        }
        let retain = retain_until(&request.pair);
        entry.used = Some(retain);
        let grant = Arc::clone(&entry.grant);
        inner.insert_pair(&grant, &request.pair);
        inner.grants.insert(
            grant.grant_id.clone(),
            GrantEntry {
                player_id: grant.player_id.clone(),
                access: vec![request.pair.access],
                refresh: vec![request.pair.refresh],
                retain_until: retain,
            },
        );
        inner
            .players
            .entry(grant.player_id.clone())
            .or_default()
            .insert(grant.grant_id.clone());
        Ok(Redeemed::Issued(grant))
    }

    async fn rotate_refresh(&self, request: RotateRefresh) -> Result<Rotated, StoreError> {
        let mut inner = self.write();
        let Some(entry) = inner.refresh.get(&request.refresh) else {
            return Ok(Rotated::NotFound);
        };
        if entry.grant.client_id != request.client_id {
            return Ok(Rotated::Mismatch);
        }
        let grant = Arc::clone(&entry.grant);
        if let Some(state) = &entry.rotated {
            if request.now < state.grace_until
                && inner.successor_is_unused(state)
                && let Some(sealed) = &state.sealed
            {
                return Ok(Rotated::Repeat {
                    grant,
                    sealed: sealed.clone(),
                    access: state.successor_access,
                    access_expires_at: state.access_expires_at,
                });
            }
            inner.revoke(&grant.grant_id);
            return Ok(Rotated::ReuseDetected);
        }
        if entry.expires_at <= request.now {
            return Ok(Rotated::Expired);
        }
        let Some(grant_entry) = inner.grants.get_mut(&grant.grant_id) else {
            // A refresh token whose grant is gone is dead; drop the orphan.
            inner.refresh.remove(&request.refresh);
            return Ok(Rotated::NotFound);
        };
        let old_access = std::mem::replace(&mut grant_entry.access, vec![request.pair.access]);
        grant_entry.refresh.push(request.pair.refresh);
        grant_entry.retain_until = grant_entry.retain_until.max(retain_until(&request.pair));
        for h in &old_access {
            inner.access.remove(h);
        }
        if let Some(entry) = inner.refresh.get_mut(&request.refresh) {
            entry.rotated = Some(RotatedState {
                grace_until: request.now + request.grace,
                successor_refresh: request.pair.refresh,
                successor_access: request.pair.access,
                access_expires_at: request.pair.access_expires_at,
                sealed: Some(request.sealed),
            });
        }
        inner.insert_pair(&grant, &request.pair);
        Ok(Rotated::Rotated(grant))
    }

    async fn access_token(&self, token: &TokenHash) -> Result<Option<AccessGrant>, StoreError> {
        Ok(self.read().access.get(token).cloned())
    }

    async fn revoke_grant(&self, grant_id: &GrantId) -> Result<(), StoreError> {
        self.write().revoke(grant_id);
        Ok(())
    }

    async fn revoke_player(&self, player_id: &str) -> Result<usize, StoreError> {
        let mut inner = self.write();
        let grants: Vec<GrantId> = inner
            .players
            .get(player_id)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default();
        Ok(grants.iter().filter(|g| inner.revoke(g)).count())
    }

    async fn sweep_expired(&self, now: SystemTime) -> Result<usize, StoreError> {
        let mut inner = self.write();
        let before =
            inner.codes.len() + inner.access.len() + inner.refresh.len() + inner.grants.len();
        inner
            .codes
            .retain(|_, c| c.used.unwrap_or(c.expires_at) > now);
        inner
            .access
            .retain(|_, a| a.expires_at + ACCESS_RETENTION > now);
        inner.refresh.retain(|_, r| r.expires_at > now);
        for r in inner.refresh.values_mut() {
            if let Some(state) = &mut r.rotated
                && state.grace_until <= now
            {
                state.sealed = None;
            }
        }
        let dead: Vec<GrantId> = inner
            .grants
            .iter()
            .filter(|(_, g)| g.retain_until <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &dead {
            inner.revoke(id);
        }
        let Inner {
            grants,
            access,
            refresh,
            ..
        } = &mut *inner;
        for g in grants.values_mut() {
            g.access.retain(|h| access.contains_key(h));
            g.refresh.retain(|h| refresh.contains_key(h));
        }
        let after =
            inner.codes.len() + inner.access.len() + inner.refresh.len() + inner.grants.len();
        Ok(before.saturating_sub(after))
    }
}
