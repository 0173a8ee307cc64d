//! The async client for the platform's outbound call, `identify/auth`, and its
//! [`TokenIssuer`] adapter.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gameauth_core::clock::unix_millis;
use gameauth_core::outbound::{
    BaseUrl, CallError, CallKind, CallPolicy, OutboundRequest, Route, execute, sensitive_header,
};
use gameauth_core::resilience::RetryPolicy;
use gameauth_core::transport::default_transport;
use gameauth_core::{
    AuthError, Clock, HttpTransport, IdGenerator, IssueRequest, IssuedToken, KeyRing, RandomIds,
    SystemClock, TokenIssuer,
};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue};

use crate::error::Error;
use crate::request::{
    CustomerNoField, IDENTIFY_AUTH_PATH, IdentifyAuthRequest, check_callback_url, check_lang,
};
use crate::response::{IdentifyAuth, parse_identify_auth};
use crate::sign::{SIGNATURE_HEADER, sign};

gameauth_core::secret_string! {
    /// The platform's Credit Pay API key, sent as the `api-key` header.
    pub struct ApiKey;
}

/// The default `lang` header.
pub const DEFAULT_LANG: &str = "en-US";
/// The default deadline of one call, retries included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default connect timeout of the built-in transport.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The `provider` label of this crate's metrics.
pub(crate) const PROVIDER: &str = "creditpay";
/// Length of generated `trace` ids.
const TRACE_LEN: usize = 32;

/// The name of the query parameter that carries the platform id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PlatIdParam {
    /// `plat_id`, as in the current docs.
    #[default]
    PlatId,
    /// `platId`, as before December 2024.
    LegacyPlatId,
}

impl PlatIdParam {
    /// The parameter name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PlatId => "plat_id",
            Self::LegacyPlatId => "platId",
        }
    }
}

/// The Credit Pay client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    route: Route,
    plat_id: String,
    plat_id_param: PlatIdParam,
    customer_no_field: CustomerNoField,
    api_key: ApiKey,
    keys: KeyRing,
    lang: String,
    timeout: Duration,
    connect_retry: RetryPolicy,
    default_callback_url: Option<String>,
    transport: Arc<dyn HttpTransport>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", self.route.primary())
            .field("plat_id", &self.plat_id)
            .field("plat_id_param", &self.plat_id_param)
            .field("customer_no_field", &self.customer_no_field)
            .field("api_key", &self.api_key)
            .field("keys", &self.keys)
            .field("lang", &self.lang)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder; `base_url`, `plat_id`, `api_key` and `signature_keys` are required.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Asks Credit Pay for a one-time authorization code.
    ///
    /// The input is validated before anything is sent. The call creates state at Credit Pay, so
    /// it is repeated only when the connection failed before any byte was sent; a timeout, a
    /// broken connection or an unreadable (over-sized) answer after sending is
    /// [`Error::OutcomeUnknown`].
    ///
    /// # Errors
    ///
    /// * [`Error::InvalidInput`], before anything is sent, in the cases of
    ///   [`IdentifyAuthRequest::validate`] (at the clock's current time), or when the `trace` id
    ///   from the configured [`ids`](ClientBuilder::ids) generator is not a valid header value;
    /// * [`Error::Config`], before anything is sent, when the API key is not a valid header value
    ///   or the base URL does not form a valid request URI;
    /// * [`Error::OutcomeUnknown`] when the transport failed after the request may have been
    ///   sent ([`request_sent`](gameauth_core::TransportError::request_sent): a timeout, a
    ///   broken connection, an answer over the size cap): Credit Pay may have issued a code;
    /// * [`Error::Transport`] when nothing was sent: a failed or timed-out connect once the
    ///   [`connect_retry`](ClientBuilder::connect_retry) policy or the deadline is used up, or at
    ///   once for another failure before sending;
    /// * [`Error::HttpStatus`], [`Error::Rejected`] or [`Error::Decode`] for an answer that is
    ///   not a success, as described at [`parse_identify_auth`].
    pub async fn identify_auth(
        &self,
        request: &IdentifyAuthRequest,
    ) -> Result<IdentifyAuth, Error> {
        let body = request.encode_body(self.clock.unix_millis(), self.customer_no_field)?;
        let signature = sign(self.keys.current(), IDENTIFY_AUTH_PATH, &body);
        let trace = self.ids.trace_id(TRACE_LEN);
        let lang = request.lang.as_deref().unwrap_or(&self.lang);
        let path_and_query = format!(
            "{IDENTIFY_AUTH_PATH}?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair(self.plat_id_param.as_str(), &self.plat_id)
                .finish()
        );
        let mut headers = HeaderMap::with_capacity(5);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert("trace", header(&trace)?);
        headers.insert(
            "api-key",
            sensitive_header(self.api_key.expose_secret()).map_err(|_| {
                Error::Config("api key has characters not allowed in a header".into())
            })?,
        );
        headers.insert(SIGNATURE_HEADER, header(&signature)?);
        headers.insert("lang", header(lang)?);
        let request = OutboundRequest::post(path_and_query, headers, body);
        let policy = CallPolicy::new(PROVIDER, "identify_auth", CallKind::StateCreating)
            .with_retry(self.connect_retry)
            .with_attempt_timeout(self.timeout)
            .with_deadline(self.timeout);
        match execute(
            self.transport.as_ref(),
            &self.route,
            &policy,
            &request,
            None,
        )
        .await
        {
            Ok(answer) => {
                let outcome = parse_identify_auth(&answer.value);
                tracing::debug!(
                    trace = %trace,
                    status = answer.value.status().as_u16(),
                    ok = outcome.is_ok(),
                    "Credit Pay identify/auth answered"
                );
                outcome
            }
            Err(CallError::OutcomeUnknown(e)) => {
                tracing::warn!(trace = %trace, kind = ?e.kind(), "Credit Pay identify/auth outcome unknown");
                Err(Error::OutcomeUnknown)
            }
            Err(e) => Err(Error::Transport(e.into_transport_error())),
        }
    }
}

