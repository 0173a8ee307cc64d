//! `--profile <account|refresh|hive|hive-bare> N`, for a profiler. For example
//! `valgrind --tool=callgrind --separate-threads=yes target/release/gameauth-bench --profile hive 3000`,
//! or `perf record` on the same command.
//!
//! * `account`, `refresh`: `N` requests through [`OAuthServer::handle`] in process (no socket, no
//!   HTTP codec, no framework), one after another on one thread, so a profiler sees only the
//!   SDK's own work per request and the host hooks of item 4.
//! * `hive`, `hive-bare`: `N` sequential Hive verifications of item 2 against its loopback stub,
//!   through `gameauth-hive` or by hand. The calls run on the calling thread, the stub and the
//!   connections' tasks on the runtimes' threads, so the calling thread's cost per call (the
//!   difference between two values of `N`) compares the two sides.
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
const USAGE: &str = "usage: gameauth-bench --profile <account|refresh|hive|hive-bare> N";

#[derive(Deserialize)]
struct Rotated {
    refresh_token: String,
}

/// Runs the requests and prints the time per request.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let route = args.first().map(String::as_str).ok_or(USAGE)?;
    let n = args
        .get(1)
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| *n > 0)
        .ok_or(USAGE)?;
    if let "hive" | "hive-bare" = route {
        let per_call = crate::hive::profile(route == "hive-bare", n)?;
        println!("{route}: {per_call:.2} µs per call ({n} calls)");
        return Ok(());
    }
    if route != "account" && route != "refresh" {
        return Err(USAGE.to_owned());
    }
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
