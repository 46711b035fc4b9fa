//! Probability calibration: Brier score and a reliability table.
//!
//! Both treat scores as predicted probabilities of the positive class, so every score
//! must lie in [0, 1]; anything else is an error rather than a silently clamped value.

use serde::{Deserialize, Serialize};

use crate::error::{check_scores, MetricsError, Result};

/// Default number of equal-width reliability bins.
pub const DEFAULT_RELIABILITY_BINS: usize = 10;

fn check_probabilities(labels: &[bool], scores: &[f64]) -> Result<()> {
    check_scores(labels, scores)?;
    match scores
        .iter()
        .enumerate()
        .find(|(_, s)| !(0.0..=1.0).contains(*s))
    {
        Some((index, &value)) => Err(MetricsError::NotAProbability { index, value }),
        None => Ok(()),
    }
}

/// Brier score: mean squared difference between probability and outcome (0 is perfect).
pub fn brier_score(labels: &[bool], scores: &[f64]) -> Result<f64> {
    check_probabilities(labels, scores)?;
    let sum: f64 = labels
        .iter()
        .zip(scores)
        .map(|(&l, &s)| (s - if l { 1.0 } else { 0.0 }).powi(2))
        .sum();
    Ok(sum / labels.len() as f64)
}

/// One reliability bin `[lower, upper)` (the last bin also holds 1.0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge.
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Cases whose probability falls in the bin.
    pub count: usize,
    /// Mean predicted probability; `None` for an empty bin.
    pub mean_predicted: Option<f64>,
    /// Fraction of positives; `None` for an empty bin.
    pub observed_fraction: Option<f64>,
}

/// Reliability (calibration) table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityTable {
    /// Equal-width bins over [0, 1].
    pub bins: Vec<ReliabilityBin>,
    /// Expected calibration error: Σ (count/N)·|observed − mean predicted| over non-empty bins.
    pub ece: f64,
}

/// Reliability table with `n_bins` equal-width bins over [0, 1].
pub fn reliability_table(
    labels: &[bool],
    scores: &[f64],
    n_bins: usize,
) -> Result<ReliabilityTable> {
    check_probabilities(labels, scores)?;
    if n_bins == 0 {
        return Err(MetricsError::InvalidArgument("n_bins must be > 0".into()));
    }
    let mut count = vec![0usize; n_bins];
    let mut sum_p = vec![0.0f64; n_bins];
    let mut pos = vec![0usize; n_bins];
    for (&l, &s) in labels.iter().zip(scores) {
        let b = ((s * n_bins as f64).floor() as usize).min(n_bins - 1);
        count[b] += 1;
        sum_p[b] += s;
        pos[b] += usize::from(l);
    }
    let n = labels.len() as f64;
    let mut ece = 0.0;
    let bins = (0..n_bins)
        .map(|b| {
            let c = count[b];
            let mean = (c > 0).then(|| sum_p[b] / c as f64);
            let obs = (c > 0).then(|| pos[b] as f64 / c as f64);
            if let (Some(m), Some(o)) = (mean, obs) {
                ece += c as f64 / n * (o - m).abs();
            }
            ReliabilityBin {
                lower: b as f64 / n_bins as f64,
                upper: (b + 1) as f64 / n_bins as f64,
                count: c,
                mean_predicted: mean,
                observed_fraction: obs,
            }
        })
        .collect();
    Ok(ReliabilityTable { bins, ece })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brier_and_bins() {
        let labels = [true, false, true, false];
        let scores = [0.9, 0.1, 0.6, 1.0];
        let b = brier_score(&labels, &scores).unwrap();
        assert!((b - (0.01 + 0.01 + 0.16 + 1.0) / 4.0).abs() < 1e-12);
        let t = reliability_table(&labels, &scores, 10).unwrap();
        assert_eq!(t.bins.len(), 10);
        assert_eq!(t.bins[9].count, 2); // 0.9 and 1.0
        assert_eq!(t.bins[9].observed_fraction, Some(0.5));
        assert!((t.bins[9].mean_predicted.unwrap() - 0.95).abs() < 1e-12);
        assert_eq!(t.bins[1].count, 1);
        assert_eq!(t.bins[6].count, 1);
        assert_eq!(t.bins[0].mean_predicted, None);
        // ECE = 0.5*|0.5-0.95| + 0.25*|0-0.1| + 0.25*|1-0.6|
        assert!((t.ece - (0.225 + 0.025 + 0.1)).abs() < 1e-12);
    }

    #[test]
    fn rejects_non_probabilities() {
        assert!(matches!(
            brier_score(&[true], &[1.5]),
            Err(MetricsError::NotAProbability { index: 0, .. })
        ));
    }
}