fn header(value: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(value)
        .map_err(|_| Error::InvalidInput("a header value has forbidden characters".into()))
}

#[async_trait]
impl TokenIssuer for Client {
    fn provider(&self) -> &str {
        "creditpay"
    }

    /// Maps `player_id` → `customer_no`, `player_token` → `customer_token`,
    /// `player_token_expires_at` → `token_expire`, `client_ip` → `client_ip`, and the attributes
    /// `callback_url` (else the builder's default), `session_sign` and `credit_limit_tag`.
    /// The issued token is the one-time code, with the cashier URL.
    ///
    /// # Errors
    ///
    /// Returns [`AuthError::InvalidInput`] when `player_token`, `player_token_expires_at` or
    /// `client_ip` is missing, or there is neither a `callback_url` attribute nor a
    /// [`default_callback_url`](ClientBuilder::default_callback_url); otherwise the errors of
    /// [`Client::identify_auth`], converted by meaning (`From<Error> for AuthError`).
    async fn issue(&self, request: &IssueRequest) -> Result<IssuedToken, AuthError> {
        let token = request
            .player_token
            .clone()
            .ok_or_else(|| AuthError::InvalidInput("player_token is required".into()))?;
        let expires = request
            .player_token_expires_at
            .ok_or_else(|| AuthError::InvalidInput("player_token_expires_at is required".into()))?;
        let ip = request
            .client_ip
            .ok_or_else(|| AuthError::InvalidInput("client_ip is required".into()))?;
        let callback_url = request
            .attributes
            .get("callback_url")
            .or(self.default_callback_url.as_ref())
            .ok_or_else(|| AuthError::InvalidInput("callback_url is required".into()))?;
        let mut req = IdentifyAuthRequest::new(
            request.player_id.clone(),
            token,
            callback_url.clone(),
            unix_millis(expires),
            ip.to_string(),
        );
        if let Some(s) = request.attributes.get("session_sign") {
            req = req.with_session_sign(s.clone());
        }
        if let Some(t) = request.attributes.get("credit_limit_tag") {
            req = req.with_credit_limit_tag(t.clone());
        }
        let issued = self.identify_auth(&req).await?;
        let mut out = IssuedToken::new(issued.ident_code).with_url(issued.url.expose_secret());
        if let Some(trace) = issued.trace {
            out = out.with_attribute("trace", trace);
        }
        Ok(out)
    }
}

