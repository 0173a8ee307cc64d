//! Item 6: `/account` on the Redis grant store, against the same server on the memory store (6a
//! with the client cache the `serve` command turns on, 6a′ without it) and, without the client
//! cache, against a bare hyper endpoint that makes the same Redis round trips as the store and
//! answers the same bytes (6b), with the same load generator in the same run, on a private
//! `redis-server` started for the run and stopped after it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use gameauth_vegaslounge::store::TokenHash;
use gameauth_vegaslounge::store::redis::{
    ClientCache, RedisConfig, RedisConnection, RedisStore, connect,
};
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::runtime::{Handle, Runtime};

use crate::Settings;
use crate::load::Conversation;
use crate::report::{Bound, Row};
use crate::vegas::{self, AccountCall, CONNECTIONS, compare_load};

const NAME_MEMORY: &str =
    "6a VL `/account` throughput, Redis store with the client cache vs memory store";
const NAME_UNCACHED: &str =
    "6a′ VL `/account` throughput, Redis store without the client cache vs memory store";
const NAME_BARE: &str = "6b VL `/account` throughput, Redis store without the client cache vs bare hyper endpoint with the same Redis round trips";
const BOUND_MEMORY: Bound = Bound::RatioAtLeast(0.6);
const BOUND_UNCACHED: Bound = Bound::Info;
const BOUND_BARE: Bound = Bound::RatioAtLeast(0.5);

/// The client cache of 6a: the `serve` command's default size.
const CLIENT_CACHE_ENTRIES: usize = 10_000;

/// The key prefixes of the stores under test (with and without the client cache).
const PREFIX: &str = "bench:";
const UNCACHED_PREFIX: &str = "bench-uncached:";

