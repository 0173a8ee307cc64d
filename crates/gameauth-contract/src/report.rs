//! The contract-test report: one line per fixture, a summary per provider, the failed fixtures
//! again, and the closing `N passed, N failed` line.

use std::collections::BTreeMap;
use std::io::Write;

use crate::Error;

/// Counts of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// `(passed, failed)` per provider, for the providers that had fixtures.
    pub providers: BTreeMap<String, (usize, usize)>,
    /// The failed fixtures, as `<provider>/<scenario>`.
    pub failures: Vec<String>,
}

impl Summary {
    /// Fixtures that passed.
    pub fn passed(&self) -> usize {
        self.providers.values().map(|(p, _)| p).sum()
    }

    /// Fixtures that failed.
    pub fn failed(&self) -> usize {
        self.providers.values().map(|(_, f)| f).sum()
    }

    /// Whether the run proves anything: at least one fixture ran and none failed.
    pub fn success(&self) -> bool {
        self.failed() == 0 && self.passed() > 0
    }
}

/// Writes the report as fixtures finish.
pub(crate) struct Reporter<'a> {
    out: &'a mut dyn Write,
    summary: Summary,
}

fn io(e: std::io::Error) -> Error {
    Error::Io(format!("cannot write the report: {e}"))
}

impl<'a> Reporter<'a> {
    pub(crate) fn new(out: &'a mut dyn Write) -> Self {
        Self {
            out,
            summary: Summary::default(),
        }
    }

    /// Reports one fixture of `provider`, shown as `name`.
    pub(crate) fn fixture(
        &mut self,
        provider: &str,
        name: &str,
        outcome: Result<(), String>,
    ) -> Result<(), Error> {
        let entry = self
            .summary
            .providers
            .entry(provider.to_owned())
            .or_default();
        match outcome {
            Ok(()) => {
                entry.0 += 1;
                writeln!(self.out, "test {name} ... ok").map_err(io)
            }
            Err(reason) => {
                entry.1 += 1;
                self.summary.failures.push(name.to_owned());
                writeln!(self.out, "test {name} ... FAILED: {reason}").map_err(io)
            }
        }
    }

    /// Writes the summaries and the closing line.
    pub(crate) fn finish(self) -> Result<Summary, Error> {
        let Self { out, summary } = self;
        writeln!(out).map_err(io)?;
        for (provider, (p, f)) in &summary.providers {
            writeln!(out, "{provider}: {p} passed, {f} failed").map_err(io)?;
        }
        if !summary.failures.is_empty() {
            writeln!(out, "\nfailed fixtures:").map_err(io)?;
            for f in &summary.failures {
                writeln!(out, "    {f}").map_err(io)?;
            }
        }
        if summary.passed() + summary.failed() == 0 {
            writeln!(out, "no fixture matched").map_err(io)?;
        }
        writeln!(
            out,
            "{} passed, {} failed",
            summary.passed(),
            summary.failed()
        )
        .map_err(io)?;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_per_fixture_and_provider_then_the_closing_line() {
        let mut out = Vec::new();
        let mut r = Reporter::new(&mut out);
        r.fixture("acme", "acme/ok", Ok(())).unwrap();
        r.fixture("acme", "acme/bad", Err("step 0: boom".into()))
            .unwrap();
        r.fixture("beta", "beta/ok", Ok(())).unwrap();
        let summary = r.finish().unwrap();
        assert_eq!((summary.passed(), summary.failed()), (2, 1));
        assert!(!summary.success());
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "test acme/ok ... ok\ntest acme/bad ... FAILED: step 0: boom\ntest beta/ok ... ok\n\n\
             acme: 1 passed, 1 failed\nbeta: 1 passed, 0 failed\n\nfailed fixtures:\n    acme/bad\n\
             2 passed, 1 failed\n"
        );
    }

    #[test]
    fn an_empty_run_says_so_and_is_no_success() {
        let mut out = Vec::new();
        let summary = Reporter::new(&mut out).finish().unwrap();
        assert!(!summary.success());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\nno fixture matched\n0 passed, 0 failed\n"
        );
    }
}
