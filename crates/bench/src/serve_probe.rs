//! `--serve-probe`: a real `gameauth vegaslounge serve` process (demo configuration, memory
//! store, sweeper every 60 s) on loopback, driven to a million refresh rotations over HTTP, then
//! probed with sequential `/account` requests across two sweep ticks. It reports the slowest
//! request near each tick against a 20 ms bound, the slowest request of every window of the same
//! length away from the ticks (the machine's own stalls, for comparison), and the server's
//! resident-set growth per rotation.
//!
//! `cargo xtask bench --serve-probe` builds `gameauth` and runs this.

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::json;
use tokio::runtime::Runtime;

use crate::load::{self, Conversation, micros};
use crate::stats::percentile;
use crate::vegas::{self, AccountCall};

/// The flag that selects this mode.
pub(crate) const FLAG: &str = "--serve-probe";
const USAGE: &str = "usage: gameauth-bench --serve-probe --gameauth <PATH> [--rotations N] \
                     [--grants G]";
/// The demo configuration's client (see `gameauth vegaslounge serve` without `--config`); its id
/// is the bench's own, `VL001`.
const DEMO_CLIENT: &str = crate::fixture::CLIENT_ID;
const DEMO_SECRET: &str = "demo-secret";
const DEMO_REDIRECT: &str = "https://fl.vegaslounge.live";
const DEMO_USER: &str = "alice";
const DEMO_PASSWORD: &str = "alice-pass";
/// The sweep interval of `serve` with the memory store.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// The bound on any request near a sweep tick.
const BOUND_MS: f64 = 20.0;
/// How far before and after a tick a request counts as "at" it.
const TICK_BEFORE: Duration = Duration::from_secs(1);
const TICK_AFTER: Duration = Duration::from_secs(3);
/// Connections driving the rotations.
const CONNECTIONS: usize = 64;

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct ProbeSettings {
    gameauth: PathBuf,
    rotations: usize,
    grants: usize,
}

/// Parses the arguments after `--serve-probe`.
pub(crate) fn parse(args: &[String]) -> Result<ProbeSettings, String> {
    let mut gameauth = None;
    let (mut rotations, mut grants) = (1_000_000, 10_000);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        let number = |v: &String| {
            v.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{arg}: `{v}` is not a positive number"))
        };
        match arg.as_str() {
            "--gameauth" => gameauth = Some(PathBuf::from(value()?)),
            "--rotations" => rotations = number(value()?)?,
            "--grants" => grants = number(value()?)?,
            other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
        }
    }
    let gameauth = gameauth.ok_or_else(|| format!("--gameauth is required\n{USAGE}"))?;
    if grants < CONNECTIONS {
        return Err(format!("--grants must be at least {CONNECTIONS}"));
    }
    Ok(ProbeSettings {
        gameauth,
        rotations,
        grants,
    })
}

/// The `serve` process, killed when dropped; its stderr is drained by a thread that keeps the
/// last lines for error messages.
struct Serve {
    child: Child,
    addr: SocketAddr,
    /// When the server said it listens: its sweeper started just before.
    listening: Instant,
    last_lines: Arc<Mutex<VecDeque<String>>>,
}

impl Serve {
    fn start(gameauth: &PathBuf) -> Result<Self, String> {
        let mut child = Command::new(gameauth)
            .args(["vegaslounge", "serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", gameauth.display()))?;
        let stderr = child.stderr.take().ok_or("no stderr pipe")?;
        let last_lines = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, rx) = mpsc::channel();
        let lines = Arc::clone(&last_lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on http://") {
                    let _ = tx.send((addr.trim().to_owned(), Instant::now()));
                }
                let mut kept = lines.lock().unwrap_or_else(PoisonError::into_inner);
                kept.push_back(line);
                if kept.len() > 20 {
                    kept.pop_front();
                }
            }
        });
        let mut serve = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            listening: Instant::now(),
            last_lines,
        };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok((addr, at)) => {
                serve.addr = addr
                    .parse()
                    .map_err(|e| format!("serve printed a bad address `{addr}`: {e}"))?;
                serve.listening = at;
                Ok(serve)
            }
            Err(_) => Err(format!(
                "serve did not start listening within 30 s: {}",
                serve.tail()
            )),
        }
    }

    fn tail(&self) -> String {
        let lines = self
            .last_lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        lines.iter().cloned().collect::<Vec<_>>().join(" / ")
    }

    /// The server's resident set in bytes (`VmRSS` in `/proc/<pid>/status`).
    fn rss(&self) -> Result<u64, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .map_err(|e| format!("cannot read the server's status: {e}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .ok_or_else(|| "no VmRSS in the server's status".to_owned())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cookie(response: &reqwest::Response, name: &str) -> Result<String, String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (k, val) = v.split(';').next()?.split_once('=')?;
            (k == name).then(|| val.to_owned())
        })
        .ok_or_else(|| format!("no {name} cookie"))
}

