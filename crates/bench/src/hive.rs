//! Items 2 and 3: Hive verification through `gameauth-hive` against a hand-written `reqwest` POST
//! with the same headers and body, both against the same loopback stub; then failover to the
//! fallback host when the primary accepts and never answers.

use gameauth_hive as hive;
use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use gameauth_core::PlayerToken;
use gameauth_hive::{BreakerState, IncludeField, ServedBy, VerifyAccessToken, VerifyParams};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::runtime::Runtime;

use crate::Settings;
use crate::load::{self, LoadResult, Runs};
use crate::report::{Bound, Latency, Row};
use crate::stats::{Paired, median};
use crate::stub::{Answers, Stub};
use crate::vegas::runs_json;

const APPID: &str = "com.com2us.hivesdk.normal.freefull.google.global.android.common";
const PLAYER_TOKEN: &str = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b";
const PLAYER_ID: i64 = 21;
const DID: &str = "255764404509548";
const VERIFY_PATH: &str = "/v2/game/token/get-token";
const TOKEN_PATH: &str = "/oauth/token";
const VERIFY_ANSWER: &str = r#"{"result_code":0,"result_msg":"SUCCESS","token_validation":{"result_code":0,"result_msg":"SUCCESS"},"data":{"is_blocked":false}}"#;
/// Concurrent callers of the throughput rows.
const CALLERS: usize = 64;
/// The primary's per-attempt timeout in the failover rows.
const PRIMARY_TIMEOUT: Duration = Duration::from_millis(100);

/// A server token shaped like Hive's (a JWT expiring in 2100), so the client caches it.
fn server_token() -> String {
    let part = |s: &str| URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        part(r#"{"alg":"RS256","typ":"JWT"}"#),
        part(r#"{"sub":"project_abc123","exp":4102444800}"#),
        part("signature")
    )
}

fn answers(token: &str) -> Answers {
    let token_answer = format!(
        r#"{{"result_code":0,"result_msg":"SUCCESS","data":{{"access_token":"{token}"}}}}"#
    );
    Arc::new(vec![
        (TOKEN_PATH, Bytes::from(token_answer)),
        (VERIFY_PATH, Bytes::from_static(VERIFY_ANSWER.as_bytes())),
    ])
}

fn params() -> VerifyParams {
    VerifyParams::new(PlayerToken::new(PLAYER_TOKEN), PLAYER_ID, DID)
        .include(IncludeField::IsBlocked)
}

/// The hand-written call: the same request `gameauth-hive` sends, on a `reqwest` client configured
/// like the SDK's default transport, and the same decision (result codes, `is_blocked`).
#[derive(Clone)]
struct Bare {
    client: reqwest::Client,
    server_token: String,
}

#[derive(Serialize)]
struct BareBody<'a> {
    appid: &'a str,
    did: &'a str,
    player_id: i64,
    include_fields: [&'a str; 1],
}

#[derive(Deserialize)]
struct BareAnswer {
    result_code: i64,
    token_validation: Option<BareValidation>,
    data: Option<BareData>,
}

#[derive(Deserialize)]
struct BareValidation {
    result_code: i64,
}

#[derive(Deserialize)]
struct BareData {
    is_blocked: Option<bool>,
}

impl Bare {
    fn new(server_token: String) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_millis(2500))
            .build()
            .map_err(|e| format!("reqwest client: {e}"))?;
        Ok(Self {
            client,
            server_token,
        })
    }

    async fn verify(&self, base: &str) -> Result<bool, String> {
        let body = serde_json::to_vec(&BareBody {
            appid: APPID,
            did: DID,
            player_id: PLAYER_ID,
            include_fields: ["is_blocked"],
        })
        .map_err(|e| e.to_string())?;
        let response = self
            .client
            .post(format!("{base}{VERIFY_PATH}"))
            .header("authorization", PLAYER_TOKEN)
            .header("x-access-token", &self.server_token)
            .header("content-type", "application/json")
            .header("iscrypt", "0")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("bare call: {e}"))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(format!("bare call answered {}", response.status()));
        }
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        let answer: BareAnswer = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        let valid = answer.token_validation.is_none_or(|v| v.result_code == 0);
        Ok(answer.result_code == 0 && valid && answer.data.and_then(|d| d.is_blocked).is_some())
    }
}

