//! Pure, synchronous signing primitives and key rotation.
//!
//! Providers sign **exact bytes**: callers serialise a body once, sign those bytes and send those
//! bytes. The functions here take the message as a list of parts so nothing is concatenated into
//! a temporary buffer.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;

use crate::secret::ct_eq_bytes;

/// MD5 over the concatenation of `parts`.
pub fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Lowercase hex MD5 over the concatenation of `parts`.
pub fn md5_hex(parts: &[&[u8]]) -> String {
    hex::encode(md5(parts))
}

/// HMAC-SHA1 keyed with `key` over the concatenation of `parts`.
pub fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> [u8; 20] {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match <Hmac<Sha1> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Standard base64 (with padding) of HMAC-SHA1 keyed with `key` over `parts`.
pub fn hmac_sha1_base64(key: &[u8], parts: &[&[u8]]) -> String {
    STANDARD.encode(hmac_sha1(key, parts))
}

/// SHA-256 of `data`, as used for storing tokens at rest.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

/// Whether a presented hex digest (either letter case) equals `expected`, in constant time.
///
/// Returns `false` for empty, wrongly sized or non-hex input.
pub fn verify_hex(presented: &str, expected: &[u8]) -> bool {
    let p = presented.as_bytes();
    if p.len() != expected.len() * 2 {
        return false;
    }
    let mut decoded = [0u8; 64];
    let Some(buf) = decoded.get_mut(..expected.len()) else {
        return false;
    };
    if hex::decode_to_slice(p, buf).is_err() {
        return false;
    }
    ct_eq_bytes(buf, expected)
}

/// Whether a presented standard-base64 digest equals `expected`, in constant time.
///
/// Returns `false` for empty, wrongly sized or malformed input (including missing padding).
pub fn verify_base64(presented: &str, expected: &[u8]) -> bool {
    if presented.len() != expected.len().div_ceil(3) * 4 {
        return false;
    }
    match STANDARD.decode(presented) {
        Ok(decoded) => ct_eq_bytes(&decoded, expected),
        Err(_) => false,
    }
}

/// The signing key and, during a rotation, the previous key with the instant it stops verifying.
///
/// Signing always uses the current key; verification accepts the previous key until its window
/// closes.
#[derive(Clone)]
pub struct KeyRing {
    current: SecretString,
    previous: Option<(SecretString, SystemTime)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &"[redacted]")
            .field(
                "previous_valid_until",
                &self.previous.as_ref().map(|(_, until)| until),
            )
            .finish()
    }
}

impl KeyRing {
    /// A ring with only the current key.
    pub fn new(current: SecretString) -> Self {
        Self {
            current,
            previous: None,
        }
    }

    /// Also accept `previous` for verification until `valid_until`.
    pub fn with_previous(mut self, previous: SecretString, valid_until: SystemTime) -> Self {
        self.previous = Some((previous, valid_until));
        self
    }

    /// The key to sign with.
    pub fn current(&self) -> &SecretString {
        &self.current
    }

    /// Whether a key of the ring is empty: the current one, or a previous one that was given.
    /// Either is a configuration error for every provider, since anyone can compute a signature
    /// made with an empty key (an unset `PREVIOUS_KEY` variable must not open a forgery window).
    pub fn is_empty(&self) -> bool {
        self.current.expose_secret().is_empty()
            || self
                .previous
                .as_ref()
                .is_some_and(|(k, _)| k.expose_secret().is_empty())
    }

    /// The keys that verify at `now`: the current one, then the previous one inside its window.
    /// An empty key is never among them, even in a ring no builder checked.
    pub fn verifying_keys(&self, now: SystemTime) -> impl Iterator<Item = &SecretString> {
        let previous = self
            .previous
            .as_ref()
            .filter(|(_, until)| now <= *until)
            .map(|(k, _)| k);
        std::iter::once(&self.current)
            .chain(previous)
            .filter(|k| !k.expose_secret().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn md5_hex_is_lowercase_and_concatenates_parts() {
        assert_eq!(md5_hex(&[b"a", b"bc"]), md5_hex(&[b"abc"]));
        assert_eq!(md5_hex(&[b"abc"]), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn hmac_sha1_base64_matches_rfc2202_case_2() {
        assert_eq!(
            hex::encode(hmac_sha1(b"Jefe", &[b"what do ya want ", b"for nothing?"])),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hmac_sha1_base64(b"Jefe", &[b"what do ya want for nothing?"]).len(),
            28
        );
    }

    #[test]
    fn verify_hex_accepts_either_case_and_rejects_bad_lengths() {
        let d = md5(&[b"abc"]);
        assert!(verify_hex("900150983cd24fb0d6963f7d28e17f72", &d));
        assert!(verify_hex("900150983CD24FB0D6963F7D28E17F72", &d));
        assert!(!verify_hex("900150983cd24fb0d6963f7d28e17f7", &d));
        assert!(!verify_hex("900150983cd24fb0d6963f7d28e17f7200", &d));
        assert!(!verify_hex("", &d));
        assert!(!verify_hex("z00150983cd24fb0d6963f7d28e17f72", &d));
    }

    #[test]
    fn verify_base64_rejects_truncated_and_extended() {
        let d = hmac_sha1(b"k", &[b"m"]);
        let good = STANDARD.encode(d);
        assert!(verify_base64(&good, &d));
        assert!(!verify_base64(&good[..27], &d));
        assert!(!verify_base64(&format!("{good}A"), &d));
        assert!(!verify_base64("", &d));
    }

    #[test]
    fn key_ring_accepts_previous_key_only_inside_its_window() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let ring = KeyRing::new("new".into()).with_previous("old".into(), t0);
        assert_eq!(ring.verifying_keys(t0).count(), 2);
        assert_eq!(ring.verifying_keys(t0 + Duration::from_secs(1)).count(), 1);
        assert_eq!(
            format!("{ring:?}"),
            "KeyRing { current: \"[redacted]\", previous_valid_until: Some(SystemTime { tv_sec: 1000, tv_nsec: 0 }) }"
        );
    }

    #[test]
    fn an_empty_previous_key_is_refused_and_never_verifies() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let ring = KeyRing::new("new".into()).with_previous("".into(), t0);
        assert!(ring.is_empty(), "builders must refuse the ring");
        assert_eq!(
            ring.verifying_keys(t0).count(),
            1,
            "only the current key verifies"
        );
        assert!(KeyRing::new("".into()).is_empty());
        assert_eq!(
            KeyRing::new("".into()).verifying_keys(t0).count(),
            0,
            "an empty current key never verifies either"
        );
        assert!(
            !KeyRing::new("new".into())
                .with_previous("old".into(), t0)
                .is_empty()
        );
    }
}
