//! Metrics of the provider crates, through the [`metrics`](https://docs.rs/metrics) facade.
//!
//! The SDK installs no recorder and no exporter: an application that installs one (for example
//! `metrics-exporter-prometheus`) sees these series; without one, recording costs an atomic
//! load. Every label value is a fixed, bounded string: never a token, a player id, an IP address
//! or a URL.
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `gameauth_outbound_requests_total` | counter | `provider`, `endpoint`, `outcome`, `host` | attempts of outbound calls, by [`Outcome`] and host (`primary`, `fallback`) |
//! | `gameauth_outbound_request_duration_seconds` | histogram | `provider`, `endpoint`, `host` | time of one attempt |
//! | `gameauth_breaker_state` | gauge | `provider` | the primary host's breaker: 0 closed, 1 half-open, 2 open |
//! | `gameauth_breaker_transitions_total` | counter | `provider`, `to` | breaker changes, `to` = `closed`, `half_open`, `open` |
//! | `gameauth_server_token_total` | counter | `provider`, `result` | server-token cache lookups: `hit`, `refresh`, `failure` |
//! | `gameauth_inbound_callbacks_total` | counter | `provider`, `kind`, `outcome` | verified inbound callbacks and webhooks |

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use metrics::{Key, Label, Level, Metadata};

use crate::resilience::BreakerState;

/// Name of the outbound attempt counter.
pub const OUTBOUND_REQUESTS: &str = "gameauth_outbound_requests_total";
/// Name of the outbound attempt latency histogram (seconds).
pub const OUTBOUND_DURATION: &str = "gameauth_outbound_request_duration_seconds";
/// Name of the breaker state gauge.
pub const BREAKER_STATE: &str = "gameauth_breaker_state";
/// Name of the breaker transition counter.
pub const BREAKER_TRANSITIONS: &str = "gameauth_breaker_transitions_total";
/// Name of the server-token cache counter.
pub const SERVER_TOKEN: &str = "gameauth_server_token_total";
/// Name of the inbound callback counter.
pub const INBOUND_CALLBACKS: &str = "gameauth_inbound_callbacks_total";

/// Every metric the provider crates record.
pub const ALL: &[&str] = &[
    OUTBOUND_REQUESTS,
    OUTBOUND_DURATION,
    BREAKER_STATE,
    BREAKER_TRANSITIONS,
    SERVER_TOKEN,
    INBOUND_CALLBACKS,
];

/// The `outcome` of one outbound attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The host answered (any HTTP status the protocol treats as an answer).
    Success,
    /// The host answered with a broken or overloaded answer (5xx, 429, a 200 that is not JSON).
    Refused,
    /// No response: a connection failure, a broken connection, an oversized or unsendable
    /// request or answer.
    Transport,
    /// No response within the attempt's time.
    Timeout,
    /// A state-creating call failed after it may have been sent.
    OutcomeUnknown,
}

impl Outcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Refused => "refused",
            Self::Transport => "transport",
            Self::Timeout => "timeout",
            Self::OutcomeUnknown => "outcome_unknown",
        }
    }
}

/// Which host an attempt went to: the `host` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostRole {
    /// The primary (or only) host.
    Primary,
    /// The fallback host.
    Fallback,
}

impl HostRole {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Fallback => "fallback",
        }
    }
}

/// Records one outbound attempt.
pub fn outbound_attempt(
    provider: &'static str,
    endpoint: &'static str,
    host: HostRole,
    outcome: Outcome,
    elapsed: Duration,
) {
    let host = host.as_str();
    increment(
        OUTBOUND_REQUESTS,
        [
            ("provider", provider),
            ("endpoint", endpoint),
            ("outcome", outcome.as_str()),
            ("host", host),
        ],
    );
    with_key(
        OUTBOUND_DURATION,
        [
            ("provider", provider),
            ("endpoint", endpoint),
            ("host", host),
        ],
        |key| {
            metrics::with_recorder(|r| {
                r.register_histogram(key, &METADATA)
                    .record(elapsed.as_secs_f64());
            });
        },
    );
}

/// Adds one to the counter `name` with `labels`.
fn increment<const N: usize>(name: &'static str, labels: [(&'static str, &'static str); N]) {
    with_key(name, labels, |key| {
        metrics::with_recorder(|r| r.register_counter(key, &METADATA).increment(1));
    });
}

