//! `grant_type=refresh_token` on `/oauth2.0/refresh` and `/oauth2.0/token`.

use std::sync::Arc;

use crate::{
    Harness, OTHER_CLIENT, OTHER_SECRET, assert_vl_error, body_json, form_post, refresh_form,
};

async fn refresh_on(h: &Harness, path: &str, refresh: &str) -> http::Response<bytes::Bytes> {
    h.send(form_post(path, &refresh_form(refresh))).await
}

#[tokio::test]
async fn refresh_rotates_and_kills_the_old_pair_on_both_paths() {
    for path in ["/oauth2.0/refresh", "/oauth2.0/token"] {
        let h = Harness::new();
        let (access, refresh) = h.tokens().await;
        let response = refresh_on(&h, path, &refresh).await;
        assert_eq!(response.status(), 200, "{path}");
        let json = body_json(&response);
        let new_access = json["access_token"].as_str().unwrap();
        let new_refresh = json["refresh_token"].as_str().unwrap();
        assert_ne!(new_access, access);
        assert_ne!(new_refresh, refresh, "a new refresh token every time");
        assert_eq!(json["expires_in"], 3600);
        assert_eq!(json["token_type"], "Bearer");
        assert_vl_error(&h.account(&access).await, 401, 1001);
        assert_eq!(h.account(new_access).await.status(), 200);
        h.advance(11);
        assert_eq!(refresh_on(&h, path, new_refresh).await.status(), 200);
    }
}

#[tokio::test]
async fn repeat_inside_the_grace_window_gets_the_same_answer() {
    let h = Harness::new();
    let (_, refresh) = h.tokens().await;
    let first = body_json(&refresh_on(&h, "/oauth2.0/refresh", &refresh).await);
    h.advance(9);
    let second = refresh_on(&h, "/oauth2.0/refresh", &refresh).await;
    assert_eq!(second.status(), 200);
    let second = body_json(&second);
    assert_eq!(second["access_token"], first["access_token"]);
    assert_eq!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(
        second["expires_in"], 3591,
        "the remaining lifetime of the same token"
    );
    let access = second["access_token"].as_str().unwrap();
    assert_eq!(h.account(access).await.status(), 200);
}

#[tokio::test]
async fn reuse_after_the_grace_window_revokes_the_grant() {
    let h = Harness::new();
    let (_, refresh) = h.tokens().await;
    let rotated = body_json(&refresh_on(&h, "/oauth2.0/refresh", &refresh).await);
    h.advance(10);
    assert_vl_error(
        &refresh_on(&h, "/oauth2.0/refresh", &refresh).await,
        401,
        1001,
    );
    let access = rotated["access_token"].as_str().unwrap();
    let new_refresh = rotated["refresh_token"].as_str().unwrap();
    assert_vl_error(&h.account(access).await, 401, 1001);
    assert_vl_error(
        &refresh_on(&h, "/oauth2.0/refresh", new_refresh).await,
        401,
        1001,
    );
}

#[tokio::test]
async fn grace_window_is_configurable() {
    let h = Harness::with(|c| c.refresh_grace = std::time::Duration::ZERO);
    let (_, refresh) = h.tokens().await;
    assert_eq!(
        refresh_on(&h, "/oauth2.0/refresh", &refresh).await.status(),
        200
    );
    assert_vl_error(
        &refresh_on(&h, "/oauth2.0/refresh", &refresh).await,
        401,
        1001,
    );
}

