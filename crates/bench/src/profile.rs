//! `--profile <account|refresh> N`: `N` requests through [`OAuthServer::handle`] in process (no
//! socket, no HTTP codec, no framework), one after another on one thread, so a profiler sees
//! only the SDK's own work per request and the host hooks of item 4. For example
//! `valgrind --tool=callgrind target/release/gameauth-bench --profile account 5000`, or
//! `perf record` on the same command.
//!
//! [`OAuthServer::handle`]: gameauth_vegaslounge::OAuthServer::handle

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{Method, Request, StatusCode};
use serde::Deserialize;

use crate::vegas::{self, CLIENT_ID, CLIENT_SECRET};

/// The flag that selects this mode.
pub(crate) const FLAG: &str = "--profile";
const USAGE: &str = "usage: gameauth-bench --profile <account|refresh> N";

#[derive(Deserialize)]
struct Rotated {
    refresh_token: String,
}

/// Runs the requests and prints the time per request.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let route = args.first().map(String::as_str).ok_or(USAGE)?;
    if route != "account" && route != "refresh" {
        return Err(USAGE.to_owned());
    }
    let n = args
        .get(1)
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| *n > 0)
        .ok_or(USAGE)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    let server = vegas::server(None)?;
    let peer = SocketAddr::from(([127, 0, 0, 1], 40000));
    runtime.block_on(async {
        let (access, mut refresh) = vegas::grant(&server, 1).await?;
        let bearer = format!("Bearer {access}");
        let started = Instant::now();
        for _ in 0..n {
            let mut request = Request::builder().header(HOST, "api.operator.com");
            request = if route == "account" {
                request
                    .uri("/account?client_id=VL001")
                    .header(AUTHORIZATION, bearer.as_str())
            } else {
                request
                    .method(Method::POST)
                    .uri("/oauth2.0/token")
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            };
            let body = if route == "account" {
                Bytes::new()
            } else {
                Bytes::from(format!(
                    "grant_type=refresh_token&refresh_token={refresh}&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
                ))
            };
            let request = request.body(body).map_err(|e| e.to_string())?;
            let response = server.handle(request, peer).await;
            if response.status() != StatusCode::OK {
                return Err(format!("{route} answered {}", response.status()));
            }
            if route == "refresh" {
                refresh = serde_json::from_slice::<Rotated>(response.body())
                    .map_err(|e| e.to_string())?
                    .refresh_token;
            }
        }
        println!(
            "{route}: {:.2} µs per request ({n} requests)",
            started.elapsed().as_secs_f64() * 1e6 / f64::from(n)
        );
        Ok(())
    })
}
