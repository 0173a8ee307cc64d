//! Names, synthetic tokens and store fillers shared by the bench binaries (`gameauth-bench` and
//! `gameauth-bench-memory` include this file as a module).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gameauth_vegaslounge::store::{
    Grant, GrantId, GrantStore, NewCode, NewPair, RedeemCode, Redeemed, RotateRefresh, Rotated,
    SealedAnswer, TokenHash,
};

/// The registered client of every Vegas Lounge row.
pub(crate) const CLIENT_ID: &str = "VL001";
/// Its redirect URI.
pub(crate) const REDIRECT_URI: &str = "https://fl.vegaslounge.live";

/// The id of the `i`-th bench player.
pub(crate) fn player(i: usize) -> String {
    format!("player-{i:05}")
}

/// A distinct token hash per grant, step and kind, without SHA-256's cost in a preload loop.
/// The store's tables hash by the first 8 bytes, so those are mixed as a SHA-256's would be.
pub(crate) fn token_hash(grant: usize, step: usize, kind: u8) -> TokenHash {
    let mut bytes = [kind; 32];
    let mixed = (grant as u64 ^ (step as u64) << 40 ^ u64::from(kind) << 56)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    bytes[..8].copy_from_slice(&mixed.to_le_bytes());
    bytes[8..16].copy_from_slice(&(grant as u64).to_le_bytes());
    bytes[16..24].copy_from_slice(&(step as u64).to_le_bytes());
    TokenHash::from_bytes(bytes)
}

/// Token kinds for [`token_hash`].
pub(crate) const CODE: u8 = 1;
/// See [`CODE`].
pub(crate) const ACCESS: u8 = 2;
/// See [`CODE`].
pub(crate) const REFRESH: u8 = 3;
/// The size of a real grace-window answer (two sealed tokens).
pub(crate) const SEALED_BYTES: usize = 140;

/// Pair `step` of `grant`: the access token lives an hour, the refresh token 30 days.
pub(crate) fn pair(grant: usize, step: usize, now: SystemTime) -> NewPair {
    NewPair {
        access: token_hash(grant, step, ACCESS),
        access_expires_at: now + Duration::from_secs(3600),
        refresh: token_hash(grant, step, REFRESH),
        refresh_expires_at: now + Duration::from_secs(30 * 24 * 3600),
    }
}

/// Issues grant `grant` for `player` through the store's API, with pair 0.
pub(crate) async fn issue(
    store: &dyn GrantStore,
    grant: usize,
    player: String,
    now: SystemTime,
) -> Result<(), String> {
    store
        .put_code(NewCode {
            code: token_hash(grant, 0, CODE),
            grant: Arc::new(Grant {
                grant_id: GrantId::random(),
                client_id: CLIENT_ID.to_owned(),
                player_id: player,
            }),
            redirect_uri: REDIRECT_URI.to_owned(),
            pkce_challenge: None,
            expires_at: now + Duration::from_secs(60),
        })
        .await
        .map_err(|e| e.to_string())?;
    let redeemed = store
        .redeem_code(RedeemCode {
            code: token_hash(grant, 0, CODE),
            client_id: CLIENT_ID.to_owned(),
            redirect_uri: None,
            pkce_verifier: None,
            now,
            pair: pair(grant, 0, now),
        })
        .await
        .map_err(|e| e.to_string())?;
    match redeemed {
        Redeemed::Issued(_) => Ok(()),
        other => Err(format!("grant {grant} was not issued: {other:?}")),
    }
}

/// Rotates `grant`'s refresh token of pair `step - 1` into pair `step`.
pub(crate) async fn rotate(
    store: &dyn GrantStore,
    grant: usize,
    step: usize,
    now: SystemTime,
    next: NewPair,
) -> Result<(), String> {
    let rotated = store
        .rotate_refresh(RotateRefresh {
            refresh: token_hash(grant, step - 1, REFRESH),
            client_id: CLIENT_ID.to_owned(),
            now,
            grace: Duration::from_secs(10),
            pair: next,
            sealed: SealedAnswer(vec![0x5a; SEALED_BYTES]),
        })
        .await
        .map_err(|e| e.to_string())?;
    match rotated {
        Rotated::Rotated(_) => Ok(()),
        other => Err(format!("grant {grant} did not rotate: {other:?}")),
    }
}
