//! The runtime-validated builder of [`Client`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use gameauth_core::resilience::{BreakerConfig, ExpiringCache};
use gameauth_core::transport::{DEFAULT_CONNECT_TIMEOUT, default_transport};
use gameauth_core::{Clock, HttpTransport, SystemClock};
use secrecy::SecretString;

use gameauth_core::outbound::{FallbackHost, Route};

use crate::client::{
    Client, DEFAULT_DEADLINE, DEFAULT_FALLBACK_TIMEOUT, DEFAULT_OAUTH_ATTEMPT_TIMEOUT,
    DEFAULT_OAUTH_DEADLINE, DEFAULT_PRIMARY_TIMEOUT, Inner, PROVIDER, Timeouts,
};
use crate::environment::{Environment, Hosts};
use crate::error::Error;
use crate::oauth::{REFRESH_AHEAD, TokenSource, TokenTimeouts};
use crate::verify_token::VerifyAccessToken;

/// Builds a [`Client`]; every setting is checked in [`build`](Self::build).
///
/// Choose exactly one of [`environment`](Self::environment) or
/// [`primary_url`](Self::primary_url) (custom hosts), and set the app id. That is all v2
/// verification (the default, with the player's access token) and the token-validated IdP list
/// need. [`client_credentials`](Self::client_credentials) are for the APIs authorised by the
/// server token: the v2 IdP list, and v2 verification with
/// [`verify_access_token`](Self::verify_access_token)`(`[`VerifyAccessToken::Server`]`)`. The
/// legacy v1 APIs may use a [`certification_key`](Self::certification_key).
pub struct ClientBuilder {
    environment: Option<Environment>,
    primary_url: Option<String>,
    fallback_url: Option<String>,
    oauth_url: Option<String>,
    appid: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    certification_key: Option<SecretString>,
    verify_access_token: VerifyAccessToken,
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

impl Default for ClientBuilder {
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
            verify_access_token: VerifyAccessToken::default(),
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

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
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
            .field("verify_access_token", &self.verify_access_token)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
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

    /// The client id and secret of the server OAuth token, required by the v2 IdP list and by
    /// v2 verification with [`VerifyAccessToken::Server`].
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        self.client_id = Some(client_id.into());
        self.client_secret = Some(client_secret);
        self
    }

    /// What v2 verification sends as `X-Access-Token` (default: the player's own access token,
    /// [`VerifyAccessToken::Player`]). [`VerifyAccessToken::Server`] sends the server token
    /// instead and needs [`client_credentials`](Self::client_credentials).
    pub fn verify_access_token(mut self, mode: VerifyAccessToken) -> Self {
        self.verify_access_token = mode;
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

    /// Overall deadline of one routed call across primary and fallback (default 4.5 s).
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

    /// Overall deadline of a whole call with the server token (`idp_list`, and `verify_token`
    /// with [`VerifyAccessToken::Server`]): the server-token fetch when none is cached, the
    /// routing, and the one repetition after Hive refused the token (default: the OAuth deadline
    /// plus the routing deadline, 9.5 s). Past it the call fails as unavailable with a deadline
    /// exceeded. Calls without the server token end within the routing deadline.
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

    /// The HTTP transport (default: the built-in `ReqwestTransport` with the hardened settings,
    /// feature `reqwest`).
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
    ///
    /// # Errors
    ///
    /// Returns [`Error::Config`] when
    /// * both an environment and a primary URL are set, or neither is, or a fallback or OAuth URL
    ///   is set with an environment;
    /// * a custom URL is not `https://host[:port]` (it cannot be parsed, is plain `http` for a
    ///   host that is not a loopback host, or has another scheme, no host, credentials, a path, a
    ///   query or a fragment);
    /// * the app id is missing, blank or has control characters;
    /// * a timeout or deadline (primary, fallback, routing deadline, OAuth attempt, OAuth
    ///   deadline, call deadline) or the breaker's initial cool-down is zero, the breaker's
    ///   failure threshold is zero, or its maximum cool-down is shorter than the initial one;
    /// * the certification key is empty;
    /// * only one of client id and client secret is set, the client id is blank or has control
    ///   characters, or the client secret is empty;
    /// * [`VerifyAccessToken::Server`] is chosen without client credentials;
    /// * no transport is given and the built-in one cannot be built, or is not compiled in (feature
    ///   `reqwest` off).
    pub fn build(self) -> Result<Client, Error> {
        let config = |m: &str| Error::Config(m.to_owned());
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
                Hosts::of(env).map_err(Error::Config)?
            }
            (None, Some(primary)) => Hosts::custom(
                primary,
                self.fallback_url.as_deref(),
                self.oauth_url.as_deref(),
            )
            .map_err(Error::Config)?,
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
                return Err(Error::Config(format!("{name} must be greater than zero")));
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
                default_transport(DEFAULT_CONNECT_TIMEOUT, longest)
                    .map_err(|e| Error::Config(e.config_message()))?
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
                    route: Route::single(hosts.oauth.clone()),
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
        if self.verify_access_token == VerifyAccessToken::Server && tokens.is_none() {
            return Err(config(
                "verification with the server token (VerifyAccessToken::Server) needs \
                 client_credentials",
            ));
        }
        let route = Route::with_fallback(
            PROVIDER,
            hosts.primary,
            hosts.fallback.map(|url| FallbackHost {
                url,
                attempt_timeout: self.fallback_timeout,
            }),
            self.breaker,
        );
        let timeouts = Timeouts {
            primary: self.primary_timeout,
            fallback: self.fallback_timeout,
            deadline: self.deadline,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                appid,
                route,
                timeouts,
                verify_access_token: self.verify_access_token,
                call_deadline,
                tokens,
                certification_key: self.certification_key,
                transport,
            }),
        })
    }
}
