//! The async client: glues the pure request builders, the signature, the transport and the
//! response decoder together, with the retry rules of the OMG contract.
//!
//! Every call goes through the call engine of `gameauth_core::outbound`, which decides the
//! retry rules once for every provider:
//!
//! * `authorize` creates state at OMG (each call issues a new token), so it is repeated only when
//!   the request provably never left: a refused connection or a connect-phase timeout with
//!   nothing sent. A timeout of the attempt, a broken connection or an oversized answer after
//!   sending is [`Error::OutcomeUnknown`].
//! * `enter_game` and `ingame` are idempotent reads: up to 3 attempts on transport failure, 5xx
//!   or 429, with jittered backoff and `Retry-After` honoured up to 10 s, all within the deadline.
//!   A retry repeats the same request byte for byte, `trace_id` included.

use std::sync::Arc;
use std::time::Duration;

use gameauth_core::outbound::{
    BaseUrl, CallError, CallKind, CallPolicy, OutboundRequest, Route, execute,
};
use gameauth_core::resilience::RetryPolicy;
use gameauth_core::transport::{
    DEFAULT_ATTEMPT_TIMEOUT as DEFAULT_TRANSPORT_ATTEMPT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT,
    default_transport,
};
use gameauth_core::{Clock, HttpTransport, IdGenerator, KeyRing, RandomIds, SystemClock};
use secrecy::SecretString;

use crate::authorize::{self, AUTHORIZE_PATH, AuthorizeRequest, AuthorizedPlayer};
use crate::error::Error;
use crate::launch::{self, ENTER_GAME_PATH, EnterGameRequest, GameUrl, INGAME_PATH, InGameRequest};
use crate::request::signed_request;
use crate::response;

/// The `provider` label of this crate's metrics.
pub(crate) const PROVIDER: &str = "omg";

/// Length of the trace ids this client generates.
pub const TRACE_ID_LEN: usize = 12;

/// Default time for one attempt.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// Default time for a whole call, retries and backoff included.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