/// What the `metrics` macros would give these series: this module as the target, level INFO.
static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// The most label sets whose keys one thread keeps.
const KEY_CACHE_CAP: usize = 512;

/// A label set by the addresses of its `'static` strings: equal addresses are equal text.
#[derive(PartialEq, Eq, Hash)]
struct LabelSet {
    name: (usize, usize),
    labels: [(usize, usize, usize, usize); 4],
}

impl LabelSet {
    fn new<const N: usize>(name: &'static str, labels: &[(&'static str, &'static str); N]) -> Self {
        const { assert!(N <= 4, "at most four labels") };
        let mut out = [(0, 0, 0, 0); 4];
        for (slot, (key, value)) in out.iter_mut().zip(labels) {
            *slot = (
                key.as_ptr() as usize,
                key.len(),
                value.as_ptr() as usize,
                value.len(),
            );
        }
        Self {
            name: (name.as_ptr() as usize, name.len()),
            labels: out,
        }
    }
}

thread_local! {
    static KEYS: RefCell<HashMap<LabelSet, Rc<Key>, foldhash::fast::FixedState>> =
        RefCell::new(HashMap::with_hasher(foldhash::fast::FixedState::default()));
}

/// Runs `record` with the key of `name` and `labels`, built once per thread and label set.
///
/// A [`Key`] whose label values are known only at run time allocates its label list and hashes
/// it every time it is built: on an outbound call that cost more than the rest of the
/// recording. The values here are `'static` strings from small fixed sets, so each thread keeps
/// the keys it built, looked up by the strings' addresses and lengths (at most
/// [`KEY_CACHE_CAP`] label sets; past that, or while the thread exits and its cache is gone, a
/// key is built for the one call). The cache is not borrowed while `record` runs, so a recorder
/// may record from inside it. The recorder is asked on every call, as the macros do, so one
/// installed later, or a local one, sees every series.
fn with_key<const N: usize>(
    name: &'static str,
    labels: [(&'static str, &'static str); N],
    record: impl FnOnce(&Key),
) {
    let build = || {
        let labels: Vec<Label> = labels
            .iter()
            .map(|&(k, v)| Label::from_static_parts(k, v))
            .collect();
        Key::from_parts(name, labels)
    };
    let cached = KEYS
        .try_with(|keys| {
            let mut keys = keys.try_borrow_mut().ok()?;
            let id = LabelSet::new(name, &labels);
            if let Some(key) = keys.get(&id) {
                return Some(Rc::clone(key));
            }
            if keys.len() >= KEY_CACHE_CAP {
                return None;
            }
            let key = Rc::new(build());
            keys.insert(id, Rc::clone(&key));
            Some(key)
        })
        .ok()
        .flatten();
    match cached {
        Some(key) => record(&key),
        None => record(&build()),
    }
}

/// The gauge value of a breaker state: 0 closed, 1 half-open, 2 open.
pub fn breaker_state_value(state: BreakerState) -> u8 {
    match state {
        BreakerState::Closed => 0,
        BreakerState::HalfOpen => 1,
        BreakerState::Open => 2,
    }
}

fn breaker_state_label(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "closed",
        BreakerState::HalfOpen => "half_open",
        BreakerState::Open => "open",
    }
}

/// Sets the breaker gauge of `provider`.
pub fn breaker_state(provider: &'static str, state: BreakerState) {
    with_key(BREAKER_STATE, [("provider", provider)], |key| {
        metrics::with_recorder(|r| {
            r.register_gauge(key, &METADATA)
                .set(f64::from(breaker_state_value(state)));
        });
    });
}

/// Records a breaker change to `to`, and sets the gauge.
pub fn breaker_transition(provider: &'static str, to: BreakerState) {
    increment(
        BREAKER_TRANSITIONS,
        [("provider", provider), ("to", breaker_state_label(to))],
    );
    breaker_state(provider, to);
}

/// The `result` of a server-token cache lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenResult {
    /// A cached token was used.
    Hit,
    /// A new token was fetched.
    Refresh,
    /// No token could be obtained.
    Failure,
}

impl TokenResult {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Refresh => "refresh",
            Self::Failure => "failure",
        }
    }
}

/// Records one server-token cache lookup.
pub fn server_token(provider: &'static str, result: TokenResult) {
    increment(
        SERVER_TOKEN,
        [("provider", provider), ("result", result.as_str())],
    );
}

