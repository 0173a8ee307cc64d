//! Server settings: lifetimes, error style, network policy, throttling, HTTP deadlines.

use std::time::Duration;

use crate::error::ConfigError;
use crate::net::NetworkPolicy;
use crate::redirect::RedirectUriPolicy;
use crate::response::ErrorStyle;
use crate::throttle::ThrottleConfig;

/// The longest authorization-code lifetime the server accepts.
pub const MAX_CODE_TTL: Duration = Duration::from_secs(600);

/// Settings of an [`OAuthServer`](crate::OAuthServer). Start from [`Default`] and change fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Authorization-code lifetime (default 60 s, at most 600 s).
    pub code_ttl: Duration,
    /// Access-token lifetime (default 3600 s), sent as `expires_in`.
    pub access_ttl: Duration,
    /// Refresh-token lifetime (default 30 days).
    pub refresh_ttl: Duration,
    /// How long after a rotation the same refresh request gets the same answer (default 10 s).
    pub refresh_grace: Duration,
    /// Whether `GET /logout` also revokes the player's tokens (default `false`: Vegas Lounge
    /// documents that the access token stays valid after logout).
    pub revoke_on_logout: bool,
    /// Error body style (default Vegas Lounge's).
    pub error_style: ErrorStyle,
    /// Whether `GET /account` accepts an `access_token` query parameter (default `false`).
    pub account_token_in_query: bool,
    /// How `redirect_uri` is matched against the registered URIs (default
    /// [`RedirectUriPolicy::Exact`]).
    pub redirect_uri_policy: RedirectUriPolicy,
    /// Whether the token endpoints also accept the form's fields as a JSON object
    /// (`Content-Type: application/json`), with the same validation (default `false`: only
    /// `application/x-www-form-urlencoded`, as Vegas Lounge documents).
    pub token_json_body: bool,
    /// The operator's login page (a local path such as `/login`, or an absolute URL on the
    /// operator's own origin); `return_to` is appended to it.
    pub login_url: String,
    /// The public path of the authorize endpoint, used to build `return_to`.
    pub authorize_path: String,
    /// Who may call the token, refresh and account endpoints.
    pub network: NetworkPolicy,
    /// Throttling of failed client authentication.
    pub throttle: ThrottleConfig,
    /// Largest accepted request body (default 1 MiB); larger bodies get 413.
    pub max_body_bytes: usize,
    /// Connection and request deadlines, and the connection cap.
    pub http: HttpLimits,
}

/// The longest accepted HTTP deadline.
pub const MAX_HTTP_TIMEOUT: Duration = Duration::from_secs(600);

/// Deadlines and the connection cap of the HTTP server: the body deadline applies wherever the
/// router reads a body; the others are applied by [`serve`](crate::serve) (feature `axum`).
///
/// Slow clients are the cheapest attack on a server: a request sent one byte at a time, or a
/// connection opened and never used, holds a socket and a file descriptor. Every phase of a
/// connection therefore has a deadline, and the number of connections has a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpLimits {
    /// Time for a request's head (request line and headers) to arrive (default 10 s): counted
    /// from the accept for a connection's first request, from the first byte for a later one.
    /// A connection that misses it is closed.
    pub header_read_timeout: Duration,
    /// Time for a request's whole body to arrive, counted from when its head was read
    /// (default 10 s); a late body is answered with 408.
    pub body_read_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request (default 30 s).
    pub keep_alive_timeout: Duration,
    /// Most connections open at once (default 512). A new connection beyond it closes the one
    /// that has waited longest without a request in progress; when every connection is busy,
    /// new ones wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: gameauth_core::inbound::DEFAULT_BODY_READ_TIMEOUT,
            keep_alive_timeout: Duration::from_secs(30),
            max_connections: 512,
        }
    }
}

