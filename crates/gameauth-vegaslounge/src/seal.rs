//! Sealing the answer of a refresh so a retry inside the grace window gets the same tokens.
//!
//! Stores keep only hashes of tokens, yet a refresh retried within the grace window must return
//! the very same token pair. The pair is therefore stored encrypted under a key that only the
//! presenter of the old refresh token has: the keystream is HMAC-SHA256 keyed with the old refresh
//! token, over a domain label and a block counter. The store's key for the same record is
//! SHA-256 of that token, from which the keystream cannot be derived. Each old refresh token
//! seals at most one stored answer (rotation happens once), so the keystream is never reused.

use hmac::{Hmac, Mac};
use sha2::Sha256;

const LABEL: &[u8] = b"gameauth-vegaslounge grace answer v1";
const SEPARATOR: u8 = b'\n';

/// Encrypts `access` and `refresh` under `old_refresh`.
pub(crate) fn seal(old_refresh: &str, access: &str, refresh: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(access.len() + 1 + refresh.len());
    data.extend_from_slice(access.as_bytes());
    data.push(SEPARATOR);
    data.extend_from_slice(refresh.as_bytes());
    apply_keystream(old_refresh.as_bytes(), &mut data);
    data
}

/// Decrypts a sealed pair with the presented old refresh token.
///
/// Returns `None` when the result is not two tokens; callers also check the access token against
/// its stored hash, which detects a wrong key or a corrupted record.
pub(crate) fn open(old_refresh: &str, sealed: &[u8]) -> Option<(String, String)> {
    let mut data = sealed.to_vec();
    apply_keystream(old_refresh.as_bytes(), &mut data);
    let text = String::from_utf8(data).ok()?;
    let (access, refresh) = text.split_once(char::from(SEPARATOR))?;
    if access.is_empty() || refresh.is_empty() || refresh.contains(char::from(SEPARATOR)) {
        return None;
    }
    Some((access.to_owned(), refresh.to_owned()))
}

fn apply_keystream(key: &[u8], data: &mut [u8]) {
    for (counter, chunk) in (0u32..).zip(data.chunks_mut(32)) {
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(LABEL);
        mac.update(&counter.to_be_bytes());
        let block = mac.finalize().into_bytes();
        for (b, k) in chunk.iter_mut().zip(block.iter()) {
            *b ^= k;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_answer_opens_only_with_the_old_refresh_token() {
        let sealed = seal(
            "old-refresh",
            "new-access-token-value",
            "new-refresh-token-value",
        );
        assert!(!sealed.windows(10).any(|w| w == b"new-access"));
        assert_eq!(
            open("old-refresh", &sealed),
            Some((
                "new-access-token-value".to_owned(),
                "new-refresh-token-value".to_owned()
            ))
        );
        let wrong = open("other-refresh", &sealed);
        assert_ne!(
            wrong,
            Some((
                "new-access-token-value".to_owned(),
                "new-refresh-token-value".to_owned()
            ))
        );
    }
}