fn hidden_field(html: &str, name: &str) -> Result<String, String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .ok_or("the login form has no CSRF field")?
        + marker.len();
    let len = html[start..].find('"').ok_or("unterminated form field")?;
    Ok(html[start..start + len].to_owned())
}

/// Logs the demo player in; returns the session cookie.
async fn login(http: &reqwest::Client, base: &str) -> Result<String, String> {
    let page = http
        .get(format!("{base}/login"))
        .send()
        .await
        .map_err(|e| format!("login form: {e}"))?;
    let csrf_cookie = cookie(&page, "gameauth_csrf")?;
    let csrf = hidden_field(&page.text().await.map_err(|e| e.to_string())?, "csrf")?;
    let body = format!("username={DEMO_USER}&password={DEMO_PASSWORD}&return_to=%2F&csrf={csrf}");
    let response = http
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        // The login form refuses a post whose Origin is not the server itself.
        .header("origin", base)
        .header("cookie", format!("gameauth_csrf={csrf_cookie}"))
        .body(body)
        .send()
        .await
        .map_err(|e| format!("login: {e}"))?;
    if response.status() != StatusCode::SEE_OTHER {
        return Err(format!("login answered {}", response.status()));
    }
    cookie(&response, "gameauth_session")
}

#[derive(Deserialize)]
struct Tokens {
    access_token: String,
    refresh_token: String,
}

