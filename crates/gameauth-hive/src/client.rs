//! The async Hive client: glues the pure request/answer modules to a transport, the token cache
//! and primary → fallback routing.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use async_trait::async_trait;
use gameauth_core::resilience::{BreakerConfig, BreakerState, ExpiringCache, instant_after};
use gameauth_core::{
    AuthError, Clock, HttpTransport, ReqwestTransport, SystemClock, TokenVerifier, VerifiedPlayer,
    VerifyRequest,
};
use secrecy::SecretString;

use crate::envelope::Envelope;
use crate::environment::{Environment, Hosts, ServedBy};
use crate::error::{AttemptFailure, HiveError};
use crate::failover::{self, Failover, Prepared, Timeouts};
use crate::idp::{self, IdpList};
use crate::oauth::{AccessToken, REFRESH_AHEAD, TokenSource, TokenTimeouts};
use crate::verify::{self, IncludeField, VerifiedToken, VerifyParams};

/// Default per-attempt timeout on the primary host.
pub const DEFAULT_PRIMARY_TIMEOUT: Duration = Duration::from_secs(2);
/// Default per-attempt timeout on the fallback host.
pub const DEFAULT_FALLBACK_TIMEOUT: Duration = Duration::from_secs(2);
/// Default overall deadline of one verify or IdP list call (primary plus fallback).
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(4500);
/// Default per-attempt timeout of the server OAuth token request.
pub const DEFAULT_OAUTH_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(2500);
/// Default overall deadline of fetching the server OAuth token (both attempts).
pub const DEFAULT_OAUTH_DEADLINE: Duration = Duration::from_secs(5);

/// A Hive authentication client. Cheap to clone; clones share the token cache and the breaker.
#[derive(Clone)]
pub struct HiveClient {
    inner: Arc<Inner>,
}

struct Inner {
    appid: String,
    failover: Failover,
    /// Bound of a whole v2 call: token fetch, routing and the one repetition.
    call_deadline: Duration,
    tokens: Option<TokenSource>,
    certification_key: Option<SecretString>,
    transport: Arc<dyn HttpTransport>,
}

impl HiveClient {
    /// A builder; see [`HiveClientBuilder`].
    pub fn builder() -> HiveClientBuilder {
        HiveClientBuilder::default()
    }

    /// The app id this client verifies tokens for.
    pub fn appid(&self) -> &str {
        &self.inner.appid
    }

    /// The state of the primary host's circuit breaker; `None` when there is no fallback host.
    pub fn breaker_state(&self) -> Option<BreakerState> {
        self.inner.failover.breaker_state()
    }

    /// Verifies a player's login token with v2 (`/v2/game/token/get-token`).
    ///
    /// `Ok` only for `result_code == 0` in a well-formed answer. A code 2499 or a failed
    /// `token_validation` makes the client fetch a new server token and try once more.
    ///
    /// The whole call, the server-token fetch and the repetition included, ends within the call
    /// deadline ([`HiveClientBuilder::call_deadline`], default 9.5 s); each routing of the
    /// request (primary, then fallback) also keeps its own deadline (4.5 s).
    pub async fn verify_token(&self, params: &VerifyParams) -> Result<VerifiedToken, HiveError> {
        let appid = &self.inner.appid;
        self.call_v2(
            |token| verify::v2_request(appid, params, token),
            |envelope, served_by| verify::interpret(envelope, params.player_id, served_by),
        )
        .await
    }

    /// Lists the IdP accounts linked to a player with v2 (`/v2/game/player/get-idp`).
    pub async fn idp_list(&self, player_id: i64) -> Result<IdpList, HiveError> {
        let appid = &self.inner.appid;
        self.call_v2(
            |token| idp::v2_request(appid, player_id, token),
            idp::interpret,
        )
        .await
    }

    /// Verifies a player's login token with the legacy v1 API (`/game/token/get-token`).
    ///
    /// **Legacy.** Hive refuses server APIs authenticated with the certification key from
    /// 20 Nov 2026 (extension on request until 31 Dec 2026). Use
    /// [`verify_token`](Self::verify_token) (v2), which needs client credentials instead.
    pub async fn verify_token_v1(&self, params: &VerifyParams) -> Result<VerifiedToken, HiveError> {
        let prepared = verify::v1_request(
            &self.inner.appid,
            params,
            self.inner.certification_key.as_ref(),
        )?;
        let (envelope, served_by) = self.send(&prepared).await?;
        verify::interpret(&envelope, params.player_id, served_by)
    }

