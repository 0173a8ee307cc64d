//! The one place where grant store calls are measured: a wrapper the server puts around its
//! store, recording every call's duration and failure (see [`crate::metrics`]).

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use super::{
    AccessGrant, GrantId, GrantStore, NewCode, RedeemCode, Redeemed, RotateRefresh, Rotated,
    StoreError, TokenHash,
};
use crate::metrics::store_call;

/// A store whose calls are timed and whose failures are counted, labelled with the inner
/// store's [`backend`](GrantStore::backend).
#[derive(Debug)]
pub(crate) struct Metered {
    inner: Arc<dyn GrantStore>,
    backend: &'static str,
}

impl Metered {
    /// Wraps `inner`.
    pub(crate) fn wrap(inner: Arc<dyn GrantStore>) -> Arc<dyn GrantStore> {
        let backend = inner.backend();
        Arc::new(Self { inner, backend })
    }
}

#[async_trait]
impl GrantStore for Metered {
    async fn put_code(&self, code: NewCode) -> Result<(), StoreError> {
        store_call(self.backend, "put_code", self.inner.put_code(code)).await
    }
    async fn redeem_code(&self, request: RedeemCode) -> Result<Redeemed, StoreError> {
        store_call(self.backend, "redeem_code", self.inner.redeem_code(request)).await
    }
    async fn rotate_refresh(&self, request: RotateRefresh) -> Result<Rotated, StoreError> {
        store_call(
            self.backend,
            "rotate_refresh",
            self.inner.rotate_refresh(request),
        )
        .await
    }
    async fn access_token(&self, token: &TokenHash) -> Result<Option<AccessGrant>, StoreError> {
        store_call(self.backend, "access_token", self.inner.access_token(token)).await
    }
    async fn revoke_grant(&self, grant_id: &GrantId) -> Result<(), StoreError> {
        store_call(
            self.backend,
            "revoke_grant",
            self.inner.revoke_grant(grant_id),
        )
        .await
    }
    async fn revoke_player(&self, player_id: &str) -> Result<usize, StoreError> {
        store_call(
            self.backend,
            "revoke_player",
            self.inner.revoke_player(player_id),
        )
        .await
    }
    async fn sweep_expired(&self, now: SystemTime) -> Result<usize, StoreError> {
        store_call(self.backend, "sweep_expired", self.inner.sweep_expired(now)).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        store_call(self.backend, "ping", self.inner.ping()).await
    }
    fn backend(&self) -> &'static str {
        self.backend
    }
}