/// One grant through the code flow: authorize with the session, then redeem the code.
async fn grant(http: &reqwest::Client, base: &str, session: &str) -> Result<Tokens, String> {
    let redirect = url_encode(DEMO_REDIRECT);
    let response = http
        .get(format!(
            "{base}/oauth2.0/authorize?response_type=code&client_id={DEMO_CLIENT}&redirect_uri={redirect}"
        ))
        .header("cookie", format!("gameauth_session={session}"))
        .send()
        .await
        .map_err(|e| format!("authorize: {e}"))?;
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            format!(
                "authorize answered {} without a redirect",
                response.status()
            )
        })?;
    let code = reqwest::Url::parse(location)
        .map_err(|e| format!("authorize redirect: {e}"))?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or("the authorize redirect has no code")?;
    let response = http
        .post(format!("{base}/oauth2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=authorization_code&code={}&client_id={DEMO_CLIENT}&client_secret={DEMO_SECRET}",
            url_encode(&code)
        ))
        .send()
        .await
        .map_err(|e| format!("token: {e}"))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if status != StatusCode::OK {
        return Err(format!("token answered {status}"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("token answer: {e}"))
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Rotates several refresh chains in turn on one connection.
struct RoundRobin {
    chains: Vec<String>,
    next: usize,
}

#[derive(Deserialize)]
struct Rotated {
    refresh_token: String,
}

impl Conversation for RoundRobin {
    fn request(&mut self) -> Request<Full<Bytes>> {
        vegas::refresh_request(&self.chains[self.next], DEMO_SECRET)
    }

    fn response(&mut self, status: StatusCode, body: &[u8]) -> Result<(), String> {
        if status != StatusCode::OK {
            return Err(format!("refresh answered {status}"));
        }
        let answer: Rotated = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        self.chains[self.next] = answer.refresh_token;
        self.next = (self.next + 1) % self.chains.len();
        Ok(())
    }
}

/// One sequential `/account` request's time since the server listened, and its latency (µs).
type Sample = (Duration, u32);

/// Sequential `/account` requests on one connection until `until` (since `listening`).
async fn probe(
    addr: SocketAddr,
    access: &str,
    listening: Instant,
    until: Duration,
) -> Result<Vec<Sample>, String> {
    let mut sender = load::connect(addr).await?;
    let mut call = AccountCall::new(access)?;
    let mut samples = Vec::new();
    while listening.elapsed() < until {
        let (sent, done) = load::exchange(&mut sender, &mut call).await?;
        samples.push((sent.duration_since(listening), micros(done - sent)));
    }
    Ok(samples)
}

/// Runs the probe; prints the summary and writes `serve-probe.json` beside the bench report.
pub(crate) fn run(settings: &ProbeSettings, report_dir: PathBuf) -> Result<bool, String> {
    let serve = Serve::start(&settings.gameauth)?;
    let base = format!("http://{}", serve.addr);
    eprintln!("serve-probe: server on {base}");
    let runtime: Runtime = crate::runtime("serve-probe", 2)?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let result = runtime.block_on(async {
        let session = login(&http, &base).await?;
        // One grant more than rotated: its access token is the probe's.
        let mut tokens = Vec::with_capacity(settings.grants + 1);
        for _ in 0..=settings.grants {
            tokens.push(grant(&http, &base, &session).await?);
        }
        let probe_token = tokens.pop().map(|t| t.access_token).unwrap_or_default();
        eprintln!("serve-probe: {} grants issued", settings.grants);
        let rss_before = serve.rss()?;
        let per_connection = settings.rotations.div_ceil(CONNECTIONS);
        let mut chains: Vec<Vec<String>> = vec![Vec::new(); CONNECTIONS];
        for (i, t) in tokens.into_iter().enumerate() {
            chains[i % CONNECTIONS].push(t.refresh_token);
        }
        let conversations = chains
            .into_iter()
            .map(|chains| Box::new(RoundRobin { chains, next: 0 }) as Box<dyn Conversation>)
            .collect();
        let took = load::run_count(serve.addr, conversations, per_connection).await?;
        let rotations = per_connection * CONNECTIONS;
        let rss_after = serve.rss()?;
        eprintln!(
            "serve-probe: {rotations} rotations in {:.1} s ({:.0}/s)",
            took.as_secs_f64(),
            rotations as f64 / took.as_secs_f64()
        );
        // Probe across the next two sweep ticks after the rotations.
        let since = serve.listening.elapsed() + TICK_BEFORE;
        let first_tick = since.as_secs().div_ceil(SWEEP_EVERY.as_secs());
        let ticks: Vec<Duration> = (first_tick..first_tick + 2)
            .map(|k| SWEEP_EVERY * u32::try_from(k).unwrap_or(u32::MAX))
            .collect();
        let until = ticks.last().copied().unwrap_or_default() + TICK_AFTER;
        eprintln!(
            "serve-probe: probing /account sequentially until {:.0} s after start (ticks at {:?} s)",
            until.as_secs_f64(),
            ticks.iter().map(Duration::as_secs).collect::<Vec<_>>()
        );
        let samples = probe(serve.addr, &probe_token, serve.listening, until).await?;
        Ok::<_, String>((rotations, took, rss_before, rss_after, ticks, samples))
    });
    let (rotations, took, rss_before, rss_after, ticks, samples) =
        result.map_err(|e| format!("{e} (server: {})", serve.tail()))?;
    drop(serve);

    let mut all: Vec<u32> = samples.iter().map(|s| s.1).collect();
    all.sort_unstable();
    let at_ticks: Vec<_> = ticks
        .iter()
        .map(|&tick| {
            let near: Vec<u32> = samples
                .iter()
                .filter(|(at, _)| *at + TICK_BEFORE >= tick && *at < tick + TICK_AFTER)
                .map(|s| s.1)
                .collect();
            (tick, near.len(), near.iter().copied().max().unwrap_or(0))
        })
        .collect();
    // The same windows away from the ticks: what this machine does without a sweep.
    let window = TICK_BEFORE + TICK_AFTER;
    let (first, end) = (
        samples.first().map_or(Duration::ZERO, |s| s.0),
        samples.last().map_or(Duration::ZERO, |s| s.0),
    );
    let near_tick = |at: Duration| {
        ticks
            .iter()
            .any(|&t| at + TICK_BEFORE + window >= t && at < t + TICK_AFTER + window)
    };
    let mut elsewhere: Vec<u32> = Vec::new();
    let mut start = first;
    while start + window <= end {
        if !near_tick(start) {
            let max = samples
                .iter()
                .filter(|(at, _)| *at >= start && *at < start + window)
                .map(|s| s.1)
                .max();
            elsewhere.extend(max);
        }
        start += window;
    }
    elsewhere.sort_unstable();
    let worst_ms = at_ticks
        .iter()
        .map(|t| f64::from(t.2) / 1e3)
        .fold(0.0, f64::max);
    let met = at_ticks.iter().all(|t| t.1 > 0) && worst_ms <= BOUND_MS;
    let rss_per_rotation = (rss_after as f64 - rss_before as f64) / rotations as f64;
    // The slowest requests and when they were sent, to tell sweeps from other stalls.
    let mut slowest = samples.clone();
    slowest.sort_unstable_by_key(|s| std::cmp::Reverse(s.1));
    slowest.truncate(10);

    println!("| serve probe | value |\n|---|---:|");
    println!(
        "| rotations (over {} grants) | {rotations} in {:.1} s |",
        settings.grants,
        took.as_secs_f64()
    );
    println!("| server resident growth per rotation | {rss_per_rotation:.1} B |");
    println!("| sequential `/account` requests | {} |", all.len());
    println!(
        "| p50 / p99 / max | {} / {} / {} µs |",
        percentile(&all, 50.0),
        percentile(&all, 99.0),
        all.last().copied().unwrap_or(0)
    );
    for (tick, n, max) in &at_ticks {
        println!(
            "| max at the sweep tick {} s after start ({n} requests from −{} s to +{} s) | {:.2} ms |",
            tick.as_secs(),
            TICK_BEFORE.as_secs(),
            TICK_AFTER.as_secs(),
            f64::from(*max) / 1e3
        );
    }
    println!(
        "| max in the {} windows of {} s away from the ticks: median / slowest window | {:.2} / {:.2} ms |",
        elsewhere.len(),
        window.as_secs(),
        f64::from(percentile(&elsewhere, 50.0)) / 1e3,
        f64::from(elsewhere.last().copied().unwrap_or(0)) / 1e3
    );
    println!(
        "| slowest requests (µs at s after start) | {} |",
        slowest
            .iter()
            .take(5)
            .map(|(at, us)| format!("{us} at {:.1}", at.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "| target: every request at a tick ≤ {BOUND_MS} ms | {} |",
        if met { "met" } else { "**NO**" }
    );
    let report = json!({
        "rotations": rotations,
        "grants": settings.grants,
        "rotation_s": took.as_secs_f64(),
        "rss_before": rss_before,
        "rss_after": rss_after,
        "rss_per_rotation": rss_per_rotation,
        "requests": all.len(),
        "p50_us": percentile(&all, 50.0),
        "p99_us": percentile(&all, 99.0),
        "max_us": all.last().copied().unwrap_or(0),
        "ticks": at_ticks.iter().map(|(t, n, max)| json!({
            "tick_s": t.as_secs(), "requests": n, "max_us": max,
        })).collect::<Vec<_>>(),
        "window_max_us_away_from_ticks": elsewhere,
        "slowest": slowest.iter().map(|(at, us)| json!({
            "at_s": at.as_secs_f64(), "us": us,
        })).collect::<Vec<_>>(),
        "bound_ms": BOUND_MS,
        "met": met,
    });
    let path = report_dir.join("serve-probe.json");
    std::fs::create_dir_all(&report_dir)
        .and_then(|()| {
            std::fs::write(
                &path,
                serde_json::to_string_pretty(&report).unwrap_or_default(),
            )
        })
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("raw numbers in {}", path.display());
    Ok(met)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn settings_need_the_server_binary_and_take_counts() {
        let s = parse(&args(&[
            "--gameauth",
            "/bin/gameauth",
            "--rotations",
            "5000",
        ]))
        .unwrap();
        assert_eq!(
            (s.gameauth, s.rotations, s.grants),
            (PathBuf::from("/bin/gameauth"), 5000, 10_000)
        );
        assert!(
            parse(&args(&["--rotations", "5"]))
                .unwrap_err()
                .contains("--gameauth")
        );
        assert!(parse(&args(&["--gameauth", "g", "--grants", "10"])).is_err());
        assert!(parse(&args(&["--gameauth", "g", "--rotations", "-1"])).is_err());
        assert!(parse(&args(&["--gameauth"])).is_err());
        assert!(parse(&args(&["--gameauth", "g", "--what"])).is_err());
    }

    #[test]
    fn the_csrf_field_is_read_from_the_login_form() {
        let html =
            r#"<form><input type="hidden" name="csrf" value="abc-123"><input name="x"></form>"#;
        assert_eq!(hidden_field(html, "csrf").unwrap(), "abc-123");
        assert!(hidden_field("<form></form>", "csrf").is_err());
    }
}
