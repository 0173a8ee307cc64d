//! The async Hive client and its builder: glue the pure request and answer modules to the call
//! engine, the token cache and primary → fallback routing.

pub(crate) mod builder;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use async_trait::async_trait;
use gameauth_core::outbound::{
    CallError, CallKind, CallPolicy, OutboundRequest, Route, execute_read,
};
use gameauth_core::resilience::{BreakerState, instant_after};
use gameauth_core::{AuthError, HttpTransport, TokenVerifier, VerifiedPlayer, VerifyRequest};
use secrecy::SecretString;

use crate::environment::ServedBy;
use crate::error::{AttemptFailure, Error, Unavailable};
use crate::idp::{self, IdpList};
use crate::oauth::TokenSource;
use crate::player_idps::{self, PlayerIdps, PlayerIdpsParams};
use crate::response::Envelope;
use crate::verify_token::{self, IncludeField, VerifiedToken, VerifyAccessToken, VerifyParams};

/// Default per-attempt timeout on the primary host.
pub const DEFAULT_PRIMARY_TIMEOUT: Duration = Duration::from_secs(2);
/// Default per-attempt timeout on the fallback host.
pub const DEFAULT_FALLBACK_TIMEOUT: Duration = Duration::from_secs(2);
/// Default overall deadline of one routed call (primary plus fallback).
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(4500);
/// Default per-attempt timeout of the server OAuth token request.
pub const DEFAULT_OAUTH_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(2500);
/// Default overall deadline of fetching the server OAuth token (both attempts).
pub const DEFAULT_OAUTH_DEADLINE: Duration = Duration::from_secs(5);

/// A Hive authentication client. Cheap to clone; clones share the token cache and the breaker.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

/// The `provider` label of this crate's metrics.
pub(crate) const PROVIDER: &str = "hive";

/// Timing of a primary → fallback call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeouts {
    pub(crate) primary: Duration,
    pub(crate) fallback: Duration,
    pub(crate) deadline: Duration,
}

pub(crate) struct Inner {
    pub(crate) appid: String,
    pub(crate) route: Route,
    pub(crate) timeouts: Timeouts,
    /// What v2 verification sends as `X-Access-Token`.
    pub(crate) verify_access_token: VerifyAccessToken,
    /// Bound of a whole call with the server token: token fetch, routing and the one repetition.
    pub(crate) call_deadline: Duration,
    pub(crate) tokens: Option<TokenSource>,
    pub(crate) certification_key: Option<SecretString>,
    pub(crate) transport: Arc<dyn HttpTransport>,
}

impl Client {
    /// A builder; see [`ClientBuilder`](crate::ClientBuilder).
    pub fn builder() -> crate::ClientBuilder {
        crate::ClientBuilder::default()
    }

    /// The app id this client verifies tokens for.
    pub fn appid(&self) -> &str {
        &self.inner.appid
    }

    /// What v2 verification sends as `X-Access-Token`.
    pub fn verify_access_token(&self) -> VerifyAccessToken {
        self.inner.verify_access_token
    }

    /// The state of the primary host's circuit breaker; `None` when there is no fallback host.
    pub fn breaker_state(&self) -> Option<BreakerState> {
        self.inner.route.breaker_state()
    }

