//! The fault matrix of the reliability rules, cell by cell, for every kind of outbound client.
//!
//! Each cell starts a real loopback server that misbehaves in one way ([`Fault`]) and asserts
//! what the client returned, how many requests reached the server (retries or not), whether the
//! fallback host was used, and that the call ended within its deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gameauth_core::secrecy::SecretString;
use gameauth_core::{KeyRing, ManualClock, PlayerToken, TransportErrorKind};
use testkit::{ChaosServer, Fault};

/// Per-attempt timeout against a server that never answers: short, so those cells cost little.
const ATTEMPT: Duration = Duration::from_millis(300);
/// Per-attempt timeout against a server that does answer, however badly: wide, so that a busy
/// machine's delay is never taken for a timeout (a timeout is retried, which would change what
/// the cell observes: an oversized answer must be refused once, not retried).
const ANSWERED_ATTEMPT: Duration = Duration::from_secs(5);
/// Overall deadline of the retrying clients.
const DEADLINE: Duration = Duration::from_secs(6);
/// Generous slack over a deadline for a loaded machine; the rule is "bounded", not "fast".
const SLACK: Duration = Duration::from_secs(2);

/// What a call ended with, normalised across providers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok,
    Fallback,
    Connect,
    Timeout,
    Io,
    TooLarge,
    Status(u16),
    Decode,
    Unknown,
    Unavailable,
    Other(String),
}

fn transport_outcome(kind: TransportErrorKind) -> Outcome {
    match kind {
        TransportErrorKind::Connect => Outcome::Connect,
        TransportErrorKind::Timeout => Outcome::Timeout,
        TransportErrorKind::Io => Outcome::Io,
        TransportErrorKind::BodyTooLarge => Outcome::TooLarge,
        other => Outcome::Other(format!("{other:?}")),
    }
}

fn omg_outcome<T>(r: Result<T, gameauth_omg::Error>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(gameauth_omg::Error::Transport(t)) => transport_outcome(t.kind()),
        Err(gameauth_omg::Error::HttpStatus { status, .. }) => Outcome::Status(status),
        Err(gameauth_omg::Error::Decode(_)) => Outcome::Decode,
        Err(gameauth_omg::Error::OutcomeUnknown) => Outcome::Unknown,
        Err(e) => Outcome::Other(e.to_string()),
    }
}

fn creditpay_outcome<T>(r: Result<T, gameauth_creditpay::Error>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(gameauth_creditpay::Error::Transport(t)) => transport_outcome(t.kind()),
        Err(gameauth_creditpay::Error::HttpStatus { status, .. }) => Outcome::Status(status),
        Err(gameauth_creditpay::Error::Decode(_)) => Outcome::Decode,
        Err(gameauth_creditpay::Error::OutcomeUnknown) => Outcome::Unknown,
        Err(e) => Outcome::Other(e.to_string()),
    }
}

/// The faults of the reliability rules that a single host can show, with a short label.
async fn single_host_faults() -> Vec<(&'static str, Fault)> {
    vec![
        ("connection refused", Fault::Refuse),
        ("accepted, never answered", Fault::Silent),
        ("headers then stalled body", Fault::HeadersThenStall),
        ("reset after the request", Fault::ResetAfterRequest),
        ("partial status line", Fault::PartialStatusLine),
        ("short body vs Content-Length", Fault::ShortBody),
        ("500", Fault::Status(500)),
        ("502", Fault::Status(502)),
        ("503", Fault::Status(503)),
        ("504", Fault::Status(504)),
        (
            "429 with Retry-After",
            Fault::TooManyRequests {
                retry_after_secs: 1,
            },
        ),
        ("400", Fault::Status(400)),
        ("401", Fault::Status(401)),
        ("403", Fault::Status(403)),
        ("404", Fault::Status(404)),
        ("truncated JSON", Fault::TruncatedJson),
        ("HTML error page with 200", Fault::Html200),
        ("wrong JSON types", Fault::WrongTypes),
        ("10 MiB body", Fault::HugeBody),
    ]
}

