//! The HTTP surface of the contract over plain `http` types, with no framework.
//!
//! [`OAuthServer::handle`] takes a whole request (body already read) and the socket peer
//! address and returns the whole response. It applies, per route, the order the security rules
//! need: the IP allow-list (403) before anything else on the server-to-server routes, then the
//! method (405), the body limit (413), and only then credentials. Frameworks that stream bodies
//! call [`OAuthServer::precheck`] first, read the body with [`OAuthServer::read_body`] (the
//! limit [`ServerConfig::max_body_bytes`], the deadline of [`HttpLimits::body_read_timeout`]),
//! and answer a refusal with [`OAuthServer::reject`].
//!
//! [`ServerConfig::max_body_bytes`]: crate::ServerConfig::max_body_bytes
//! [`HttpLimits::body_read_timeout`]: crate::config::HttpLimits::body_read_timeout

use std::net::SocketAddr;

use bytes::Bytes;
use gameauth_core::inbound::BodyError;
use http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue, LOCATION, PRAGMA,
    REFERRER_POLICY, RETRY_AFTER, WWW_AUTHENTICATE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{Method, Request, Response, StatusCode, request::Parts};

use crate::error::{ErrorKind, OAuthError, Reason};
use crate::metrics;
use crate::params::Params;
use crate::request::{TokenRequest, bearer_token};
use crate::response::render_error;
use crate::server::{AuthorizeOutcome, OAuthServer};

/// Path of the authorization endpoint.
pub const AUTHORIZE_PATH: &str = "/oauth2.0/authorize";
/// Path of the token endpoint (both grants).
pub const TOKEN_PATH: &str = "/oauth2.0/token";
/// Path of the refresh endpoint (same handler as the token endpoint).
pub const REFRESH_PATH: &str = "/oauth2.0/refresh";
/// Path of the account endpoint.
pub const ACCOUNT_PATH: &str = "/account";
/// Path of the logout endpoint.
pub const LOGOUT_PATH: &str = "/logout";

/// The routes of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Route {
    /// `GET /oauth2.0/authorize` (browser).
    Authorize,
    /// `POST /oauth2.0/token` and `POST /oauth2.0/refresh` (server to server).
    Token,
    /// `GET /account` (server to server).
    Account,
    /// `GET /logout` (browser).
    Logout,
}

impl Route {
    /// The route served at `path`, if any.
    pub fn from_path(path: &str) -> Option<Self> {
        match path {
            AUTHORIZE_PATH => Some(Self::Authorize),
            TOKEN_PATH | REFRESH_PATH => Some(Self::Token),
            ACCOUNT_PATH => Some(Self::Account),
            LOGOUT_PATH => Some(Self::Logout),
            _ => None,
        }
    }

    fn method(self) -> Method {
        match self {
            Self::Token => Method::POST,
            Self::Authorize | Self::Account | Self::Logout => Method::GET,
        }
    }

    fn allow(self) -> &'static str {
        match self {
            Self::Token => "POST",
            Self::Authorize | Self::Account | Self::Logout => "GET",
        }
    }

    fn is_restricted(self) -> bool {
        matches!(self, Self::Token | Self::Account)
    }
}

const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");
const JSON: HeaderValue = HeaderValue::from_static("application/json");
const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");

impl OAuthServer {
    /// Serves one request of the contract; `peer` is the socket peer address.
    ///
    /// The request is counted and timed and runs inside a `request` span (see
    /// [`metrics`]).
    pub async fn handle(&self, request: Request<Bytes>, peer: SocketAddr) -> Response<Bytes> {
        let (parts, body) = request.into_parts();
        let (Some(route), Some(label)) = (
            Route::from_path(parts.uri.path()),
            metrics::route_label(parts.uri.path()),
        ) else {
            return plain(StatusCode::NOT_FOUND, "not found");
        };
        let method = parts.method.clone();
        metrics::observe(label, &method, async {
            if let Err(response) = self.precheck(route, &parts, peer) {
                return *response;
            }
            self.respond(route, &parts, &body, peer).await
        })
        .await
    }

