//! Where grants live: the [`GrantStore`] trait, the in-memory [`MemoryStore`] and, with feature
//! `redis`, the shared `RedisStore` (module `redis`).
//!
//! # Model
//! A *grant* is everything issued from one authorization code: the code itself, then one live
//! access/refresh pair at a time. Stores key every record by the SHA-256 of the code or token
//! ([`TokenHash`]) and never see a raw token. Every operation that must be atomic is one trait
//! method, so a Redis implementation maps each to one Lua script (or `GETDEL`) over keys that
//! share the grant's hash tag:
//!
//! | method | atomic effect |
//! |---|---|
//! | [`put_code`](GrantStore::put_code) | store a fresh code record until its expiry |
//! | [`redeem_code`](GrantStore::redeem_code) | consume the code once (if client, redirect URI and PKCE verifier match) and create the grant with its first pair; a replay revokes the grant |
//! | [`rotate_refresh`](GrantStore::rotate_refresh) | replace the live pair; a retry inside the grace window gets the sealed previous answer; reuse after it revokes the grant |
//! | [`access_token`](GrantStore::access_token) | one lookup by hash (the hot path) |
//! | [`revoke_grant`](GrantStore::revoke_grant), [`revoke_player`](GrantStore::revoke_player) | delete every token of a grant / of a player |
//! | [`sweep_expired`](GrantStore::sweep_expired) | drop records past their retention (Redis uses TTLs instead) |
//!
//! Times are always passed in by the caller (from its injected [`gameauth_core::Clock`]), so stores
//! are deterministic under a manual clock. Every record has a retention time after which the store
//! may drop it ([`ACCESS_RETENTION`] after an access token expires, the code's own expiry for a
//! used code's tombstone, the refresh expiry for a rotated refresh token's marker). A code
//! replayed after its tombstone was dropped is refused as unknown.
//!
//! A failure to answer is a [`StoreError`]; every "no" is a variant of the outcome enums.

mod memory;
mod metered;
#[cfg(feature = "redis")]
pub mod redis;
mod sweeper;

#[cfg(feature = "test-util")]
pub mod conformance;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

pub use crate::error::StoreError;
pub use crate::token::{GrantId, TokenHash};
pub use memory::MemoryStore;
pub(crate) use metered::Metered;
#[cfg(feature = "redis")]
pub use redis::RedisStore;
pub use sweeper::{SweeperHandle, spawn_sweeper};

/// How long an expired access token is remembered, so the account endpoint can say "expired"
/// (Vegas Lounge 1004) rather than "unknown" (1001).
pub const ACCESS_RETENTION: Duration = Duration::from_secs(3600);

/// Who a grant is for: fixed when the code is issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The grant's id.
    pub grant_id: GrantId,
    /// The client (Vegas Lounge merchant id) the grant was issued to.
    pub client_id: String,
    /// The operator's player id.
    pub player_id: String,
}

/// A fresh authorization code to store.
#[derive(Debug, Clone)]
pub struct NewCode {
    /// Hash of the code.
    pub code: TokenHash,
    /// The grant the code will create.
    pub grant: Arc<Grant>,
    /// The redirect URI the code was issued for.
    pub redirect_uri: String,
    /// The PKCE challenge the code was issued with (RFC 7636, method `S256`): the SHA-256 of
    /// the code verifier, decoded from the authorize request's `code_challenge`.
    pub pkce_challenge: Option<TokenHash>,
    /// When the code stops being redeemable.
    pub expires_at: SystemTime,
}

/// A new access/refresh pair to store.
#[derive(Debug, Clone)]
pub struct NewPair {
    /// Hash of the access token.
    pub access: TokenHash,
    /// When the access token expires.
    pub access_expires_at: SystemTime,
    /// Hash of the refresh token.
    pub refresh: TokenHash,
    /// When the refresh token expires.
    pub refresh_expires_at: SystemTime,
}

