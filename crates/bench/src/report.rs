//! The result table (markdown) and the raw numbers (`target/bench/report.json`).

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::stats::Paired;

/// Which number a target bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Bound {
    /// The ratio must be at most this.
    RatioAtMost(f64),
    /// The ratio must be at least this.
    RatioAtLeast(f64),
    /// Our own value (not a ratio) must be at most this.
    ValueAtMost(f64),
}

impl Bound {
    fn describe(self, unit: &str) -> String {
        match self {
            Self::RatioAtMost(x) => format!("≤ {x}×"),
            Self::RatioAtLeast(x) => format!("≥ {x}×"),
            Self::ValueAtMost(x) => format!("≤ {x} {unit}"),
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

/// Median p50/p99 latencies (µs) of a load row, ours and baseline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Latency {
    pub(crate) ours_p50: f64,
    pub(crate) ours_p99: f64,
    pub(crate) baseline_p50: f64,
    pub(crate) baseline_p99: f64,
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

    /// `Some(true)` when the target is met, `Some(false)` when missed, `None` when skipped.
    pub(crate) fn met(&self) -> Option<bool> {
        if self.skipped.is_some() {
            return None;
        }
        Some(match self.bound {
            Bound::RatioAtMost(x) => self.ratio.is_some_and(|r| r <= x),
            Bound::RatioAtLeast(x) => self.ratio.is_some_and(|r| r >= x),
            Bound::ValueAtMost(x) => self.ours.is_some_and(|v| v <= x),
        })
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
                "ours_p50": l.ours_p50,
                "ours_p99": l.ours_p99,
                "baseline_p50": l.baseline_p50,
                "baseline_p99": l.baseline_p99,
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
        "| row | ours p50 | ours p99 | baseline p50 | baseline p99 |\n|---|---:|---:|---:|---:|\n",
    );
    let mut any = false;
    for r in rows {
        if let Some(l) = r.latency {
            any = true;
            let _ = writeln!(
                out,
                "| {} | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs |",
                r.name, l.ours_p50, l.ours_p99, l.baseline_p50, l.baseline_p99
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
