//! One code and the grant it creates: a fixed-size record in the slab, with what only some
//! records need in a boxed side record, and the compact forms of times and ids it stores.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::super::{
    ACCESS_RETENTION, Grant, GrantId, NewCode, SealedAnswer, StoreError, TokenHash,
};

/// Nanoseconds since the Unix epoch.
pub(super) type Nanos = u64;

pub(super) fn nanos(t: SystemTime) -> Nanos {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

pub(super) fn time(n: Nanos) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(n)
}

pub(super) fn duration_nanos(d: Duration) -> Nanos {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// How long a pair keeps its grant: until the refresh token expires or the access token's
/// retention ends, whichever is later.
pub(super) fn pair_retention(access_expires: Nanos, refresh_expires: Nanos) -> Nanos {
    refresh_expires.max(access_expires.saturating_add(duration_nanos(ACCESS_RETENTION)))
}

/// Record flags.
/// The code is remembered: unused until its expiry; used (a tombstone, so that a replay revokes
/// the grant) for as long as the grant it created lives, and at least until the code's expiry.
pub(super) const CODE: u8 = 1;
/// The code was redeemed.
pub(super) const USED: u8 = 1 << 1;
/// The grant was issued and is neither revoked nor past its retention.
pub(super) const LIVE: u8 = 1 << 2;
/// The record's access token is live (or expired but within its retention).
pub(super) const ACCESS: u8 = 1 << 3;
/// The record's refresh token is live (or expired but not yet swept).
pub(super) const REFRESH: u8 = 1 << 4;

/// Which of a record's hashes a token-table entry stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Code = 0,
    Access = 1,
    Refresh = 2,
}

/// One code and the grant it creates, with its live pair.
pub(super) struct Record {
    pub(super) code: TokenHash,
    pub(super) access: TokenHash,
    pub(super) refresh: TokenHash,
    pub(super) code_expires: Nanos,
    pub(super) access_expires: Nanos,
    pub(super) refresh_expires: Nanos,
    pub(super) grant_id: Compact,
    pub(super) player_id: Compact,
    /// Index into the interned client ids.
    pub(super) client: u32,
    /// How often the slot was reused: rotated tokens name their grant by slot *and*
    /// generation, so a marker left by a revoked grant never answers for the slot's next grant.
    pub(super) generation: u16,
    pub(super) flags: u8,
    pub(super) extra: Option<Box<Extra>>,
}

/// What only some records need.
#[derive(Default)]
pub(super) struct Extra {
    /// What an unused code needs until it is redeemed.
    pub(super) pending: Option<PendingCode>,
    /// The last rotation, until its grace window closes.
    pub(super) grace: Option<Grace>,
    /// Once the grant rotated: the longest retention of any pair it issued.
    pub(super) retain_until: Option<Nanos>,
}

impl Extra {
    fn is_empty(&self) -> bool {
        self.pending.is_none() && self.grace.is_none() && self.retain_until.is_none()
    }
}

/// What a code is checked against when it is redeemed, beyond its client. Kept only while the
/// code is unused; a new check on redemption adds its field here and in [`PendingCode::of`].
pub(super) struct PendingCode {
    /// The redirect URI the code was issued for.
    pub(super) redirect_uri: Box<str>,
    /// The PKCE challenge the code was issued with.
    pub(super) pkce_challenge: Option<TokenHash>,
}

impl PendingCode {
    pub(super) fn of(code: &NewCode) -> Self {
        Self {
            redirect_uri: code.redirect_uri.as_str().into(),
            pkce_challenge: code.pkce_challenge,
        }
    }
}

/// The last rotation of a grant.
pub(super) struct Grace {
    /// The refresh token it rotated.
    pub(super) refresh: TokenHash,
    pub(super) until: Nanos,
    pub(super) sealed: SealedAnswer,
}