/// Redeem an authorization code (`grant_type=authorization_code`).
#[derive(Debug, Clone)]
pub struct RedeemCode {
    /// Hash of the presented code.
    pub code: TokenHash,
    /// The authenticated client.
    pub client_id: String,
    /// The `redirect_uri` sent with the token request, when one was sent.
    pub redirect_uri: Option<String>,
    /// The SHA-256 of the `code_verifier` sent with the token request, when one was sent. It
    /// must equal the code's [`pkce_challenge`](NewCode::pkce_challenge): both absent, or both
    /// the same hash.
    pub pkce_verifier: Option<TokenHash>,
    /// The current time.
    pub now: SystemTime,
    /// The pair to issue when the code is good.
    pub pair: NewPair,
}

/// The outcome of [`GrantStore::redeem_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Redeemed {
    /// The code was good; it is now used and the grant holds the new pair.
    Issued(Arc<Grant>),
    /// No such code.
    NotFound,
    /// The code expired (it is now deleted).
    Expired,
    /// The code belongs to another client or was issued for another redirect URI; it stays
    /// unused.
    Mismatch,
    /// The code was issued with a PKCE challenge and the verifier is missing or does not match
    /// it, or a verifier was sent for a code issued without a challenge; it stays unused.
    PkceMismatch,
    /// The code was already used: the grant and every token issued from it are now revoked.
    Replayed,
}

/// Opaque encrypted token pair returned to a retry inside the grace window.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedAnswer(pub Vec<u8>);

impl fmt::Debug for SealedAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedAnswer({} bytes)", self.0.len())
    }
}

/// Rotate a refresh token (`grant_type=refresh_token`).
#[derive(Debug, Clone)]
pub struct RotateRefresh {
    /// Hash of the presented refresh token.
    pub refresh: TokenHash,
    /// The authenticated client.
    pub client_id: String,
    /// The current time.
    pub now: SystemTime,
    /// How long after a rotation a repeat of the same request gets the same answer.
    pub grace: Duration,
    /// The pair to issue when the token is live.
    pub pair: NewPair,
    /// `pair` encrypted for retries inside the grace window; kept until the window closes.
    pub sealed: SealedAnswer,
}

/// The outcome of [`GrantStore::rotate_refresh`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rotated {
    /// The token was live: it and its access token are dead, the new pair is live.
    Rotated(Arc<Grant>),
    /// The token was rotated less than `grace` ago and its successor is still unused: answer
    /// again with the successor pair.
    Repeat {
        /// The grant.
        grant: Arc<Grant>,
        /// The successor pair as sealed by the first rotation.
        sealed: SealedAnswer,
        /// Hash of the successor access token, to check the opened answer.
        access: TokenHash,
        /// When the successor access token expires.
        access_expires_at: SystemTime,
    },
    /// No such refresh token (or its grant was revoked).
    NotFound,
    /// The refresh token expired.
    Expired,
    /// The refresh token belongs to another client; nothing changed.
    Mismatch,
    /// An already rotated token came back after the grace window (or after its successor was
    /// used): the whole grant is now revoked.
    ReuseDetected,
}

/// A live or recently expired access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    /// The grant the token belongs to.
    pub grant: Arc<Grant>,
    /// When the token expires (it may already have).
    pub expires_at: SystemTime,
}

/// Storage of codes, tokens and grants. See the [module docs](self) for the model.
///
/// Implementations must make every method atomic with respect to the others and must pass
/// the conformance suite (`store::conformance`, feature `test-util`).
#[async_trait]
pub trait GrantStore: Send + Sync + fmt::Debug {
    /// Stores a fresh authorization code.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] only when the store cannot answer (connection lost, timeout,
    /// script error, memory store full); the server turns it into `server_error`
    /// ([`Reason::StoreUnavailable`](crate::error::Reason::StoreUnavailable)), never into a "no".
    async fn put_code(&self, code: NewCode) -> Result<(), StoreError>;

    /// Atomically consumes a code and issues its grant's first pair.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] only when the store cannot answer (connection lost, timeout,
    /// script error, memory store full); an unknown, expired, mismatched or replayed code
    /// is a [`Redeemed`] outcome; the server turns it into `server_error`
    /// ([`Reason::StoreUnavailable`](crate::error::Reason::StoreUnavailable)), never into a "no".
    async fn redeem_code(&self, request: RedeemCode) -> Result<Redeemed, StoreError>;

