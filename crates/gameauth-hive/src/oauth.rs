//! The server OAuth token (client credentials) and its cache.
//!
//! `POST /oauth/token` on the primary host only, with a JSON body (not a form). Hive sends no
//! `expires_in`: the token is a JWT whose `exp` claim says when it expires (read without checking
//! the signature: we only need to know when to ask again, Hive checks the token itself); when it
//! cannot be read the documented lifetime of one hour from issue applies. The token is refreshed
//! 60 s before it expires, and one fetch serves every concurrent caller.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gameauth_core::clock::from_unix_seconds;
use gameauth_core::outbound::{CallKind, CallPolicy, Route, execute_read};
use gameauth_core::resilience::{Cached, ExpiringCache, RetryPolicy};
use gameauth_core::telemetry::{self, TokenResult};
use gameauth_core::{Clock, HttpTransport};
use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::client::PROVIDER;
use crate::code::OAuthCode;
use crate::error::Error;
use crate::request;
use crate::response::Envelope;
use crate::verify_token::{X_ACCESS_TOKEN, x_access_token};
use gameauth_core::outbound::OutboundRequest;

gameauth_core::secret_string! {
    /// The server OAuth access token, sent as `X-Access-Token` to the v2 APIs.
    pub struct AccessToken;
}

/// The server token as it is sent: the `X-Access-Token` header value, checked and marked
/// sensitive once when the token is fetched, so a call with a cached token only takes another
/// reference to it.
#[derive(Clone)]
pub(crate) struct ServerToken(HeaderValue);

impl ServerToken {
    /// The header carrying the token.
    pub(crate) fn header(&self) -> (HeaderName, HeaderValue) {
        (X_ACCESS_TOKEN, self.0.clone())
    }
}

impl std::fmt::Debug for ServerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerToken([redacted])")
    }
}

/// The path of the token endpoint.
pub const TOKEN_PATH: &str = "/oauth/token";
/// Lifetime assumed when the token's `exp` claim cannot be read.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// How long before expiry a new token is fetched.
pub const REFRESH_AHEAD: Duration = Duration::from_secs(60);

#[derive(Serialize)]
struct TokenBody<'a> {
    appid: &'a str,
    grant_type: &'static str,
    client_id: &'a str,
    client_secret: &'a str,
}

/// Builds the token request.
pub(crate) fn token_request(
    appid: &str,
    client_id: &str,
    client_secret: &SecretString,
) -> Result<OutboundRequest, Error> {
    let body = TokenBody {
        appid,
        grant_type: "client_credentials",
        client_id,
        client_secret: client_secret.expose_secret(),
    };
    request::json(
        TOKEN_PATH,
        HeaderMap::with_capacity(request::HEADERS),
        &body,
    )
}

#[derive(Deserialize)]
struct TokenData {
    access_token: Option<AccessToken>,
}

/// Reads the envelope of the token endpoint's answer: the token and when it expires.
pub(crate) fn token_from(
    envelope: Envelope,
    now: SystemTime,
) -> Result<(AccessToken, SystemTime), Error> {
    match OAuthCode::from_i64(envelope.result_code) {
        OAuthCode::Success => {
            let token = envelope
                .data::<TokenData>()?
                .and_then(|d| d.access_token)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    gameauth_core::DecodeError::new("data.access_token", "missing or empty")
                })?;
            let expires_at =
                jwt_expiry(token.expose_secret()).map_or(now + DEFAULT_LIFETIME, from_unix_seconds);
            Ok((token, expires_at))
        }
        code => Err(Error::OAuthRejected {
            code,
            message: envelope.message(),
        }),
    }
}

/// The `exp` claim (unix seconds) of a JWT, when the token is a JWT with an integer `exp`.
///
/// The signature is not checked: the value only decides when to fetch a new token.
pub fn jwt_expiry(token: &str) -> Option<i64> {
    #[derive(Deserialize)]
    struct Claims {
        exp: Option<i64>,
    }
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let json = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<Claims>(&json).ok()?.exp
}

/// Timing of the token fetch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenTimeouts {
    pub(crate) attempt: Duration,
    pub(crate) deadline: Duration,
}

/// Fetches server tokens and caches them.
pub(crate) struct TokenSource {
    pub(crate) appid: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    pub(crate) route: Route,
    pub(crate) timeouts: TokenTimeouts,
    pub(crate) transport: Arc<dyn HttpTransport>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Callers queued behind a failed fetch share its error (see [`ExpiringCache`]).
    pub(crate) cache: ExpiringCache<ServerToken, Error>,
}

impl TokenSource {
    /// A cached token, fetching one when none is fresh.
    pub(crate) async fn get(&self) -> Result<Cached<ServerToken>, Error> {
        let fetched = std::sync::atomic::AtomicBool::new(false);
        let result = self
            .cache
            .get_or_refresh(|| {
                fetched.store(true, std::sync::atomic::Ordering::Relaxed);
                self.fetch()
            })
            .await;
        telemetry::server_token(
            PROVIDER,
            match &result {
                Err(_) => TokenResult::Failure,
                Ok(_) if fetched.into_inner() => TokenResult::Refresh,
                Ok(_) => TokenResult::Hit,
            },
        );
        result
    }

