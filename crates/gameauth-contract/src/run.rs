//! `contract-test`: replays every recorded fixture against the SDK.
//!
//! A fixture freezes the clock, the generated ids and the keys, so every signature a client
//! computes is deterministic and the mocked provider can demand it byte for byte. Each fixture
//! runs on its own task with a time limit, so a panic or a hang fails only that fixture. Every
//! directory of the fixture root must belong to a registered provider: a fixture nobody replays
//! is an error, never silently skipped.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use crate::fixture::{Fixture, fixture_files};
use crate::report::{Reporter, Summary};
use crate::{Error, Layout, Provider, Registry};

/// Longest a single fixture may run before it counts as failed.
pub const FIXTURE_TIMEOUT: Duration = Duration::from_secs(60);

/// What to replay.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RunOptions {
    /// Only this provider's fixtures.
    pub provider: Option<String>,
    /// Only fixtures whose `<provider>/<scenario>` name contains this text.
    pub filter: Option<String>,
}

impl RunOptions {
    /// Every fixture.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only `provider`'s fixtures.
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = Some(provider.into());
        self
    }

    /// Only fixtures whose `<provider>/<scenario>` name contains `text`.
    pub fn filter(mut self, text: impl Into<String>) -> Self {
        self.filter = Some(text.into());
        self
    }
}

/// Fails when a directory of the fixture root belongs to no registered provider.
///
/// # Errors
///
/// * [`Error::Unregistered`] for the first directory (in sorted order) of the fixture root
///   that is no registered provider's name;
/// * [`Error::Io`] when the fixture root exists but cannot be read.
pub fn check_directories(layout: &Layout, registry: &Registry) -> Result<(), Error> {
    let dirs = layout.provider_dirs().map_err(Error::Io)?;
    match dirs.iter().find(|d| registry.get(d).is_none()) {
        Some(dir) => Err(Error::Unregistered {
            dir: layout.shown(&layout.fixtures().join(dir)),
            registered: registry.names().join(", "),
        }),
        None => Ok(()),
    }
}

/// Replays the fixtures `options` selects, writing one line per fixture, a summary per
/// provider and the closing `N passed, N failed` line to `out`.
///
/// Errors are problems of the run itself (an unregistered fixture directory, an unknown
/// provider, an unreadable directory); a failing fixture is counted in the [`Summary`].
///
/// # Errors
///
/// * [`Error::Unregistered`] when a directory of the fixture root belongs to no registered
///   provider (checked before anything runs);
/// * [`Error::Usage`] when `options` names a provider that is not registered;
/// * [`Error::Io`] when the async runtime cannot be started, a provider's contract directory
///   cannot be read, or writing to `out` fails.
///
/// A fixture that cannot be read or parsed, or whose replay fails, is not an error: it is
/// reported and counted as failed.
pub fn contract_test(
    layout: &Layout,
    registry: &Registry,
    options: &RunOptions,
    out: &mut dyn Write,
) -> Result<Summary, Error> {
    check_directories(layout, registry)?;
    if let Some(name) = &options.provider {
        registry.require(name)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("cannot start the async runtime: {e}")))?;
    let mut reporter = Reporter::new(out);
    for provider in registry.iter() {
        let name = provider.name();
        if options.provider.as_deref().is_some_and(|p| p != name) {
            continue;
        }
        for path in fixture_files(&layout.contract_dir(name)).map_err(Error::Io)? {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
            let shown = format!("{name}/{stem}");
            if options
                .filter
                .as_deref()
                .is_some_and(|f| !shown.contains(f))
            {
                continue;
            }
            let outcome = match Fixture::load(&path, name) {
                Ok(fixture) => runtime.block_on(run_one(provider, fixture)),
                Err(e) => Err(e),
            };
            reporter.fixture(name, &shown, outcome)?;
        }
    }
    reporter.finish()
}

/// Runs one fixture on its own task, so a panic or a hang fails only that fixture.
///
/// # Errors
///
/// The error of [`Provider::run`] when the replay fails; otherwise a message when the runner
/// panicked, was cancelled, or did not finish within [`FIXTURE_TIMEOUT`].
pub async fn run_one(provider: &'static dyn Provider, fixture: Fixture) -> Result<(), String> {
    let fixture = Arc::new(fixture);
    let task = tokio::spawn({
        let fixture = fixture.clone();
        async move { provider.run(&fixture).await }
    });
    match tokio::time::timeout(FIXTURE_TIMEOUT, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) if join.is_panic() => Err("the runner panicked".into()),
        Ok(Err(_)) => Err("the runner was cancelled".into()),
        Err(_) => Err(format!("did not finish within {FIXTURE_TIMEOUT:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Md5Provider, fixture_json, good_sign, tree};

    fn run(root: &std::path::Path, options: &RunOptions) -> (Result<Summary, Error>, String) {
        let registry = Registry::new(&[&Md5Provider]).unwrap();
        let mut out = Vec::new();
        let result = contract_test(&Layout::new(root), &registry, options, &mut out);
        (result, String::from_utf8(out).unwrap())
    }

    #[test]
    fn a_matching_fixture_passes_and_a_wrong_signature_fails_with_the_reason() {
        let good = fixture_json("dummy", &good_sign(), false).to_string();
        let bad = fixture_json("dummy", "00", false)
            .to_string()
            .replace("\"s\"", "\"t\"");
        let t = tree(&[
            ("fixtures/test/contract/s.json", &good),
            ("fixtures/test/contract/t.json", &bad),
        ]);
        let (summary, text) = run(t.path(), &RunOptions::new());
        let summary = summary.unwrap();
        assert_eq!((summary.passed(), summary.failed()), (1, 1));
        assert!(text.contains("test test/s ... ok\n"), "{text}");
        // The fixture's own (wrong) sign header is not sent: the runner signs with the key, and
        // the mock demands the recorded value.
        assert!(
            text.contains("test test/t ... FAILED: 1 unexpected request(s) on host `default`"),
            "{text}"
        );
        assert!(text.contains("header `sign` is"), "{text}");
        assert!(text.ends_with("1 passed, 1 failed\n"), "{text}");

        let (summary, text) = run(t.path(), &RunOptions::new().filter("test/s"));
        assert!(summary.unwrap().success(), "{text}");
    }

    #[test]
    fn a_directory_of_no_registered_provider_is_an_error_that_names_it() {
        let good = fixture_json("dummy", &good_sign(), false).to_string();
        let t = tree(&[
            ("fixtures/test/contract/s.json", &good),
            ("fixtures/acme/contract/s.json", &good),
        ]);
        let (result, _) = run(t.path(), &RunOptions::new());
        let err = result.unwrap_err();
        assert_eq!(
            err,
            Error::Unregistered {
                dir: "fixtures/acme".into(),
                registered: "test".into()
            }
        );
        assert!(
            err.to_string()
                .starts_with("fixtures/acme belongs to no registered provider")
        );
    }

    #[test]
    fn an_unknown_provider_is_refused_and_an_empty_run_is_no_success() {
        let t = tree(&[]);
        let (result, _) = run(t.path(), &RunOptions::new().provider("acme"));
        assert_eq!(
            result.unwrap_err().to_string(),
            "unknown provider `acme` (registered: test)"
        );
        let (result, text) = run(t.path(), &RunOptions::new());
        assert!(!result.unwrap().success());
        assert!(
            text.ends_with("no fixture matched\n0 passed, 0 failed\n"),
            "{text}"
        );
    }
}