#[tokio::test]
async fn concurrent_refreshes_never_yield_two_live_pairs() {
    let h = Arc::new(Harness::new());
    let (_, refresh) = h.tokens().await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let h = Arc::clone(&h);
            let refresh = refresh.clone();
            tokio::spawn(async move {
                let r = refresh_on(&h, "/oauth2.0/refresh", &refresh).await;
                assert_eq!(r.status(), 200);
                body_json(&r)
            })
        })
        .collect();
    let mut pairs = std::collections::HashSet::new();
    for t in tasks {
        let json = t.await.unwrap();
        pairs.insert((
            json["access_token"].as_str().unwrap().to_owned(),
            json["refresh_token"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(pairs.len(), 1, "every concurrent refresh got the same pair");
}

#[tokio::test]
async fn refresh_token_is_bound_to_its_client() {
    let h = Harness::new();
    let (access, refresh) = h.tokens().await;
    let form = format!(
        "grant_type=refresh_token&refresh_token={refresh}&client_id={OTHER_CLIENT}&client_secret={OTHER_SECRET}"
    );
    assert_vl_error(
        &h.send(form_post("/oauth2.0/refresh", &form)).await,
        401,
        1001,
    );
    assert_eq!(
        h.account(&access).await.status(),
        200,
        "nothing was revoked"
    );
    assert_eq!(
        refresh_on(&h, "/oauth2.0/refresh", &refresh).await.status(),
        200
    );
}

#[tokio::test]
async fn refresh_token_expires_after_its_ttl() {
    let h = Harness::new();
    let (_, refresh) = h.tokens().await;
    h.advance(30 * 86_400);
    assert_vl_error(
        &refresh_on(&h, "/oauth2.0/refresh", &refresh).await,
        401,
        1001,
    );
}

#[tokio::test]
async fn access_token_is_not_a_refresh_token() {
    let h = Harness::new();
    let (access, _) = h.tokens().await;
    assert_vl_error(
        &refresh_on(&h, "/oauth2.0/refresh", &access).await,
        401,
        1001,
    );
}

#[tokio::test]
async fn a_disabled_players_grant_does_not_refresh_and_is_revoked() {
    let h = Harness::new();
    let (access, refresh) = h.tokens().await;
    h.directory.set_disabled(crate::PLAYER, true);
    assert_vl_error(
        &refresh_on(&h, "/oauth2.0/refresh", &refresh).await,
        401,
        1005,
    );
    // The grant is gone at once: inside the grace window the same request is not answered with
    // the pair the refused rotation made.
    assert_vl_error(
        &refresh_on(&h, "/oauth2.0/refresh", &refresh).await,
        401,
        1001,
    );
    // The grant is revoked: re-enabling the player does not bring it back.
    h.directory.set_disabled(crate::PLAYER, false);
    h.advance(11);
    assert_vl_error(
        &refresh_on(&h, "/oauth2.0/refresh", &refresh).await,
        401,
        1001,
    );
    assert_vl_error(&h.account(&access).await, 401, 1001);
}

#[tokio::test]
async fn a_grace_window_repeat_after_the_player_was_disabled_is_refused() {
    let h = Harness::new();
    let (_, refresh) = h.tokens().await;
    let first = refresh_on(&h, "/oauth2.0/refresh", &refresh).await;
    assert_eq!(first.status(), 200);
    let new_access = body_json(&first)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    h.directory.set_disabled(crate::PLAYER, true);
    assert_vl_error(
        &refresh_on(&h, "/oauth2.0/refresh", &refresh).await,
        401,
        1005,
    );
    h.directory.set_disabled(crate::PLAYER, false);
    assert_vl_error(&h.account(&new_access).await, 401, 1001);
}

/// A store that flips one bit of every sealed grace-window answer it returns.
#[derive(Debug)]
struct TamperingStore(gameauth_vegaslounge::MemoryStore);

#[gameauth_vegaslounge::async_trait]
impl gameauth_vegaslounge::GrantStore for TamperingStore {
    async fn put_code(
        &self,
        code: gameauth_vegaslounge::store::NewCode,
    ) -> Result<(), gameauth_vegaslounge::StoreError> {
        self.0.put_code(code).await
    }
    async fn redeem_code(
        &self,
        request: gameauth_vegaslounge::store::RedeemCode,
    ) -> Result<gameauth_vegaslounge::store::Redeemed, gameauth_vegaslounge::StoreError> {
        self.0.redeem_code(request).await
    }
    async fn rotate_refresh(
        &self,
        request: gameauth_vegaslounge::store::RotateRefresh,
    ) -> Result<gameauth_vegaslounge::store::Rotated, gameauth_vegaslounge::StoreError> {
        match self.0.rotate_refresh(request).await? {
            gameauth_vegaslounge::store::Rotated::Repeat {
                grant,
                mut sealed,
                access,
                access_expires_at,
            } => {
                let last = sealed.0.len() - 1;
                sealed.0[last] ^= 0x01;
                Ok(gameauth_vegaslounge::store::Rotated::Repeat {
                    grant,
                    sealed,
                    access,
                    access_expires_at,
                })
            }
            other => Ok(other),
        }
    }
    async fn access_token(
        &self,
        token: &gameauth_vegaslounge::store::TokenHash,
    ) -> Result<Option<gameauth_vegaslounge::store::AccessGrant>, gameauth_vegaslounge::StoreError>
    {
        self.0.access_token(token).await
    }
    async fn revoke_grant(
        &self,
        grant_id: &gameauth_vegaslounge::store::GrantId,
    ) -> Result<(), gameauth_vegaslounge::StoreError> {
        self.0.revoke_grant(grant_id).await
    }
    async fn revoke_player(
        &self,
        player_id: &str,
    ) -> Result<usize, gameauth_vegaslounge::StoreError> {
        self.0.revoke_player(player_id).await
    }
    async fn sweep_expired(
        &self,
        now: std::time::SystemTime,
    ) -> Result<usize, gameauth_vegaslounge::StoreError> {
        self.0.sweep_expired(now).await
    }
}

#[tokio::test]
async fn a_sealed_grace_answer_modified_in_the_store_never_opens() {
    let h = Harness::with_store(
        Arc::new(TamperingStore(gameauth_vegaslounge::MemoryStore::new())),
        |_| {},
    );
    let (_, refresh) = h.tokens().await;
    assert_eq!(
        refresh_on(&h, "/oauth2.0/refresh", &refresh).await.status(),
        200
    );
    // The repeat inside the window would get the sealed pair; its tag no longer verifies, so
    // the server answers that it cannot serve the request rather than with altered tokens.
    assert_vl_error(
        &refresh_on(&h, "/oauth2.0/refresh", &refresh).await,
        503,
        1003,
    );
}