/// The parameters of every call, built once as the baseline's constants are.
static PARAMS: std::sync::LazyLock<VerifyParams> = std::sync::LazyLock::new(params);

async fn ours_once(client: &hive::Client) -> Result<ServedBy, String> {
    let verified = client
        .verify_token(&PARAMS)
        .await
        .map_err(|e| format!("gameauth-hive call: {e}"))?;
    if verified.fields.is_blocked.is_none() {
        return Err("gameauth-hive call lost is_blocked".into());
    }
    Ok(verified.served_by)
}

async fn bare_once(bare: &Bare, base: &str) -> Result<(), String> {
    if bare.verify(base).await? {
        Ok(())
    } else {
        Err("bare call did not verify".into())
    }
}

/// Microseconds per call of `calls` sequential calls.
async fn sequential<F, Fut>(calls: usize, mut call: F) -> Result<f64, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let start = Instant::now();
    for _ in 0..calls {
        call().await?;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / calls as f64)
}

/// `CALLERS` tasks calling back to back for `window`, after a short warm-up.
async fn concurrent<F, Fut>(window: Duration, call: F) -> Result<LoadResult, String>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    load::callers(CALLERS, Duration::from_millis(200), window, call).await
}

/// The client with the server-token option, so each call also reads the token cache: a
/// superset of the default mode's work (which sends the player's access token from the
/// parameters and has no cache).
fn build_client(primary: &Stub, fallback: Option<&Stub>) -> Result<hive::Client, String> {
    let mut builder = hive::Client::builder()
        .primary_url(primary.url())
        .appid(APPID)
        .client_credentials("project_abc123", SecretString::from("secret_xyz789"))
        .verify_access_token(VerifyAccessToken::Server);
    if let Some(f) = fallback {
        builder = builder
            .fallback_url(f.url())
            // The token host stays reachable while the primary is silent.
            .oauth_url(f.url())
            .primary_timeout(PRIMARY_TIMEOUT);
    }
    builder.build().map_err(|e| format!("hive client: {e}"))
}

/// Keeps the first error of a sampling closure and turns it into a NaN sample.
pub(crate) fn sample(errors: &RefCell<Option<String>>, result: Result<f64, String>) -> f64 {
    result.unwrap_or_else(|e| {
        errors.borrow_mut().get_or_insert(e);
        f64::NAN
    })
}

/// The first error recorded by [`sample`], if any.
pub(crate) fn first_error(errors: RefCell<Option<String>>) -> Result<(), String> {
    errors.into_inner().map_or(Ok(()), Err)
}

/// The stub (kept running while it is held), its URL, our client and the hand-written one, both
/// warmed: the server token cached, connections open.
fn warmed(
    server: &Runtime,
    client_rt: &Runtime,
) -> Result<(Stub, String, hive::Client, Bare), String> {
    let token = server_token();
    let stub = Stub::start(server.handle(), answers(&token))?;
    let base = stub.url();
    let ours = build_client(&stub, None)?;
    let bare = Bare::new(token)?;
    client_rt.block_on(async {
        for _ in 0..200 {
            ours_once(&ours).await?;
            bare_once(&bare, &base).await?;
        }
        Ok::<_, String>(())
    })?;
    Ok((stub, base, ours, bare))
}

