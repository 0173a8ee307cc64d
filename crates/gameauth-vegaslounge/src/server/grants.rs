//! Client authentication and the two grants of the token endpoint: exchanging a code and
//! rotating a refresh token.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use super::{AuthenticatedClient, OAuthServer, TokenResponse};
use crate::error::{OAuthError, Reason};
use crate::metrics;
use crate::request::{MAX_TOKEN_LEN, TokenGrant, TokenRequest};
use crate::seal;
use crate::store::{Grant, NewPair, RedeemCode, Redeemed, RotateRefresh, Rotated, SealedAnswer};
use crate::throttle::ThrottleKey;
use crate::token::{AccessToken, CodeVerifier, RefreshToken, TokenHash, random_tokens};

impl OAuthServer {
    /// Checks a client's credentials, with throttling of failures per client id (registered ids
    /// only) and per caller IP: 429 with a retry time once a key is at its limit.
    ///
    /// The attempt reserves its place in the counts before the secret is checked and gives it
    /// back when the secret is right, so concurrent guesses never get more checks than the limit.
    ///
    /// # Errors
    ///
    /// Returns an [`OAuthError`] whose [`reason`](OAuthError::reason) is
    /// * [`Reason::Throttled`], with the time to wait, when `caller_ip` or `client_id` already
    ///   holds the configured number of attempts inside the current window (the reservation is
    ///   made first, so the secret is not checked);
    /// * [`Reason::ClientAuthenticationFailed`] when the client id is unknown or the secret is
    ///   wrong (not told apart); the reservation then stays as a failure for the caller IP and,
    ///   for a registered id, for the client;
    /// * [`Reason::HookFailed`] when the client registry fails;
    /// * [`Reason::StoreUnavailable`] when the throttle store fails.
    pub async fn authenticate_client(
        &self,
        client_id: &str,
        client_secret: &str,
        caller_ip: Option<IpAddr>,
    ) -> Result<AuthenticatedClient, OAuthError> {
        let now = self.clock.now();
        let client = self.clients.client(client_id).await?;
        let mut keys = Vec::with_capacity(2);
        keys.extend(caller_ip.map(ThrottleKey::Ip));
        if client.is_some() {
            // Only registered ids get a per-client counter, so random ids cannot grow the table;
            // the per-IP counter still applies.
            keys.push(ThrottleKey::Client(client_id.to_owned()));
        }
        if let Some(wait) = self.throttle.reserve(&keys, now).await? {
            return Err(Reason::Throttled(wait).into());
        }
        match client {
            Some(c) if c.verify_secret(client_secret) => {
                if let Err(e) = self.throttle.release(&keys, now).await {
                    // The client did authenticate; an unreleased place only makes the limit
                    // stricter until its window ends.
                    tracing::warn!(error = %e, "a throttle reservation could not be released");
                }
                Ok(AuthenticatedClient { client: c })
            }
            _ => Err(Reason::ClientAuthenticationFailed.into()),
        }
    }

