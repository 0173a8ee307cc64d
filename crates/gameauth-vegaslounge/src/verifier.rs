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

    /// Verifies an access token exactly as `GET /account` does: the token must be live and its
    /// player must be in the directory and enabled. The player is the grant's player; the
    /// attribute `client_id` names the client it was issued to. An expired token is rejected
    /// with Vegas Lounge's code 1004, a disabled player with 1005, anything else with 1001; a
    /// store or directory failure is [`AuthError::Store`], never a rejection.
    async fn verify(&self, request: &VerifyRequest) -> Result<VerifiedPlayer, AuthError> {
        match self.account(request.token.expose_secret(), None).await {
            Ok(found) => Ok(VerifiedPlayer::new(found.grant.player_id.clone())
                .with_attribute("client_id", found.grant.client_id.clone())),
            Err(e) if e.kind() == ErrorKind::ServerError => Err(AuthError::Store(e.to_string())),
            Err(e) => {
                let code = match e.reason() {
                    Reason::TokenExpired => 1004,
                    Reason::AccountDisabled => 1005,
                    _ => 1001,
                };
                Err(AuthError::rejected(code, e.to_string()))
            }
        }
    }
}