/// Item 2: sequential cost and throughput at 64 callers.
pub(crate) fn run_verify(
    settings: &Settings,
    server: &Runtime,
    client_rt: &Runtime,
) -> Result<Vec<Row>, String> {
    let (_stub, base, ours, bare) = warmed(server, client_rt)?;

    let (reps, calls) = if settings.quick { (9, 200) } else { (31, 500) };
    let errors = RefCell::new(None);
    let seq = Paired::run(
        reps,
        || {
            let r = client_rt.block_on(sequential(calls, || async {
                ours_once(&ours).await.map(drop)
            }));
            sample(&errors, r)
        },
        || {
            let r = client_rt.block_on(sequential(calls, || bare_once(&bare, &base)));
            sample(&errors, r)
        },
    );
    first_error(errors)?;
    let sequential_row = Row::paired(
        "2a Hive verify, sequential (cached server token)",
        "µs/call",
        &seq,
        Bound::RatioAtMost(1.05),
        json!({ "calls_per_sample": calls, "ours_us": seq.ours, "baseline_us": seq.baseline }),
    );

    let (reps, window) = if settings.quick {
        (5, Duration::from_millis(500))
    } else {
        (15, Duration::from_millis(700))
    };
    let errors = RefCell::new(None);
    let (ours_runs, base_runs) = (Runs::default(), Runs::default());
    let tput = Paired::run(
        reps,
        || {
            let c = ours.clone();
            let r = client_rt.block_on(concurrent(window, move || {
                let c = c.clone();
                async move { ours_once(&c).await.map(drop) }
            }));
            sample(&errors, ours_runs.rps(r))
        },
        || {
            let b = bare.clone();
            let base = base.clone();
            let r = client_rt.block_on(concurrent(window, move || {
                let b = b.clone();
                let base = base.clone();
                async move { bare_once(&b, &base).await }
            }));
            sample(&errors, base_runs.rps(r))
        },
    );
    first_error(errors)?;
    let (ours_runs, base_runs) = (ours_runs.into_inner(), base_runs.into_inner());
    let throughput_row = Row::paired(
        format!("2b Hive verify, throughput at {CALLERS} callers"),
        "calls/s",
        &tput,
        Bound::RatioAtLeast(0.97),
        json!({
            "window_s": window.as_secs_f64(),
            "ours_per_s": tput.ours,
            "baseline_per_s": tput.baseline,
            "ours_latency_us": runs_json(&ours_runs),
            "baseline_latency_us": runs_json(&base_runs),
        }),
    )
    .with_latency(Latency::of(&ours_runs, &base_runs));
    Ok(vec![sequential_row, throughput_row])
}

/// `--profile hive|hive-bare N`: `n` sequential verifications against the stub, through
/// `gameauth-hive` or by hand (`bare`), after the same warm-up as item 2, with the servers and
/// the callers on runtimes of their own as in item 2; returns the time per call (µs).
pub(crate) fn profile(bare: bool, n: u32) -> Result<f64, String> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let server = crate::runtime("bench-server", cores)?;
    let client_rt = crate::runtime("bench-client", cores)?;
    let (_stub, base, ours, by_hand) = warmed(&server, &client_rt)?;
    client_rt.block_on(async {
        let started = Instant::now();
        for _ in 0..n {
            if bare {
                bare_once(&by_hand, &base).await?;
            } else {
                ours_once(&ours).await?;
            }
        }
        Ok(started.elapsed().as_secs_f64() * 1e6 / f64::from(n))
    })
}

/// The hand-written failover, for reference: the primary call under `tokio::time::timeout`,
/// then the fallback. It pays the same timer granularity as any tokio timeout.
async fn bare_failover(bare: &Bare, primary: &str, fallback: &str) -> Result<(), String> {
    match tokio::time::timeout(PRIMARY_TIMEOUT, bare.verify(primary)).await {
        Ok(_) => Err("the silent primary answered".into()),
        Err(_) => bare_once(bare, fallback).await,
    }
}

