//! The provider-neutral [`TokenIssuer`] over [`Client::authorize`].

use gameauth_core::{AuthError, IssueRequest, IssuedToken, TokenIssuer, async_trait};

use crate::authorize::AuthorizeRequest;
use crate::client::Client;

/// Name under which this provider identifies itself.
pub const PROVIDER: &str = "omg";

/// `player_id` → `uname`, `display_name` → `nickname` (required), attribute `cid` → `cid`.
/// The issued token carries its 7-day expiry and the attributes `balance` and `app_id` exactly
/// as OMG sent them.
///
/// # Errors
///
/// [`AuthError::InvalidInput`] when `display_name` is missing or the attribute `cid` is not an
/// integer; otherwise the errors of [`Client::authorize`], each converted into the
/// [`AuthError`] variant of the same name ([`AuthError::Rejected`] keeps OMG's numeric code).
#[async_trait]
impl TokenIssuer for Client {
    fn provider(&self) -> &str {
        PROVIDER
    }

    async fn issue(&self, request: &IssueRequest) -> Result<IssuedToken, AuthError> {
        let request = AuthorizeRequest::from_issue_request(request)?;
        let player = self.authorize(&request).await?;
        Ok(IssuedToken::new(player.token)
            .with_expires_at(player.expires_at)
            .with_attribute("balance", player.balance)
            .with_attribute("app_id", player.app_id))
    }
}