    /// Verifies a player's login token with v2 (`/v2/game/token/get-token`).
    ///
    /// `Ok` only for `result_code == 0` in a well-formed answer. Every input is checked before
    /// anything is sent ([`Error::InvalidInput`]).
    ///
    /// By default ([`VerifyAccessToken::Player`]) the request carries the player's own access
    /// token from `params` and needs nothing else: one routed call (primary, then fallback)
    /// within the routing deadline ([`ClientBuilder::deadline`](crate::ClientBuilder::deadline),
    /// 4.5 s). Hive refusing that token (2499, or a failed `token_validation`) is
    /// [`Error::PlayerAccessTokenRejected`].
    ///
    /// With [`VerifyAccessToken::Server`] the request carries the cached server token; a 2499 or
    /// a failed `token_validation` makes the client fetch a new one and try once more, and the
    /// whole call, the token fetch and the repetition included, ends within the call deadline
    /// ([`ClientBuilder::call_deadline`](crate::ClientBuilder::call_deadline), 9.5 s).
    ///
    /// # Errors
    ///
    /// * [`Error::InvalidInput`] before anything is sent: the token is empty, `player_id` is
    ///   not positive, `did` is blank, a token has characters HTTP forbids in a header, or (with
    ///   [`VerifyAccessToken::Player`]) the access token is missing or empty, or (with
    ///   [`VerifyAccessToken::Server`]) one is given;
    /// * [`Error::Unavailable`] when no host gave a usable answer: the primary (or the
    ///   fallback, when there is one) failed with a transport error, a 5xx or 429, or a 200 that
    ///   is not JSON, was skipped by the open breaker, or the deadline left no time;
    /// * [`Error::HttpStatus`] when the answering host replied with another status than 200
    ///   (3xx, 4xx other than 429);
    /// * [`Error::Decode`] when the 200 body is not the documented envelope (a JSON object with
    ///   an integer `result_code`), or a success's `data` is present but not an object whose known
    ///   fields have their documented types;
    /// * [`Error::TokenRejected`] for any `result_code` other than 0 and 5001, and
    ///   [`Error::DistributedTokenInvalid`] for 5001;
    /// * with [`VerifyAccessToken::Player`]: [`Error::PlayerAccessTokenRejected`] when Hive
    ///   refuses the player's access token (2499, or a failed `token_validation`);
    /// * with [`VerifyAccessToken::Server`]:
    ///   - the errors of fetching the server token when none is usable (none cached, or Hive
    ///     refused the cached one): [`Error::OAuthRejected`] when `/oauth/token` answers a
    ///     non-zero code, [`Error::HttpStatus`] or [`Error::Decode`] as above (a success
    ///     without a non-empty `data.access_token` included), [`Error::Unavailable`] when
    ///     both attempts fail or the OAuth or call deadline passes, and
    ///     [`Error::InvalidInput`] when the issued token has characters HTTP forbids in a
    ///     header;
    ///   - [`Error::AccessTokenRejected`] when Hive refuses the server token (2499, or a
    ///     failed `token_validation`) again after a freshly fetched one.
    pub async fn verify_token(&self, params: &VerifyParams) -> Result<VerifiedToken, Error> {
        let mode = self.inner.verify_access_token;
        let prepared = verify_token::v2_request(&self.inner.appid, params, mode)?;
        let endpoint = "verify_v2";
        let interpret = |envelope: &Envelope, served_by| {
            verify_token::interpret(envelope, params.player_id, served_by)
        };
        match mode {
            VerifyAccessToken::Server => {
                self.call_with_server_token(endpoint, prepared, interpret)
                    .await
            }
            VerifyAccessToken::Player => {
                let (envelope, served_by) = self.send(endpoint, &prepared).await?;
                if let Some((code, message)) = envelope.access_token_invalid() {
                    return Err(Error::PlayerAccessTokenRejected {
                        code,
                        message,
                        served_by,
                    });
                }
                interpret(&envelope, served_by)
            }
        }
    }

    /// Lists the IdP accounts linked to a player with v2 (`/v2/game/player/get-idp`).
    ///
    /// Authorised by the server token, so the client needs client credentials; the call follows
    /// the server-token rules of [`verify_token`](Self::verify_token).
    ///
    /// # Errors
    ///
    /// * [`Error::InvalidInput`] when `player_id` is not positive, and [`Error::Config`]
    ///   when the client has no client credentials; both before anything is sent;
    /// * the errors of fetching the server token when none is usable (none cached, or Hive
    ///   refused the cached one): [`Error::OAuthRejected`] when `/oauth/token` answers a
    ///   non-zero code, [`Error::HttpStatus`] or [`Error::Decode`] as below (a success
    ///   without a non-empty `data.access_token` included), [`Error::Unavailable`] when both
    ///   attempts fail or the OAuth or call deadline passes, and [`Error::InvalidInput`] when
    ///   the issued token has characters HTTP forbids in a header;
    /// * [`Error::AccessTokenRejected`] when Hive refuses the server token (2499, or a
    ///   failed `token_validation`) again after a freshly fetched one;
    /// * [`Error::Unavailable`] when no host gave a usable answer: the primary (or the
    ///   fallback, when there is one) failed with a transport error, a 5xx or 429, or a 200 that
    ///   is not JSON, was skipped by the open breaker, or the deadline left no time;
    /// * [`Error::HttpStatus`] when the answering host replied with another status than 200
    ///   (3xx, 4xx other than 429);
    /// * [`Error::Decode`] when the 200 body is not the documented envelope (a JSON object with
    ///   an integer `result_code`), or a success's `data` is not a list of accounts of the
    ///   documented shape;
    /// * [`Error::IdpRejected`] for any other `result_code` than 0.
    pub async fn idp_list(&self, player_id: i64) -> Result<IdpList, Error> {
        let prepared = idp::v2_request(&self.inner.appid, player_id)?;
        self.call_with_server_token("idp_list_v2", prepared, idp::interpret)
            .await
    }

