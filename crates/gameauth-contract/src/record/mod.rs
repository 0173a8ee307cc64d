//! The recorder: a recording proxy that turns real provider exchanges into contract fixtures.
//!
//! Point a client at the proxy; it forwards each request to the upstream, returns the real
//! answer and, after every exchange, rewrites the fixture file (atomically, so stopping the proxy
//! loses nothing). Before writing it scrubs every secret, token and configured personal value,
//! swaps the real keys for the fixture's dummy keys and re-signs the requests (through
//! [`Provider::sign`]), derives `clock`, `ids`, `keys` and `steps` (through the provider's
//! [`RecordRules`]) so the fixture replays under `contract-test`, and refuses to write anything
//! that still contains a real value.
//!
//! A provider's [`RecordRules`] read the recorded bodies with their own copy of the provider's
//! wire shapes, on purpose: the recorder is an independent oracle of what the provider said, so
//! a misreading in the SDK shows up as a fixture that fails instead of being recorded as the
//! expectation.

pub mod json;
mod proxy;
mod render;
mod scrub;
pub(crate) mod session;
pub mod wire;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use proxy::{MAX_BODY_BYTES, Proxy};
pub use render::{Derived, Exchange, Meta, Scrubbed};
pub use session::{RecordOptions, record};

use crate::Provider;
use crate::fixture::Direction;
use crate::provider::SignInput;

/// How exchanges with one provider are recorded: which calls the runner replays, which real
/// secrets the recording needs, and how the recorded exchanges become steps.
pub trait RecordRules: Send + Sync {
    /// The real secrets, read from the environment (never from flags), each with the dummy
    /// that replaces it in the fixture.
    fn secrets(&self) -> &[SecretVar];

    /// The fixture host of the main upstream.
    fn host(&self) -> &'static str {
        "default"
    }

    /// The fixture host of the provider's fallback host, when it has one: its calls are
    /// recorded through a second proxy (`--fallback-upstream`).
    fn fallback_host(&self) -> Option<&'static str> {
        None
    }

    /// The request headers the fixture pins (lower case).
    fn request_headers(&self) -> &[&'static str];

    /// Whether request bodies are recorded as `body_json` (nothing signs them) rather than as
    /// exact text.
    fn json_bodies(&self) -> bool {
        false
    }

    /// Names the recorder replaces beyond the secrets ([`Provider::secret_fields`]): values
    /// that are credentials in a live exchange although the provider's published examples show
    /// them (a one-time code, a session id).
    fn scrub_fields(&self) -> &[&'static str] {
        &[]
    }

    /// The call a request makes (the provider's step name) and the path to record, or `None`
    /// for calls the runner cannot replay (they are forwarded but not recorded).
    fn call(&self, method: &str, path: &str) -> Option<(&'static str, String)>;

    /// Aligns the exchanges with the runner's single frozen clock and id list; returns the
    /// clock. By default, the proxy's time of the first exchange.
    fn normalise(&self, exchanges: &mut [Exchange]) -> i64 {
        exchanges.first().map_or(0, |e| e.at)
    }

    /// The steps, ids and keys that replay the scrubbed exchanges.
    fn derive(&self, scrubbed: &[Scrubbed], clock: i64) -> Derived;
}

/// The call of a `POST` to one of `endpoints` (`(endpoint path, call)`, the first whose path
/// ends the request's path, so a gateway prefix does not matter) with the endpoint path to
/// record; `None` for any other request. What most providers' [`RecordRules::call`] is.
pub fn post_endpoint(
    endpoints: &[(&str, &'static str)],
    method: &str,
    path: &str,
) -> Option<(&'static str, String)> {
    if method != "POST" {
        return None;
    }
    endpoints
        .iter()
        .find(|(endpoint, _)| path.ends_with(endpoint))
        .map(|(endpoint, call)| (*call, (*endpoint).to_owned()))
}

/// One real secret of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretVar {
    /// The environment variable holding it.
    pub var: &'static str,
    /// The dummy that replaces it in the fixture.
    pub dummy: &'static str,
    /// Whether the recording refuses to start without it.
    pub required: bool,
    /// Whether it is the signing key: original signatures are checked with it and the fixture
    /// is re-signed with its dummy.
    pub signs: bool,
}

impl SecretVar {
    /// A secret the recording needs.
    pub const fn required(var: &'static str, dummy: &'static str) -> Self {
        Self {
            var,
            dummy,
            required: true,
            signs: false,
        }
    }

    /// A secret that is scrubbed anyway when it is sent under a secret's name; given, it is
    /// also pinned to its dummy and searched for in the output.
    pub const fn optional(var: &'static str, dummy: &'static str) -> Self {
        Self {
            required: false,
            ..Self::required(var, dummy)
        }
    }

    /// The signing key, required.
    pub const fn signing(var: &'static str, dummy: &'static str) -> Self {
        Self {
            signs: true,
            ..Self::required(var, dummy)
        }
    }
}

/// The real secrets of a recording, read from the environment (never from flags).
pub struct Secrets {
    /// `(variable, dummy, value)`.
    values: Vec<(&'static str, &'static str, String)>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (var, _, _) in &self.values {
            m.entry(var, &"[redacted]");
        }
        m.finish()
    }
}

impl Secrets {
    /// Reads the secrets of `rules` with `lookup` (the environment, in the command); empty
    /// values count as unset.
    ///
    /// # Errors
    ///
    /// A message naming every required variable ([`SecretVar::required`]) that is unset or
    /// empty; the message never contains a secret's value.
    pub fn load(
        rules: &dyn RecordRules,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let mut values = Vec::new();
        let mut missing = Vec::new();
        for s in rules.secrets() {
            match lookup(s.var).filter(|v| !v.is_empty()) {
                Some(v) => values.push((s.var, s.dummy, v)),
                None if s.required => missing.push(s.var),
                None => {}
            }
        }
        if missing.is_empty() {
            Ok(Self { values })
        } else {
            Err(format!(
                "set {} in the environment (the real secrets are never passed as flags)",
                missing.join(" and ")
            ))
        }
    }

    /// The value of a variable.
    pub fn get(&self, var: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(v, _, _)| *v == var)
            .map(|(_, _, value)| value.as_str())
    }

    /// `(variable, dummy, real value)` of every secret given.
    pub(crate) fn pinned(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.values
            .iter()
            .map(|(var, dummy, value)| (*var, *dummy, value.as_str()))
    }
}

