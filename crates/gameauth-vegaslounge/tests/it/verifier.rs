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