/// The per-attempt timeout a cell's client gets: short only where the fault is silence.
fn attempt_for(fault: &Fault) -> Duration {
    match fault {
        Fault::Silent | Fault::HeadersThenStall => ATTEMPT,
        _ => ANSWERED_ATTEMPT,
    }
}

/// A cell's expectation: the outcome and how many requests the faulty server read.
struct Cell {
    outcome: Outcome,
    requests: usize,
}

fn cell(outcome: Outcome, requests: usize) -> Cell {
    Cell { outcome, requests }
}

/// Runs `call` (base URL, per-attempt timeout) against every fault (plus a redirect to a second
/// server) and checks `expect`.
async fn run_matrix<F, Fut>(client_kind: &str, expect: impl Fn(&Fault) -> Cell, call: F)
where
    F: Fn(String, Duration) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let mut failures = Vec::new();
    let elsewhere = ChaosServer::start(Fault::json("{}")).await;
    let mut faults = single_host_faults().await;
    faults.push((
        "302 to another host",
        Fault::RedirectTo(format!("{}/elsewhere", elsewhere.base_url())),
    ));
    for (label, fault) in faults {
        let want = expect(&fault);
        let attempt = attempt_for(&fault);
        let server = ChaosServer::start(fault).await;
        let started = Instant::now();
        let got = call(server.base_url(), attempt).await;
        let elapsed = started.elapsed();
        if got != want.outcome {
            failures.push(format!("{label}: got {got:?}, want {:?}", want.outcome));
        }
        if server.requests() != want.requests {
            failures.push(format!(
                "{label}: server read {} request(s), want {}",
                server.requests(),
                want.requests
            ));
        }
        if elapsed > DEADLINE + SLACK {
            failures.push(format!("{label}: took {elapsed:?}, over the deadline"));
        }
    }
    if elsewhere.accepted() != 0 {
        failures.push("a redirect was followed to another host".into());
    }
    assert!(
        failures.is_empty(),
        "{client_kind} fault matrix:\n  {}",
        failures.join("\n  ")
    );
}

const OMG_KEY: &str = "39a6581c31ef3203a22edb2daa2ab6d1";

fn omg_client(base: String, attempt: Duration) -> gameauth_omg::Client {
    gameauth_omg::Client::builder()
        .base_url(base)
        .app_id("10013")
        .key(SecretString::from(OMG_KEY))
        .attempt_timeout(attempt)
        .deadline(DEADLINE)
        .build()
        .expect("valid OMG client")
}

/// Whether an idempotent read retries after this fault (transport failures, 5xx, 429).
fn read_retries(fault: &Fault) -> bool {
    matches!(
        fault,
        Fault::Silent
            | Fault::HeadersThenStall
            | Fault::ResetAfterRequest
            | Fault::PartialStatusLine
            | Fault::ShortBody
            | Fault::Status(500..=599)
            | Fault::TooManyRequests { .. }
    )
}

/// The outcome of a single failed attempt for a client that parses the body.
fn plain_outcome(fault: &Fault) -> Outcome {
    match fault {
        Fault::Refuse => Outcome::Connect,
        Fault::Silent | Fault::HeadersThenStall => Outcome::Timeout,
        Fault::ResetAfterRequest | Fault::PartialStatusLine | Fault::ShortBody => Outcome::Io,
        Fault::Status(s) => Outcome::Status(*s),
        Fault::TooManyRequests { .. } => Outcome::Status(429),
        Fault::RedirectTo(_) => Outcome::Status(302),
        Fault::TruncatedJson | Fault::Html200 | Fault::WrongTypes => Outcome::Decode,
        Fault::HugeBody => Outcome::TooLarge,
        Fault::Respond { .. } => Outcome::Ok,
    }
}

