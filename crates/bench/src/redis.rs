//! Item 6: `/account` on the Redis grant store against a plain Redis `GET` loop at the same
//! concurrency through the same client library (one managed connection each), on a private
//! `redis-server` started for the run and stopped after it.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::cell::RefCell;

use gameauth_vegaslounge::store::redis::{ConnectionManager, RedisStore, connect};
use serde_json::json;
use tokio::runtime::Runtime;

use crate::Settings;
use crate::hive::{first_error, sample};
use crate::load::{self, Conversation, LoadResult, Runs};
use crate::report::{Bound, Latency, Row};
use crate::stats::{Paired, median};
use crate::vegas::{self, AccountCall, CONNECTIONS, windows};

const NAME: &str = "6 VL `/account` throughput, Redis store vs plain Redis GET loop";
const BOUND: Bound = Bound::RatioAtLeast(0.5);

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
        let port = TcpListener::bind("127.0.0.1:0")
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

/// GETs with `CONNECTIONS` tasks sharing one managed connection for `window`.
/// With `then_hmget`, each GET is followed by an `HMGET` of four fields: the two round trips
/// the store makes per access-token lookup, for the notes.
async fn get_loop(
    conn: ConnectionManager,
    window: Duration,
    warmup: Duration,
    then_hmget: bool,
) -> Result<LoadResult, String> {
    let start = Instant::now() + warmup;
    let end = start + window;
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|i| {
            let mut conn = conn.clone();
            tokio::spawn(async move {
                let key = format!("bench:plain:{i}");
                let mut latencies = Vec::new();
                while Instant::now() < end {
                    let sent = Instant::now();
                    let value: Option<Vec<u8>> = redis::cmd("GET")
                        .arg(&key)
                        .query_async(&mut conn)
                        .await
                        .map_err(|e| format!("GET: {e}"))?;
                    if value.is_none() {
                        return Err("GET found no value".to_owned());
                    }
                    if then_hmget {
                        let fields: Vec<Option<Vec<u8>>> = redis::cmd("HMGET")
                            .arg("bench:plain-grant")
                            .arg(&["a", "gid", "client", "player"][..])
                            .query_async(&mut conn)
                            .await
                            .map_err(|e| format!("HMGET: {e}"))?;
                        if fields.iter().any(Option::is_none) {
                            return Err("HMGET found no record".to_owned());
                        }
                    }
                    let now = Instant::now();
                    if now >= start && now < end {
                        latencies.push(load::micros(now.duration_since(sent)));
                    }
                }
                Ok(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| format!("GET task panicked: {e}"))??);
    }
    Ok(LoadResult::new(all, window))
}

/// Item 6: the server on a `RedisStore` (same `redis` client library, one managed connection)
/// under the load generator, alternating with the plain `GET` loop.
pub(crate) fn run(
    settings: &Settings,
    server_rt: &Runtime,
    client_rt: &Runtime,
) -> Result<Vec<Row>, String> {
    let Some(program) = find_on_path("redis-server") else {
        return Ok(vec![Row::skipped(
            NAME,
            "req/s",
            BOUND,
            "no `redis-server` on PATH",
            json!(null),
        )]);
    };
    let redis = RedisServer::start(&program)?;
    let url = format!("redis://127.0.0.1:{}/", redis.port);
    let (reps, warmup, measure) = windows(settings);
    let (server, baseline_conn) = client_rt.block_on(async {
        let store_conn = connect(&url, Duration::from_secs(2))
            .await
            .map_err(|e| format!("connect to redis-server: {e}"))?;
        let store = RedisStore::builder(store_conn)
            .key_prefix("bench:")
            .build()
            .map_err(|e| e.to_string())?;
        let mut conn = connect(&url, Duration::from_secs(2))
            .await
            .map_err(|e| format!("connect to redis-server: {e}"))?;
        // A value the size of a stored access-token pointer.
        for i in 0..CONNECTIONS {
            let _: () = redis::cmd("SET")
                .arg(format!("bench:plain:{i}"))
                .arg(format!("{:032x}:{:016x}", i, i))
                .query_async(&mut conn)
                .await
                .map_err(|e| format!("SET: {e}"))?;
        }
        let _: () = redis::cmd("HSET")
            .arg("bench:plain-grant")
            .arg(
                &[
                    "a",
                    "1711971655000",
                    "gid",
                    "AAAAAAAAAAAAAAAAAAAAAA",
                    "client",
                    "VL001",
                ][..],
            )
            .arg(&["player", "player-00001"][..])
            .query_async(&mut conn)
            .await
            .map_err(|e| format!("HSET: {e}"))?;
        Ok::<_, String>((vegas::server(Some(Arc::new(store)))?, conn))
    })?;
    let addr = vegas::serve(server_rt, Arc::clone(&server))?;
    let tokens = client_rt.block_on(async {
        let mut out = Vec::new();
        for i in 0..CONNECTIONS {
            out.push(vegas::grant(&server, i).await?.0);
        }
        Ok::<_, String>(out)
    })?;

    let errors = RefCell::new(None);
    let (ours_runs, base_runs) = (Runs::default(), Runs::default());
    let p = Paired::run(
        reps,
        || {
            let conversations = tokens
                .iter()
                .filter_map(|t| AccountCall::new(t).ok())
                .map(|c| Box::new(c) as Box<dyn Conversation>)
                .collect();
            let r = client_rt.block_on(load::run(addr, conversations, warmup, measure));
            sample(&errors, ours_runs.rps(r))
        },
        || {
            let r = client_rt.block_on(get_loop(baseline_conn.clone(), measure, warmup, false));
            sample(&errors, base_runs.rps(r))
        },
    );
    first_error(errors)?;
    let two_round_trips = (0..reps.div_ceil(3))
        .map(|_| {
            client_rt
                .block_on(get_loop(baseline_conn.clone(), measure, warmup, true))
                .map(|r| r.rps())
        })
        .collect::<Result<Vec<f64>, String>>()?;
    drop(redis);
    let (ours_runs, base_runs) = (ours_runs.into_inner(), base_runs.into_inner());
    Ok(vec![
        Row::paired(
            NAME,
            "req/s",
            &p,
            BOUND,
            json!({
                "connections": CONNECTIONS,
                "measure_s": measure.as_secs_f64(),
                "ours_rps": p.ours,
                "baseline_get_per_s": p.baseline,
                "ours_latency_us": vegas::runs_json(&ours_runs),
                "baseline_latency_us": vegas::runs_json(&base_runs),
                "get_then_hmget_per_s": two_round_trips,
                "get_then_hmget_median_per_s": median(&two_round_trips),
            }),
        )
        .with_latency(Latency::of(&ours_runs, &base_runs)),
    ])
}