impl Record {
    /// The record of a fresh, unused code (its slot's generation is set when it is stored).
    pub(super) fn pending(code: &NewCode, client: u32) -> Self {
        Self {
            code: code.code,
            access: TokenHash::from_bytes([0; 32]),
            refresh: TokenHash::from_bytes([0; 32]),
            code_expires: nanos(code.expires_at),
            access_expires: 0,
            refresh_expires: 0,
            grant_id: Compact::new(code.grant.grant_id.as_str()),
            player_id: Compact::new(&code.grant.player_id),
            client,
            generation: 0,
            flags: CODE,
            extra: Some(Box::new(Extra {
                pending: Some(PendingCode::of(code)),
                ..Extra::default()
            })),
        }
    }

    pub(super) fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    pub(super) fn hash(&self, kind: Kind) -> &TokenHash {
        match kind {
            Kind::Code => &self.code,
            Kind::Access => &self.access,
            Kind::Refresh => &self.refresh,
        }
    }

    /// The grant, as handed out by the store.
    pub(super) fn grant(&self, clients: &Clients) -> Arc<Grant> {
        Arc::new(Grant {
            grant_id: GrantId::from_string(self.grant_id.as_str()),
            client_id: clients.get(self.client).to_owned(),
            player_id: self.player_id.as_str().to_owned(),
        })
    }

    pub(super) fn pending_code(&self) -> Option<&PendingCode> {
        self.extra.as_ref().and_then(|e| e.pending.as_ref())
    }

    pub(super) fn grace(&self) -> Option<&Grace> {
        self.extra.as_ref().and_then(|e| e.grace.as_ref())
    }

    pub(super) fn retain_until(&self) -> Nanos {
        self.extra
            .as_ref()
            .and_then(|e| e.retain_until)
            .unwrap_or_else(|| pair_retention(self.access_expires, self.refresh_expires))
    }

    /// Forgets the pending code's checks.
    pub(super) fn clear_pending(&mut self) {
        if let Some(extra) = &mut self.extra {
            extra.pending = None;
        }
        self.trim_extra();
    }

    /// Drops the side record once nothing is left in it.
    pub(super) fn trim_extra(&mut self) {
        if self.extra.as_ref().is_some_and(|e| e.is_empty()) {
            self.extra = None;
        }
    }
}

/// The length of the longest id stored inline.
pub(super) const INLINE: usize = 22;

/// An id stored inline when short (24 bytes either way).
pub(super) enum Compact {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl Compact {
    pub(super) fn new(s: &str) -> Self {
        match u8::try_from(s.len()) {
            Ok(len) if s.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..s.len()].copy_from_slice(s.as_bytes());
                Self::Inline { len, bytes }
            }
            _ => Self::Heap(s.into()),
        }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Self::Heap(s) => s.as_bytes(),
        }
    }

    pub(super) fn as_str(&self) -> &str {
        match self {
            // The bytes were copied from a `str`, so they are always UTF-8.
            Self::Inline { .. } => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            Self::Heap(s) => s,
        }
    }
}

/// Interned client ids: there are few clients and millions of grants.
#[derive(Default)]
pub(super) struct Clients {
    ids: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
}

impl Clients {
    pub(super) fn intern(&mut self, id: &str) -> Result<u32, StoreError> {
        if let Some(&i) = self.index.get(id) {
            return Ok(i);
        }
        let i = u32::try_from(self.ids.len())
            .map_err(|_| StoreError::unavailable("too many distinct client ids"))?;
        self.ids.push(id.into());
        self.index.insert(id.into(), i);
        Ok(i)
    }

    pub(super) fn get(&self, i: u32) -> &str {
        // Indexes only ever come from `intern`.
        self.ids.get(i as usize).map_or("", |s| s)
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
            assert_eq!(c.as_str(), id);
            assert_eq!(c.as_bytes(), id.as_bytes());
            assert_eq!(matches!(c, Compact::Inline { .. }), id.len() <= INLINE);
        }
        assert_eq!(Compact::new("jöß-玩家").as_str(), "jöß-玩家");
    }

    #[test]
    fn times_keep_nanoseconds() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        assert_eq!(time(nanos(t)), t);
    }
}
