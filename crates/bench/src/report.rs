//! The result table (markdown) and the raw numbers (`target/bench/report.json`).

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::load::LoadResult;
use crate::stats::{Paired, median};

/// Which number a target bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Bound {
    /// The ratio must be at most this.
    RatioAtMost(f64),
    /// The ratio must be at least this.
    RatioAtLeast(f64),
    /// Our own value (not a ratio) must be at most this.
    ValueAtMost(f64),
    /// No target: the row explains another one.
    Info,
}

impl Bound {
    fn describe(self, unit: &str) -> String {
        match self {
            Self::RatioAtMost(x) => format!("≤ {x}×"),
            Self::RatioAtLeast(x) => format!("≥ {x}×"),
            Self::ValueAtMost(x) => format!("≤ {x} {unit}"),
            Self::Info => "—".to_owned(),
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// What is measured.
    pub(crate) name: String,
    /// Unit of `ours` and `baseline`.
    pub(crate) unit: &'static str,
    /// Our median, `None` when skipped.
    pub(crate) ours: Option<f64>,
    /// The baseline's median (or the budget it implies), when there is one.
    pub(crate) baseline: Option<f64>,
    /// The compared ratio, when the target is a ratio.
    pub(crate) ratio: Option<f64>,
    /// The target.
    pub(crate) bound: Bound,
    /// Why the row was not measured.
    pub(crate) skipped: Option<String>,
    /// Raw samples and anything else worth keeping.
    pub(crate) raw: Value,
    /// Latency percentiles, for the load rows.
    pub(crate) latency: Option<Latency>,
}

/// Latencies (µs) of a load row, ours and baseline: the median over the runs of each run's p50
/// and p99, and the slowest answer of all runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Latency {
    pub(crate) ours: Percentiles,
    /// `None` when the baseline is not measured per request.
    pub(crate) baseline: Option<Percentiles>,
}

/// p50, p99 and max (µs) of one side of a load row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Percentiles {
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
}

impl Percentiles {
    /// Over several runs: the median of the runs' p50 and p99, the largest max.
    pub(crate) fn of(runs: &[LoadResult]) -> Self {
        let per_run = |f: fn(&LoadResult) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
        Self {
            p50: per_run(LoadResult::p50),
            p99: per_run(LoadResult::p99),
            max: runs.iter().map(LoadResult::max).fold(0.0, f64::max),
        }
    }

    fn to_json(self) -> Value {
        json!({ "p50": self.p50, "p99": self.p99, "max": self.max })
    }
}

impl Latency {
    /// Both sides, each over its runs.
    pub(crate) fn of(ours: &[LoadResult], baseline: &[LoadResult]) -> Self {
        Self {
            ours: Percentiles::of(ours),
            baseline: (!baseline.is_empty()).then(|| Percentiles::of(baseline)),
        }
    }
}

impl Row {
    /// A measured row; `ratio` is what a ratio target bounds.
    pub(crate) fn measured(
        name: impl Into<String>,
        unit: &'static str,
        ours: f64,
        baseline: Option<f64>,
        ratio: Option<f64>,
        bound: Bound,
        raw: Value,
    ) -> Self {
        Self {
            name: name.into(),
            unit,
            ours: Some(ours),
            baseline,
            ratio,
            bound,
            skipped: None,
            raw,
            latency: None,
        }
    }

    /// Adds latency percentiles.
    pub(crate) fn with_latency(mut self, latency: Latency) -> Self {
        self.latency = Some(latency);
        self
    }

    /// A row from alternately taken samples: the medians of both sides, and the median of the
    /// per-pair ratios as the compared ratio.
    pub(crate) fn paired(
        name: impl Into<String>,
        unit: &'static str,
        samples: &Paired,
        bound: Bound,
        raw: Value,
    ) -> Self {
        Self::measured(
            name,
            unit,
            samples.ours_median(),
            Some(samples.baseline_median()),
            Some(samples.ratio()),
            bound,
            raw,
        )
    }

    /// A row that could not be measured, with the reason printed in the table.
    pub(crate) fn skipped(
        name: impl Into<String>,
        unit: &'static str,
        bound: Bound,
        reason: impl Into<String>,
        raw: Value,
    ) -> Self {
        Self {
            name: name.into(),
            unit,
            ours: None,
            baseline: None,
            ratio: None,
            bound,
            skipped: Some(reason.into()),
            raw,
            latency: None,
        }
    }

