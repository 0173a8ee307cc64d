//! Timing helpers: medians, percentiles and interleaved repetitions.

use std::time::{Duration, Instant};

/// The median of `values` (the mean of the middle two for an even count); 0 when empty.
pub(crate) fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// The `p`-th percentile (0–100, nearest rank) of already sorted samples; 0 when empty.
pub(crate) fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Nanoseconds per call of `f`, timed over `iters` calls.
pub(crate) fn ns_per_iter(iters: u64, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed().as_nanos() as f64 / iters as f64
}

/// How many calls of `f` fit in roughly `target`, so a timed batch is long enough to swamp the
/// clock's own cost but short enough to repeat many times.
pub(crate) fn calibrate(target: Duration, mut f: impl FnMut()) -> u64 {
    let mut iters = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        let took = start.elapsed();
        if took >= target / 4 || iters >= 1 << 30 {
            let scale = target.as_secs_f64() / took.as_secs_f64().max(1e-9);
            return ((iters as f64) * scale).max(1.0) as u64;
        }
        iters *= 4;
    }
}

/// Samples of two measurements taken alternately (`ours`, `baseline`, `ours`, …) so slow drift
/// of a noisy machine hits both alike.
#[derive(Debug, Clone, Default)]
pub(crate) struct Paired {
    pub(crate) ours: Vec<f64>,
    pub(crate) baseline: Vec<f64>,
}

impl Paired {
    /// Takes `reps` pairs, alternating which side goes first.
    pub(crate) fn run(
        reps: usize,
        mut ours: impl FnMut() -> f64,
        mut baseline: impl FnMut() -> f64,
    ) -> Self {
        let mut p = Self::default();
        for i in 0..reps {
            if i % 2 == 0 {
                p.ours.push(ours());
                p.baseline.push(baseline());
            } else {
                p.baseline.push(baseline());
                p.ours.push(ours());
            }
        }
        p
    }

    /// Median of our samples.
    pub(crate) fn ours_median(&self) -> f64 {
        median(&self.ours)
    }

    /// Median of the baseline samples.
    pub(crate) fn baseline_median(&self) -> f64 {
        median(&self.baseline)
    }

    /// Median of the per-pair ratios `ours / baseline`. Each pair was taken back to back, so a
    /// burst of load from elsewhere on the machine skews one pair, not the comparison.
    pub(crate) fn ratio(&self) -> f64 {
        let ratios: Vec<f64> = self
            .ours
            .iter()
            .zip(&self.baseline)
            .map(|(o, b)| o / b)
            .collect();
        median(&ratios)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn percentile_uses_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
    }

    #[test]
    fn ratio_is_the_median_of_pair_ratios() {
        let p = Paired {
            ours: vec![2.0, 30.0, 4.0],
            baseline: vec![1.0, 10.0, 4.0],
        };
        assert_eq!(p.ratio(), 2.0);
    }

    #[test]
    fn paired_runs_alternate_the_first_side() {
        let order = std::cell::RefCell::new(Vec::new());
        Paired::run(
            2,
            || {
                order.borrow_mut().push('o');
                1.0
            },
            || {
                order.borrow_mut().push('b');
                2.0
            },
        );
        assert_eq!(*order.borrow(), ['o', 'b', 'b', 'o']);
    }
}
