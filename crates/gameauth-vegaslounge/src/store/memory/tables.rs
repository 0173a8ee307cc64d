//! The lookup tables over the slab: token hash → slot, grant id → slot, player id → slot. Every
//! table holds 4-byte slot numbers; the keys live once, in the records.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::Inner;
use super::record::{Compact, Kind, Record};
use crate::store::TokenHash;

/// The most records the store holds: slot numbers share 32 bits with the entry kind.
pub(super) const MAX_SLOTS: u32 = 1 << 30;

/// A token-table entry: the slot in the low 30 bits, the [`Kind`] in the top 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry(u32);

impl Entry {
    pub(super) fn new(slot: u32, kind: Kind) -> Self {
        Self(slot | ((kind as u32) << 30))
    }

    pub(super) fn slot(self) -> u32 {
        self.0 & (MAX_SLOTS - 1)
    }

    pub(super) fn kind(self) -> Kind {
        match self.0 >> 30 {
            0 => Kind::Code,
            1 => Kind::Access,
            _ => Kind::Refresh,
        }
    }
}

/// The token-table hash of a token hash: its first 8 bytes. Stored hashes are SHA-256 of tokens
/// the server drew at random, so a presented token can only probe, never lengthen, a chain.
pub(super) fn token_key(hash: &TokenHash) -> u64 {
    let mut first = [0; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

pub(super) fn record_of(records: &[Option<Record>], slot: u32) -> Option<&Record> {
    records.get(slot as usize)?.as_ref()
}

fn rehash_entry(records: &[Option<Record>], entry: &Entry) -> u64 {
    // Every entry points at a record that holds its hash.
    record_of(records, entry.slot()).map_or(0, |r| token_key(r.hash(entry.kind())))
}

impl Inner {
    pub(super) fn record(&self, slot: u32) -> Option<&Record> {
        record_of(&self.records, slot)
    }

    pub(super) fn record_mut(&mut self, slot: u32) -> Option<&mut Record> {
        self.records.get_mut(slot as usize)?.as_mut()
    }

    /// The slot whose `kind` hash is `token`.
    pub(super) fn find(&self, kind: Kind, token: &TokenHash) -> Option<u32> {
        let records = &self.records;
        self.tokens
            .find(token_key(token), |e| {
                e.kind() == kind
                    && record_of(records, e.slot()).is_some_and(|r| r.hash(kind) == token)
            })
            .map(|e| e.slot())
    }

    pub(super) fn link(&mut self, slot: u32, kind: Kind) {
        let Inner {
            records, tokens, ..
        } = self;
        if let Some(record) = record_of(records, slot) {
            let key = token_key(record.hash(kind));
            tokens.insert_unique(key, Entry::new(slot, kind), |e| rehash_entry(records, e));
        }
    }

    pub(super) fn unlink(&mut self, slot: u32, kind: Kind) {
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
    pub(super) fn index_grant(&mut self, slot: u32) {
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

    pub(super) fn unindex_grant(&mut self, slot: u32) {
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
    pub(super) fn live_slots(
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_slot_and_kind_apart() {
        for kind in [Kind::Code, Kind::Access, Kind::Refresh] {
            let e = Entry::new(MAX_SLOTS - 1, kind);
            assert_eq!((e.slot(), e.kind()), (MAX_SLOTS - 1, kind));
        }
    }
}