/// Runtime-validated builder of [`Client`].
#[derive(Default)]
pub struct ClientBuilder {
    base_url: Option<String>,
    plat_id: Option<String>,
    plat_id_param: PlatIdParam,
    customer_no_field: CustomerNoField,
    api_key: Option<ApiKey>,
    keys: Option<KeyRing>,
    lang: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    connect_retry: Option<RetryPolicy>,
    default_callback_url: Option<String>,
    transport: Option<Arc<dyn HttpTransport>>,
    clock: Option<Arc<dyn Clock>>,
    ids: Option<Arc<dyn IdGenerator>>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("plat_id", &self.plat_id)
            .field("api_key", &self.api_key)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The base URL including the gateway prefix, e.g. `https://credit-pay-dev.aatest.online/dg`.
    /// The signed path is what follows it (`/v1/...`). `https`, or `http` only for a loopback
    /// host (a local mock): the API key must never travel in clear.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The platform id from the Credit Pay console.
    pub fn plat_id(mut self, plat_id: impl Into<String>) -> Self {
        self.plat_id = Some(plat_id.into());
        self
    }

    /// The query parameter name of the platform id (default `plat_id`).
    pub fn plat_id_param(mut self, param: PlatIdParam) -> Self {
        self.plat_id_param = param;
        self
    }

    /// The body field name of the player's number (default `customer_no`; the docs' field table
    /// says `custom_no`, see [`CustomerNoField`]).
    pub fn customer_no_field(mut self, field: CustomerNoField) -> Self {
        self.customer_no_field = field;
        self
    }