    /// Validates a player's login token and lists that player's IdP accounts in one call
    /// (`/server/player/get-idpuserid`).
    ///
    /// Needs no server credentials: the player's token is the authorisation. Routed like
    /// verification (primary, then fallback, one breaker). `Ok` only for `result_code == 0` with
    /// a well-formed list of this player's accounts; 7000 (the token does not match), 4000 and
    /// unknown codes are [`Error::PlayerIdpsRejected`].
    ///
    /// # Errors
    ///
    /// * [`Error::InvalidInput`] before anything is sent: the token is empty or has
    ///   characters HTTP forbids in a header, `player_id` is not positive, or `did` is blank;
    /// * [`Error::Unavailable`] when no host gave a usable answer: the primary (or the
    ///   fallback, when there is one) failed with a transport error, a 5xx or 429, or a 200 that
    ///   is not JSON, was skipped by the open breaker, or the deadline left no time;
    /// * [`Error::HttpStatus`] when the answering host replied with another status than 200
    ///   (3xx, 4xx other than 429);
    /// * [`Error::Decode`] when the 200 body is not the documented envelope (a JSON object with
    ///   an integer `result_code`), a success has no well-formed `data.list`, or an account of the
    ///   list belongs to another player;
    /// * [`Error::PlayerIdpsRejected`] for any other `result_code` than 0.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use gameauth_core::{HttpTransport, PlayerToken, TransportError};
    /// # use bytes::Bytes;
    /// use gameauth_hive::{Client, IdpIndex, PlayerIdpsParams};
    ///
    /// # let hive = |_: http::Request<Bytes>| async {
    /// #     let body = r#"{"result_code":0,"result_msg":"SUCCESS","data":{"list":[
    /// #         {"player_id":"21","idp_user_id":"68101398","idp_index":"1"}]}}"#;
    /// #     Ok::<_, TransportError>(http::Response::new(Bytes::from_static(body.as_bytes())))
    /// # };
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let client = Client::builder()
    ///     .primary_url("https://hive.example")
    ///     .appid("com.com2us.example.normal.freefull.google.global.android.common")
    /// #   .transport(Arc::new(hive) as Arc<dyn HttpTransport>)
    ///     .build()?;
    /// let params = PlayerIdpsParams::new(PlayerToken::new("token-from-the-game-client"), 21, "255764404509548");
    /// let idps = client.player_idps(&params).await?;
    /// assert_eq!(idps.accounts[0].idp_index, IdpIndex::HIVE);
    /// assert_eq!(idps.accounts[0].idp_index.name(), Some("HIVE"));
    /// # Ok::<_, gameauth_hive::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn player_idps(&self, params: &PlayerIdpsParams) -> Result<PlayerIdps, Error> {
        let prepared = player_idps::request(&self.inner.appid, params)?;
        let (envelope, served_by) = self.send("player_idps", &prepared).await?;
        player_idps::interpret(&envelope, params.player_id, served_by)
    }

    /// Verifies a player's login token with the legacy v1 API (`/game/token/get-token`).
    ///
    /// **Legacy.** Hive refuses server APIs authenticated with the certification key from
    /// 20 Nov 2026 (extension on request until 31 Dec 2026). Use
    /// [`verify_token`](Self::verify_token) (v2) instead.
    ///
    /// # Errors
    ///
    /// * [`Error::InvalidInput`] before anything is sent: the token is empty or has
    ///   characters HTTP forbids in a header, `player_id` is not positive, `did` is blank, or
    ///   `params` asks for `include_fields` or carries an access token (v2 features);
    /// * [`Error::Unavailable`] when no host gave a usable answer: the primary (or the
    ///   fallback, when there is one) failed with a transport error, a 5xx or 429, or a 200 that
    ///   is not JSON, was skipped by the open breaker, or the deadline left no time;
    /// * [`Error::HttpStatus`] when the answering host replied with another status than 200
    ///   (3xx, 4xx other than 429);
    /// * [`Error::Decode`] when the 200 body is not the documented envelope (a JSON object with
    ///   an integer `result_code`), or a success's `data` is present but not an object whose known
    ///   fields have their documented types;
    /// * [`Error::TokenRejected`] for any `result_code` other than 0 and 5001, and
    ///   [`Error::DistributedTokenInvalid`] for 5001.
    pub async fn verify_token_v1(&self, params: &VerifyParams) -> Result<VerifiedToken, Error> {
        let prepared = verify_token::v1_request(
            &self.inner.appid,
            params,
            self.inner.certification_key.as_ref(),
        )?;
        let (envelope, served_by) = self.send("verify_v1", &prepared).await?;
        verify_token::interpret(&envelope, params.player_id, served_by)
    }

    /// Lists the IdP accounts linked to a player with the legacy v1 API (`/game/player/get-idp`).
    ///
    /// **Legacy.** Hive refuses server APIs authenticated with the certification key from
    /// 20 Nov 2026 (extension on request until 31 Dec 2026). Use [`idp_list`](Self::idp_list).
    ///
    /// # Errors
    ///
    /// * [`Error::InvalidInput`] when `player_id` is not positive, before anything is sent;
    /// * [`Error::Unavailable`] when no host gave a usable answer: the primary (or the
    ///   fallback, when there is one) failed with a transport error, a 5xx or 429, or a 200 that
    ///   is not JSON, was skipped by the open breaker, or the deadline left no time;
    /// * [`Error::HttpStatus`] when the answering host replied with another status than 200
    ///   (3xx, 4xx other than 429);
    /// * [`Error::Decode`] when the 200 body is not the documented envelope (a JSON object with
    ///   an integer `result_code`), or a success's `data` is not a list of accounts of the
    ///   documented shape;
    /// * [`Error::IdpRejected`] for any other `result_code` than 0.
    pub async fn idp_list_v1(&self, player_id: i64) -> Result<IdpList, Error> {
        let prepared = idp::v1_request(
            &self.inner.appid,
            player_id,
            self.inner.certification_key.as_ref(),
        )?;
        let (envelope, served_by) = self.send("idp_list_v1", &prepared).await?;
        idp::interpret(&envelope, served_by)
    }

    async fn send(
        &self,
        endpoint: &'static str,
        request: &OutboundRequest,
    ) -> Result<(Envelope, ServedBy), Error> {
        self.send_within(endpoint, request, None).await
    }

    /// Sends `request` to the primary and, if the primary is broken or skipped, to the
    /// fallback, within the routing deadline and, when given, by `deadline` (the deadline of a
    /// whole call that also fetched a server token or repeats after a refused one).
    async fn send_within(
        &self,
        endpoint: &'static str,
        request: &OutboundRequest,
        deadline: Option<Instant>,
    ) -> Result<(Envelope, ServedBy), Error> {
        let t = self.inner.timeouts;
        let policy = CallPolicy::new(PROVIDER, endpoint, CallKind::Idempotent)
            .with_attempt_timeout(t.primary)
            .with_deadline(t.deadline);
        let answer = execute_read(
            &*self.inner.transport,
            &self.inner.route,
            &policy,
            request,
            deadline,
            Envelope::read,
        )
        .await
        .map_err(unavailable)?;
        Ok((answer.value?, answer.host))
    }

    async fn call_with_server_token<T>(
        &self,
        endpoint: &'static str,
        mut prepared: OutboundRequest,
        interpret: impl Fn(&Envelope, ServedBy) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let tokens = self.inner.tokens.as_ref().ok_or_else(|| {
            Error::Config("the server token needs client_id and client_secret".into())
        })?;
        let deadline = instant_after(Instant::now(), self.inner.call_deadline);
        let mut refreshed = false;
        loop {
            // A fresh token is at hand without waiting; only a fetch runs under the deadline.
            // A fetch that outlives the call is abandoned here; the cache lets the next caller
            // fetch again.
            let token = match tokens.fresh() {
                Some(token) => token,
                None => tokio::time::timeout_at(deadline, tokens.get())
                    .await
                    .map_err(|_| {
                        Error::Unavailable(Unavailable {
                            primary: AttemptFailure::DeadlineExceeded,
                            fallback: None,
                        })
                    })??,
            };
            let (name, value) = token.value.header();
            prepared.insert_header(name, value);
            let (envelope, served_by) = self
                .send_within(endpoint, &prepared, Some(deadline))
                .await?;
            match envelope.access_token_invalid() {
                Some((code, message)) if refreshed => {
                    return Err(Error::AccessTokenRejected { code, message });
                }
                Some(_) => {
                    tokens.invalidate(token.generation);
                    refreshed = true;
                }
                None => return interpret(&envelope, served_by),
            }
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Client")
            .field("appid", &inner.appid)
            .field("primary", inner.route.primary())
            .field("fallback", &inner.route.fallback().map(|f| &f.url))
            .field("verify_access_token", &inner.verify_access_token)
            .field("oauth", &inner.tokens.as_ref().map(|t| t.route.primary()))
            .field("client_id", &inner.tokens.as_ref().map(|t| &t.client_id))
            .field(
                "client_secret",
                &inner.tokens.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "certification_key",
                &inner.certification_key.as_ref().map(|_| "[redacted]"),
            )
            .field("timeouts", &inner.timeouts)
            .finish_non_exhaustive()
    }
}