/// A `redis-server` of our own, stopped when dropped.
struct RedisServer {
    child: Child,
    port: u16,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

impl RedisServer {
    /// Starts `redis-server` on a free loopback port, without persistence.
    fn start(program: &PathBuf) -> Result<Self, String> {
        let port = StdListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = Command::new(program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        let server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("redis-server did not start listening within 5 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }
}

/// Where each token's grant lives, once read: the bare endpoint remembers it as the store does.
type Tags = Arc<std::sync::Mutex<HashMap<String, String>>>;

/// The bare endpoint: hyper answering `/account` with the body captured from our server, after
/// the Redis round trips the store makes for the presented token on the same connection type:
/// the first time, the token's index entry and the grant's fields (`GET`, `HMGET`); then only
/// the token's field of the grant (`HGET`).
fn bare_endpoint(
    runtime: &Handle,
    conn: RedisConnection,
    body: Bytes,
) -> Result<SocketAddr, String> {
    let tags: Tags = Arc::default();
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| format!("cannot bind the bare endpoint: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    runtime.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let conn = conn.clone();
            let body = body.clone();
            let tags = Arc::clone(&tags);
            let service = service_fn(move |request: Request<Incoming>| {
                let conn = conn.clone();
                let body = body.clone();
                let tags = Arc::clone(&tags);
                async move { Ok::<_, Infallible>(bare_account(request, conn, body, tags).await) }
            });
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

async fn bare_account(
    request: Request<Incoming>,
    mut conn: RedisConnection,
    body: Bytes,
    tags: Tags,
) -> Response<Full<Bytes>> {
    let status = |code: StatusCode| {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = code;
        r
    };
    let Some(token) = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return status(StatusCode::UNAUTHORIZED);
    };
    let hash = TokenHash::of(token).to_hex();
    let known = tags
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&hash)
        .cloned();
    let live = match known {
        Some(tag) => redis::cmd("HGET")
            .arg(format!("{UNCACHED_PREFIX}{{{tag}}}:grant"))
            .arg(format!("a:{hash}"))
            .query_async::<Option<Vec<u8>>>(&mut conn)
            .await
            .map(|expiry| expiry.is_some()),
        None => {
            let pointer: Option<String> = match redis::cmd("GET")
                .arg(format!("{UNCACHED_PREFIX}access:{hash}"))
                .query_async(&mut conn)
                .await
            {
                Ok(p) => p,
                Err(_) => return status(StatusCode::SERVICE_UNAVAILABLE),
            };
            let Some(tag) = pointer
                .as_deref()
                .and_then(|p| p.split_once(':'))
                .map(|(t, _)| t.to_owned())
            else {
                return status(StatusCode::UNAUTHORIZED);
            };
            let fields = redis::cmd("HMGET")
                .arg(format!("{UNCACHED_PREFIX}{{{tag}}}:grant"))
                .arg(format!("a:{hash}"))
                .arg("gid")
                .arg("client")
                .arg("player")
                .query_async::<Vec<Option<Vec<u8>>>>(&mut conn)
                .await;
            if let Ok(fields) = &fields
                && fields.iter().all(Option::is_some)
            {
                tags.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(hash, tag);
            }
            fields.map(|f| f.iter().all(Option::is_some))
        }
    };
    match live {
        Ok(true) => {
            let mut response = Response::new(Full::new(body));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Ok(false) => status(StatusCode::UNAUTHORIZED),
        Err(_) => status(StatusCode::SERVICE_UNAVAILABLE),
    }
}

/// Item 6: the server on a `RedisStore` under the load generator, alternating with the same
/// server on the memory store (6a) and with the bare endpoint (6b).
pub(crate) fn run(
    settings: &Settings,
    server_rt: &Runtime,
    client_rt: &Runtime,
) -> Result<Vec<Row>, String> {
    let Some(program) = find_on_path("redis-server") else {
        return Ok([
            (NAME_MEMORY, BOUND_MEMORY),
            (NAME_UNCACHED, BOUND_UNCACHED),
            (NAME_BARE, BOUND_BARE),
        ]
        .map(|(name, bound)| {
            Row::skipped(
                name,
                "req/s",
                bound,
                "no `redis-server` on PATH",
                serde_json::json!(null),
            )
        })
        .into());
    };
    let redis = RedisServer::start(&program)?;
    let url = format!("redis://127.0.0.1:{}/", redis.port);
    // The connections are opened on the server runtime, where a server opens its own: their
    // driver tasks then run next to the handlers that use them.
    let store_on = |conn: RedisConnection, prefix: &str| {
        RedisStore::builder(conn)
            .key_prefix(prefix)
            .build()
            .map_err(|e| e.to_string())
            .and_then(|store| vegas::server(Some(Arc::new(store))))
    };
    let (cached_server, uncached_server, bare_conn) = server_rt.block_on(async {
        let cache = ClientCache::new(CLIENT_CACHE_ENTRIES).map_err(|e| e.to_string())?;
        let cached_conn = RedisConfig::single(url.as_str())
            .timeout(Duration::from_secs(2))
            .client_cache(cache)
            .connect()
            .await
            .map_err(|e| format!("connect to redis-server: {e}"))?;
        let uncached_conn = connect(&url, Duration::from_secs(2))
            .await
            .map_err(|e| format!("connect to redis-server: {e}"))?;
        let bare_conn = connect(&url, Duration::from_secs(2))
            .await
            .map_err(|e| format!("connect to redis-server: {e}"))?;
        Ok::<_, String>((
            store_on(cached_conn, PREFIX)?,
            store_on(uncached_conn, UNCACHED_PREFIX)?,
            bare_conn,
        ))
    })?;
    let memory_server = vegas::server(None)?;
    let cached_addr = vegas::serve(server_rt, Arc::clone(&cached_server))?;
    let uncached_addr = vegas::serve(server_rt, Arc::clone(&uncached_server))?;
    let memory_addr = vegas::serve(server_rt, Arc::clone(&memory_server))?;
    let tokens = |server: &Arc<gameauth_vegaslounge::OAuthServer>| {
        client_rt.block_on(async {
            let mut out = Vec::new();
            for i in 0..CONNECTIONS {
                out.push(vegas::grant(server, i).await?.0);
            }
            Ok::<_, String>(out)
        })
    };
    let cached_tokens = tokens(&cached_server)?;
    let uncached_tokens = tokens(&uncached_server)?;
    let memory_tokens = tokens(&memory_server)?;
    let body = client_rt.block_on(vegas::sample_account_body(
        uncached_addr,
        &uncached_tokens[0],
    ))?;
    let bare_addr = bare_endpoint(server_rt.handle(), bare_conn, body)?;
    let calls = |tokens: &[String]| -> Vec<Box<dyn Conversation>> {
        tokens
            .iter()
            .filter_map(|t| AccountCall::new(t).ok())
            .map(|c| Box::new(c) as Box<dyn Conversation>)
            .collect()
    };
    let against_memory = compare_load(
        settings,
        client_rt,
        NAME_MEMORY.to_owned(),
        BOUND_MEMORY,
        cached_addr,
        || calls(&cached_tokens),
        memory_addr,
        || calls(&memory_tokens),
    )?;
    let uncached = compare_load(
        settings,
        client_rt,
        NAME_UNCACHED.to_owned(),
        BOUND_UNCACHED,
        uncached_addr,
        || calls(&uncached_tokens),
        memory_addr,
        || calls(&memory_tokens),
    )?;
    let against_bare = compare_load(
        settings,
        client_rt,
        NAME_BARE.to_owned(),
        BOUND_BARE,
        uncached_addr,
        || calls(&uncached_tokens),
        bare_addr,
        || calls(&uncached_tokens),
    )?;
    drop(redis);
    Ok(vec![against_memory, uncached, against_bare])
}