    /// Lists the IdP accounts linked to a player with the legacy v1 API (`/game/player/get-idp`).
    ///
    /// **Legacy.** Hive refuses server APIs authenticated with the certification key from
    /// 20 Nov 2026 (extension on request until 31 Dec 2026). Use [`idp_list`](Self::idp_list).
    pub async fn idp_list_v1(&self, player_id: i64) -> Result<IdpList, HiveError> {
        let prepared = idp::v1_request(
            &self.inner.appid,
            player_id,
            self.inner.certification_key.as_ref(),
        )?;
        let (envelope, served_by) = self.send(&prepared).await?;
        idp::interpret(&envelope, served_by)
    }

    async fn send(&self, prepared: &Prepared) -> Result<(Envelope, ServedBy), HiveError> {
        self.send_within(prepared, None).await
    }

    async fn send_within(
        &self,
        prepared: &Prepared,
        deadline: Option<Instant>,
    ) -> Result<(Envelope, ServedBy), HiveError> {
        let (response, served_by) = self
            .inner
            .failover
            .send_within(&*self.inner.transport, prepared, deadline)
            .await?;
        Ok((Envelope::from_response(&response)?, served_by))
    }

    /// Runs a v2 call with the cached server token; when Hive says the token is invalid, drops
    /// exactly that token, fetches a new one and runs the call once more.
    async fn call_v2<T>(
        &self,
        build: impl Fn(&AccessToken) -> Result<Prepared, HiveError>,
        interpret: impl Fn(&Envelope, ServedBy) -> Result<T, HiveError>,
    ) -> Result<T, HiveError> {
        let tokens = self.inner.tokens.as_ref().ok_or_else(|| {
            HiveError::Config("the v2 APIs need client_id and client_secret".into())
        })?;
        let deadline = instant_after(Instant::now(), self.inner.call_deadline);
        let mut refreshed = false;
        loop {
            // A token fetch that outlives the call is abandoned here; the cache lets the next
            // caller fetch again.
            let token = tokio::time::timeout_at(deadline, tokens.get())
                .await
                .map_err(|_| failover::unavailable(AttemptFailure::DeadlineExceeded, None))??;
            let (envelope, served_by) = self
                .send_within(&build(&token.value)?, Some(deadline))
                .await?;
            match envelope.access_token_invalid() {
                Some((code, message)) if refreshed => {
                    return Err(HiveError::AccessTokenRejected { code, message });
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

impl fmt::Debug for HiveClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("HiveClient")
            .field("appid", &inner.appid)
            .field("primary", &inner.failover.primary)
            .field("fallback", &inner.failover.fallback)
            .field("oauth", &inner.tokens.as_ref().map(|t| &t.base))
            .field("client_id", &inner.tokens.as_ref().map(|t| &t.client_id))
            .field(
                "client_secret",
                &inner.tokens.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "certification_key",
                &inner.certification_key.as_ref().map(|_| "[redacted]"),
            )
            .field("timeouts", &inner.failover.timeouts)
            .finish_non_exhaustive()
    }
}

/// The core-trait adapter: `player_id` and `device_id` of the request are required, and the
/// attribute `include_fields` may list fields comma-separated. The verified player carries the
/// returned fields as attributes (`is_blocked` as `"true"`/`"false"`, `join_timestamp` as
/// digits, unknown fields as JSON text) and `served_by` (`"primary"` or `"fallback"`).
///
/// A blocked player (`is_blocked == "true"`) is still a verified token: whether to let them play
/// is the operator's policy, so request the field and check it.
#[async_trait]
impl TokenVerifier for HiveClient {
    fn provider(&self) -> &str {
        "hive"
    }

    async fn verify(&self, request: &VerifyRequest) -> Result<VerifiedPlayer, AuthError> {
        let params = params_from(request)?;
        let verified = self.verify_token(&params).await?;
        Ok(player_from(&verified))
    }
}

fn params_from(request: &VerifyRequest) -> Result<VerifyParams, HiveError> {
    let player_id = request
        .player_id
        .as_deref()
        .ok_or_else(|| HiveError::InvalidInput("Hive verification needs the player_id".into()))?
        .trim()
        .parse::<i64>()
        .map_err(|_| HiveError::InvalidInput("player_id is not an integer".into()))?;
    let did = request
        .device_id
        .clone()
        .ok_or_else(|| HiveError::InvalidInput("Hive verification needs the device id".into()))?;
    let mut params = VerifyParams::new(request.token.clone(), player_id, did);
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

/// Builds a [`HiveClient`]; every setting is checked in [`build`](Self::build).
///
/// Choose exactly one of [`environment`](Self::environment) or
/// [`primary_url`](Self::primary_url) (custom hosts), and set the app id. The v2 APIs (the
/// default) need [`client_credentials`](Self::client_credentials); the legacy v1 APIs may use a
/// [`certification_key`](Self::certification_key).
pub struct HiveClientBuilder {
    environment: Option<Environment>,
    primary_url: Option<String>,
    fallback_url: Option<String>,
    oauth_url: Option<String>,
    appid: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    certification_key: Option<SecretString>,
    primary_timeout: Duration,
    fallback_timeout: Duration,
    deadline: Duration,
    oauth_attempt_timeout: Duration,
    oauth_deadline: Duration,
    call_deadline: Option<Duration>,
    breaker: BreakerConfig,
    transport: Option<Arc<dyn HttpTransport>>,
    clock: Option<Arc<dyn Clock>>,
}

impl Default for HiveClientBuilder {
    fn default() -> Self {
        Self {
            environment: None,
            primary_url: None,
            fallback_url: None,
            oauth_url: None,
            appid: None,
            client_id: None,
            client_secret: None,
            certification_key: None,
            primary_timeout: DEFAULT_PRIMARY_TIMEOUT,
            fallback_timeout: DEFAULT_FALLBACK_TIMEOUT,
            deadline: DEFAULT_DEADLINE,
            oauth_attempt_timeout: DEFAULT_OAUTH_ATTEMPT_TIMEOUT,
            oauth_deadline: DEFAULT_OAUTH_DEADLINE,
            call_deadline: None,
            breaker: BreakerConfig::default(),
            transport: None,
            clock: None,
        }
    }
}

impl fmt::Debug for HiveClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HiveClientBuilder")
            .field("environment", &self.environment)
            .field("primary_url", &self.primary_url)
            .field("fallback_url", &self.fallback_url)
            .field("oauth_url", &self.oauth_url)
            .field("appid", &self.appid)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "certification_key",
                &self.certification_key.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

impl HiveClientBuilder {
    /// Uses the documented hosts of `environment`.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// Uses a custom primary host (`scheme://host[:port]`); the documented paths are appended.
    /// Without [`fallback_url`](Self::fallback_url) there is no fallback.
    pub fn primary_url(mut self, url: impl Into<String>) -> Self {
        self.primary_url = Some(url.into());
        self
    }

    /// A custom fallback host (with [`primary_url`](Self::primary_url)).
    pub fn fallback_url(mut self, url: impl Into<String>) -> Self {
        self.fallback_url = Some(url.into());
        self
    }

    /// A custom host for the server OAuth token (with [`primary_url`](Self::primary_url));
    /// defaults to the primary.
    pub fn oauth_url(mut self, url: impl Into<String>) -> Self {
        self.oauth_url = Some(url.into());
        self
    }

    /// The game's app id (`appid`).
    pub fn appid(mut self, appid: impl Into<String>) -> Self {
        self.appid = Some(appid.into());
        self
    }

    /// The client id and secret of the server OAuth token, required by the v2 APIs.
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        self.client_id = Some(client_id.into());
        self.client_secret = Some(client_secret);
        self
    }

    /// The Hive certification key, sent by the legacy v1 APIs when set.
    pub fn certification_key(mut self, key: SecretString) -> Self {
        self.certification_key = Some(key);
        self
    }

    /// Per-attempt timeout on the primary host (default 2 s).
    pub fn primary_timeout(mut self, timeout: Duration) -> Self {
        self.primary_timeout = timeout;
        self
    }

    /// Per-attempt timeout on the fallback host (default 2 s).
    pub fn fallback_timeout(mut self, timeout: Duration) -> Self {
        self.fallback_timeout = timeout;
        self
    }

    /// Overall deadline of one call across primary and fallback (default 4.5 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Per-attempt timeout of the server OAuth token request (default 2.5 s).
    pub fn oauth_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.oauth_attempt_timeout = timeout;
        self
    }

    /// Overall deadline of fetching the server OAuth token, retry included (default 5 s).
    pub fn oauth_deadline(mut self, deadline: Duration) -> Self {
        self.oauth_deadline = deadline;
        self
    }

    /// Overall deadline of a whole v2 call (`verify_token`, `idp_list`): the server-token fetch
    /// when none is cached, the routing, and the one repetition after Hive refused the token
    /// (default: the OAuth deadline plus the routing deadline, 9.5 s). Past it the call fails as
    /// unavailable with a deadline exceeded.
    pub fn call_deadline(mut self, deadline: Duration) -> Self {
        self.call_deadline = Some(deadline);
        self
    }

    /// The primary host's circuit breaker (default: 5 failures, 30 s cool-down doubling up to
    /// 300 s).
    pub fn breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = config;
        self
    }

    /// The HTTP transport (default: [`ReqwestTransport`] with the hardened settings).
    pub fn transport(mut self, transport: Arc<dyn HttpTransport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The clock used for token expiry (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<HiveClient, HiveError> {
        let config = |m: &str| HiveError::Config(m.to_owned());
        let hosts = match (self.environment, &self.primary_url) {
            (Some(_), Some(_)) => {
                return Err(config("choose an environment or custom URLs, not both"));
            }
            (None, None) => return Err(config("choose an environment or a primary URL")),
            (Some(env), None) => {
                if self.fallback_url.is_some() || self.oauth_url.is_some() {
                    return Err(config(
                        "fallback and OAuth URLs are only for custom hosts (set primary_url)",
                    ));
                }
                Hosts::of(env)
            }
            (None, Some(primary)) => Hosts::custom(
                primary,
                self.fallback_url.as_deref(),
                self.oauth_url.as_deref(),
            )
            .map_err(HiveError::Config)?,
        };
        let appid = self
            .appid
            .filter(|a| !a.trim().is_empty())
            .ok_or_else(|| config("appid is required"))?;
        if appid.chars().any(char::is_control) {
            return Err(config("appid has control characters"));
        }
        let call_deadline = self
            .call_deadline
            .unwrap_or(self.oauth_deadline.saturating_add(self.deadline));
        for (name, t) in [
            ("primary timeout", self.primary_timeout),
            ("fallback timeout", self.fallback_timeout),
            ("deadline", self.deadline),
            ("OAuth attempt timeout", self.oauth_attempt_timeout),
            ("OAuth deadline", self.oauth_deadline),
            ("call deadline", call_deadline),
            ("breaker cool-down", self.breaker.initial_cooldown),
        ] {
            if t.is_zero() {
                return Err(HiveError::Config(format!(
                    "{name} must be greater than zero"
                )));
            }
        }
        if self.breaker.failure_threshold == 0 {
            return Err(config("breaker failure threshold must be at least 1"));
        }
        if self.breaker.max_cooldown < self.breaker.initial_cooldown {
            return Err(config(
                "breaker max cool-down is shorter than the initial one",
            ));
        }
        if self
            .certification_key
            .as_ref()
            .is_some_and(|k| secrecy::ExposeSecret::expose_secret(k).is_empty())
        {
            return Err(config("certification key is empty"));
        }
        let transport: Arc<dyn HttpTransport> = match self.transport {
            Some(t) => t,
            None => {
                let longest = self
                    .primary_timeout
                    .max(self.fallback_timeout)
                    .max(self.oauth_attempt_timeout);
                Arc::new(
                    ReqwestTransport::builder()
                        .attempt_timeout(longest)
                        .build()
                        .map_err(|e| HiveError::Config(e.to_string()))?,
                )
            }
        };
        let clock: Arc<dyn Clock> = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let tokens = match (self.client_id, self.client_secret) {
            (None, None) => None,
            (Some(id), Some(secret)) => {
                if id.trim().is_empty() || id.chars().any(char::is_control) {
                    return Err(config("client_id is empty or has control characters"));
                }
                if secrecy::ExposeSecret::expose_secret(&secret).is_empty() {
                    return Err(config("client_secret is empty"));
                }
                Some(TokenSource {
                    appid: appid.clone(),
                    client_id: id,
                    client_secret: secret,
                    base: hosts.oauth.clone(),
                    timeouts: TokenTimeouts {
                        attempt: self.oauth_attempt_timeout,
                        deadline: self.oauth_deadline,
                    },
                    transport: transport.clone(),
                    clock: clock.clone(),
                    cache: ExpiringCache::new(REFRESH_AHEAD, clock),
                })
            }
            _ => return Err(config("client_id and client_secret go together")),
        };
        let failover = Failover::new(
            hosts.primary,
            hosts.fallback,
            self.breaker,
            Timeouts {
                primary: self.primary_timeout,
                fallback: self.fallback_timeout,
                deadline: self.deadline,
            },
        );
        Ok(HiveClient {
            inner: Arc::new(Inner {
                appid,
                failover,
                call_deadline,
                tokens,
                certification_key: self.certification_key,
                transport,
            }),
        })
    }
}