    /// `Some(true)` when the target is met, `Some(false)` when missed, `None` when skipped or
    /// without a target.
    pub(crate) fn met(&self) -> Option<bool> {
        if self.skipped.is_some() {
            return None;
        }
        match self.bound {
            Bound::RatioAtMost(x) => Some(self.ratio.is_some_and(|r| r <= x)),
            Bound::RatioAtLeast(x) => Some(self.ratio.is_some_and(|r| r >= x)),
            Bound::ValueAtMost(x) => Some(self.ours.is_some_and(|v| v <= x)),
            Bound::Info => None,
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "unit": self.unit,
            "ours": self.ours,
            "baseline": self.baseline,
            "ratio": self.ratio,
            "target": self.bound.describe(self.unit),
            "met": self.met(),
            "skipped": self.skipped,
            "latency_us": self.latency.map(|l| json!({
                "ours": l.ours.to_json(),
                "baseline": l.baseline.map(Percentiles::to_json),
            })),
            "raw": self.raw,
        })
    }
}

/// Formats a measured value with a precision that suits its size.
pub(crate) fn number(v: f64) -> String {
    if v >= 1000.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// The markdown table: row, ours, baseline, ratio, target, met?
pub(crate) fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| row | ours | baseline | ratio | target | met? |\n|---|---:|---:|---:|---|---|\n",
    );
    for r in rows {
        let with_unit =
            |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{} {}", number(v), r.unit));
        let met = match (r.met(), &r.skipped) {
            (Some(true), _) => "yes".to_owned(),
            (Some(false), _) => "**NO**".to_owned(),
            (None, Some(reason)) => format!("skipped: {reason}"),
            (None, None) => "—".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            r.name,
            with_unit(r.ours),
            with_unit(r.baseline),
            r.ratio.map_or("—".to_owned(), |x| format!("{x:.3}×")),
            r.bound.describe(r.unit),
            met
        );
    }
    out
}

/// The latency table of the rows that have percentiles.
pub(crate) fn latency_markdown(rows: &[Row]) -> Option<String> {
    let mut out = String::from(
        "| row | ours p50 | ours p99 | ours max | baseline p50 | baseline p99 | baseline max |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut any = false;
    let cells = |p: Option<Percentiles>| {
        p.map_or_else(
            || "— | — | —".to_owned(),
            |p| format!("{:.0} µs | {:.0} µs | {:.0} µs", p.p50, p.p99, p.max),
        )
    };
    for r in rows {
        if let Some(l) = r.latency {
            any = true;
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                r.name,
                cells(Some(l.ours)),
                cells(l.baseline)
            );
        }
    }
    any.then_some(out)
}

/// The JSON report: run settings, every row with its raw samples.
pub(crate) fn json_report(settings: Value, rows: &[Row]) -> Value {
    json!({
        "settings": settings,
        "rows": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        "all_met": rows.iter().all(|r| r.met() != Some(false)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ratio: f64, bound: Bound) -> Row {
        Row::measured("r", "ns", 2.0, Some(1.0), Some(ratio), bound, Value::Null)
    }

    #[test]
    fn ratio_targets_compare_the_ratio() {
        assert_eq!(row(1.2, Bound::RatioAtMost(1.25)).met(), Some(true));
        assert_eq!(row(1.3, Bound::RatioAtMost(1.25)).met(), Some(false));
        assert_eq!(row(0.5, Bound::RatioAtLeast(0.5)).met(), Some(true));
        assert_eq!(row(0.49, Bound::RatioAtLeast(0.5)).met(), Some(false));
    }

    #[test]
    fn value_targets_compare_our_value() {
        assert_eq!(row(9.0, Bound::ValueAtMost(2.0)).met(), Some(true));
        assert_eq!(row(0.1, Bound::ValueAtMost(1.0)).met(), Some(false));
    }

    #[test]
    fn latency_takes_the_median_percentiles_and_the_overall_max() {
        let run = |v: Vec<u32>| LoadResult::new(v, std::time::Duration::from_secs(1));
        let runs = [
            run((1..=100).collect()),
            run((1..=100).map(|v| v * 2).collect()),
            run((1..=100).map(|v| v * 3).collect()),
        ];
        let p = Percentiles::of(&runs);
        assert_eq!((p.p50, p.p99, p.max), (100.0, 198.0, 300.0));
        let row = row(1.0, Bound::RatioAtMost(3.0)).with_latency(Latency::of(&runs, &[]));
        let table = latency_markdown(&[row]).unwrap();
        assert!(
            table.contains("| r | 100 µs | 198 µs | 300 µs | — | — | — |"),
            "{table}"
        );
    }

    #[test]
    fn a_missed_target_is_marked_in_the_table() {
        let table = markdown(&[row(1.3, Bound::RatioAtMost(1.25))]);
        assert!(table.contains("**NO**"), "{table}");
        let skipped = Row::skipped(
            "s",
            "req/s",
            Bound::RatioAtLeast(0.5),
            "no server",
            Value::Null,
        );
        assert!(markdown(&[skipped]).contains("skipped: no server"));
    }
}