/// A state-creating call: once the request may have reached the server, a transport failure is
/// "outcome unknown" and nothing is retried.
fn write_expectation(fault: &Fault) -> Cell {
    let outcome = match plain_outcome(fault) {
        Outcome::Timeout | Outcome::Io | Outcome::TooLarge => Outcome::Unknown,
        other => other,
    };
    let requests = usize::from(!matches!(fault, Fault::Refuse));
    cell(outcome, requests)
}

#[tokio::test]
async fn omg_reads_retry_transport_failures_5xx_and_429_only() {
    run_matrix(
        "OMG enter_game (idempotent read)",
        |fault| {
            let requests = match fault {
                Fault::Refuse => 0,
                f if read_retries(f) => 3,
                _ => 1,
            };
            cell(plain_outcome(fault), requests)
        },
        |base, attempt| async move {
            let request = gameauth_omg::EnterGameRequest::new(
                "player-token-dummy".into(),
                "1",
                gameauth_omg::ScreenMode::HorizontalFull,
            );
            omg_outcome(omg_client(base, attempt).enter_game(&request).await)
        },
    )
    .await;
}

#[tokio::test]
async fn omg_authorize_is_never_repeated_once_sent() {
    run_matrix(
        "OMG authorize (state-creating)",
        write_expectation,
        |base, attempt| async move {
            let request = gameauth_omg::AuthorizeRequest::new("10032355", "Bill");
            omg_outcome(omg_client(base, attempt).authorize(&request).await)
        },
    )
    .await;
}

const CREDITPAY_KEY: &str = "18dd8a3c8003d2adcd13cb9981618bedd759a19f697a46d270542c6023479a08f541a5fa7f2e09a6f93cab7fe5de3b1b465abxxx";

#[tokio::test]
async fn creditpay_identify_auth_is_never_repeated_once_sent() {
    run_matrix(
        "Credit Pay identify_auth (state-creating)",
        write_expectation,
        |base, attempt| async move {
            let client = gameauth_creditpay::Client::builder()
                .base_url(format!("{base}/dg"))
                .plat_id("328cf95950f54f89a2dd4c3bf98ac5fb")
                .api_key("api-key-dummy")
                .signature_keys(KeyRing::new(CREDITPAY_KEY.into()))
                .timeout(attempt)
                .clock(Arc::new(ManualClock::at_unix_seconds(1_732_520_000)))
                .build()
                .expect("valid Credit Pay client");
            let request = gameauth_creditpay::IdentifyAuthRequest::new(
                "473_32_86000698",
                PlayerToken::new("customer-token-dummy"),
                "https://platform.example/payment/callback",
                1_732_521_424_191,
                "192.168.1.166",
            );
            creditpay_outcome(client.identify_auth(&request).await)
        },
    )
    .await;
}

/// Hive's deadline: 2 s + 2 s attempts, at most 4.5 s overall (shortened attempts here).
const HIVE_DEADLINE: Duration = Duration::from_millis(1500);

fn hive_client(
    primary: String,
    fallback: Option<String>,
    oauth: String,
    attempt: Duration,
) -> gameauth_hive::Client {
    // Two attempts (primary, then fallback) fit in the deadline with room to spare.
    let deadline = if attempt == ATTEMPT {
        HIVE_DEADLINE
    } else {
        attempt * 2 + SLACK
    };
    let mut b = gameauth_hive::Client::builder()
        .primary_url(primary)
        .oauth_url(oauth)
        .appid("com.com2us.hivesdk.normal.freefull.apple.global.ios.universal")
        .client_credentials("project_abc123", SecretString::from("client-secret-dummy"))
        .primary_timeout(attempt)
        .fallback_timeout(attempt)
        .deadline(deadline);
    if let Some(f) = fallback {
        b = b.fallback_url(f);
    }
    b.build().expect("valid Hive client")
}

fn hive_outcome(r: Result<gameauth_hive::VerifiedToken, gameauth_hive::Error>) -> Outcome {
    match r {
        Ok(v) if v.served_by == gameauth_hive::ServedBy::Fallback => Outcome::Fallback,
        Ok(_) => Outcome::Ok,
        Err(gameauth_hive::Error::HttpStatus { status, .. }) => Outcome::Status(status),
        Err(gameauth_hive::Error::Decode(_)) => Outcome::Decode,
        Err(gameauth_hive::Error::Unavailable(_)) => Outcome::Unavailable,
        Err(e) => Outcome::Other(e.to_string()),
    }
}

