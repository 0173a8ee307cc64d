//! `cargo xtask record`: a recording proxy that turns real provider exchanges into contract
//! fixtures.
//!
//! Point a client at the proxy; it forwards each request to the upstream, returns the real
//! answer and, after every exchange, rewrites the fixture file (atomically, so stopping the proxy
//! loses nothing). Before writing it scrubs every secret, token and configured personal value,
//! swaps the real keys for the fixture's dummy keys and re-signs the requests, derives `clock`,
//! `ids`, `keys` and `steps` so the fixture replays under `cargo xtask contract-test`, and refuses
//! to write anything that still contains a real value.

mod creditpay;
mod hive;
mod json;
mod omg;
mod proxy;
mod render;
mod scrub;
mod wire;

#[cfg(test)]
mod hive_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) use proxy::Proxy;
pub(crate) use render::{Derived, Exchange, Meta, Scrubbed};

/// A provider whose calls can be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provider {
    Omg,
    CreditPay,
    Hive,
}

impl Provider {
    fn parse(name: &str) -> Result<Self, String> {
        match name {
            "omg" => Ok(Self::Omg),
            "creditpay" => Ok(Self::CreditPay),
            "hive" => Ok(Self::Hive),
            other => Err(format!(
                "cannot record provider `{other}` (expected omg, creditpay or hive)"
            )),
        }
    }

    /// The fixture directory name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Omg => "omg",
            Self::CreditPay => "creditpay",
            Self::Hive => "hive",
        }
    }

    /// `(environment variable, dummy, required)` of the real secrets.
    fn secrets(self) -> &'static [(&'static str, &'static str, bool)] {
        match self {
            Self::Omg => omg::SECRETS,
            Self::CreditPay => creditpay::SECRETS,
            Self::Hive => hive::SECRETS,
        }
    }

    /// The mocked host the runner serves the interactions on.
    pub(crate) fn host(self) -> &'static str {
        match self {
            Self::Omg | Self::CreditPay => "default",
            Self::Hive => "primary",
        }
    }

    /// Whether request bodies are recorded as `body_json` (nothing signs them) rather than as
    /// exact text.
    pub(crate) fn json_bodies(self) -> bool {
        self == Self::Hive
    }

    /// The request headers the fixture pins.
    pub(crate) fn request_headers(self) -> &'static [&'static str] {
        match self {
            Self::Omg => omg::REQUEST_HEADERS,
            Self::CreditPay => creditpay::REQUEST_HEADERS,
            Self::Hive => hive::REQUEST_HEADERS,
        }
    }

    /// The call a request makes and the path to record, `None` for calls the runner cannot
    /// replay.
    pub(crate) fn call(self, method: &str, path: &str) -> Option<(&'static str, String)> {
        match self {
            Self::Omg => omg::call(method, path),
            Self::CreditPay => creditpay::call(method, path),
            Self::Hive => hive::call(method, path),
        }
    }

    /// Why an exchange cannot be recorded, if it cannot.
    fn admit(self, ex: &Exchange, secrets: &Secrets) -> Result<(), String> {
        if self.call(&ex.method, &ex.path).is_none() {
            return Err("it is not a call the contract runner replays".into());
        }
        match self {
            Self::Omg => omg::admit(ex, secrets),
            Self::CreditPay => creditpay::admit(ex, secrets),
            Self::Hive => Ok(()),
        }
    }

    /// Aligns the exchanges with the runner's single frozen clock and id list; returns the clock.
    pub(crate) fn normalise(self, exchanges: &mut [Exchange]) -> i64 {
        match self {
            Self::Omg => omg::normalise(exchanges),
            Self::CreditPay => creditpay::normalise(exchanges),
            Self::Hive => hive::normalise(exchanges),
        }
    }

    /// Signs a scrubbed request with the dummy key.
    pub(crate) fn resign(self, s: &mut Scrubbed) {
        match self {
            Self::Omg => omg::resign(s),
            Self::CreditPay => creditpay::resign(s),
            Self::Hive => {}
        }
    }

    /// The steps, ids and keys that replay the scrubbed exchanges.
    pub(crate) fn derive(self, scrubbed: &[Scrubbed], clock: i64) -> Derived {
        match self {
            Self::Omg => omg::derive(scrubbed, clock),
            Self::CreditPay => creditpay::derive(scrubbed, clock),
            Self::Hive => hive::derive(scrubbed, clock),
        }
    }
}