/// A client of OMG's game API. Cheap to clone; clones share configuration and transport.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    route: Route,
    app_id: String,
    keys: KeyRing,
    attempt_timeout: Duration,
    deadline: Duration,
    transport: Arc<dyn HttpTransport>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", self.inner.route.primary())
            .field("app_id", &self.inner.app_id)
            .field("keys", &self.inner.keys)
            .field("attempt_timeout", &self.inner.attempt_timeout)
            .field("deadline", &self.inner.deadline)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder; `base_url`, `app_id` and a key are required.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The merchant id requests are sent with.
    pub fn app_id(&self) -> &str {
        &self.inner.app_id
    }

    /// Obtains a new player token (transfer wallet), valid 7 days.
    ///
    /// Invalid input (empty `uname`, a nickname over 40 bytes) is refused before sending. Only a
    /// failure with nothing sent (a refused connection, a connect-phase timeout) is retried; a
    /// timeout after sending is [`Error::OutcomeUnknown`].
    ///
    /// # Errors
    ///
    /// * [`Error::InvalidInput`], before anything is sent, when `uname` is empty, or the
    ///   nickname is empty or longer than 40 UTF-8 bytes;
    /// * [`Error::Config`], before anything is sent, when the configured
    ///   [`ids`](ClientBuilder::ids) generator produces a `trace_id` that is empty, longer than
    ///   128 bytes or not made of URL-unreserved characters;
    /// * [`Error::OutcomeUnknown`] when the transport failed after the request may have been
    ///   sent ([`request_sent`](gameauth_core::TransportError::request_sent): a timeout, a broken
    ///   connection, an oversized answer): OMG may have issued a token;
    /// * [`Error::Transport`] when it failed before anything was sent: a connection failure or
    ///   a connect-phase timeout on every attempt (up to 3 within the deadline), or at once for
    ///   another failure before sending (a request that cannot be sent);
    /// * [`Error::HttpStatus`] when OMG answers with another HTTP status than 200 (not retried);
    /// * [`Error::Rejected`] when OMG answers 200 with a `code` other than 0 (success), typed as
    ///   [`OmgCode`](crate::code::OmgCode);
    /// * [`Error::Decode`] when the 200 body is not a JSON object with an integer `code`, or a
    ///   success has no `data` with a non-empty `token`, an exact decimal `balance` and an
    ///   `app_id`.
    pub async fn authorize(&self, request: &AuthorizeRequest) -> Result<AuthorizedPlayer, Error> {
        let issued_at = self.inner.clock.now();
        let timestamp = self.inner.clock.unix_seconds();
        let body = request.body(&self.inner.app_id, timestamp)?;
        let signed = self.sign(AUTHORIZE_PATH, body)?;
        let data: authorize::Data = self.send_state_creating("authorize", &signed).await?;
        AuthorizedPlayer::from_data(data, issued_at)
    }

    /// Launch URL for a transfer-wallet player (`/api/game/v1/entergame`).
    ///
    /// # Errors
    ///
    /// * [`Error::InvalidInput`], before anything is sent, when `token` or `game_id` is empty,
    ///   or `lang` or `back_url` is set but empty;
    /// * [`Error::Config`], before anything is sent, when the configured
    ///   [`ids`](ClientBuilder::ids) generator produces a `trace_id` that is empty, longer than
    ///   128 bytes or not made of URL-unreserved characters;
    /// * [`Error::Transport`] when no response was obtained: after the last attempt for a
    ///   connection failure, a timeout or a broken connection (up to 3 attempts within the
    ///   deadline), at once for an oversized body or a request that cannot be sent;
    /// * [`Error::HttpStatus`] when OMG answers with another HTTP status than 200; a 5xx or 429
    ///   is returned only when the attempts or the deadline are used up, or its `Retry-After` is
    ///   longer than 10 s;
    /// * [`Error::Rejected`] when OMG answers 200 with a `code` other than 0 (success), typed as
    ///   [`OmgCode`](crate::code::OmgCode); never retried;
    /// * [`Error::Decode`] when the 200 body is not a JSON object with an integer `code`, or a
    ///   success has no `data` with a non-empty `gameurl`.
    pub async fn enter_game(&self, request: &EnterGameRequest) -> Result<GameUrl, Error> {
        let body = request.body(&self.inner.app_id, self.inner.clock.unix_seconds())?;
        let signed = self.sign(ENTER_GAME_PATH, body)?;
        let data: launch::Data = self.send_idempotent("enter_game", &signed).await?;
        data.into_url()
    }

    /// Launch URL for a single-wallet player (`/api/usr/ingame`).
    ///
    /// # Errors
    ///
    /// * [`Error::InvalidInput`], before anything is sent, when `token` or `game_id` is empty,
    ///   `nick` is empty or longer than 40 UTF-8 bytes, or `lang` or `back_url` is set but empty;
    /// * [`Error::Config`], before anything is sent, when the configured
    ///   [`ids`](ClientBuilder::ids) generator produces a `trace_id` that is empty, longer than
    ///   128 bytes or not made of URL-unreserved characters;
    /// * [`Error::Transport`] when no response was obtained: after the last attempt for a
    ///   connection failure, a timeout or a broken connection (up to 3 attempts within the
    ///   deadline), at once for an oversized body or a request that cannot be sent;
    /// * [`Error::HttpStatus`] when OMG answers with another HTTP status than 200; a 5xx or 429
    ///   is returned only when the attempts or the deadline are used up, or its `Retry-After` is
    ///   longer than 10 s;
    /// * [`Error::Rejected`] when OMG answers 200 with a `code` other than 0 (success), typed as
    ///   [`OmgCode`](crate::code::OmgCode); never retried;
    /// * [`Error::Decode`] when the 200 body is not a JSON object with an integer `code`, or a
    ///   success has no `data` with a non-empty `gameurl`.
    pub async fn ingame(&self, request: &InGameRequest) -> Result<GameUrl, Error> {
        let body = request.body(&self.inner.app_id)?;
        let signed = self.sign(INGAME_PATH, body)?;
        let data: launch::Data = self.send_idempotent("ingame", &signed).await?;
        data.into_url()
    }

    fn sign(&self, path: &str, body: Vec<u8>) -> Result<OutboundRequest, Error> {
        let trace = self.inner.ids.trace_id(TRACE_ID_LEN);
        signed_request(path, &trace, body, self.inner.keys.current())
    }

    async fn send_state_creating<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &'static str,
        request: &OutboundRequest,
    ) -> Result<T, Error> {
        let policy = self.policy(endpoint, CallKind::StateCreating);
        self.send(&policy, request).await
    }

    async fn send_idempotent<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &'static str,
        request: &OutboundRequest,
    ) -> Result<T, Error> {
        let policy = self.policy(endpoint, CallKind::Idempotent);
        self.send(&policy, request).await
    }

    fn policy(&self, endpoint: &'static str, kind: CallKind) -> CallPolicy {
        CallPolicy::new(PROVIDER, endpoint, kind)
            .with_retry(RetryPolicy::IDEMPOTENT)
            .with_attempt_timeout(self.inner.attempt_timeout)
            .with_deadline(self.inner.deadline)
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        policy: &CallPolicy,
        request: &OutboundRequest,
    ) -> Result<T, Error> {
        let result = execute(
            self.inner.transport.as_ref(),
            &self.inner.route,
            policy,
            request,
            None,
        )
        .await;
        match result {
            Ok(answer) => response::parse(&answer.value),
            // The last answer of an idempotent call whose attempts ran out: a 5xx or 429.
            Err(CallError::Unavailable {
                last: Some(last), ..
            }) => response::parse(&last),
            Err(e) => Err(Error::from_call(e)),
        }
    }
}

