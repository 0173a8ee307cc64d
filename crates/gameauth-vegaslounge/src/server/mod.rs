//! The framework-free server core: authorize, exchange a code, refresh, account, logout.
//!
//! The token endpoint's half (client authentication, the code and refresh grants) is in
//! `grants`.

mod grants;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gameauth_core::{Clock, SystemClock};
use http::HeaderMap;

use crate::config::ServerConfig;
use crate::error::{ConfigError, OAuthError, Reason};
use crate::hooks::{Account, AccountProvider, PlayerSessions};
use crate::params::Params;
use crate::redirect::append_query;
use crate::registry::{ClientRegistry, MAX_CLIENT_ID_LEN, MAX_REDIRECT_URI_LEN, RegisteredClient};
use crate::store::{AccessGrant, Grant, GrantStore, MemoryStore, Metered, NewCode};
use crate::throttle::{MemoryThrottleStore, Throttle, ThrottleStore};
use crate::token::{
    AccessToken, AuthorizationCode, GrantId, RefreshToken, TokenHash, random_token,
};

/// Longest `state` echoed back; longer values are refused with `invalid_request`.
pub const MAX_STATE_LEN: usize = 2048;

/// What to do with the browser after `GET /oauth2.0/authorize`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthorizeOutcome {
    /// Redirect (302) to the client's redirect URI, carrying `code` or `error` (and `state`).
    Redirect(String),
    /// Nobody is logged in: redirect (302) to the operator's login page with `return_to`.
    Login(String),
    /// Show an error page and never redirect: the client or the redirect URI is not trusted.
    ErrorPage(OAuthError),
}

/// A successful token answer.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: AccessToken,
    /// The refresh token (a new one on every refresh).
    pub refresh_token: RefreshToken,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl TokenResponse {
    /// The JSON body: `access_token`, `token_type` (`Bearer`), `expires_in`, `refresh_token`.
    pub fn to_json(&self) -> String {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            access_token: &'a str,
            token_type: &'static str,
            expires_in: u64,
            refresh_token: &'a str,
        }
        let body = Body {
            access_token: self.access_token.expose_secret(),
            token_type: "Bearer",
            expires_in: self.expires_in,
            refresh_token: self.refresh_token.expose_secret(),
        };
        serde_json::to_string(&body).unwrap_or_else(|_| String::from("{}"))
    }
}

/// The answer of `GET /account`: the account and the grant the token belongs to.
#[derive(Debug, Clone)]
pub struct AccountInfo {
    /// The player's account.
    pub account: Account,
    /// The grant the access token belongs to.
    pub grant: Arc<Grant>,
}

impl AccountInfo {
    /// The JSON body (the grant id stands in for a missing `sessionId`).
    pub fn to_json(&self) -> String {
        self.account.to_json(self.grant.grant_id.as_str())
    }
}

/// What `GET /logout` did.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LogoutOutcome {
    /// Headers from the session hook (e.g. a cookie-clearing `Set-Cookie`).
    pub headers: HeaderMap,
    /// Where to send the browser, when a registered post-logout URI was asked for.
    pub redirect: Option<String>,
    /// How many grants were revoked (only with `revoke_on_logout`).
    pub revoked_grants: usize,
}

/// A client whose secret was checked. Only [`OAuthServer::authenticate_client`] makes one, so the
/// grant methods cannot be called for an unauthenticated client.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    client: Arc<RegisteredClient>,
}

impl AuthenticatedClient {
    /// The client's id.
    pub fn client_id(&self) -> &str {
        self.client.client_id()
    }
}

/// The operator-side OAuth 2.0 server for Vegas Lounge.
///
/// Holds the configuration, the host hooks, the grant store and the clock; every method is a
/// plain async function with typed results, usable from any HTTP framework (the `axum` feature
/// adds a ready router).
pub struct OAuthServer {
    config: ServerConfig,
    store: Arc<dyn GrantStore>,
    clients: Arc<dyn ClientRegistry>,
    sessions: Arc<dyn PlayerSessions>,
    accounts: Arc<dyn AccountProvider>,
    clock: Arc<dyn Clock>,
    throttle: Throttle,
}

impl std::fmt::Debug for OAuthServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthServer")
            .field("config", &self.config)
            .field("store", &self.store)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// Builds an [`OAuthServer`]; the three hooks are required.
