//! The slab of records: storing a record in a slot, ending a grant or a code, and freeing the
//! slot once nothing is left in it.

use super::Inner;
use super::record::{ACCESS, CODE, Kind, LIVE, REFRESH, Record};
use super::tables::MAX_SLOTS;
use crate::store::StoreError;

/// A free slot and the generation of the record it last held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FreeSlot {
    pub(super) slot: u32,
    pub(super) generation: u16,
}

impl Inner {
    /// Stores a record in a free slot (the next generation of it) or a new one.
    pub(super) fn allocate(&mut self, mut record: Record) -> Result<u32, StoreError> {
        if let Some(FreeSlot { slot, generation }) = self.free.pop()
            && let Some(free) = self.records.get_mut(slot as usize)
        {
            record.generation = generation.wrapping_add(1);
            *free = Some(record);
            return Ok(slot);
        }
        let slot = u32::try_from(self.records.len())
            .ok()
            .filter(|s| *s < MAX_SLOTS)
            .ok_or_else(|| StoreError::unavailable("the memory store is full"))?;
        record.generation = 0;
        self.records.push(Some(record));
        Ok(slot)
    }

    /// Frees a slot that holds neither a code nor a live grant (so no table points at it). A
    /// slot whose generation is used up is never reused: a marker naming its last generation
    /// may still exist.
    fn release_if_empty(&mut self, slot: u32) {
        if let Some(place) = self.records.get_mut(slot as usize)
            && let Some(generation) = place
                .as_ref()
                .filter(|r| !r.has(CODE | LIVE))
                .map(|r| r.generation)
        {
            *place = None;
            if generation < u16::MAX {
                self.free.push(FreeSlot { slot, generation });
            }
        }
    }

    /// Forgets a record's code (unused or tombstone).
    pub(super) fn drop_code(&mut self, slot: u32) {
        self.unlink(slot, Kind::Code);
        if let Some(record) = self.record_mut(slot) {
            record.flags &= !CODE;
            record.clear_pending();
        }
        self.release_if_empty(slot);
    }

    /// Revokes a live grant: every token issued under it stops working (its rotated tokens'
    /// markers stay until they expire but name a grant that is no longer live); the code's
    /// tombstone stays until the code's expiry. Returns whether the grant was live.
    pub(super) fn revoke(&mut self, slot: u32) -> bool {
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
        if let Some(record) = self.record_mut(slot) {
            if let Some(extra) = &mut record.extra {
                extra.grace = None;
                extra.retain_until = None;
            }
            record.trim_extra();
            record.flags &= !(LIVE | ACCESS | REFRESH);
        }
        self.release_if_empty(slot);
        true
    }
}
