//! The `axum` router for the fixed route set (feature `axum`).
//!
//! ```no_run
//! # async fn run(server: std::sync::Arc<gameauth_vegaslounge::OAuthServer>) -> std::io::Result<()> {
//! use std::net::SocketAddr;
//!
//! let app = gameauth_vegaslounge::router(server);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! // The peer address drives the IP allow-list: serve with connect info.
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
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
use crate::error::Reason;
use crate::server::OAuthServer;

/// A router serving `GET /oauth2.0/authorize`, `POST /oauth2.0/token`,
/// `POST /oauth2.0/refresh`, `GET /account` and `GET /logout`.
///
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()`: without the peer address
/// the restricted routes answer 403 (the allow-list fails closed). Merge it into the host's own
/// router to add the login page and anything else; it adds no CORS headers.
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
    let mut bytes = Bytes::new();
    if let Some(route) = Route::from_path(parts.uri.path()) {
        if let Err(refused) = server.precheck(route, &parts, peer) {
            return (*refused).map(Body::from);
        }
        bytes = match axum::body::to_bytes(body, server.config().max_body_bytes).await {
            Ok(b) => b,
            Err(e) if is_length_limit(&e) => {
                return server.reject(route, Reason::BodyTooLarge).map(Body::from);
            }
            Err(_) => {
                return server
                    .reject(route, Reason::MalformedParameter("body"))
                    .map(Body::from);
            }
        };
    }
    server
        .handle(Request::from_parts(parts, bytes), peer)
        .await
        .map(Body::from)
}

fn is_length_limit(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}