#[derive(Default)]
pub struct OAuthServerBuilder {
    config: ServerConfig,
    store: Option<Arc<dyn GrantStore>>,
    clients: Option<Arc<dyn ClientRegistry>>,
    sessions: Option<Arc<dyn PlayerSessions>>,
    accounts: Option<Arc<dyn AccountProvider>>,
    clock: Option<Arc<dyn Clock>>,
    throttle_store: Option<Arc<dyn ThrottleStore>>,
}

impl std::fmt::Debug for OAuthServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthServerBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OAuthServerBuilder {
    /// The settings (default: [`ServerConfig::default`]).
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// The grant store (default: a fresh [`MemoryStore`]).
    ///
    /// A [`MemoryStore`] frees expired codes and tokens only when swept: run
    /// [`spawn_sweeper`](crate::store::spawn_sweeper) on [`OAuthServer::store`] for as long as
    /// the server runs (the crate example does), or memory grows with every unredeemed code.
    pub fn store(mut self, store: Arc<dyn GrantStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The client registry (required).
    pub fn clients(mut self, clients: Arc<dyn ClientRegistry>) -> Self {
        self.clients = Some(clients);
        self
    }

    /// The operator's browser sessions (required).
    pub fn sessions(mut self, sessions: Arc<dyn PlayerSessions>) -> Self {
        self.sessions = Some(sessions);
        self
    }

    /// The player directory (required).
    pub fn accounts(mut self, accounts: Arc<dyn AccountProvider>) -> Self {
        self.accounts = Some(accounts);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Where failed client authentications are counted (default: a fresh
    /// [`MemoryThrottleStore`]; share one store between instances behind one load balancer).
    pub fn throttle_store(mut self, store: Arc<dyn ThrottleStore>) -> Self {
        self.throttle_store = Some(store);
        self
    }

    /// Validates the settings and builds the server.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] in the cases of [`ServerConfig::validate`], or when the
    /// [client registry](Self::clients), the [player sessions](Self::sessions) or the
    /// [account provider](Self::accounts) hook is not set.
    pub fn build(self) -> Result<OAuthServer, ConfigError> {
        self.config.validate()?;
        let missing = |what: &str| ConfigError(format!("the {what} hook is required"));
        Ok(OAuthServer {
            throttle: Throttle::new(
                self.config.throttle,
                self.throttle_store
                    .unwrap_or_else(|| Arc::new(MemoryThrottleStore::new())),
            ),
            config: self.config,
            store: Metered::wrap(self.store.unwrap_or_else(|| Arc::new(MemoryStore::new()))),
            clients: self.clients.ok_or_else(|| missing("client registry"))?,
            sessions: self.sessions.ok_or_else(|| missing("player sessions"))?,
            accounts: self.accounts.ok_or_else(|| missing("account provider"))?,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
        })
    }
}

impl OAuthServer {
    /// A builder.
    pub fn builder() -> OAuthServerBuilder {
        OAuthServerBuilder::default()
    }

    /// The settings.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The grant store, as the server calls it: every call through it is measured (see
    /// [`metrics`](crate::metrics)), so run the sweeper on this one.
    pub fn store(&self) -> &Arc<dyn GrantStore> {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Handles `GET /oauth2.0/authorize?<raw_query>` for a browser request with `headers`.
    ///
    /// Unknown/missing client or a redirect URI that does not match a registered one (under
    /// [`ServerConfig::redirect_uri_policy`], byte for byte by default) →
    /// [`AuthorizeOutcome::ErrorPage`]. Once both are trusted, every other error redirects with
    /// `error=` (and `state`). Nobody logged in → [`AuthorizeOutcome::Login`].
    pub async fn authorize(&self, raw_query: &str, headers: &HeaderMap) -> AuthorizeOutcome {
        let params = Params::parse(raw_query.as_bytes());
        let client_id = match params.require("client_id", MAX_CLIENT_ID_LEN) {
            Ok(id) => id,
            Err(r) => return AuthorizeOutcome::ErrorPage(r.into()),
        };
        let client = match self.clients.client(client_id).await {
            Ok(Some(c)) => c,
            Ok(None) => return AuthorizeOutcome::ErrorPage(Reason::UnknownClient.into()),
            Err(e) => return AuthorizeOutcome::ErrorPage(e.into()),
        };
        let redirect_uri = match params.require("redirect_uri", MAX_REDIRECT_URI_LEN) {
            Ok(uri) if client.redirect_uri_allowed(uri, self.config.redirect_uri_policy) => uri,
            Ok(_) => return AuthorizeOutcome::ErrorPage(Reason::RedirectUriMismatch.into()),
            Err(r) => return AuthorizeOutcome::ErrorPage(r.into()),
        };
        let fail = |reason: Reason, state: Option<&str>| {
            let kind = OAuthError::new(reason).kind().as_str();
            let mut query = vec![("error", kind)];
            query.extend(state.map(|s| ("state", s)));
            AuthorizeOutcome::Redirect(append_query(redirect_uri, &query))
        };
        let state = match params.get("state", MAX_STATE_LEN) {
            Ok(s) => s,
            Err(r) => return fail(r, None),
        };
        if params.has_duplicates() {
            return fail(Reason::DuplicateParameter("parameter"), state);
        }
        match params.require("response_type", 64) {
            Ok("code") => {}
            Ok(_) => return fail(Reason::UnsupportedResponseType, state),
            Err(r) => return fail(r, state),
        }
        let pkce_challenge = match pkce_challenge(&params) {
            Ok(challenge) => challenge,
            Err(r) => return fail(r, state),
        };
        let player_id = match self.sessions.current_player(headers).await {
            Ok(Some(p)) => p,
            Ok(None) => {
                let return_to = format!("{}?{}", self.config.authorize_path, raw_query);
                return AuthorizeOutcome::Login(append_query(
                    &self.config.login_url,
                    &[("return_to", &return_to)],
                ));
            }
            Err(e) => return fail(OAuthError::from(e).reason(), state),
        };
        match self.accounts.account(&player_id).await {
            Ok(Some(a)) if !a.disabled => {}
            Ok(_) => return fail(Reason::AccessDenied, state),
            Err(e) => return fail(OAuthError::from(e).reason(), state),
        }
        match self
            .store_code(&client, redirect_uri, &player_id, pkce_challenge)
            .await
        {
            Ok(code) => {
                let mut query = vec![("code", code.expose_secret())];
                query.extend(state.map(|s| ("state", s)));
                AuthorizeOutcome::Redirect(append_query(redirect_uri, &query))
            }
            Err(e) => fail(e.reason(), state),
        }
    }

    /// Issues a code for `player_id` directly, for an operator-initiated launch
    /// (`https://fl.vegaslounge.live/?client_id=<client_id>&code=<code>`). The client must exist
    /// and `redirect_uri` must match one of its registered URIs.
    ///
    /// # Errors
    ///
    /// Returns an [`OAuthError`] whose [`reason`](OAuthError::reason) is
    /// * [`Reason::UnknownClient`] when no client has `client_id`;
    /// * [`Reason::RedirectUriMismatch`] when `redirect_uri` matches none of the client's
    ///   registered URIs under [`ServerConfig::redirect_uri_policy`];
    /// * [`Reason::HookFailed`] when the client registry fails;
    /// * [`Reason::StoreUnavailable`] when the grant store cannot store the code.
    pub async fn issue_code(
        &self,
        client_id: &str,
        redirect_uri: &str,
        player_id: &str,
    ) -> Result<AuthorizationCode, OAuthError> {
        let client = self
            .clients
            .client(client_id)
            .await?
            .ok_or(Reason::UnknownClient)?;
        if !client.redirect_uri_allowed(redirect_uri, self.config.redirect_uri_policy) {
            return Err(Reason::RedirectUriMismatch.into());
        }
        self.store_code(&client, redirect_uri, player_id, None)
            .await
    }

    async fn store_code(
        &self,
        client: &RegisteredClient,
        redirect_uri: &str,
        player_id: &str,
        pkce_challenge: Option<TokenHash>,
    ) -> Result<AuthorizationCode, OAuthError> {
        let code = random_token();
        let grant = Arc::new(Grant {
            grant_id: GrantId::random(),
            client_id: client.client_id().to_owned(),
            player_id: player_id.to_owned(),
        });
        self.store
            .put_code(NewCode {
                code: TokenHash::of(&code),
                grant,
                redirect_uri: redirect_uri.to_owned(),
                pkce_challenge,
                expires_at: self.clock.now() + self.config.code_ttl,
            })
            .await?;
        Ok(AuthorizationCode::new(code))
    }

    /// Checks an access token: one hash on the stack and one store lookup.
    ///
    /// # Errors
    ///
    /// Returns an [`OAuthError`] whose [`reason`](OAuthError::reason) is
    /// [`Reason::TokenInvalid`] when the token is unknown, revoked or past its retention,
    /// [`Reason::TokenExpired`] when it has expired, or [`Reason::StoreUnavailable`] when the
    /// grant store cannot answer.
    pub async fn verify_access_token(&self, token: &str) -> Result<AccessGrant, OAuthError> {
        let hash = TokenHash::of(token);
        let found = self
            .store
            .access_token(&hash)
            .await?
            .ok_or(Reason::TokenInvalid)?;
        if found.expires_at <= self.clock.now() {
            return Err(Reason::TokenExpired.into());
        }
        Ok(found)
    }

    /// Handles `GET /account`: the account of the token's player. When `client_id` is sent it
    /// must be the client the token was issued to.
    ///
    /// # Errors
    ///
    /// Returns an [`OAuthError`] with the reasons of
    /// [`verify_access_token`](Self::verify_access_token); [`Reason::TokenInvalid`] also when
    /// `client_id` is sent and is not the token's client, or the account provider has no account
    /// for the player; [`Reason::AccountDisabled`] when the account is disabled;
    /// [`Reason::HookFailed`] when the account provider fails.
    pub async fn account(
        &self,
        access_token: &str,
        client_id: Option<&str>,
    ) -> Result<AccountInfo, OAuthError> {
        let found = self.verify_access_token(access_token).await?;
        if client_id.is_some_and(|c| c != found.grant.client_id) {
            return Err(Reason::TokenInvalid.into());
        }
        let account = self
            .accounts
            .account(&found.grant.player_id)
            .await?
            .ok_or(Reason::TokenInvalid)?;
        if account.disabled {
            return Err(Reason::AccountDisabled.into());
        }
        Ok(AccountInfo {
            account,
            grant: found.grant,
        })
    }

    /// Handles `GET /logout?<raw_query>`: ends the operator's browser session through the hook,
    /// revokes the player's tokens when `revoke_on_logout` is set, and redirects only to a
    /// `redirect_uri` that matches one registered for the `client_id` given.
    ///
    /// # Errors
    ///
    /// Returns an [`OAuthError`] whose [`reason`](OAuthError::reason) is
    /// [`Reason::HookFailed`] when the session hook or the client registry fails, or
    /// [`Reason::StoreUnavailable`] when revoking the player's grants fails (only with
    /// `revoke_on_logout`). A missing, malformed or unregistered `client_id` or `redirect_uri` is
    /// not an error: the outcome then has no redirect.
    pub async fn logout(
        &self,
        raw_query: &str,
        headers: &HeaderMap,
    ) -> Result<LogoutOutcome, OAuthError> {
        let ended = self.sessions.end_session(headers).await?;
        let mut revoked_grants = 0;
        if self.config.revoke_on_logout
            && let Some(player) = &ended.player_id
        {
            revoked_grants = self.store.revoke_player(player).await?;
        }
        let params = Params::parse(raw_query.as_bytes());
        let redirect = match (
            params.get("client_id", MAX_CLIENT_ID_LEN),
            params.get("redirect_uri", MAX_REDIRECT_URI_LEN),
        ) {
            (Ok(Some(client_id)), Ok(Some(uri))) => self
                .clients
                .client(client_id)
                .await?
                .filter(|c| c.redirect_uri_allowed(uri, self.config.redirect_uri_policy))
                .map(|_| uri.to_owned()),
            _ => None,
        };
        Ok(LogoutOutcome {
            headers: ended.headers,
            redirect,
            revoked_grants,
        })
    }
}

/// The PKCE challenge of an authorize request (RFC 7636, RFC 9700): `code_challenge` with
/// `code_challenge_method=S256`, decoded to the SHA-256 it carries. A challenge with the method
/// `plain` or without a method (which means `plain`), a method without a challenge, or a
/// challenge that is not 43 base64url characters is `invalid_request`.
fn pkce_challenge(params: &Params<'_>) -> Result<Option<TokenHash>, Reason> {
    let challenge = params.get("code_challenge", 128)?;
    let method = params.get("code_challenge_method", 16)?;
    match (challenge, method) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(Reason::MissingParameter("code_challenge")),
        (Some(_), method) if method != Some("S256") => {
            Err(Reason::MalformedParameter("code_challenge_method"))
        }
        (Some(challenge), _) => {
            let mut digest = [0u8; 32];
            match URL_SAFE_NO_PAD.decode_slice(challenge, &mut digest) {
                Ok(32) if challenge.len() == 43 => Ok(Some(TokenHash::from_bytes(digest))),
                _ => Err(Reason::MalformedParameter("code_challenge")),
            }
        }
    }
}