impl HttpLimits {
    /// Checks every limit: deadlines between 1 ms and [`MAX_HTTP_TIMEOUT`], at least one
    /// connection.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the setting when a deadline is shorter than 1 ms or longer than
    /// [`MAX_HTTP_TIMEOUT`], or when `max_connections` is zero.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, value) in [
            ("header_read_timeout", self.header_read_timeout),
            ("body_read_timeout", self.body_read_timeout),
            ("keep_alive_timeout", self.keep_alive_timeout),
        ] {
            if value < Duration::from_millis(1) || value > MAX_HTTP_TIMEOUT {
                return Err(ConfigError(format!(
                    "{name} must be between 1 ms and {} s",
                    MAX_HTTP_TIMEOUT.as_secs()
                )));
            }
        }
        if self.max_connections == 0 {
            return Err(ConfigError("max_connections must be at least 1".into()));
        }
        Ok(())
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            code_ttl: Duration::from_secs(60),
            access_ttl: Duration::from_secs(3600),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_grace: Duration::from_secs(10),
            revoke_on_logout: false,
            error_style: ErrorStyle::default(),
            account_token_in_query: false,
            redirect_uri_policy: RedirectUriPolicy::Exact,
            token_json_body: false,
            login_url: "/login".to_owned(),
            authorize_path: "/oauth2.0/authorize".to_owned(),
            network: NetworkPolicy::default(),
            throttle: ThrottleConfig::default(),
            max_body_bytes: gameauth_core::inbound::DEFAULT_MAX_BODY_BYTES,
            http: HttpLimits::default(),
        }
    }
}

impl ServerConfig {
    /// Checks every setting; [`OAuthServer`](crate::OAuthServer) refuses to build otherwise.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] when `code_ttl` is zero or over 600 s, `access_ttl` is under
    /// 1 s, `refresh_ttl` is shorter than `access_ttl`, `refresh_grace` is over 60 s,
    /// `login_url` is neither a path starting with `/` nor an `http(s)` URL or contains `#`, a
    /// space or a control character, `authorize_path` is not a local path (see
    /// [`is_local_path`](crate::redirect::is_local_path)) or has a query, or `max_body_bytes` is
    /// zero.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: &str| Err(ConfigError(m.to_owned()));
        if self.code_ttl.is_zero() || self.code_ttl > MAX_CODE_TTL {
            return err("code_ttl must be between 1 and 600 seconds");
        }
        if self.access_ttl.as_secs() == 0 {
            return err("access_ttl must be at least 1 second");
        }
        if self.refresh_ttl < self.access_ttl {
            return err("refresh_ttl must not be shorter than access_ttl");
        }
        if self.refresh_grace > Duration::from_secs(60) {
            return err("refresh_grace must be at most 60 seconds");
        }
        if !(self.login_url.starts_with('/')
            || self.login_url.starts_with("https://")
            || self.login_url.starts_with("http://"))
            || self.login_url.contains(['#', ' '])
            || self.login_url.chars().any(char::is_control)
        {
            return err("login_url must be a path or an http(s) URL without fragment");
        }
        if !crate::redirect::is_local_path(&self.authorize_path)
            || self.authorize_path.contains('?')
        {
            return err("authorize_path must be a local path without query");
        }
        if self.max_body_bytes == 0 {
            return err("max_body_bytes must be positive");
        }
        self.http.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_ttl_is_capped_at_600_seconds() {
        let mut c = ServerConfig::default();
        assert!(c.validate().is_ok());
        c.code_ttl = Duration::from_secs(600);
        assert!(c.validate().is_ok());
        c.code_ttl = Duration::from_secs(601);
        assert!(c.validate().is_err());
        c.code_ttl = Duration::ZERO;
        assert!(c.validate().is_err());
    }

    #[test]
    fn http_limits_need_positive_bounded_deadlines_and_a_connection() {
        let mut c = ServerConfig::default();
        c.http.header_read_timeout = Duration::ZERO;
        assert!(c.validate().is_err());
        c.http = HttpLimits::default();
        c.http.keep_alive_timeout = MAX_HTTP_TIMEOUT + Duration::from_secs(1);
        assert!(c.validate().is_err());
        c.http = HttpLimits::default();
        c.http.max_connections = 0;
        assert!(c.validate().is_err());
        c.http.max_connections = 1;
        assert!(c.validate().is_ok());
    }

    #[test]
    fn login_url_must_be_local_or_absolute() {
        let mut c = ServerConfig {
            login_url: "javascript:alert(1)".into(),
            ..ServerConfig::default()
        };
        assert!(c.validate().is_err());
        c.login_url = "https://www.operator.com/login".into();
        assert!(c.validate().is_ok());
    }
}