    /// Answers a request of `route` that passed [`precheck`](Self::precheck), its body read.
    pub(crate) async fn respond(
        &self,
        route: Route,
        parts: &Parts,
        body: &[u8],
        peer: SocketAddr,
    ) -> Response<Bytes> {
        if body.len() > self.config().max_body_bytes {
            return self.reject(route, Reason::BodyTooLarge);
        }
        match route {
            Route::Authorize => self.authorize_response(parts).await,
            Route::Token => self.token_response(parts, body, peer).await,
            Route::Account => self.account_response(parts).await,
            Route::Logout => self.logout_response(parts).await,
        }
    }

    /// The checks made before reading the body: the IP allow-list on the server-to-server
    /// routes (403, before any credential is looked at), then the method (405).
    ///
    /// # Errors
    ///
    /// Returns the ready refusal to send, in the style of `route`: `403`
    /// ([`Reason::IpNotAllowed`]) when `route` is restricted and the caller is not allowed by
    /// [`ServerConfig::network`](crate::ServerConfig::network), or `405`
    /// ([`Reason::MethodNotAllowed`], with `Allow`) when the method is not the route's.
    pub fn precheck(
        &self,
        route: Route,
        parts: &Parts,
        peer: SocketAddr,
    ) -> Result<(), Box<Response<Bytes>>> {
        if route.is_restricted() && !self.config().network.allows(peer, &parts.headers) {
            tracing::info!(route = ?route, "caller address refused");
            return Err(Box::new(self.reject(route, Reason::IpNotAllowed)));
        }
        if parts.method != route.method() {
            return Err(Box::new(self.reject(route, Reason::MethodNotAllowed)));
        }
        Ok(())
    }

    /// Reads a request body with the server's limits: at most
    /// [`max_body_bytes`](crate::ServerConfig::max_body_bytes) (a larger declared
    /// `Content-Length` is refused before reading) within
    /// [`body_read_timeout`](crate::config::HttpLimits::body_read_timeout). The error is the
    /// reason to [`reject`](Self::reject) the request with (413, 408 or 400).
    ///
    /// # Errors
    ///
    /// * [`Reason::BodyTooLarge`] when the declared `Content-Length` or the body exceeds
    ///   `max_body_bytes`;
    /// * [`Reason::BodyTimeout`] when the body is not complete within `body_read_timeout`;
    /// * [`Reason::MalformedParameter`] (`body`) when reading it fails otherwise.
    pub async fn read_body<B>(&self, headers: &http::HeaderMap, body: B) -> Result<Bytes, Reason>
    where
        B: http_body::Body,
        B::Error: Into<gameauth_core::inbound::BoxError>,
    {
        let config = self.config();
        gameauth_core::inbound::read_body(
            headers,
            body,
            config.max_body_bytes,
            config.http.body_read_timeout,
        )
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => Reason::BodyTooLarge,
            BodyError::TimedOut => Reason::BodyTimeout,
            _ => Reason::MalformedParameter("body"),
        })
    }

    /// The response for a request refused before it was handled (bad method, body too large or
    /// late, address not allowed), in the style of `route`.
    pub fn reject(&self, route: Route, reason: Reason) -> Response<Bytes> {
        let err = OAuthError::new(reason);
        let mut response = match route {
            Route::Authorize | Route::Logout => error_page(&err),
            Route::Token | Route::Account => self.json_error(&err),
        };
        if reason == Reason::MethodNotAllowed {
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static(route.allow()));
        }
        response
    }

    fn json_error(&self, err: &OAuthError) -> Response<Bytes> {
        let rendered = render_error(err, self.config().error_style);
        let mut response = json(rendered.status, rendered.body);
        if let Some(secs) = rendered.retry_after_secs {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }

    async fn authorize_response(&self, parts: &Parts) -> Response<Bytes> {
        let query = parts.uri.query().unwrap_or("");
        match self.authorize(query, &parts.headers).await {
            AuthorizeOutcome::Redirect(location) | AuthorizeOutcome::Login(location) => {
                redirect(&location)
            }
            AuthorizeOutcome::ErrorPage(err) => {
                tracing::info!(error = err.kind().as_str(), "authorization request refused");
                error_page(&err)
            }
        }
    }

    async fn token_response(
        &self,
        parts: &Parts,
        body: &[u8],
        peer: SocketAddr,
    ) -> Response<Bytes> {
        let caller = self.config().network.client_ip(peer, &parts.headers);
        let parse = if self.config().token_json_body {
            TokenRequest::parse_form_or_json
        } else {
            TokenRequest::parse
        };
        let result = match parse(&parts.headers, parts.uri.query(), body) {
            Ok(request) => self
                .token(&request, caller)
                .await
                .map_err(|e| (e, request.used_basic_auth())),
            Err(e) => Err((e, false)),
        };
        match result {
            Ok(tokens) => json(StatusCode::OK, tokens.to_json()),
            Err((err, basic)) => {
                tracing::info!(error = err.kind().as_str(), "token request refused");
                let mut response = self.json_error(&err);
                if basic && err.kind() == ErrorKind::InvalidClient {
                    response.headers_mut().insert(
                        WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"oauth2\""),
                    );
                }
                response
            }
        }
    }

    async fn account_response(&self, parts: &Parts) -> Response<Bytes> {
        let query = parts.uri.query();
        let result = async {
            let token = bearer_token(&parts.headers, query, self.config().account_token_in_query)?;
            let params = Params::parse(query.unwrap_or("").as_bytes());
            let client_id = params.get("client_id", crate::registry::MAX_CLIENT_ID_LEN)?;
            self.account(token.expose_secret(), client_id).await
        }
        .await;
        match result {
            Ok(info) => json(StatusCode::OK, info.to_json()),
            Err(err) => {
                tracing::info!(error = err.kind().as_str(), "account request refused");
                let mut response = self.json_error(&err);
                if response.status() == StatusCode::UNAUTHORIZED {
                    let challenge = if err.reason() == Reason::TokenMissing {
                        "Bearer"
                    } else {
                        "Bearer error=\"invalid_token\""
                    };
                    response
                        .headers_mut()
                        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
                }
                response
            }
        }
    }

    async fn logout_response(&self, parts: &Parts) -> Response<Bytes> {
        let query = parts.uri.query().unwrap_or("");
        match self.logout(query, &parts.headers).await {
            Ok(outcome) => {
                let mut response = match &outcome.redirect {
                    Some(location) => redirect(location),
                    None => page(StatusCode::OK, "Signed out", "You have been signed out."),
                };
                for (name, value) in &outcome.headers {
                    response.headers_mut().append(name, value.clone());
                }
                response
            }
            Err(err) => error_page(&err),
        }
    }
}