    /// Handles a parsed token request: authenticates the client, then dispatches on the grant.
    ///
    /// # Errors
    ///
    /// Returns an [`OAuthError`] with the reasons of
    /// [`authenticate_client`](Self::authenticate_client); then
    /// [`Reason::UnsupportedGrantType`] for a grant type other than `authorization_code` and
    /// `refresh_token`, or the reasons of [`exchange_code`](Self::exchange_code) or
    /// [`refresh`](Self::refresh).
    pub async fn token(
        &self,
        request: &TokenRequest,
        caller_ip: Option<IpAddr>,
    ) -> Result<TokenResponse, OAuthError> {
        let client = self
            .authenticate_client(
                request.client_id(),
                request.client_secret().expose_secret(),
                caller_ip,
            )
            .await?;
        match request.grant() {
            TokenGrant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                self.exchange_code(
                    &client,
                    code.expose_secret(),
                    redirect_uri.as_deref(),
                    code_verifier.as_ref().map(CodeVerifier::expose_secret),
                )
                .await
            }
            TokenGrant::RefreshToken(token) => self.refresh(&client, token.expose_secret()).await,
            TokenGrant::Unsupported => Err(Reason::UnsupportedGrantType.into()),
        }
    }

    fn new_pair(&self, now: SystemTime) -> (AccessToken, RefreshToken, NewPair) {
        let [access, refresh] = random_tokens();
        let pair = NewPair {
            access: TokenHash::of(&access),
            access_expires_at: now + self.config.access_ttl,
            refresh: TokenHash::of(&refresh),
            refresh_expires_at: now + self.config.refresh_ttl,
        };
        (AccessToken::new(access), RefreshToken::new(refresh), pair)
    }

    /// Redeems an authorization code (single use, bound to the client, to the redirect URI
    /// when one is sent, and to its PKCE challenge: a code issued with `code_challenge` needs
    /// the matching `code_verifier`, and a verifier for a code issued without one is refused,
    /// `invalid_grant` either way). A replayed code fails and revokes every token issued from it. A code of a
    /// player who was disabled since the authorization fails (1005) and its grant is revoked.
    ///
    /// # Errors
    ///
    /// Returns an [`OAuthError`] whose [`reason`](OAuthError::reason) is
    /// * [`Reason::ParameterTooLong`] (`code`) when `code` is longer than
    ///   [`MAX_TOKEN_LEN`];
    /// * [`Reason::CodeInvalid`] when the code is unknown (or its record was dropped);
    /// * [`Reason::CodeExpired`] when it expired;
    /// * [`Reason::CodeMismatch`] when it was issued to another client or, when `redirect_uri`
    ///   is sent, for another redirect URI (the code stays unused);
    /// * [`Reason::CodeReplayed`] when it was already used: the grant and every token issued
    ///   from it are revoked;
    /// * [`Reason::PkceMismatch`] when the code was issued with a `code_challenge` and
    ///   `code_verifier` is missing or does not match, or a verifier is sent for a code issued
    ///   without one (the code stays usable with the right verifier);
    /// * [`Reason::AccountDisabled`] when the player was disabled since the authorization: the
    ///   grant is revoked;
    /// * [`Reason::StoreUnavailable`] when the grant store cannot answer.
    pub async fn exchange_code(
        &self,
        client: &AuthenticatedClient,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        if code.len() > MAX_TOKEN_LEN {
            return Err(Reason::ParameterTooLong("code").into());
        }
        if code_verifier.is_some_and(|v| !is_code_verifier(v)) {
            return Err(Reason::PkceMismatch.into());
        }
        let now = self.clock.now();
        let (access_token, refresh_token, pair) = self.new_pair(now);
        let outcome = self
            .store
            .redeem_code(RedeemCode {
                code: TokenHash::of(code),
                client_id: client.client_id().to_owned(),
                redirect_uri: redirect_uri.map(str::to_owned),
                pkce_verifier: code_verifier.map(TokenHash::of),
                now,
                pair,
            })
            .await?;
        match outcome {
            Redeemed::Issued(grant) => {
                self.require_enabled_player(&grant, Reason::CodeInvalid)
                    .await?;
                metrics::count(metrics::GRANTS_ISSUED_TOTAL);
                Ok(TokenResponse {
                    access_token,
                    refresh_token,
                    expires_in: self.config.access_ttl.as_secs(),
                })
            }
            Redeemed::NotFound => Err(Reason::CodeInvalid.into()),
            Redeemed::Expired => Err(Reason::CodeExpired.into()),
            Redeemed::Mismatch => Err(Reason::CodeMismatch.into()),
            Redeemed::PkceMismatch => Err(Reason::PkceMismatch.into()),
            Redeemed::Replayed => {
                metrics::count(metrics::CODE_REPLAYS_TOTAL);
                tracing::warn!(
                    client_id = client.client_id(),
                    "authorization code replayed; grant revoked"
                );
                Err(Reason::CodeReplayed.into())
            }
        }
    }

    /// Rotates a refresh token: the old refresh token and its access token die. The same
    /// request repeated within the grace window gets the same answer; reuse after it revokes
    /// the whole grant. A disabled player's grant does not refresh: it fails (1005) and the
    /// grant is revoked.
    ///
    /// # Errors
    ///
    /// Returns an [`OAuthError`] whose [`reason`](OAuthError::reason) is
    /// * [`Reason::ParameterTooLong`] (`refresh_token`) when the token is longer than
    ///   [`MAX_TOKEN_LEN`];
    /// * [`Reason::RefreshTokenInvalid`] when it is unknown or its grant was revoked;
    /// * [`Reason::RefreshTokenExpired`] when it expired;
    /// * [`Reason::RefreshTokenMismatch`] when it belongs to another client (nothing changes);
    /// * [`Reason::RefreshTokenReused`] when an already rotated token comes back after the grace
    ///   window or after its successor was used: the whole grant is revoked;
    /// * [`Reason::AccountDisabled`] when the player was disabled: the grant is revoked;
    /// * [`Reason::StoreUnavailable`] when the grant store cannot answer;
    /// * [`Reason::Internal`] when a repeat inside the grace window finds a stored answer that
    ///   does not open with this token or does not match the stored access token.
    pub async fn refresh(
        &self,
        client: &AuthenticatedClient,
        refresh_token: &str,
    ) -> Result<TokenResponse, OAuthError> {
        if refresh_token.len() > MAX_TOKEN_LEN {
            return Err(Reason::ParameterTooLong("refresh_token").into());
        }
        let now = self.clock.now();
        let (access_token, new_refresh, pair) = self.new_pair(now);
        let sealed = SealedAnswer(
            seal::seal(
                refresh_token,
                access_token.expose_secret(),
                new_refresh.expose_secret(),
            )
            .ok_or(Reason::Internal)?,
        );
        let outcome = self
            .store
            .rotate_refresh(RotateRefresh {
                refresh: TokenHash::of(refresh_token),
                client_id: client.client_id().to_owned(),
                now,
                grace: self.config.refresh_grace,
                pair,
                sealed,
            })
            .await?;
        match outcome {
            Rotated::Rotated(grant) => {
                self.require_enabled_player(&grant, Reason::RefreshTokenInvalid)
                    .await?;
                metrics::count(metrics::REFRESHES_TOTAL);
                Ok(TokenResponse {
                    access_token,
                    refresh_token: new_refresh,
                    expires_in: self.config.access_ttl.as_secs(),
                })
            }
            Rotated::Repeat {
                grant,
                sealed,
                access,
                access_expires_at,
            } => {
                self.require_enabled_player(&grant, Reason::RefreshTokenInvalid)
                    .await?;
                let (a, r) = seal::open(refresh_token, &sealed.0)
                    .filter(|(a, _)| TokenHash::of(a) == access)
                    .ok_or(Reason::Internal)?;
                metrics::count(metrics::REFRESHES_TOTAL);
                Ok(TokenResponse {
                    access_token: AccessToken::new(a),
                    refresh_token: RefreshToken::new(r),
                    expires_in: remaining_secs(access_expires_at, now),
                })
            }
            Rotated::NotFound => Err(Reason::RefreshTokenInvalid.into()),
            Rotated::Expired => Err(Reason::RefreshTokenExpired.into()),
            Rotated::Mismatch => Err(Reason::RefreshTokenMismatch.into()),
            Rotated::ReuseDetected => {
                metrics::count(metrics::REFRESH_REUSE_TOTAL);
                tracing::warn!(
                    client_id = client.client_id(),
                    "refresh token reused; grant revoked"
                );
                Err(Reason::RefreshTokenReused.into())
            }
        }
    }

    /// Refuses to hand out tokens of a grant whose player is disabled (1005) or no longer in the
    /// directory (`unknown`, Vegas Lounge 1001), and revokes the grant, so it cannot be refreshed
    /// again even if the player is re-enabled. A directory failure answers 503 and keeps the grant:
    /// a refresh retried inside the grace window gets the same answer once the directory is back.
    async fn require_enabled_player(
        &self,
        grant: &Grant,
        unknown: Reason,
    ) -> Result<(), OAuthError> {
        let refused = match self.accounts.account(&grant.player_id).await? {
            Some(account) if !account.disabled => return Ok(()),
            Some(_) => Reason::AccountDisabled,
            None => unknown,
        };
        self.store.revoke_grant(&grant.grant_id).await?;
        tracing::info!(
            client_id = grant.client_id.as_str(),
            "grant of a disabled or unknown player revoked"
        );
        Err(refused.into())
    }
}

/// RFC 7636 §4.1: 43 to 128 characters of `A-Z a-z 0-9 - . _ ~`.
fn is_code_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn remaining_secs(until: SystemTime, now: SystemTime) -> u64 {
    until
        .duration_since(now)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}
