use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gameauth_core::lenient::{decode_json, string_or_number};
use gameauth_core::outbound::{
    BaseUrl, CallError, CallKind, CallPolicy, OutboundRequest, Route, execute,
};
use gameauth_core::secrecy::{ExposeSecret, SecretString};
use gameauth_core::transport::{DEFAULT_CONNECT_TIMEOUT, default_transport, retry_after};
use gameauth_core::{
    AuthError, Clock, DecodeError, HttpTransport, IdGenerator, RandomIds, SystemClock,
    TokenVerifier, VerifiedPlayer, VerifyRequest, async_trait,
};

/// The path of Acme's verify endpoint; the signature covers it.
pub const VERIFY_PATH: &str = "/verify";

/// Length of every request's nonce.
const NONCE_LEN: usize = 12;

/// How long one call may take unless the builder says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// `signature = base64(HMAC-SHA1(key, path + body))`, over the exact bytes sent.
pub fn sign(key: &[u8], path: &str, body: &[u8]) -> String {
    gameauth_core::sign::hmac_sha1_base64(key, &[path.as_bytes(), body])
}

/// Whether Acme documents `code`: 7 (the token expired) and 8 (the token is unknown).
pub fn documented_code(code: i64) -> bool {
    matches!(code, 7 | 8)
}

/// The body Acme expects; serialised once, then signed and sent as the same bytes.
#[derive(serde::Serialize)]
struct VerifyBody<'a> {
    token: &'a str,
    ts: i64,
    nonce: &'a str,
}

/// Acme's answer: `{"ok":true,"player":{"id":123,"name":"Ann"}}` or
/// `{"ok":false,"code":7,"message":"token expired"}`.
#[derive(serde::Deserialize)]
struct Answer {
    ok: bool,
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
    player: Option<Player>,
}

#[derive(serde::Deserialize)]
struct Player {
    #[serde(deserialize_with = "string_or_number")]
    id: String,
    #[serde(default)]
    name: Option<String>,
}

/// Verifies Acme player tokens.
#[derive(Clone)]
pub struct AcmeVerifier {
    route: Route,
    key: SecretString,
    transport: Arc<dyn HttpTransport>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    timeout: Duration,
}

impl std::fmt::Debug for AcmeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcmeVerifier")
            .field("base_url", self.route.primary())
            .field("key", &"[redacted]")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl AcmeVerifier {
    /// A builder: `base_url` and `key` are required.
    pub fn builder() -> AcmeVerifierBuilder {
        AcmeVerifierBuilder::default()
    }

    /// The signed request for `token`, at the clock's time with a fresh nonce.
    pub fn build_request(&self, token: &str) -> Result<http::Request<Bytes>, AuthError> {
        Ok(self.signed(token)?.to_http(self.route.primary())?)
    }

    /// The body serialised once and signed: the request every attempt sends.
    fn signed(&self, token: &str) -> Result<OutboundRequest, AuthError> {
        if token.is_empty() {
            return Err(AuthError::InvalidInput("the token is empty".into()));
        }
        let nonce = self.ids.trace_id(NONCE_LEN);
        let body = VerifyBody {
            token,
            ts: self.clock.unix_seconds(),
            nonce: &nonce,
        };
        let body = serde_json::to_vec(&body)
            .map_err(|_| AuthError::InvalidInput("the token cannot be encoded".into()))?;
        let signature = sign(self.key.expose_secret().as_bytes(), VERIFY_PATH, &body);
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        let signature = http::HeaderValue::from_str(&signature)
            .map_err(|_| AuthError::Config("the signature is not a header value".into()))?;
        headers.insert("signature", signature);
        Ok(OutboundRequest::post(
            VERIFY_PATH,
            headers,
            Bytes::from(body),
        ))
    }

    /// The outcome of Acme's answer.
    pub fn parse(response: &http::Response<Bytes>) -> Result<VerifiedPlayer, AuthError> {
        if response.status() != http::StatusCode::OK {
            return Err(AuthError::HttpStatus {
                status: response.status().as_u16(),
                retry_after: retry_after(response.headers()),
            });
        }
        let answer: Answer = decode_json(response.body())?;
        match (answer.ok, answer.player) {
            (true, Some(p)) => {
                let player = VerifiedPlayer::new(p.id);
                Ok(match p.name {
                    Some(name) => player.with_display_name(name),
                    None => player,
                })
            }
            (true, None) => Err(DecodeError::new("player", "missing").into()),
            (false, _) => Err(AuthError::rejected(answer.code, answer.message)),
        }
    }
}

#[async_trait]
impl TokenVerifier for AcmeVerifier {
    fn provider(&self) -> &str {
        "acme"
    }

    async fn verify(&self, request: &VerifyRequest) -> Result<VerifiedPlayer, AuthError> {
        let signed = self.signed(request.token.expose_secret())?;
        // One attempt within the timeout: the call engine of gameauth-core sends it, counts it
        // and traces it like every provider's calls.
        let policy = CallPolicy::new("acme", "verify", CallKind::Idempotent)
            .with_attempt_timeout(self.timeout)
            .with_deadline(self.timeout);
        match execute(&*self.transport, &self.route, &policy, &signed, None).await {
            Ok(answer) => Self::parse(&answer.value),
            // A 5xx or 429: Acme answered, and says why.
            Err(CallError::Unavailable {
                last: Some(last), ..
            }) => Self::parse(&last),
            Err(e) => Err(AuthError::Transport(e.into_transport_error())),
        }
    }
}

/// Builds an [`AcmeVerifier`]; checked when built.
#[derive(Default)]
pub struct AcmeVerifierBuilder {
    base_url: Option<String>,
    key: Option<SecretString>,
    transport: Option<Arc<dyn HttpTransport>>,
    clock: Option<Arc<dyn Clock>>,
    ids: Option<Arc<dyn IdGenerator>>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for AcmeVerifierBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcmeVerifierBuilder")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl AcmeVerifierBuilder {
    /// Acme's base URL, `http(s)://host[:port][/prefix]`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The signing key Acme gave the operator.
    pub fn key(mut self, key: impl Into<SecretString>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The HTTP transport (default: [`ReqwestTransport`]).
    pub fn transport(mut self, transport: Arc<dyn HttpTransport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The clock of the `ts` field (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The source of nonces (default: the operating system's CSPRNG).
    pub fn ids(mut self, ids: Arc<dyn IdGenerator>) -> Self {
        self.ids = Some(ids);
        self
    }

    /// How long one call may take (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The verifier, or why the settings cannot work.
    pub fn build(self) -> Result<AcmeVerifier, AuthError> {
        // https, or plain http only for a loopback host: the signed token must not travel in clear.
        let base_url =
            BaseUrl::from_setting(self.base_url.as_deref()).map_err(AuthError::Config)?;
        let key = self
            .key
            .ok_or_else(|| AuthError::Config("key is required".into()))?;
        if key.expose_secret().is_empty() {
            return Err(AuthError::Config("key is empty".into()));
        }
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let transport = match self.transport {
            Some(t) => t,
            None => default_transport(DEFAULT_CONNECT_TIMEOUT, timeout)?,
        };
        Ok(AcmeVerifier {
            route: Route::single(base_url),
            key,
            transport,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            ids: self.ids.unwrap_or_else(|| Arc::new(RandomIds)),
            timeout,
        })
    }
}
