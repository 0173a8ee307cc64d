//! Dropping what expired, in bounded steps so that no request waits long on housekeeping.
//!
//! A sweep first takes out the ended buckets of rotated-token markers (no walk; their memory is
//! freed after the lock is released), then walks the slab in steps of at most [`SLOTS_PER_HOLD`]
//! records and [`HOLD_BUDGET`]: each step examines its records under the read lock, which the
//! access-token check shares, and takes the write lock only for the records that have
//! something due, again for at most [`HOLD_BUDGET`]. Every lock is released fairly — handed to
//! the requests queued on it rather than retaken at once — and the task yields between steps, so
//! a request waits for at most one step however large the store, and a sweep with nothing to
//! drop holds up no lookup at all.

use std::time::{Duration, Instant};

use parking_lot::{RwLockReadGuard, RwLockWriteGuard};

use super::record::{ACCESS, CODE, Kind, LIVE, Nanos, REFRESH, Record, USED, duration_nanos};
use super::tables::MAX_SLOTS;
use super::{Inner, MemoryStore};
use crate::store::ACCESS_RETENTION;

/// Records examined per hold of the write lock, at most. Examining a record that keeps
/// everything costs tens of nanoseconds; dropping a grant, about a microsecond (five table
/// removals), so a step also ends once it has held the lock for [`HOLD_BUDGET`].
pub(super) const SLOTS_PER_HOLD: u32 = 1024;

/// How long one step may hold the write lock (checked every [`CHECK_EVERY`] records).
const HOLD_BUDGET: Duration = Duration::from_micros(200);
const CHECK_EVERY: u32 = 32;

impl MemoryStore {
    /// Drops every record whose retention ended at `now` and every marker bucket that ended;
    /// returns how many codes, tokens, grants and markers were dropped.
    pub(super) async fn sweep(&self, now: Nanos) -> usize {
        let expired = self.write().retired.take_expired(now);
        let mut dropped = expired.markers();
        drop(expired);
        let mut next = Some(0);
        while let Some(from) = next {
            if from > 0 {
                tokio::task::yield_now().await;
            }
            let (swept, more) = self.sweep_step(from, now);
            dropped += swept;
            next = more;
        }
        dropped
    }

    /// Sweeps the records from slot `from` on for one step; returns how many were dropped and
    /// where the next step starts, if there is one. The records are first examined under the
    /// read lock, which requests that only read (the access-token check) share; the write lock
    /// is taken only when something is due, for those records alone.
    fn sweep_step(&self, from: u32, now: Nanos) -> (usize, Option<u32>) {
        let (due, next) = {
            let inner = self.read();
            let started = Instant::now();
            let slots = u32::try_from(inner.records.len()).unwrap_or(MAX_SLOTS);
            let end = slots.min(from.saturating_add(SLOTS_PER_HOLD));
            let (mut slot, mut due) = (from, Vec::new());
            while slot < end {
                if inner.record(slot).is_some_and(|r| is_due(r, now)) {
                    due.push(slot);
                }
                slot += 1;
                if (slot - from).is_multiple_of(CHECK_EVERY) && started.elapsed() >= HOLD_BUDGET {
                    break;
                }
            }
            RwLockReadGuard::unlock_fair(inner);
            (due, (slot < slots).then_some(slot))
        };
        if due.is_empty() {
            return (0, next);
        }
        let mut inner = self.write();
        let started = Instant::now();
        let mut dropped = 0;
        for (i, &slot) in due.iter().enumerate() {
            if i > 0 && started.elapsed() >= HOLD_BUDGET {
                // The rest is swept by the next step, which examines them again.
                RwLockWriteGuard::unlock_fair(inner);
                return (dropped, Some(slot));
            }
            dropped += inner.sweep_slot(slot, now);
        }
        RwLockWriteGuard::unlock_fair(inner);
        (dropped, next)
    }
}

/// Whether [`Inner::sweep_slot`] has anything to drop in `record` at `now`.
pub(super) fn is_due(record: &Record, now: Nanos) -> bool {
    let live = record.has(LIVE);
    let ended = live && record.retain_until() <= now;
    let access_over = record.has(ACCESS)
        && record
            .access_expires
            .saturating_add(duration_nanos(ACCESS_RETENTION))
            <= now;
    let refresh_over = record.has(REFRESH) && record.refresh_expires <= now;
    let grace_over = record.grace().is_some_and(|g| g.until <= now);
    let code_over =
        record.has(CODE) && record.code_expires <= now && (ended || !(record.has(USED) && live));
    ended || (live && (access_over || refresh_over || grace_over)) || code_over
}

impl Inner {
    /// Drops whatever of one record's retention ended at `now`; returns how many codes, tokens
    /// and grants were dropped.
    pub(super) fn sweep_slot(&mut self, slot: u32, now: Nanos) -> usize {
        // Keep in step with `is_due`, which decides under the read lock whether to come here.
        let Some(record) = self.record(slot) else {
            return 0;
        };
        let mut dropped = 0;
        if record.has(LIVE) && record.retain_until() <= now {
            dropped += 1 + usize::from(record.has(ACCESS)) + usize::from(record.has(REFRESH));
            self.revoke(slot);
        } else if record.has(LIVE) {
            let access_expired = record.has(ACCESS)
                && record
                    .access_expires
                    .saturating_add(duration_nanos(ACCESS_RETENTION))
                    <= now;
            let refresh_expired = record.has(REFRESH) && record.refresh_expires <= now;
            let grace_over = record.grace().is_some_and(|g| g.until <= now);
            if access_expired {
                self.unlink(slot, Kind::Access);
                dropped += 1;
            }
            if refresh_expired {
                self.unlink(slot, Kind::Refresh);
                dropped += 1;
            }
            if let Some(record) = self.record_mut(slot) {
                if access_expired {
                    record.flags &= !ACCESS;
                }
                if refresh_expired {
                    record.flags &= !REFRESH;
                }
                if grace_over && let Some(extra) = &mut record.extra {
                    extra.grace = None;
                    record.trim_extra();
                }
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