/// Builder of a [`Client`], validated at [`build`](ClientBuilder::build).
#[derive(Default)]
pub struct ClientBuilder {
    base_url: Option<String>,
    app_id: Option<String>,
    keys: Option<KeyRing>,
    attempt_timeout: Option<Duration>,
    deadline: Option<Duration>,
    transport: Option<Arc<dyn HttpTransport>>,
    clock: Option<Arc<dyn Clock>>,
    ids: Option<Arc<dyn IdGenerator>>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .field("keys", &self.keys)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// OMG's API host (`{OMG_API_URL}`), optionally with a path prefix: `https`, or `http` only
    /// for a loopback host (a local mock).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The merchant id from the OMG backend.
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }

    /// The signature key from the OMG backend.
    pub fn key(self, key: SecretString) -> Self {
        self.key_ring(KeyRing::new(key))
    }

    /// The signature keys; requests are signed with the current key.
    pub fn key_ring(mut self, keys: KeyRing) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Time for one attempt (default 5 s).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// Time for a whole call, retries included (default 10 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The HTTP transport (default: the built-in `ReqwestTransport` with its hardened settings,
    /// feature `reqwest`).
    pub fn transport(mut self, transport: Arc<dyn HttpTransport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The clock for `timestamp` fields and token expiry (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The source of `trace_id`s (default: 12 random characters from the OS CSPRNG).
    pub fn ids(mut self, ids: Arc<dyn IdGenerator>) -> Self {
        self.ids = Some(ids);
        self
    }

    /// Validates the settings and builds the client.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Config`] when
    /// * `base_url` is missing or not an `https` URL with a host (plain `http` only for a loopback
    ///   host), or has user info, a query or a fragment;
    /// * `app_id` is missing, empty or not printable ASCII without spaces;
    /// * no key is set, or the current or the previous key is empty;
    /// * the attempt timeout or the deadline is zero;
    /// * no transport is given and the built-in one cannot be built, or is not compiled in (feature
    ///   `reqwest` off).
    pub fn build(self) -> Result<Client, Error> {
        let base_url = BaseUrl::from_setting(self.base_url.as_deref()).map_err(Error::Config)?;
        let app_id = self
            .app_id
            .filter(|a| !a.is_empty())
            .ok_or_else(|| Error::Config("app_id is required".into()))?;
        if !app_id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Config("app_id must be printable ASCII".into()));
        }
        let keys = self.keys.filter(|k| !k.is_empty()).ok_or_else(|| {
            Error::Config(
                "non-empty signature keys are required (the current one and any previous one)"
                    .into(),
            )
        })?;
        let attempt_timeout = self.attempt_timeout.unwrap_or(DEFAULT_ATTEMPT_TIMEOUT);
        let deadline = self.deadline.unwrap_or(DEFAULT_DEADLINE);
        if attempt_timeout.is_zero() || deadline.is_zero() {
            return Err(Error::Config("timeouts must be greater than zero".into()));
        }
        let transport = match self.transport {
            Some(t) => t,
            None => default_transport(DEFAULT_CONNECT_TIMEOUT, DEFAULT_TRANSPORT_ATTEMPT_TIMEOUT)
                .map_err(|e| Error::Config(e.config_message()))?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                route: Route::single(base_url),
                app_id,
                keys,
                attempt_timeout,
                deadline,
                transport,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                ids: self.ids.unwrap_or_else(|| Arc::new(RandomIds)),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> ClientBuilder {
        Client::builder()
            .base_url("http://127.0.0.1:9/")
            .app_id("10013")
            .key(SecretString::from("sentinel-key"))
    }

    #[test]
    fn builder_requires_base_url_app_id_and_key() {
        assert!(builder().build().is_ok());
        let missing = [
            Client::builder().app_id("1").key("k".into()).build(),
            Client::builder()
                .base_url("https://h")
                .key("k".into())
                .build(),
            Client::builder().base_url("https://h").app_id("1").build(),
            Client::builder()
                .base_url("https://h")
                .app_id("1")
                .key("".into())
                .build(),
            Client::builder()
                .base_url("https://h")
                .app_id("")
                .key("k".into())
                .build(),
        ];
        for result in missing {
            assert!(matches!(result, Err(Error::Config(_))));
        }
    }

    #[test]
    fn base_url_must_be_plain_http_or_https() {
        for bad in [
            "http://api.example/omg",
            "http://10.1.2.3:8080",
            "ftp://h",
            "h/path",
            "https://user:pw@h",
            "https://h/?x=1",
            "https://h/#f",
            "not a url",
        ] {
            assert!(
                matches!(builder().base_url(bad).build(), Err(Error::Config(_))),
                "{bad}"
            );
        }
        let c = builder()
            .base_url("https://api.example/omg/")
            .build()
            .unwrap();
        assert_eq!(c.inner.route.primary().as_str(), "https://api.example/omg");
    }

    #[test]
    fn zero_timeouts_are_refused() {
        assert!(matches!(
            builder().attempt_timeout(Duration::ZERO).build(),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            builder().deadline(Duration::ZERO).build(),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn client_debug_does_not_show_the_key() {
        let c = builder().build().unwrap();
        assert_eq!(
            format!("{c:?}"),
            "Client { base_url: \"http://127.0.0.1:9\", app_id: \"10013\", \
             keys: KeyRing { current: \"[redacted]\", previous_valid_until: None }, \
             attempt_timeout: 5s, deadline: 10s, .. }"
        );
    }

    #[test]
    fn builder_debug_does_not_show_the_key() {
        let b = builder();
        assert_eq!(
            format!("{b:?}"),
            "ClientBuilder { base_url: Some(\"http://127.0.0.1:9/\"), app_id: Some(\"10013\"), \
             keys: Some(KeyRing { current: \"[redacted]\", previous_valid_until: None }), \
             attempt_timeout: None, deadline: None, .. }"
        );
    }
}
