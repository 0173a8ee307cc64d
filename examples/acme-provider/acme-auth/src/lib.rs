//! Acme player-token verification for the gameauth SDK.
//!
//! Acme answers `POST /verify` with the player a token belongs to. [`AcmeVerifier`] builds the
//! signed request, reads the answer, and serves as a provider-neutral
//! [`gameauth_core::TokenVerifier`], so it sits in one registry with the other providers.

/// Acme's token verification: `POST /verify` with the player's token, a timestamp and a nonce,
/// signed with `signature = base64(HMAC-SHA1(key, path + body))`. The clock and the nonce
/// generator are injected, so a test (or a contract fixture) freezes both and the signed bytes
/// are reproducible.
mod verifier;

pub use verifier::{AcmeVerifier, AcmeVerifierBuilder, VERIFY_PATH, documented_code, sign};