    /// Atomically rotates a refresh token, with grace-window repeats and reuse detection.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] only when the store cannot answer (connection lost, timeout,
    /// script error, memory store full); an unknown, expired, mismatched or reused token
    /// is a [`Rotated`] outcome; the server turns it into `server_error`
    /// ([`Reason::StoreUnavailable`](crate::error::Reason::StoreUnavailable)), never into a "no".
    async fn rotate_refresh(&self, request: RotateRefresh) -> Result<Rotated, StoreError>;

    /// Looks up an access token by hash. Returns expired tokens too until their retention ends.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] only when the store cannot answer (connection lost, timeout,
    /// script error, memory store full); an unknown token is `Ok(None)`; the server turns it into `server_error`
    /// ([`Reason::StoreUnavailable`](crate::error::Reason::StoreUnavailable)), never into a "no".
    async fn access_token(&self, token: &TokenHash) -> Result<Option<AccessGrant>, StoreError>;

    /// Revokes a grant: every access and refresh token issued under it stops working.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] only when the store cannot answer (connection lost, timeout,
    /// script error, memory store full); an unknown grant is not an error; the server turns it into `server_error`
    /// ([`Reason::StoreUnavailable`](crate::error::Reason::StoreUnavailable)), never into a "no".
    async fn revoke_grant(&self, grant_id: &GrantId) -> Result<(), StoreError>;

    /// Revokes every grant of a player; returns how many grants were revoked.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] only when the store cannot answer (connection lost, timeout,
    /// script error, memory store full); a player without grants gives `Ok(0)`; the server turns it into `server_error`
    /// ([`Reason::StoreUnavailable`](crate::error::Reason::StoreUnavailable)), never into a "no".
    async fn revoke_player(&self, player_id: &str) -> Result<usize, StoreError>;

    /// Drops every record whose retention ended at `now`; returns how many were dropped.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] when the store cannot answer; the
    /// [sweeper](spawn_sweeper) logs it and tries again at its next tick.
    async fn sweep_expired(&self, now: SystemTime) -> Result<usize, StoreError>;

    /// Checks that the store answers, for readiness probes. The default looks up a token hash
    /// that is never issued, one read like the hot path; override it with a cheaper check.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] when the store cannot answer.
    async fn ping(&self) -> Result<(), StoreError> {
        self.access_token(&TokenHash::from_bytes([0; 32]))
            .await
            .map(|_| ())
    }

    /// The `store` label of the store metrics ([`crate::metrics`]): a short fixed name such as
    /// `memory` or `redis`. The default is `custom`.
    fn backend(&self) -> &'static str {
        "custom"
    }
}

#[async_trait]
impl<S: GrantStore + ?Sized> GrantStore for Arc<S> {
    async fn put_code(&self, code: NewCode) -> Result<(), StoreError> {
        (**self).put_code(code).await
    }
    async fn redeem_code(&self, request: RedeemCode) -> Result<Redeemed, StoreError> {
        (**self).redeem_code(request).await
    }
    async fn rotate_refresh(&self, request: RotateRefresh) -> Result<Rotated, StoreError> {
        (**self).rotate_refresh(request).await
    }
    async fn access_token(&self, token: &TokenHash) -> Result<Option<AccessGrant>, StoreError> {
        (**self).access_token(token).await
    }
    async fn revoke_grant(&self, grant_id: &GrantId) -> Result<(), StoreError> {
        (**self).revoke_grant(grant_id).await
    }
    async fn revoke_player(&self, player_id: &str) -> Result<usize, StoreError> {
        (**self).revoke_player(player_id).await
    }
    async fn sweep_expired(&self, now: SystemTime) -> Result<usize, StoreError> {
        (**self).sweep_expired(now).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        (**self).ping().await
    }
    fn backend(&self) -> &'static str {
        (**self).backend()
    }
}
