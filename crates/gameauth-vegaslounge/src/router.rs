//! The `axum` router for the fixed route set (feature `axum`).
//!
//! ```no_run
//! # async fn run(server: std::sync::Arc<gameauth_vegaslounge::OAuthServer>) -> std::io::Result<()> {
//! let limits = server.config().http;
//! let app = gameauth_vegaslounge::router(server);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! // Deadlines on every phase of a connection, a connection cap, and the peer address for the
//! // IP allow-list.
//! gameauth_vegaslounge::serve(listener, app, limits, std::future::pending()).await
//! # }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::routing::any;
use bytes::Bytes;

use crate::endpoint::{ACCOUNT_PATH, AUTHORIZE_PATH, LOGOUT_PATH, REFRESH_PATH, Route, TOKEN_PATH};
use crate::metrics;
use crate::server::OAuthServer;

/// A router serving `GET /oauth2.0/authorize`, `POST /oauth2.0/token`,
/// `POST /oauth2.0/refresh`, `GET /account` and `GET /logout`.
///
/// Serve it with [`serve`](crate::serve), which applies the [`HttpLimits`](crate::HttpLimits)
/// and passes the peer address. Another server must at least pass the peer address
/// (`into_make_service_with_connect_info::<SocketAddr>()`): without it the restricted routes
/// answer 403 (the allow-list fails closed); it must also bound how long a client may take to
/// send a request's head, which `axum::serve` does not. Bodies are read with the configured
/// size cap and deadline either way. Merge it into the host's own router to add the login page
/// and anything else; it adds no CORS headers.
pub fn router(server: Arc<OAuthServer>) -> Router {
    Router::new()
        .route(AUTHORIZE_PATH, any(handle))
        .route(TOKEN_PATH, any(handle))
        .route(REFRESH_PATH, any(handle))
        .route(ACCOUNT_PATH, any(handle))
        .route(LOGOUT_PATH, any(handle))
        .with_state(server)
}

/// An address outside every allow-list, for requests served without connect info.
const UNKNOWN_PEER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), 0);

async fn handle(State(server): State<Arc<OAuthServer>>, request: Request) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(UNKNOWN_PEER, |c| c.0);
    let (parts, body) = request.into_parts();
    let (Some(route), Some(label)) = (
        Route::from_path(parts.uri.path()),
        metrics::route_label(parts.uri.path()),
    ) else {
        // Only the contract's paths are routed here.
        return server
            .handle(Request::from_parts(parts, Bytes::new()), peer)
            .await
            .map(Body::from);
    };
    let method = parts.method.clone();
    metrics::observe(label, &method, async {
        if let Err(refused) = server.precheck(route, &parts, peer) {
            return (*refused).map(Body::from);
        }
        let bytes = match server.read_body(&parts.headers, body).await {
            Ok(b) => b,
            Err(reason) => return server.reject(route, reason).map(Body::from),
        };
        server
            .respond(route, &parts, &bytes, peer)
            .await
            .map(Body::from)
    })
    .await
}
