//! Codes, tokens and their at-rest hashes.
//!
//! Every code and token is 32 bytes from the operating system's CSPRNG, base64url without
//! padding (43 characters). The raw value is handed to the client once; stores only ever see its
//! SHA-256 ([`TokenHash`]).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

gameauth_core::secret_string! {
    /// A one-time authorization code.
    pub struct AuthorizationCode;
}

gameauth_core::secret_string! {
    /// An access token presented on `GET /account`.
    pub struct AccessToken;
}

gameauth_core::secret_string! {
    /// A refresh token presented with `grant_type=refresh_token`.
    pub struct RefreshToken;
}

gameauth_core::secret_string! {
    /// A client secret as configured or presented.
    pub struct ClientSecret;
}

gameauth_core::secret_string! {
    /// A PKCE code verifier presented with `grant_type=authorization_code` (RFC 7636).
    pub struct CodeVerifier;
}

/// Number of random bytes in every code and token.
pub const TOKEN_BYTES: usize = 32;

/// A fresh random token: 32 CSPRNG bytes, base64url without padding.
pub(crate) fn random_token() -> String {
    let [token] = random_tokens();
    token
}

/// `N` fresh random tokens from one read of the OS CSPRNG (one system call instead of `N`).
pub(crate) fn random_tokens<const N: usize>() -> [String; N] {
    let mut bytes = [[0u8; TOKEN_BYTES]; N];
    gameauth_core::ids::fill_random(bytes.as_flattened_mut());
    bytes.map(|b| URL_SAFE_NO_PAD.encode(b))
}

/// The SHA-256 of a code or token: the only form in which stores keep them.
///
/// Not secret (a hash of a 256-bit random value reveals nothing), but `Debug` still prints only a
/// short prefix to keep logs readable.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes a presented token. Works on the stack: no allocation.
    pub fn of(token: &str) -> Self {
        Self(gameauth_core::sign::sha256(token.as_bytes()))
    }

    /// Wraps a hash computed elsewhere (e.g. read back from a store).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 hash bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex of the hash, e.g. for building store keys.
    pub fn to_hex(&self) -> String {
        hex_lower(&self.0)
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenHash({}…)", hex_lower(&self.0[..4]))
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// The identifier of one grant: everything issued from one authorization code.
///
/// Not a secret; it is the default `sessionId` on `GET /account`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct GrantId(String);

impl GrantId {
    /// A fresh random grant id (16 CSPRNG bytes, base64url).
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        gameauth_core::ids::fill_random(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Wraps an id read back from a store.
    pub fn from_string(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_random_bytes_base64url_without_padding() {
        let t = random_token();
        assert_eq!(t.len(), 43);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(&t).map(|b| b.len()), Ok(32));
        assert_ne!(random_token(), random_token());
        let [a, b] = random_tokens();
        assert_ne!(a, b);
        assert_eq!((a.len(), b.len()), (43, 43));
    }

    #[test]
    fn secret_types_have_pinned_redacted_debug() {
        assert_eq!(
            format!("{:?}", AuthorizationCode::new("sentinel")),
            "AuthorizationCode([redacted])"
        );
        assert_eq!(
            format!("{:?}", AccessToken::new("sentinel")),
            "AccessToken([redacted])"
        );
        assert_eq!(
            format!("{:?}", RefreshToken::new("sentinel")),
            "RefreshToken([redacted])"
        );
        assert_eq!(
            format!("{:?}", ClientSecret::new("sentinel")),
            "ClientSecret([redacted])"
        );
        assert_eq!(
            format!("{:?}", CodeVerifier::new("sentinel")),
            "CodeVerifier([redacted])"
        );
    }

    #[test]
    fn token_hash_is_sha256_and_debug_shows_only_a_prefix() {
        let h = TokenHash::of("abc");
        assert_eq!(
            h.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(format!("{h:?}"), "TokenHash(ba7816bf…)");
    }
}