    /// The API key, sent as the `api-key` header.
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The signature key(s): the current key signs; a previous one is irrelevant outbound.
    pub fn signature_keys(mut self, keys: KeyRing) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The default `lang` header (default `en-US`).
    pub fn lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = Some(lang.into());
        self
    }

    /// The deadline of one call including connect retries (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The connect timeout of the built-in transport (default 5 s, at most the call timeout).
    /// Ignored when a transport is given.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How to repeat a call whose connection failed before sending (default
    /// [`RetryPolicy::IDEMPOTENT`]; [`RetryPolicy::NONE`] disables it).
    pub fn connect_retry(mut self, policy: RetryPolicy) -> Self {
        self.connect_retry = Some(policy);
        self
    }

    /// The `callback_url` the [`TokenIssuer`] adapter sends when the request has no
    /// `callback_url` attribute.
    pub fn default_callback_url(mut self, url: impl Into<String>) -> Self {
        self.default_callback_url = Some(url.into());
        self
    }

    /// The HTTP transport (default: the built-in `ReqwestTransport` with this builder's timeouts,
    /// feature `reqwest`).
    pub fn transport(mut self, transport: Arc<dyn HttpTransport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The generator of `trace` ids (default: OS randomness).
    pub fn ids(mut self, ids: Arc<dyn IdGenerator>) -> Self {
        self.ids = Some(ids);
        self
    }

    /// Validates the configuration and builds the client.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Config`] when
    /// * `base_url` is missing, not an `https` URL with a host (plain `http` only for a loopback
    ///   host), or has a query, a fragment or credentials;
    /// * `plat_id` is missing or blank, or `api_key` is missing, empty or not a valid header
    ///   value;
    /// * no signature key is set, or the current or the previous key is empty;
    /// * `lang` is not a language tag (1 to 35 ASCII letters, digits, `-` or `_`);
    /// * the timeout or the connect timeout is zero;
    /// * the default callback URL is set but not an `http` or `https` URL with a host;
    /// * no transport is given and the built-in one cannot be built, or is not compiled in (feature
    ///   `reqwest` off).
    pub fn build(self) -> Result<Client, Error> {
        let base_url = BaseUrl::from_setting(self.base_url.as_deref()).map_err(Error::Config)?;
        let plat_id = self
            .plat_id
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| Error::Config("plat_id is required".into()))?;
        let api_key = self
            .api_key
            .filter(|k| !k.is_empty())
            .ok_or_else(|| Error::Config("api_key is required".into()))?;
        if HeaderValue::from_str(api_key.expose_secret()).is_err() {
            return Err(Error::Config(
                "api key has characters not allowed in a header".into(),
            ));
        }
        let keys = self.keys.filter(|k| !k.is_empty()).ok_or_else(|| {
            Error::Config(
                "non-empty signature keys are required (the current one and any previous one)"
                    .into(),
            )
        })?;
        let lang = self.lang.unwrap_or_else(|| DEFAULT_LANG.to_owned());
        check_lang(&lang).map_err(|_| Error::Config("lang must be a language tag".into()))?;
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        if timeout.is_zero() {
            return Err(Error::Config("timeout must be greater than zero".into()));
        }
        let connect_timeout = self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        if connect_timeout.is_zero() {
            return Err(Error::Config(
                "connect timeout must be greater than zero".into(),
            ));
        }
        if let Some(url) = &self.default_callback_url {
            check_callback_url(url)
                .map_err(|_| Error::Config("default callback URL must be an http(s) URL".into()))?;
        }
        let transport: Arc<dyn HttpTransport> = match self.transport {
            Some(t) => t,
            None => default_transport(connect_timeout.min(timeout), timeout)
                .map_err(|e| Error::Config(e.config_message()))?,
        };
        Ok(Client {
            route: Route::single(base_url),
            plat_id,
            plat_id_param: self.plat_id_param,
            customer_no_field: self.customer_no_field,
            api_key,
            keys,
            lang,
            timeout,
            connect_retry: self.connect_retry.unwrap_or(RetryPolicy::IDEMPOTENT),
            default_callback_url: self.default_callback_url,
            transport,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            ids: self.ids.unwrap_or_else(|| Arc::new(RandomIds)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn builder() -> ClientBuilder {
        Client::builder()
            .base_url("https://credit-pay-dev.aatest.online/dg/")
            .plat_id("328cf95950f54f89a2dd4c3bf98ac5fb")
            .api_key("sentinel-api-key")
            .signature_keys(KeyRing::new(SecretString::from("sentinel-sign-key")))
    }

    #[test]
    fn base_url_keeps_the_gateway_prefix_without_trailing_slash() {
        let c = builder().build().unwrap();
        assert_eq!(
            c.route.primary().as_str(),
            "https://credit-pay-dev.aatest.online/dg"
        );
        let local = builder()
            .base_url("http://127.0.0.1:8080/dg")
            .build()
            .unwrap();
        assert_eq!(local.route.primary().as_str(), "http://127.0.0.1:8080/dg");
    }

    #[test]
    fn builder_refuses_incomplete_or_bad_configuration() {
        let bad = [
            // The API key would travel in clear: plain http only for a loopback host.
            builder().base_url("http://credit-pay.example/dg"),
            builder().base_url("http://10.0.0.1/dg"),
            builder().base_url("ftp://h/dg"),
            builder().base_url("https://h/dg?x=1"),
            builder().base_url("https://u:p@h/dg"),
            builder().base_url("/dg"),
            builder().plat_id(""),
            builder().api_key(""),
            builder().api_key("a\nb"),
            builder().signature_keys(KeyRing::new(SecretString::from(""))),
            builder().lang("en US"),
            builder().timeout(Duration::ZERO),
            builder().connect_timeout(Duration::ZERO),
            builder().default_callback_url("not a url"),
        ];
        for (i, b) in bad.into_iter().enumerate() {
            assert!(matches!(b.build(), Err(Error::Config(_))), "case {i}");
        }
        assert!(matches!(Client::builder().build(), Err(Error::Config(_))));
    }

    #[test]
    fn plat_id_parameter_names() {
        assert_eq!(PlatIdParam::default().as_str(), "plat_id");
        assert_eq!(PlatIdParam::LegacyPlatId.as_str(), "platId");
    }

    #[test]
    fn api_key_debug_is_pinned() {
        assert_eq!(
            format!("{:?}", ApiKey::new("sentinel-api-key")),
            "ApiKey([redacted])"
        );
    }

    #[test]
    fn client_and_builder_debug_show_no_key() {
        let b = builder();
        let text = format!("{b:?}");
        assert!(!text.contains("sentinel"), "{text}");
        let text = format!("{:?}", b.build().unwrap());
        assert!(!text.contains("sentinel"), "{text}");
        assert!(text.contains("ApiKey([redacted])"), "{text}");
    }
}
