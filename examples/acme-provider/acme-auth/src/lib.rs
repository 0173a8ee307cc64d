//! Acme player-token verification for the gameauth SDK.
//!
//! Acme answers `POST /verify` with the player a token belongs to. [`AcmeVerifier`] builds the
//! signed request, reads the answer, and serves as a provider-neutral
//! [`gameauth_core::TokenVerifier`], so it sits in one registry with the other providers.

mod verifier;

pub use verifier::{AcmeVerifier, AcmeVerifierBuilder, VERIFY_PATH, documented_code, sign};
