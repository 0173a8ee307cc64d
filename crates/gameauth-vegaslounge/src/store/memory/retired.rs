//! Rotated refresh tokens, remembered until they expire so that presenting one again revokes its
//! grant (reuse detection).
//!
//! A busy store holds one of these per rotation in the refresh token's lifetime (30 days by
//! default), far more than live grants, so each is a 16-byte *marker*: the first 80 bits of the
//! token's hash, and the slot and slot generation of its grant's record.
//!
//! - **Forgetting needs no walk.** Markers sit in buckets by expiry, [`BUCKET_SECS`] wide; a
//!   bucket is dropped whole once the last expiry it can hold has passed. A marker is therefore
//!   kept until at most one bucket width after its token's expiry, and a marker of a revoked
//!   grant until its token's expiry as well (it names a record that is no longer live, or
//!   whose slot now carries another generation, and answers nothing).
//! - **No large rehash.** Inside a bucket, markers fill hash tables of at most
//!   [`SEGMENT_MARKERS`] entries (2 MiB each); a full table is closed and a new one started, so
//!   growing one never moves more than half a segment, and closed tables are 7/8 full.
//! - **Lookups** (only for refresh tokens that are not live) probe every segment of the
//!   buckets that have not ended, newest first: about one probe per 115,000 markers plus one per
//!   bucket.
//!
//! Eighty bits are enough to tell tokens apart: the hash is SHA-256 of a 256-bit random token,
//! so a presented token that was never issued matches one of `n` markers with probability
//! `n / 2^80` (below 10⁻¹⁸ at a million markers), and only an authenticated client can present
//! one.

use std::collections::BTreeMap;

use hashbrown::HashTable;

use super::record::Nanos;
use crate::store::TokenHash;

/// Width of an expiry bucket in seconds (2^17 s, about 36 hours).
pub(super) const BUCKET_SECS: u64 = 1 << 17;

/// Markers per segment: a full table of 2^17 buckets (hashbrown fills tables to 7/8).
pub(super) const SEGMENT_MARKERS: usize = (1 << 17) / 8 * 7;

/// Where a rotated token's grant is: its record's slot and the slot's generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Owner {
    pub(super) slot: u32,
    pub(super) generation: u16,
}

/// One rotated refresh token (16 bytes).
#[derive(Debug, Clone, Copy)]
struct Marker {
    /// The token hash's first 8 bytes; also the table hash.
    key: u64,
    /// Its next 2 bytes.
    check: u16,
    generation: u16,
    slot: u32,
}

/// The first 80 bits of a token hash, as `(key, check)`.
fn fingerprint(hash: &TokenHash) -> (u64, u16) {
    let bytes = hash.as_bytes();
    let mut key = [0; 8];
    key.copy_from_slice(&bytes[..8]);
    (
        u64::from_le_bytes(key),
        u16::from_le_bytes([bytes[8], bytes[9]]),
    )
}

/// The bucket of an expiry: every expiry in bucket `b` is before the start of bucket `b + 1`.
fn bucket_of(expires: Nanos) -> u64 {
    expires / 1_000_000_000 / BUCKET_SECS
}

/// The tables of one expiry bucket; only the last one takes new markers.
type Segments = Vec<HashTable<Marker>>;

/// The remembered rotated refresh tokens.
#[derive(Default)]
pub(super) struct RetiredTokens {
    buckets: BTreeMap<u64, Segments>,
    len: usize,
}

/// Buckets taken out by [`RetiredTokens::take_expired`], to be freed after the lock is released.
#[must_use = "dropping this frees the expired markers' memory"]
pub(super) struct Expired {
    buckets: BTreeMap<u64, Segments>,
}

impl RetiredTokens {
    /// Remembers a rotated token until (at least) `expires`.
    pub(super) fn insert(&mut self, hash: &TokenHash, expires: Nanos, owner: Owner) {
        let (key, check) = fingerprint(hash);
        let segments = self.buckets.entry(bucket_of(expires)).or_default();
        if segments
            .last()
            .is_none_or(|open| open.len() >= SEGMENT_MARKERS)
        {
            segments.push(HashTable::new());
        }
        if let Some(open) = segments.last_mut() {
            let marker = Marker {
                key,
                check,
                generation: owner.generation,
                slot: owner.slot,
            };
            open.insert_unique(key, marker, |m| m.key);
            self.len += 1;
        }
    }

    /// The grant of a rotated token whose bucket has not ended at `now`.
    pub(super) fn find(&self, hash: &TokenHash, now: Nanos) -> Option<Owner> {
        let (key, check) = fingerprint(hash);
        self.buckets
            .range(bucket_of(now)..)
            .rev()
            .flat_map(|(_, segments)| segments.iter().rev())
            .find_map(|table| table.find(key, |m| m.key == key && m.check == check))
            .map(|m| Owner {
                slot: m.slot,
                generation: m.generation,
            })
    }

