//! Injected identifiers (trace ids, nonces).
//!
//! Providers need fresh random identifiers per request (OMG's `trace_id`, Credit Pay's `trace`).
//! Tests and fixtures need them fixed, so clients take an `Arc<dyn IdGenerator>`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The alphabet of generated trace ids: URL-safe, no percent-encoding ever needed.
pub const TRACE_ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A source of request identifiers.
pub trait IdGenerator: Send + Sync + std::fmt::Debug {
    /// A fresh identifier of `len` characters from [`TRACE_ALPHABET`].
    fn trace_id(&self, len: usize) -> String;
}

/// Identifiers from the operating system's CSPRNG.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl IdGenerator for RandomIds {
    fn trace_id(&self, len: usize) -> String {
        random_string(len, TRACE_ALPHABET)
    }
}

/// Fills `buf` from the OS CSPRNG.
///
/// The OS generator failing is not recoverable for an authentication library (every token would be
/// predictable), so this aborts the calling task loudly rather than returning weak bytes.
pub fn fill_random(buf: &mut [u8]) {
    if let Err(e) = getrandom::fill(buf) {
        // A broken OS RNG must never degrade into predictable tokens.
        panic!("operating system random number generator failed: {e}");
    }
}

/// `len` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
pub fn random_string(len: usize, alphabet: &[u8]) -> String {
    let n = alphabet.len();
    assert!((1..=256).contains(&n), "alphabet must have 1..=256 symbols");
    // Largest multiple of n that fits in a byte: bytes at or above it are rejected.
    let limit = 256 - (256 % n);
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill_random(&mut buf);
        for &b in &buf {
            if usize::from(b) < limit {
                out.push(char::from(alphabet[usize::from(b) % n]));
                if out.len() == len {
                    break;
                }
            }
        }
    }
    out
}

/// Identifiers from a fixed list, handed out in order and then repeated from the start.
///
/// For fixtures and tests, where a recorded `trace_id` must be reproduced exactly. The requested
/// length is ignored: the recorded value is what the counterpart expects.
#[derive(Debug)]
pub struct FixedIds {
    ids: Mutex<Vec<String>>,
    next: AtomicUsize,
}

impl FixedIds {
    /// Hands out `ids` in order, cycling. An empty list yields empty strings.
    pub fn new<I, S>(ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            ids: Mutex::new(ids.into_iter().map(Into::into).collect()),
            next: AtomicUsize::new(0),
        }
    }
}

impl IdGenerator for FixedIds {
    fn trace_id(&self, _len: usize) -> String {
        let ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        if ids.is_empty() {
            return String::new();
        }
        let i = self.next.fetch_add(1, Ordering::SeqCst) % ids.len();
        ids[i].clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_trace_ids_use_the_url_safe_alphabet() {
        let id = RandomIds.trace_id(12);
        assert_eq!(id.len(), 12);
        assert!(id.bytes().all(|b| TRACE_ALPHABET.contains(&b)));
        assert_ne!(RandomIds.trace_id(32), RandomIds.trace_id(32));
    }

    #[test]
    fn fixed_ids_cycle_in_order() {
        let ids = FixedIds::new(["a", "b"]);
        assert_eq!(ids.trace_id(12), "a");
        assert_eq!(ids.trace_id(12), "b");
        assert_eq!(ids.trace_id(12), "a");
    }
}
