//! The server's access-token check through the provider-neutral `TokenVerifier`.

use std::sync::Arc;

use crate::{CLIENT, DownStore, Harness, PLAYER};
use gameauth_core::{AuthError, PlayerToken, TokenVerifier, VerifyRequest};

#[tokio::test]
async fn a_live_access_token_verifies_as_its_player_through_the_core_trait() {
    let h = Harness::new();
    let (access, refresh) = h.tokens().await;
    let verifiers: Vec<Arc<dyn TokenVerifier>> = vec![h.server.clone()];
    let player = verifiers[0]
        .verify(&VerifyRequest::new(PlayerToken::new(access.clone())))
        .await
        .unwrap();
    assert_eq!(player.player_id, PLAYER);
    assert_eq!(player.attributes["client_id"], CLIENT);

    let refused = verifiers[0]
        .verify(&VerifyRequest::new(PlayerToken::new(refresh)))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, AuthError::Rejected { code: 1001, .. }),
        "{refused:?}"
    );

    h.advance(3600);
    let expired = verifiers[0]
        .verify(&VerifyRequest::new(PlayerToken::new(access)))
        .await
        .unwrap_err();
    assert!(
        matches!(expired, AuthError::Rejected { code: 1004, .. }),
        "{expired:?}"
    );
}

#[tokio::test]
async fn a_store_failure_is_a_store_error_never_a_rejection() {
    let h = Harness::with_store(Arc::new(DownStore), |_| {});
    let err = h
        .server
        .verify(&VerifyRequest::new(PlayerToken::new("anything")))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Store(_)), "{err:?}");
}

#[tokio::test]
async fn the_token_verifier_refuses_a_disabled_player_like_the_account_endpoint() {
    let h = Harness::new();
    let (access, _) = h.tokens().await;
    let request = VerifyRequest::new(PlayerToken::new(access.clone()));
    assert!(h.server.verify(&request).await.is_ok());
    h.directory.set_disabled(PLAYER, true);
    let refused = h.server.verify(&request).await.unwrap_err();
    assert!(
        matches!(refused, AuthError::Rejected { code: 1005, .. }),
        "{refused:?}"
    );
    crate::assert_vl_error(&h.account(&access).await, 401, 1005);
    h.directory.set_disabled(PLAYER, false);
    assert!(h.server.verify(&request).await.is_ok());
}
