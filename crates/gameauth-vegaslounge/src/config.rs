//! Server settings: lifetimes, error style, network policy, throttling.

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
            max_body_bytes: 1024 * 1024,
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
        Ok(())
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