/// The core-trait adapter: `player_id` and `device_id` of the request are required, and so is
/// `access_token` (the player's OAuth 2.0 access token) unless the client sends the server token
/// ([`VerifyAccessToken::Server`]); the attribute `include_fields` may list fields
/// comma-separated. The verified player carries the
/// returned fields as attributes (`is_blocked` as `"true"`/`"false"`, `join_timestamp` as
/// digits, unknown fields as JSON text) and `served_by` (`"primary"` or `"fallback"`).
///
/// A blocked player (`is_blocked == "true"`) is still a verified token: whether to let them play
/// is the operator's policy, so request the field and check it.
///
/// # Errors
///
/// [`AuthError::InvalidInput`] before anything is sent when `player_id` or `device_id` is
/// missing, `player_id` is not an integer, or `include_fields` names an invalid field; otherwise
/// the errors of [`Client::verify_token`], converted: Hive's refusals of the player
/// ([`Error::TokenRejected`], [`Error::PlayerAccessTokenRejected`],
/// [`Error::DistributedTokenInvalid`]) become [`AuthError::Rejected`] with Hive's code;
/// a refused server credential ([`Error::OAuthRejected`], [`Error::AccessTokenRejected`])
/// becomes [`AuthError::Config`], or [`AuthError::Unavailable`] when Hive failed to issue the
/// server token (code 5000 or an unknown code); the other variants map to the [`AuthError`]
/// variant of the same name.
#[async_trait]
impl TokenVerifier for Client {
    fn provider(&self) -> &str {
        "hive"
    }