    /// Takes out every bucket that ended at `now`: O(buckets), whatever they hold.
    pub(super) fn take_expired(&mut self, now: Nanos) -> Expired {
        let live = self.buckets.split_off(&bucket_of(now));
        let expired = Expired {
            buckets: std::mem::replace(&mut self.buckets, live),
        };
        self.len -= expired.markers();
        expired
    }

    /// How many markers are held (including those of revoked grants and expired tokens whose
    /// bucket has not ended).
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Bytes allocated for the markers.
    #[cfg(test)]
    fn allocated(&self) -> usize {
        self.buckets
            .values()
            .flatten()
            .map(HashTable::allocation_size)
            .sum()
    }
}

impl Expired {
    /// How many markers were taken out.
    pub(super) fn markers(&self) -> usize {
        self.buckets.values().flatten().map(HashTable::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Nanos = 1_000_000_000;
    const T0: Nanos = 1_700_000_000 * SEC;

    fn hash(i: u64) -> TokenHash {
        TokenHash::of(&format!("refresh-{i}"))
    }

    fn owner(i: u64) -> Owner {
        Owner {
            slot: u32::try_from(i % 1000).unwrap(),
            generation: u16::try_from(i % 7).unwrap(),
        }
    }

    #[test]
    fn a_marker_is_16_bytes() {
        assert_eq!(std::mem::size_of::<Marker>(), 16);
    }

    #[test]
    fn markers_are_found_until_their_bucket_ends() {
        let mut retired = RetiredTokens::default();
        let expires = T0 + 30 * 86_400 * SEC;
        for i in 0..100 {
            retired.insert(&hash(i), expires, owner(i));
        }
        for i in 0..100 {
            assert_eq!(retired.find(&hash(i), T0), Some(owner(i)));
        }
        assert_eq!(retired.find(&hash(100), T0), None);
        // Still there at the token's expiry and for the rest of its bucket…
        let bucket_end = (bucket_of(expires) + 1) * BUCKET_SECS * SEC;
        assert_eq!(retired.find(&hash(7), expires), Some(owner(7)));
        assert_eq!(retired.find(&hash(7), bucket_end - 1), Some(owner(7)));
        assert_eq!(retired.take_expired(bucket_end - 1).markers(), 0);
        // …and gone, without a sweep, once the bucket ended.
        assert_eq!(retired.find(&hash(7), bucket_end), None);
        let expired = retired.take_expired(bucket_end);
        assert_eq!(expired.markers(), 100);
        assert_eq!(retired.len(), 0);
    }

    #[test]
    fn buckets_expire_separately() {
        let mut retired = RetiredTokens::default();
        let early = T0;
        let late = T0 + 3 * BUCKET_SECS * SEC;
        retired.insert(&hash(1), early, owner(1));
        retired.insert(&hash(2), late, owner(2));
        let expired = retired.take_expired(T0 + BUCKET_SECS * SEC);
        assert_eq!(expired.markers(), 1);
        assert_eq!(retired.find(&hash(1), T0), None);
        assert_eq!(retired.find(&hash(2), T0), Some(owner(2)));
        assert_eq!(retired.len(), 1);
    }

    #[test]
    fn a_token_matching_only_the_first_8_bytes_is_not_found() {
        let mut retired = RetiredTokens::default();
        let mut bytes = *hash(1).as_bytes();
        retired.insert(&TokenHash::from_bytes(bytes), T0, owner(1));
        bytes[9] ^= 1;
        assert_eq!(retired.find(&TokenHash::from_bytes(bytes), T0), None);
    }

    #[test]
    fn segments_close_when_full_and_cost_under_20_bytes_a_marker() {
        let mut retired = RetiredTokens::default();
        let n = 2 * SEGMENT_MARKERS as u64 + 10;
        for i in 0..n {
            // Cheap distinct hashes: SHA-256 a million times would slow the test down.
            let mut bytes = [0; 32];
            bytes[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
            retired.insert(&TokenHash::from_bytes(bytes), T0, owner(i));
        }
        let segments = &retired.buckets[&bucket_of(T0)];
        assert_eq!(segments.len(), 3);
        assert!(segments[..2].iter().all(|s| s.len() == SEGMENT_MARKERS));
        let full = segments[0].allocation_size() as f64 / SEGMENT_MARKERS as f64;
        assert!(full < 20.0, "{full} bytes per marker in a closed segment");
        assert!(retired.allocated() as f64 / (n as f64) < 20.0);
        let mut bytes = [0; 32];
        bytes[..8].copy_from_slice(&(n - 1).wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
        assert_eq!(
            retired.find(&TokenHash::from_bytes(bytes), T0),
            Some(owner(n - 1))
        );
    }
}
