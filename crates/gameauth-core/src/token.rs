//! The provider-neutral traits and the normalised types they speak.
//!
//! Each provider crate has a rich typed API of its own; these traits are thin adapters over it so
//! an operator can hold `Arc<dyn TokenIssuer>` / `Arc<dyn TokenVerifier>` for any provider, and so
//! the operator's own session store can be plugged into inbound verification (OMG
//! `verify_session`, Credit Pay's `token` header) as a `TokenVerifier`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::error::AuthError;
use crate::secret::{IssuedSecret, PlayerToken};

/// Obtains a token (or one-time code) for a player from a provider.
#[async_trait]
pub trait TokenIssuer: Send + Sync {
    /// A short stable name of the provider, e.g. `"omg"`.
    fn provider(&self) -> &str;

    /// Issues a token for the player described by `request`.
    ///
    /// # Errors
    ///
    /// Returns an [`AuthError`] when no token was issued; each implementation documents which
    /// variants it returns, with these meanings:
    /// * [`AuthError::InvalidInput`]: the request cannot be valid; refused before anything is
    ///   sent;
    /// * [`AuthError::Config`]: the issuer is misconfigured, or the provider refused its
    ///   credentials;
    /// * [`AuthError::Rejected`]: the provider said no, with its code;
    /// * [`AuthError::Transport`], [`AuthError::HttpStatus`] or [`AuthError::Unavailable`]: the
    ///   provider did not answer, or answered with a failure status;
    /// * [`AuthError::Decode`] or [`AuthError::Signature`]: the answer is not the documented one,
    ///   or not authentic;
    /// * [`AuthError::OutcomeUnknown`]: the request was sent but no answer arrived, so a token
    ///   may have been issued; reconcile before repeating.
    async fn issue(&self, request: &IssueRequest) -> Result<IssuedToken, AuthError>;
}

/// Checks a token a player presents and says who the player is.
#[async_trait]
pub trait TokenVerifier: Send + Sync {
    /// A short stable name of the provider (or `"operator"` for the operator's own sessions).
    fn provider(&self) -> &str;

    /// Verifies `request.token`. A definitive "no" is [`AuthError::Rejected`]; an outage of the
    /// verifier's own dependencies is [`AuthError::Store`] or [`AuthError::Unavailable`], which
    /// callers must never turn into a rejection.
    ///
    /// # Errors
    ///
    /// Returns an [`AuthError`] when the player is not verified; each implementation documents
    /// which variants it returns, with these meanings:
    /// * [`AuthError::Rejected`]: the token is definitively not valid, with the code that says
    ///   so;
    /// * [`AuthError::InvalidInput`]: the request cannot be valid (missing context such as a
    ///   required player id, a malformed value); refused before anything is sent;
    /// * [`AuthError::Store`], [`AuthError::Unavailable`], [`AuthError::Transport`] or
    ///   [`AuthError::HttpStatus`]: a dependency of the verifier failed; the token may be valid;
    /// * [`AuthError::Decode`] or [`AuthError::Signature`]: a provider's answer is not the
    ///   documented one, or not authentic;
    /// * [`AuthError::Config`]: the verifier is misconfigured, or the provider refused its
    ///   credentials.
    async fn verify(&self, request: &VerifyRequest) -> Result<VerifiedPlayer, AuthError>;
}

/// What an issuer needs to know about the player.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssueRequest {
    /// The operator's unique id of the player (OMG `uname`, Credit Pay `customer_no`).
    pub player_id: String,
    /// A display name (OMG `nickname`).
    pub display_name: Option<String>,
    /// The player's IP address (Credit Pay `client_ip`).
    pub client_ip: Option<IpAddr>,
    /// The operator's own token for the player, which the provider relays back later
    /// (Credit Pay `customer_token`).
    pub player_token: Option<PlayerToken>,
    /// When `player_token` expires.
    pub player_token_expires_at: Option<SystemTime>,
    /// Provider-specific extra fields by name (e.g. `cid`, `session_sign`, `callback_url`).
    pub attributes: BTreeMap<String, String>,
}

impl IssueRequest {
    /// A request for `player_id` with nothing else set.
    pub fn new(player_id: impl Into<String>) -> Self {
        Self {
            player_id: player_id.into(),
            display_name: None,
            client_ip: None,
            player_token: None,
            player_token_expires_at: None,
            attributes: BTreeMap::new(),
        }
    }

    /// Sets the display name.
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Sets the player's IP address.
    pub fn with_client_ip(mut self, ip: IpAddr) -> Self {
        self.client_ip = Some(ip);
        self
    }

    /// Sets the operator's own token for the player and its expiry.
    pub fn with_player_token(mut self, token: PlayerToken, expires_at: SystemTime) -> Self {
        self.player_token = Some(token);
        self.player_token_expires_at = Some(expires_at);
        self
    }

    /// Sets a provider-specific attribute.
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }
}

/// What an issuer obtained.
///
/// `Debug` redacts the token and the URL: a cashier or launch URL can embed the one-time code
/// or the player token.
#[derive(Clone)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The token or one-time code.
    pub token: IssuedSecret,
    /// When it stops being valid, when known.
    pub expires_at: Option<SystemTime>,
    /// Where to send the player's browser, when the provider returns a URL.
    pub url: Option<String>,
    /// Provider-specific extra values (e.g. `balance`, `app_id`), exact as received.
    pub attributes: BTreeMap<String, String>,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &self.token)
            .field("expires_at", &self.expires_at)
            .field("url", &self.url.as_ref().map(|_| "[redacted]"))
            .field("attributes", &self.attributes)
            .finish()
    }
}