/// Records one inbound callback or webhook: `kind` names the callback (a fixed string such as
/// `verify_session` or `webhook`), `outcome` what the verification said (a fixed string such as
/// `accepted`, `signature`, `malformed`, `stale`, `too_large`, `timeout`).
pub fn inbound_callback(provider: &'static str, kind: &'static str, outcome: &'static str) {
    increment(
        INBOUND_CALLBACKS,
        [("provider", provider), ("kind", kind), ("outcome", outcome)],
    );
}

/// Capturing what the SDK records, for tests (feature `test-util`).
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing {
    use std::future::Future;

    use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

    /// One recorded series: its name, its labels and its value.
    pub type Series = (String, Vec<(String, String)>, DebugValue);

    /// Every series `snapshotter`'s recorder holds, with owned names and labels.
    pub fn series(snapshotter: &Snapshotter) -> Vec<Series> {
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let key = key.key();
                let labels = key
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect();
                (key.name().to_owned(), labels, value)
            })
            .collect()
    }

    /// Everything recorded while [`capture`] ran.
    #[derive(Debug)]
    pub struct Captured {
        series: Vec<Series>,
    }

    impl Captured {
        /// The sum over the series named `name` that carry every label of `labels`: a counter's
        /// count, a gauge's value (truncated), a histogram's number of samples.
        pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
            self.series
                .iter()
                .filter(|(n, l, _)| {
                    n == name
                        && labels
                            .iter()
                            .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
                })
                .map(|(.., value)| match value {
                    DebugValue::Counter(n) => *n,
                    // Gauges hold small whole numbers here (breaker states).
                    DebugValue::Gauge(g) => g.into_inner() as u64,
                    DebugValue::Histogram(h) => h.len() as u64,
                })
                .sum()
        }
    }

    /// Runs `body` to completion on a current-thread runtime (time enabled, the clock paused
    /// when `paused`) with a recorder local to this thread, and returns what was recorded.
    ///
    /// # Panics
    ///
    /// When the runtime cannot be built: this is test support.
    pub fn capture(paused: bool, body: impl Future<Output = ()>) -> Captured {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(paused)
                .build()
                .expect("a current-thread runtime")
                .block_on(body);
        });
        Captured {
            series: series(&snapshotter),
        }
    }
}

#[cfg(all(test, feature = "test-util"))]
mod tests {
    use super::*;
    use testing::capture;

    /// A recorder installed after keys were cached, or another one, sees every series: the
    /// cache keeps keys, never the recorder's handles.
    #[test]
    fn cached_keys_reach_whichever_recorder_is_current() {
        // Cached with no recorder at all.
        outbound_attempt(
            "p",
            "e",
            HostRole::Primary,
            Outcome::Success,
            Duration::ZERO,
        );
        for _ in 0..2 {
            let captured = capture(false, async {
                for outcome in [Outcome::Success, Outcome::Success, Outcome::Timeout] {
                    outbound_attempt("p", "e", HostRole::Primary, outcome, Duration::ZERO);
                }
                outbound_attempt(
                    "p",
                    "e",
                    HostRole::Fallback,
                    Outcome::Success,
                    Duration::ZERO,
                );
                server_token("p", TokenResult::Hit);
            });
            let primary = [("provider", "p"), ("endpoint", "e"), ("host", "primary")];
            let success = [
                ("provider", "p"),
                ("endpoint", "e"),
                ("host", "primary"),
                ("outcome", "success"),
            ];
            assert_eq!(captured.value(OUTBOUND_REQUESTS, &success), 2);
            assert_eq!(captured.value(OUTBOUND_REQUESTS, &primary), 3);
            assert_eq!(captured.value(OUTBOUND_DURATION, &primary), 3);
            assert_eq!(
                captured.value(OUTBOUND_DURATION, &[("host", "fallback")]),
                1
            );
            assert_eq!(
                captured.value(SERVER_TOKEN, &[("provider", "p"), ("result", "hit")]),
                1
            );
        }
    }

    /// Equal label text at different addresses is the same series.
    #[test]
    fn label_values_are_compared_as_text_by_the_recorder() {
        let a: &'static str = "same";
        let b: &'static str = String::from("same").leak();
        assert_ne!(a.as_ptr(), b.as_ptr());
        let captured = capture(false, async move {
            server_token(a, TokenResult::Hit);
            server_token(b, TokenResult::Hit);
        });
        assert_eq!(captured.value(SERVER_TOKEN, &[("provider", "same")]), 2);
    }
}
