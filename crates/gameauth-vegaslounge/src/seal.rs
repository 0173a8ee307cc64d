//! Sealing the answer of a refresh so a retry inside the grace window gets the same tokens.
//!
//! Stores keep only hashes of tokens, yet a refresh retried within the grace window must return
//! the very same token pair. The pair is therefore stored encrypted under a key that only the
//! presenter of the old refresh token can derive: ChaCha20-Poly1305 (RFC 8439) with a key from
//! HKDF-SHA256 (RFC 5869) over the old refresh token. The store keys the same record by the
//! SHA-256 of that token, from which the key cannot be derived, and the tag makes any change to
//! the stored bytes fail to open.
//!
//! Sealed format: a version byte (2; version 1 was an unauthenticated keystream and is no longer
//! read), a 12-byte random nonce, then the ciphertext with its 16-byte tag. The version byte is
//! authenticated as associated data.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use gameauth_core::secrecy::zeroize::Zeroize as _;
use hkdf::Hkdf;
use sha2::Sha256;

/// The format version written by [`seal`].
const VERSION: u8 = 2;
/// HKDF salt: a fixed label, as RFC 5869 allows; the input key is a 256-bit random token.
const SALT: &[u8] = b"gameauth-vegaslounge";
/// HKDF info: what the derived key is for.
const INFO: &[u8] = b"gameauth-vegaslounge grace answer v2";
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;
const SEPARATOR: u8 = b'\n';

/// The cipher keyed by `old_refresh`.
fn cipher(old_refresh: &str) -> Option<ChaCha20Poly1305> {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(SALT), old_refresh.as_bytes())
        .expand(INFO, &mut key)
        .ok()?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&key));
    key.zeroize();
    Some(cipher)
}

/// Encrypts `access` and `refresh` under `old_refresh`; `None` only if the cipher refuses (it
/// cannot for two short tokens).
pub(crate) fn seal(old_refresh: &str, access: &str, refresh: &str) -> Option<Vec<u8>> {
    let mut pair = Vec::with_capacity(access.len() + 1 + refresh.len());
    pair.extend_from_slice(access.as_bytes());
    pair.push(SEPARATOR);
    pair.extend_from_slice(refresh.as_bytes());
    let mut nonce = [0u8; NONCE_BYTES];
    gameauth_core::ids::fill_random(&mut nonce);
    let sealed = cipher(old_refresh)?
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &pair,
                aad: &[VERSION],
            },
        )
        .ok();
    pair.zeroize();
    let sealed = sealed?;
    let mut out = Vec::with_capacity(1 + NONCE_BYTES + sealed.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Some(out)
}

/// Decrypts a sealed pair with the presented old refresh token.
///
/// `None` for another token, a modified or truncated record, or an unknown version.
pub(crate) fn open(old_refresh: &str, sealed: &[u8]) -> Option<(String, String)> {
    let (&version, rest) = sealed.split_first()?;
    if version != VERSION || rest.len() < NONCE_BYTES + TAG_BYTES {
        return None;
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_BYTES);
    let pair = cipher(old_refresh)?
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: &[VERSION],
            },
        )
        .ok()?;
    let text = String::from_utf8(pair).ok()?;
    let (access, refresh) = text.split_once(char::from(SEPARATOR))?;
    if access.is_empty() || refresh.is_empty() || refresh.contains(char::from(SEPARATOR)) {
        return None;
    }
    Some((access.to_owned(), refresh.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCESS: &str = "new-access-token-value";
    const REFRESH: &str = "new-refresh-token-value";

    fn pair() -> Option<(String, String)> {
        Some((ACCESS.to_owned(), REFRESH.to_owned()))
    }

    #[test]
    fn sealed_answer_opens_only_with_the_old_refresh_token() {
        let sealed = seal("old-refresh", ACCESS, REFRESH).unwrap();
        assert_eq!(sealed[0], VERSION);
        assert!(!sealed.windows(10).any(|w| w == b"new-access"));
        assert_eq!(open("old-refresh", &sealed), pair());
        assert_eq!(open("other-refresh", &sealed), None);
        assert_eq!(open("", &sealed), None);
    }

    #[test]
    fn any_change_to_a_sealed_answer_fails_to_open() {
        let sealed = seal("old-refresh", ACCESS, REFRESH).unwrap();
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert_eq!(open("old-refresh", &tampered), None, "byte {i}");
        }
        for len in 0..sealed.len() {
            assert_eq!(open("old-refresh", &sealed[..len]), None, "length {len}");
        }
        let mut longer = sealed.clone();
        longer.push(0);
        assert_eq!(open("old-refresh", &longer), None);
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let a = seal("old-refresh", ACCESS, REFRESH).unwrap();
        let b = seal("old-refresh", ACCESS, REFRESH).unwrap();
        assert_ne!(a[1..1 + NONCE_BYTES], b[1..1 + NONCE_BYTES]);
        assert_eq!(open("old-refresh", &a), open("old-refresh", &b));
    }

    #[test]
    fn the_former_keystream_format_is_not_read() {
        let mut sealed = seal("old-refresh", ACCESS, REFRESH).unwrap();
        sealed[0] = 1;
        assert_eq!(open("old-refresh", &sealed), None);
    }
}