    async fn verify(&self, request: &VerifyRequest) -> Result<VerifiedPlayer, AuthError> {
        let params = params_from(request)?;
        let verified = self.verify_token(&params).await?;
        Ok(player_from(&verified))
    }
}

/// The Hive error of a call that got no usable answer: every host was broken, skipped or out of
/// time (Hive's calls are idempotent, so an unknown outcome cannot arise; it would be reported as
/// a transport failure of the primary).
pub(crate) fn unavailable(e: CallError) -> Error {
    let failures = match e {
        CallError::OutcomeUnknown(t) => Unavailable {
            primary: AttemptFailure::Transport(t.kind()),
            fallback: None,
        },
        other => other.failures().unwrap_or(Unavailable {
            primary: AttemptFailure::DeadlineExceeded,
            fallback: None,
        }),
    };
    Error::Unavailable(failures)
}

fn params_from(request: &VerifyRequest) -> Result<VerifyParams, Error> {
    let player_id = request
        .player_id
        .as_deref()
        .ok_or_else(|| Error::InvalidInput("Hive verification needs the player_id".into()))?
        .trim()
        .parse::<i64>()
        .map_err(|_| Error::InvalidInput("player_id is not an integer".into()))?;
    let did = request
        .device_id
        .clone()
        .ok_or_else(|| Error::InvalidInput("Hive verification needs the device id".into()))?;
    let mut params = VerifyParams::new(request.token.clone(), player_id, did);
    if let Some(access_token) = &request.access_token {
        params = params.with_access_token(access_token.clone());
    }
    if let Some(list) = request.attributes.get("include_fields") {
        for field in IncludeField::parse_list(list)? {
            params = params.include(field);
        }
    }
    Ok(params)
}

fn player_from(verified: &VerifiedToken) -> VerifiedPlayer {
    let f = &verified.fields;
    let mut player = VerifiedPlayer::new(verified.player_id.to_string());
    for (name, value) in &f.extra {
        player = player.with_attribute(name.as_str(), value.to_string());
    }
    if let Some(v) = f.is_blocked {
        player = player.with_attribute("is_blocked", v.to_string());
    }
    if let Some(v) = f.is_device_registered {
        player = player.with_attribute("is_device_registered", v.to_string());
    }
    if let Some(v) = f.join_timestamp {
        player = player.with_attribute("join_timestamp", v.to_string());
    }
    if let Some(v) = &f.china_pi_no {
        player = player.with_attribute("china_pi_no", v.as_str());
    }
    player.with_attribute("served_by", verified.served_by.as_str())
}