/// Item 3: the first call after the primary goes silent, then calls with the breaker open.
pub(crate) fn run_failover(
    settings: &Settings,
    server: &Runtime,
    client_rt: &Runtime,
) -> Result<Vec<Row>, String> {
    let token = server_token();
    let primary = Stub::start(server.handle(), answers(&token))?;
    let fallback = Stub::start(server.handle(), answers(&token))?;
    let fallback_url = fallback.url();
    let bare = Bare::new(token)?;
    let reps = if settings.quick { 5 } else { 11 };
    let direct_calls = if settings.quick { 100 } else { 300 };

    // 3a: each repetition builds a client, warms it on an answering primary (server token
    // fetched from the token host, connections open), silences the primary and times one call.
    let mut first_ms = Vec::new();
    let mut direct_ms = Vec::new();
    let mut bare_failover_ms = Vec::new();
    for _ in 0..reps {
        primary.set_silent(false);
        let client = build_client(&primary, Some(&fallback))?;
        client_rt.block_on(async {
            for _ in 0..20 {
                if ours_once(&client).await? != ServedBy::Primary {
                    return Err("warm-up call not served by the primary".to_owned());
                }
                bare_once(&bare, &fallback_url).await?;
            }
            Ok(())
        })?;
        primary.set_silent(true);
        let (first, served) = client_rt.block_on(async {
            let start = Instant::now();
            let served = ours_once(&client).await?;
            Ok::<_, String>((start.elapsed(), served))
        })?;
        if served != ServedBy::Fallback {
            return Err(
                "first call after the primary went silent not served by the fallback".into(),
            );
        }
        first_ms.push(first.as_secs_f64() * 1e3);
        let direct =
            client_rt.block_on(sequential(direct_calls, || bare_once(&bare, &fallback_url)))?;
        direct_ms.push(direct / 1e3);
        let primary_url = primary.url();
        let hand = client_rt.block_on(async {
            let start = Instant::now();
            bare_failover(&bare, &primary_url, &fallback_url).await?;
            Ok::<_, String>(start.elapsed())
        })?;
        bare_failover_ms.push(hand.as_secs_f64() * 1e3);
    }
    let timeout_ms = PRIMARY_TIMEOUT.as_secs_f64() * 1e3;
    let (first, direct) = (median(&first_ms), median(&direct_ms));
    let first_row = Row::measured(
        format!(
            "3a failover first call, primary silent (T = {timeout_ms:.0} ms; ratio = (call − T) ÷ direct fallback call)"
        ),
        "ms",
        first,
        Some(timeout_ms + direct),
        Some((first - timeout_ms) / direct),
        Bound::RatioAtMost(1.2),
        json!({
            "primary_timeout_ms": timeout_ms,
            "first_call_ms": first_ms,
            "direct_fallback_call_ms": direct_ms,
            "hand_written_failover_ms": bare_failover_ms,
            "hand_written_failover_median_ms": median(&bare_failover_ms),
        }),
    );

    let excess_ratios: Vec<f64> = first_ms
        .iter()
        .zip(&bare_failover_ms)
        .map(|(ours, hand)| (ours - timeout_ms) / (hand - timeout_ms))
        .collect();
    let floor_row = Row::measured(
        "3a′ failover first call vs the same failover by hand (tokio timeout, then reqwest; ratio = (call − T) ÷ (hand-written − T))",
        "ms",
        first,
        Some(median(&bare_failover_ms)),
        Some(median(&excess_ratios)),
        Bound::RatioAtMost(1.2),
        json!({ "ours_ms": first_ms, "hand_written_ms": bare_failover_ms }),
    );

    // 3b: trip the breaker (5 consecutive primary failures), then compare calls that go
    // straight to the fallback with direct fallback calls.
    primary.set_silent(false);
    let client = build_client(&primary, Some(&fallback))?;
    client_rt.block_on(async {
        for _ in 0..20 {
            ours_once(&client).await?;
            bare_once(&bare, &fallback_url).await?;
        }
        primary.set_silent(true);
        while client.breaker_state() != Some(BreakerState::Open) {
            if ours_once(&client).await? != ServedBy::Fallback {
                return Err("silent primary answered".to_owned());
            }
        }
        Ok(())
    })?;
    let errors = RefCell::new(None);
    let open = Paired::run(
        reps * 3,
        || {
            let r = client_rt.block_on(sequential(direct_calls, || async {
                match ours_once(&client).await? {
                    ServedBy::Fallback => Ok(()),
                    _ => Err("breaker let a call through to the primary".to_owned()),
                }
            }));
            sample(&errors, r)
        },
        || {
            let r =
                client_rt.block_on(sequential(direct_calls, || bare_once(&bare, &fallback_url)));
            sample(&errors, r)
        },
    );
    first_error(errors)?;
    if client.breaker_state() != Some(BreakerState::Open) {
        return Err("the breaker closed during the measurement (cool-down too short)".into());
    }
    primary.set_silent(false);
    let open_row = Row::paired(
        "3b failover with the breaker open vs direct fallback call",
        "µs/call",
        &open,
        Bound::RatioAtMost(1.2),
        json!({ "calls_per_sample": direct_calls, "ours_us": open.ours, "baseline_us": open.baseline }),
    );
    Ok(vec![first_row, floor_row, open_row])
}