    /// The cached token when it is fresh (no refresh due), without waiting; counted as a hit.
    pub(crate) fn fresh(&self) -> Option<Cached<ServerToken>> {
        let token = self.cache.fresh()?;
        telemetry::server_token(PROVIDER, TokenResult::Hit);
        Some(token)
    }

    /// Drops the token of `generation` after Hive refused it.
    pub(crate) fn invalidate(&self, generation: u64) {
        self.cache.invalidate(generation);
    }

    /// One attempt, and one retry on a transport failure, 5xx, 429 or non-JSON answer, within
    /// the token deadline.
    async fn fetch(&self) -> Result<(ServerToken, SystemTime), Error> {
        let request = token_request(&self.appid, &self.client_id, &self.client_secret)?;
        let policy = CallPolicy::new(PROVIDER, "oauth_token", CallKind::Idempotent)
            .with_retry(TOKEN_RETRY)
            .with_attempt_timeout(self.timeouts.attempt)
            .with_deadline(self.timeouts.deadline);
        let answer = execute_read(
            &*self.transport,
            &self.route,
            &policy,
            &request,
            None,
            Envelope::read,
        )
        .await
        .map_err(crate::client::unavailable)?;
        let (token, expires_at) = token_from(answer.value?, self.clock.now())?;
        let (_, value) = x_access_token(&token)?;
        Ok((ServerToken(value), expires_at))
    }
}

/// One retry of the token fetch, 100 to 200 ms (jittered) after a failure; a `Retry-After` is
/// not waited for.
const TOKEN_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 2,
    initial_backoff: Duration::from_millis(200),
    max_backoff: Duration::from_millis(200),
    max_retry_after: Duration::ZERO,
};

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("base", self.route.primary())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use gameauth_core::clock::unix_millis;
    use http::Response;

    fn jwt(payload: &str) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    fn ok(body: &str) -> Response<Bytes> {
        Response::new(Bytes::from(body.to_owned()))
    }

    fn parse_token_response(
        response: &Response<Bytes>,
        now: SystemTime,
    ) -> Result<(AccessToken, SystemTime), Error> {
        token_from(Envelope::from_response(response)?, now)
    }

    #[test]
    fn token_request_is_a_json_client_credentials_body() {
        let p = token_request(
            "app",
            "project_abc123",
            &SecretString::from("secret_xyz789"),
        )
        .unwrap();
        let body: serde_json::Value = serde_json::from_slice(p.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "appid": "app",
                "grant_type": "client_credentials",
                "client_id": "project_abc123",
                "client_secret": "secret_xyz789"
            })
        );
        assert_eq!(p.path_and_query(), "/oauth/token");
    }

    #[test]
    fn expiry_is_the_jwt_exp_claim_when_readable() {
        assert_eq!(
            jwt_expiry(&jwt(r#"{"iss":"hive","exp":1711958000}"#)),
            Some(1_711_958_000)
        );
        let body = format!(
            r#"{{"result_code":0,"result_msg":"SUCCESS","data":{{"access_token":"{}"}}}}"#,
            jwt(r#"{"exp":1711958000}"#)
        );
        let (_, at) = parse_token_response(&ok(&body), from_unix_seconds(1_711_954_264)).unwrap();
        assert_eq!(unix_millis(at), 1_711_958_000_000);
    }

    #[test]
    fn expiry_is_issue_time_plus_one_hour_when_exp_is_unreadable() {
        for token in [
            "opaque-token".to_owned(),
            jwt(r#"{"iss":"hive"}"#),
            jwt(r#"{"exp":"soon"}"#),
            "a.%%%.c".to_owned(),
            "a.b.c.d".to_owned(),
        ] {
            assert_eq!(jwt_expiry(&token), None, "{token}");
        }
        let body = r#"{"result_code":0,"data":{"access_token":"opaque-token"}}"#;
        let (_, at) = parse_token_response(&ok(body), from_unix_seconds(1_000)).unwrap();
        assert_eq!(unix_millis(at), 4_600_000);
    }

    #[test]
    fn token_error_codes_are_typed() {
        for (n, code) in [
            (4000, OAuthCode::InvalidParameter),
            (4001, OAuthCode::ClientAuthenticationFailed),
            (4002, OAuthCode::UnsupportedGrantType),
            (4003, OAuthCode::NoPermission),
            (5000, OAuthCode::InternalError),
            (4999, OAuthCode::Other(4999)),
        ] {
            let body = format!(r#"{{"result_code":{n},"result_msg":"no"}}"#);
            match parse_token_response(&ok(&body), SystemTime::UNIX_EPOCH) {
                Err(Error::OAuthRejected { code: c, message }) => {
                    assert_eq!(c, code);
                    assert_eq!(message, "no");
                }
                other => panic!("{n}: {other:?}"),
            }
        }
    }

    #[test]
    fn success_without_a_token_is_a_decode_error() {
        for body in [
            r#"{"result_code":0}"#,
            r#"{"result_code":0,"data":{}}"#,
            r#"{"result_code":0,"data":{"access_token":""}}"#,
        ] {
            match parse_token_response(&ok(body), SystemTime::UNIX_EPOCH) {
                Err(Error::Decode(d)) => assert_eq!(d.path, "data.access_token"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn access_token_debug_is_redacted() {
        let t = AccessToken::new("eyJ-sentinel");
        assert_eq!(format!("{t:?}"), "AccessToken([redacted])");
    }
}