const HIVE_OK: &str = r#"{"result_code":0,"result_msg":"SUCCESS","token_validation":{"result_code":0,"result_msg":"SUCCESS"},"data":{}}"#;

async fn hive_verify(client: &gameauth_hive::Client) -> Outcome {
    let params = gameauth_hive::VerifyParams::new(
        PlayerToken::new("player-token-dummy"),
        21,
        "255764404509548",
    )
    .with_access_token(PlayerToken::new("player-access-token-dummy"));
    hive_outcome(client.verify_token(&params).await)
}

#[tokio::test]
async fn hive_goes_to_the_fallback_once_on_the_listed_triggers_only() {
    let oauth = ChaosServer::start(Fault::json(
        r#"{"result_code":0,"result_msg":"SUCCESS","data":{"access_token":"server-token-dummy"}}"#,
    ))
    .await;
    let fallbacks_used = std::sync::atomic::AtomicUsize::new(0);
    run_matrix(
        "Hive v2 verify (primary fault, healthy fallback)",
        |fault| {
            let outcome = match fault {
                // Broken host: transport failures, 5xx, 429, a 200 that is not JSON.
                Fault::Refuse
                | Fault::Silent
                | Fault::HeadersThenStall
                | Fault::ResetAfterRequest
                | Fault::PartialStatusLine
                | Fault::ShortBody
                | Fault::Status(500..=599)
                | Fault::TooManyRequests { .. }
                | Fault::TruncatedJson
                | Fault::Html200
                | Fault::HugeBody => Outcome::Fallback,
                // A definitive answer: never the fallback.
                other => plain_outcome(other),
            };
            cell(outcome, usize::from(!matches!(fault, Fault::Refuse)))
        },
        |base, attempt| {
            let oauth = oauth.base_url();
            let fallbacks_used = &fallbacks_used;
            async move {
                let fallback = ChaosServer::start(Fault::json(HIVE_OK)).await;
                let client = hive_client(base, Some(fallback.base_url()), oauth, attempt);
                let outcome = hive_verify(&client).await;
                let expected_fallback = usize::from(outcome == Outcome::Fallback);
                assert_eq!(
                    fallback.requests(),
                    expected_fallback,
                    "the fallback is called exactly once when used, never otherwise"
                );
                fallbacks_used.fetch_add(expected_fallback, std::sync::atomic::Ordering::SeqCst);
                outcome
            }
        },
    )
    .await;
    assert!(fallbacks_used.into_inner() > 0);
}

#[tokio::test]
async fn hive_primary_and_fallback_both_down_is_unavailable_within_the_deadline() {
    let oauth = ChaosServer::start(Fault::json(
        r#"{"result_code":0,"data":{"access_token":"server-token-dummy"}}"#,
    ))
    .await;
    for (label, primary, fallback) in [
        ("both silent", Fault::Silent, Fault::Silent),
        ("both refuse", Fault::Refuse, Fault::Refuse),
        ("503 then silent", Fault::Status(503), Fault::Silent),
    ] {
        let primary = ChaosServer::start(primary).await;
        let fallback = ChaosServer::start(fallback).await;
        let client = hive_client(
            primary.base_url(),
            Some(fallback.base_url()),
            oauth.base_url(),
            ATTEMPT,
        );
        let started = Instant::now();
        assert_eq!(hive_verify(&client).await, Outcome::Unavailable, "{label}");
        assert!(
            started.elapsed() <= HIVE_DEADLINE + SLACK,
            "{label}: {:?}",
            started.elapsed()
        );
        assert!(
            primary.requests() <= 1 && fallback.requests() <= 1,
            "{label}: one attempt each"
        );
    }
}
