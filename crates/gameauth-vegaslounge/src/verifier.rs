//! The access-token check as the provider-neutral [`TokenVerifier`].
//!
//! Lets an operator put its Vegas Lounge server next to other providers' verifiers, e.g. to check
//! a Vegas Lounge access token presented to another part of its backend.

use async_trait::async_trait;
use gameauth_core::{AuthError, TokenVerifier, VerifiedPlayer, VerifyRequest};

use crate::error::{ErrorKind, Reason};
use crate::server::OAuthServer;

#[async_trait]
impl TokenVerifier for OAuthServer {
    fn provider(&self) -> &str {
        "vegaslounge"
    }

    /// Verifies an access token. The player is the grant's player; the attribute `client_id`
    /// names the client it was issued to. An expired token is rejected with Vegas Lounge's code
    /// 1004, any other bad token with 1001; a store failure is [`AuthError::Store`], never a
    /// rejection.
    async fn verify(&self, request: &VerifyRequest) -> Result<VerifiedPlayer, AuthError> {
        match self
            .verify_access_token(request.token.expose_secret())
            .await
        {
            Ok(found) => Ok(VerifiedPlayer::new(found.grant.player_id.clone())
                .with_attribute("client_id", found.grant.client_id.clone())),
            Err(e) if e.kind() == ErrorKind::ServerError => Err(AuthError::Store(e.to_string())),
            Err(e) if e.reason() == Reason::TokenExpired => {
                Err(AuthError::rejected(1004, e.to_string()))
            }
            Err(e) => Err(AuthError::rejected(1001, e.to_string())),
        }
    }
}