fn base(status: StatusCode, content_type: HeaderValue, body: impl Into<Bytes>) -> Response<Bytes> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, content_type);
    h.insert(CACHE_CONTROL, NO_STORE);
    h.insert(PRAGMA, NO_CACHE);
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

fn json(status: StatusCode, body: String) -> Response<Bytes> {
    base(status, JSON, body)
}

fn plain(status: StatusCode, body: &'static str) -> Response<Bytes> {
    base(
        status,
        HeaderValue::from_static("text/plain; charset=utf-8"),
        body,
    )
}

/// Headers of every browser-facing answer: no framing, no referrer (codes travel in URLs).
fn browser_headers(response: &mut Response<Bytes>) {
    let h = response.headers_mut();
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

fn redirect(location: &str) -> Response<Bytes> {
    let mut response = base(StatusCode::FOUND, HTML, Bytes::new());
    browser_headers(&mut response);
    match HeaderValue::from_str(location) {
        Ok(v) => {
            response.headers_mut().insert(LOCATION, v);
            response
        }
        // Every location is built from validated URIs and percent-encoded values, so this is
        // unreachable in practice; refuse rather than emit a broken redirect.
        Err(_) => error_page(&OAuthError::new(Reason::Internal)),
    }
}

fn page(status: StatusCode, title: &str, message: &str) -> Response<Bytes> {
    let body = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body><h1>{}</h1><p>{}</p></body></html>\n",
        escape_html(title),
        escape_html(title),
        escape_html(message)
    );
    let mut response = base(status, HTML, body);
    browser_headers(&mut response);
    response
}

fn error_page(err: &OAuthError) -> Response<Bytes> {
    let status = match err.kind() {
        ErrorKind::ServerError => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::AccessDenied => StatusCode::FORBIDDEN,
        _ if err.reason() == Reason::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        _ if err.reason() == Reason::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
        _ if err.reason() == Reason::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    page(status, "Sign-in request refused", err.description())
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn routes_are_fixed_paths() {
        assert_eq!(Route::from_path("/oauth2.0/refresh"), Some(Route::Token));
        assert_eq!(Route::from_path("/oauth2.0/token/"), None);
        assert_eq!(Route::from_path("/ACCOUNT"), None);
    }
}