/// The real secrets of a recording, read from the environment (never from flags).
pub(crate) struct Secrets {
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
    /// Reads `provider`'s secrets with `lookup` (the environment, in the command); empty values
    /// count as unset.
    pub(crate) fn load(
        provider: Provider,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let mut values = Vec::new();
        let mut missing = Vec::new();
        for &(var, dummy, required) in provider.secrets() {
            match lookup(var).filter(|v| !v.is_empty()) {
                Some(v) => values.push((var, dummy, v)),
                None if required => missing.push(var),
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
    pub(crate) fn get(&self, var: &str) -> Option<&str> {
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
pub(crate) enum Outcome {
    /// The fixture was written with this many interactions.
    Written(usize),
    /// Kept, but no step can replay the exchanges yet (a Hive server token request waits for
    /// the call it serves).
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
pub(crate) struct Recorder {
    provider: Provider,
    secrets: Secrets,
    personal: Vec<String>,
    meta: Meta,
    file: PathBuf,
    state: Mutex<State>,
}

impl Recorder {
    /// A recorder writing `file`.
    pub(crate) fn new(
        provider: Provider,
        secrets: Secrets,
        personal: Vec<String>,
        meta: Meta,
        file: PathBuf,
    ) -> Self {
        Self {
            provider,
            secrets,
            personal,
            meta,
            file,
            state: Mutex::new(State {
                exchanges: Vec::new(),
                warned: BTreeSet::new(),
            }),
        }
    }

    /// Adds one exchange (`what` is `METHOD /path`, for messages) and rewrites the fixture.
    /// Reports on stderr; never prints a header value or a body.
    pub(crate) fn record(&self, what: &str, exchange: Result<Exchange, String>) -> Outcome {
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
        if let Err(why) = self.provider.admit(&exchange, &self.secrets) {
            return Outcome::NotRecorded(why);
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.exchanges.push(exchange);
        let rendered = render::render(
            self.provider,
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

/// The fixture host of Hive's second (distributed) host.
pub(crate) const FALLBACK_HOST: &str = "fallback";

struct Options {
    provider: Provider,
    upstream: url::Url,
    listen: SocketAddr,
    /// Hive only: the fallback upstream and the address its proxy listens on.
    fallback: Option<(url::Url, SocketAddr)>,
    out: PathBuf,
    scenario: Option<String>,
    personal: Vec<String>,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let (mut provider, mut upstream, mut out, mut scenario) = (None, None, None, None);
    let mut listen: SocketAddr = ([127, 0, 0, 1], 0).into();
    let (mut fallback_upstream, mut fallback_listen) = (None, None);
    let mut personal = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--provider" => provider = Some(Provider::parse(&value("--provider")?)?),
            "--upstream" => upstream = Some(parse_upstream("--upstream", &value("--upstream")?)?),
            "--listen" => listen = parse_listen("--listen", &value("--listen")?)?,
            "--fallback-upstream" => {
                fallback_upstream = Some(parse_upstream(
                    "--fallback-upstream",
                    &value("--fallback-upstream")?,
                )?);
            }
            "--fallback-listen" => {
                fallback_listen = Some(parse_listen(
                    "--fallback-listen",
                    &value("--fallback-listen")?,
                )?);
            }
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--scenario" => scenario = Some(check_scenario(value("--scenario")?)?),
            "--scrub-field" => {
                let f = value("--scrub-field")?;
                if f.trim().is_empty() {
                    return Err("--scrub-field needs a field name".into());
                }
                personal.push(f);
            }
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    let provider = provider.ok_or("--provider is required")?;
    let fallback = match (fallback_upstream, fallback_listen) {
        (Some(_), _) if provider != Provider::Hive => {
            return Err("--fallback-upstream is for Hive only (its second host)".into());
        }
        (Some(url), listen) => Some((url, listen.unwrap_or(([127, 0, 0, 1], 0).into()))),
        (None, Some(_)) => return Err("--fallback-listen needs --fallback-upstream".into()),
        (None, None) => None,
    };
    Ok(Options {
        provider,
        upstream: upstream.ok_or("--upstream is required")?,
        listen,
        fallback,
        out: out.ok_or("--out is required")?,
        scenario,
        personal,
    })
}

/// A listening address, which must be on loopback: the proxy carries real credentials.
fn parse_listen(flag: &str, text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text
        .parse()
        .map_err(|_| format!("{flag} `{text}` is not an address such as 127.0.0.1:8080"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{flag} {addr}: the proxy carries real credentials, listen on a loopback address"
        ));
    }
    Ok(addr)
}

fn parse_upstream(flag: &str, text: &str) -> Result<url::Url, String> {
    let bad = || format!("{flag} must be an http(s) URL without user info, query or fragment");
    let url = url::Url::parse(text).map_err(|_| bad())?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    if ok { Ok(url) } else { Err(bad()) }
}

fn check_scenario(name: String) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(name)
    } else {
        Err(format!(
            "--scenario `{name}` must be lower-case letters, digits and `_`"
        ))
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
fn date(unix: i64) -> String {
    // Days to civil date, after Howard Hinnant's `civil_from_days`.
    let z = unix.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Entry point of `cargo xtask record`.
pub(crate) fn cli(args: &[String]) -> Result<ExitCode, String> {
    let opts = parse_args(args)?;
    let secrets = Secrets::load(opts.provider, |var| std::env::var(var).ok())?;
    let now = unix_now();
    let scenario = opts.scenario.unwrap_or_else(|| format!("recorded_{now}"));
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| format!("cannot create {}: {e}", opts.out.display()))?;
    let file = opts.out.join(format!("{scenario}.json"));
    if file.exists() {
        return Err(format!(
            "{} already exists; choose another --scenario",
            file.display()
        ));
    }
    let origin = opts.upstream.origin().ascii_serialization();
    let fallback_origin = opts
        .fallback
        .as_ref()
        .map(|(url, _)| url.origin().ascii_serialization());
    let meta = Meta {
        scenario,
        source: match &fallback_origin {
            Some(f) => format!(
                "recorded: {origin} (fallback {f}) through cargo xtask record, {}",
                date(now)
            ),
            None => format!(
                "recorded: {origin} through cargo xtask record, {}",
                date(now)
            ),
        },
    };
    let recorder = Arc::new(Recorder::new(
        opts.provider,
        secrets,
        opts.personal,
        meta,
        file.clone(),
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let fallback = match &opts.fallback {
            Some((url, listen)) => {
                let proxy =
                    Proxy::start(*listen, url.as_str(), FALLBACK_HOST, recorder.clone()).await?;
                Some(proxy)
            }
            None => None,
        };
        let proxy = Proxy::start(
            opts.listen,
            opts.upstream.as_str(),
            opts.provider.host(),
            recorder,
        )
        .await?;
        eprintln!("listening on http://{}", proxy.addr());
        if let (Some(p), Some(f)) = (&fallback, &fallback_origin) {
            eprintln!(
                "fallback listening on http://{} (for {f}): give it to the client as its fallback URL",
                p.addr()
            );
        }
        eprintln!(
            "recording {} calls to {origin} into {}; stop with Ctrl-C",
            opts.provider.name(),
            file.display()
        );
        proxy.run().await;
        Ok::<_, String>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