/// What became of one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The fixture was written with this many interactions.
    Written(usize),
    /// Kept, but no step can replay the exchanges yet (a server token request waits for the
    /// call it serves).
    Pending,
    /// Not recorded, and why.
    NotRecorded(String),
    /// Left out because the fixture would have contained a real value (or could not be
    /// written); the file keeps its previous content.
    Refused(String),
}

struct State {
    exchanges: Vec<Exchange>,
    warned: BTreeSet<String>,
}

/// Collects the exchanges of one recording and keeps the fixture file up to date.
pub struct Recorder {
    provider: &'static dyn Provider,
    rules: &'static dyn RecordRules,
    secrets: Secrets,
    personal: Vec<String>,
    meta: Meta,
    file: PathBuf,
    state: Mutex<State>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("provider", &self.provider.name())
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// A recorder of `provider` (which must have [`Provider::recording`] rules) writing `file`;
    /// `personal` names the fields to scrub besides the secrets.
    ///
    /// # Errors
    ///
    /// A message when `provider` has no recording rules ([`Provider::recording`] is `None`).
    pub fn new(
        provider: &'static dyn Provider,
        secrets: Secrets,
        personal: Vec<String>,
        meta: Meta,
        file: PathBuf,
    ) -> Result<Self, String> {
        let rules = provider
            .recording()
            .ok_or_else(|| format!("provider `{}` cannot be recorded", provider.name()))?;
        Ok(Self {
            provider,
            rules,
            secrets,
            personal,
            meta,
            file,
            state: Mutex::new(State {
                exchanges: Vec::new(),
                warned: BTreeSet::new(),
            }),
        })
    }

    /// The fixture file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Adds one exchange (`what` is `METHOD /path`, for messages) and rewrites the fixture.
    /// Reports on stderr; never prints a header value or a body.
    pub fn record(&self, what: &str, exchange: Result<Exchange, String>) -> Outcome {
        let outcome = self.add(exchange);
        match &outcome {
            Outcome::Written(n) => eprintln!(
                "{what}: recorded; {} now has {n} interaction(s)",
                self.file.display()
            ),
            Outcome::Pending => eprintln!("{what}: kept; no step can replay it yet"),
            Outcome::NotRecorded(why) => eprintln!("{what}: not recorded: {why}"),
            Outcome::Refused(why) => {
                eprintln!("{what}: left out: {why}; the fixture file was not changed");
            }
        }
        outcome
    }

    fn add(&self, exchange: Result<Exchange, String>) -> Outcome {
        let exchange = match exchange {
            Ok(e) => e,
            Err(why) => return Outcome::NotRecorded(why),
        };
        if let Err(why) = self.admit(&exchange) {
            return Outcome::NotRecorded(why);
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.exchanges.push(exchange);
        let rendered = render::render(
            self.provider,
            self.rules,
            &state.exchanges,
            &self.meta,
            &self.secrets,
            &self.personal,
        );
        let rendered = match rendered {
            Ok(r) => r,
            Err(why) => {
                state.exchanges.pop();
                return Outcome::Refused(why);
            }
        };
        for w in rendered.warnings {
            if state.warned.insert(w.clone()) {
                eprintln!("warning: {w}");
            }
        }
        if rendered.interactions == 0 {
            return Outcome::Pending;
        }
        match write_atomically(&self.file, &rendered.text) {
            Ok(()) => Outcome::Written(rendered.interactions),
            Err(why) => {
                state.exchanges.pop();
                Outcome::Refused(why)
            }
        }
    }

    /// Why an exchange cannot be recorded, if it cannot: a call the runner does not replay, or
    /// a request whose signature does not follow from the real key (re-signing it would record
    /// a wire format that was never sent).
    fn admit(&self, ex: &Exchange) -> Result<(), String> {
        let rules = self.rules;
        if rules.call(&ex.method, &ex.path).is_none() {
            return Err("it is not a call the contract runner replays".into());
        }
        let Some(var) = rules.secrets().iter().find(|s| s.signs) else {
            return Ok(());
        };
        let key = self
            .secrets
            .get(var.var)
            .ok_or_else(|| format!("{} is not set", var.var))?;
        let body = ex.request_body.as_bytes();
        let request = SignInput::new(
            Direction::Outbound,
            &ex.method,
            &ex.path,
            ex.query.as_deref(),
            body,
        )
        .with_headers(
            ex.request_headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str())),
        );
        let Some(expected) = self.provider.sign(&request, key) else {
            return Ok(());
        };
        let header = expected.header();
        let presented = request
            .header(header)
            .ok_or_else(|| format!("it has no `{header}` header"))?;
        if expected.matches(presented) {
            Ok(())
        } else {
            Err(format!(
                "its `{header}` header does not verify under {}",
                var.var
            ))
        }
    }
}

/// Writes `text` to a temporary file next to `path` and renames it over `path`, so the fixture
/// is always either the previous or the new complete text.
fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let tmp = path.with_extension(format!("json.tmp-{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot replace {}: {e}", path.display())
    })
}
