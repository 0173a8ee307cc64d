//! One recording session: the options of the `record` command, the proxies it starts and the
//! fixture file it writes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Meta, Proxy, Recorder, Secrets};
use crate::{Error, Layout, Registry};

/// What to record and where.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordOptions {
    /// The provider's name.
    pub provider: String,
    /// The real base URL.
    pub upstream: url::Url,
    /// Where the proxy listens (a loopback address).
    pub listen: SocketAddr,
    /// The real fallback host and where its proxy listens, for a provider with one.
    pub fallback: Option<(url::Url, SocketAddr)>,
    /// The fixture's directory; `<fixtures>/<provider>/contract` when not given.
    pub out: Option<PathBuf>,
    /// The fixture's name; `recorded_<unix seconds>` when not given.
    pub scenario: Option<String>,
    /// Personal fields to replace besides the secrets.
    pub personal: Vec<String>,
}

impl RecordOptions {
    /// Recording `provider` from `upstream`, the proxy on an unused loopback port.
    pub fn new(provider: impl Into<String>, upstream: url::Url) -> Self {
        Self {
            provider: provider.into(),
            upstream,
            listen: any_loopback_port(),
            fallback: None,
            out: None,
            scenario: None,
            personal: Vec::new(),
        }
    }
}

/// `127.0.0.1:0`: an unused loopback port.
pub(crate) fn any_loopback_port() -> SocketAddr {
    ([127, 0, 0, 1], 0).into()
}

/// A listening address, which must be on loopback: the proxy carries real credentials.
pub(crate) fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text
        .parse()
        .map_err(|_| format!("`{text}` is not an address such as 127.0.0.1:8080"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{addr}: the proxy carries real credentials, listen on a loopback address"
        ));
    }
    Ok(addr)
}

/// An upstream base URL: http(s), no user info, query or fragment.
pub(crate) fn parse_upstream(text: &str) -> Result<url::Url, String> {
    let bad = || "must be an http(s) URL without user info, query or fragment".to_owned();
    let url = url::Url::parse(text).map_err(|_| bad())?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    if ok { Ok(url) } else { Err(bad()) }
}

/// A scenario name: lower-case letters, digits and `_`, at most 100 characters.
pub(crate) fn parse_scenario(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "`{name}` must be lower-case letters, digits and `_`"
        ))
    }
}

/// A personal field name to scrub.
pub(crate) fn parse_field(name: &str) -> Result<String, String> {
    if name.trim().is_empty() {
        Err("needs a field name".into())
    } else {
        Ok(name.to_owned())
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
pub(crate) fn date(unix: i64) -> String {
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

/// Records until the process is stopped: starts the proxy (and the second host's proxy),
/// prints where they listen on stderr, and writes the fixture after every exchange. The real
/// secrets are read from the environment.
///
/// # Errors
///
/// Before anything listens:
/// * [`Error::Usage`] when the provider is not registered or has no recording rules, a
///   fallback is given for a provider without a fallback host, a required secret is unset or
///   empty in the environment, or the fixture file already exists;
/// * [`Error::Io`] when the fixture directory cannot be created or the async runtime cannot be
///   started.
///
/// Then [`Error::Io`] when a proxy cannot listen on its address or its HTTP client cannot be
/// built. Once the proxies run, a failed exchange is reported on stderr and does not end the
/// recording.
pub fn record(layout: &Layout, registry: &Registry, options: RecordOptions) -> Result<(), Error> {
    let provider = registry.require(&options.provider)?;
    let rules = provider.recording().ok_or_else(|| {
        let recordable: Vec<&str> = registry
            .iter()
            .filter(|p| p.recording().is_some())
            .map(|p| p.name())
            .collect();
        Error::Usage(format!(
            "cannot record provider `{}` (recordable: {})",
            options.provider,
            recordable.join(", ")
        ))
    })?;
    let second_host = match (&options.fallback, rules.fallback_host()) {
        (Some(_), None) => {
            return Err(Error::Usage(format!(
                "provider `{}` has no fallback host to record",
                provider.name()
            )));
        }
        (Some((url, listen)), Some(host)) => Some((url.clone(), *listen, host)),
        (None, _) => None,
    };
    let secrets = Secrets::load(rules, |var| std::env::var(var).ok()).map_err(Error::Usage)?;
    let now = unix_now();
    let scenario = options
        .scenario
        .clone()
        .unwrap_or_else(|| format!("recorded_{now}"));
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| layout.contract_dir(provider.name()));
    std::fs::create_dir_all(&out)
        .map_err(|e| Error::Io(format!("cannot create {}: {e}", out.display())))?;
    let file = out.join(format!("{scenario}.json"));
    if file.exists() {
        return Err(Error::Usage(format!(
            "{} already exists; choose another --scenario",
            file.display()
        )));
    }
    let origin = options.upstream.origin().ascii_serialization();
    let second_origin = second_host
        .as_ref()
        .map(|(url, _, _)| url.origin().ascii_serialization());
    let meta = Meta {
        scenario,
        source: match (&second_origin, &second_host) {
            (Some(f), Some((_, _, host))) => format!(
                "recorded: {origin} ({host} {f}) through cargo xtask record, {}",
                date(now)
            ),
            _ => format!(
                "recorded: {origin} through cargo xtask record, {}",
                date(now)
            ),
        },
    };
    let recorder = Arc::new(
        Recorder::new(
            provider,
            secrets,
            options.personal.clone(),
            meta,
            file.clone(),
        )
        .map_err(Error::Usage)?,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let second = match &second_host {
            Some((url, listen, host)) => {
                Some(Proxy::start(*listen, url.as_str(), host, recorder.clone()).await?)
            }
            None => None,
        };
        let proxy = Proxy::start(
            options.listen,
            options.upstream.as_str(),
            rules.host(),
            recorder,
        )
        .await?;
        eprintln!("listening on http://{}", proxy.addr());
        if let (Some(p), Some(f), Some((_, _, host))) = (&second, &second_origin, &second_host) {
            eprintln!(
                "{host} listening on http://{} (for {f}): give it to the client as its {host} URL",
                p.addr()
            );
        }
        eprintln!(
            "recording {} calls to {origin} into {}; stop with Ctrl-C",
            provider.name(),
            file.display()
        );
        proxy.run().await;
        Ok::<_, String>(())
    })
    .map_err(Error::Io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_711_954_264), "2024-04-01");
        assert_eq!(date(951_782_400), "2000-02-29");
    }

    #[test]
    fn unsafe_or_malformed_settings_are_refused() {
        assert!(parse_listen("127.0.0.1:8080").is_ok());
        assert!(parse_listen("[::1]:8080").is_ok());
        assert!(
            parse_listen("0.0.0.0:8080")
                .unwrap_err()
                .contains("loopback")
        );
        assert!(parse_listen("nine").is_err());
        assert!(parse_upstream("https://sandbox.example/prefix").is_ok());
        for bad in [
            "https://user:pw@h.example",
            "http://h.example/?q=1",
            "http://h.example/#f",
            "ftp://h.example",
        ] {
            assert!(parse_upstream(bad).is_err(), "{bad}");
        }
        assert!(parse_scenario("authorize_sandbox_2").is_ok());
        assert!(parse_scenario("Bad Name").is_err());
        assert!(parse_scenario("").is_err());
        assert!(parse_field(" ").is_err());
    }
}