impl IssuedToken {
    /// A token with nothing else known.
    pub fn new(token: IssuedSecret) -> Self {
        Self {
            token,
            expires_at: None,
            url: None,
            attributes: BTreeMap::new(),
        }
    }

    /// Sets the expiry.
    pub fn with_expires_at(mut self, at: SystemTime) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Sets the URL.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sets an attribute.
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }
}

/// A token to verify, with whatever context the provider supplies.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifyRequest {
    /// The presented token.
    pub token: PlayerToken,
    /// The player id the token is claimed for, when the protocol sends one (Hive `player_id`).
    pub player_id: Option<String>,
    /// The device id, when the protocol sends one (Hive `did`).
    pub device_id: Option<String>,
    /// A second credential from the same client login, when the protocol needs one: Hive v2's
    /// OAuth 2.0 access token of the player (`X-Access-Token`).
    pub access_token: Option<PlayerToken>,
    /// The player's IP address, when known.
    pub client_ip: Option<IpAddr>,
    /// Provider-specific extra fields (e.g. OMG `game_id`, Hive `include_fields`).
    pub attributes: BTreeMap<String, String>,
}

impl VerifyRequest {
    /// A request to verify `token` with no further context.
    pub fn new(token: PlayerToken) -> Self {
        Self {
            token,
            player_id: None,
            device_id: None,
            access_token: None,
            client_ip: None,
            attributes: BTreeMap::new(),
        }
    }

    /// Sets the claimed player id.
    pub fn with_player_id(mut self, id: impl Into<String>) -> Self {
        self.player_id = Some(id.into());
        self
    }

    /// Sets the device id.
    pub fn with_device_id(mut self, id: impl Into<String>) -> Self {
        self.device_id = Some(id.into());
        self
    }

    /// Sets the second credential of the client login (Hive: the player's access token).
    pub fn with_access_token(mut self, token: PlayerToken) -> Self {
        self.access_token = Some(token);
        self
    }

    /// Sets the player's IP address.
    pub fn with_client_ip(mut self, ip: IpAddr) -> Self {
        self.client_ip = Some(ip);
        self
    }

    /// Sets a provider-specific attribute.
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }
}

/// A player whose token verified.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedPlayer {
    /// The player's id (operator id, Hive `player_id`, OMG `uname`).
    pub player_id: String,
    /// Display name, when known.
    pub display_name: Option<String>,
    /// Balance as an exact decimal string, when the verifier knows it.
    pub balance: Option<String>,
    /// Currency (ISO 4217), when known.
    pub currency: Option<String>,
    /// Provider-specific extra values, exact as received.
    pub attributes: BTreeMap<String, String>,
}

impl VerifiedPlayer {
    /// A player known only by id.
    pub fn new(player_id: impl Into<String>) -> Self {
        Self {
            player_id: player_id.into(),
            display_name: None,
            balance: None,
            currency: None,
            attributes: BTreeMap::new(),
        }
    }

    /// Sets the display name.
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Sets the balance (an exact decimal string).
    pub fn with_balance(mut self, balance: impl Into<String>) -> Self {
        self.balance = Some(balance.into());
        self
    }

    /// Sets the currency.
    pub fn with_currency(mut self, currency: impl Into<String>) -> Self {
        self.currency = Some(currency.into());
        self
    }

    /// Sets an attribute.
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    struct Never;

    #[async_trait]
    impl TokenVerifier for Never {
        fn provider(&self) -> &str {
            "never"
        }
        async fn verify(&self, _: &VerifyRequest) -> Result<VerifiedPlayer, AuthError> {
            Err(AuthError::rejected(1, "no"))
        }
    }

    #[async_trait]
    impl TokenIssuer for Never {
        fn provider(&self) -> &str {
            "never"
        }
        async fn issue(&self, _: &IssueRequest) -> Result<IssuedToken, AuthError> {
            Err(AuthError::rejected(1, "no"))
        }
    }

    #[test]
    fn issued_token_debug_redacts_the_token_and_the_url() {
        let issued = IssuedToken::new(IssuedSecret::new("sentinel-code".to_owned()))
            .with_url("https://cashier.example/oauth?ident_code=sentinel-code")
            .with_attribute("trace", "t-1");
        let debug = format!("{issued:?}");
        assert!(!debug.contains("sentinel"), "{debug}");
        assert!(debug.contains("url: Some(\"[redacted]\")"), "{debug}");
        assert!(debug.contains("t-1"), "{debug}");
    }

    #[tokio::test]
    async fn traits_are_dyn_compatible_in_a_registry() {
        let verifiers: Vec<Arc<dyn TokenVerifier>> = vec![Arc::new(Never)];
        let issuers: Vec<Arc<dyn TokenIssuer>> = vec![Arc::new(Never)];
        let err = verifiers[0]
            .verify(&VerifyRequest::new("t".into()))
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::Rejected { code: 1, .. }));
        assert_eq!(issuers[0].provider(), "never");
    }

    #[test]
    fn requests_do_not_print_tokens() {
        let r = VerifyRequest::new(PlayerToken::new("sentinel-token"));
        assert!(!format!("{r:?}").contains("sentinel"));
    }
}
