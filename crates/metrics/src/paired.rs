//! Paired tests for comparing two systems evaluated on the same patients.
//!
//! A comparison table ("MTSA-Net vs U-Net: Dice 0.81 vs 0.78") needs a test that uses the
//! pairing: both systems see the same patients, so their errors are correlated and
//! unpaired tests (or overlapping confidence intervals) understate the evidence.
//!
//! * [`paired_bootstrap`]: any per-patient metric (Dice, HD95, ...), difference of means,
//!   patient-resampling percentile interval and p-value (Efron & Tibshirani, *An
//!   Introduction to the Bootstrap*, 1993, ch. 13 and 16).
//! * [`delong_paired`]: two correlated ROC AUCs on the same cases (DeLong, DeLong &
//!   Clarke-Pearson, Biometrics 44 (1988) 837-845), with the structural components of
//!   [`crate::delong`].
//! * [`mcnemar`]: paired accuracies at fixed thresholds, exact binomial test on the
//!   discordant pairs (McNemar, Psychometrika 12 (1947) 153-157).
//!
//! All p-values are two-sided. Reference values: `tests/reference/paired_stats.py`
//! (scipy, statsmodels).

use serde::{Deserialize, Serialize};

use crate::error::{MetricsError, Result};
use crate::intervals::{bootstrap_replicates, normal_cdf, z_for_level, Interval};
use crate::roc::Components;
use crate::surface::percentile_linear;

/// Outcome of [`paired_bootstrap`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedBootstrap {
    /// Patients compared.
    pub n: usize,
    /// Mean of system A's values.
    pub mean_a: f64,
    /// Mean of system B's values.
    pub mean_b: f64,
    /// Observed `mean(a) - mean(b)`, computed as the mean of the per-patient differences.
    pub difference: f64,
    /// 95% percentile interval of the difference over the resamples (2.5th and 97.5th
    /// percentiles, linear interpolation).
    pub interval: Interval,
    /// Two-sided p-value `min(1, 2·min((#{d* ≤ 0} + 1)/(B + 1), (#{d* ≥ 0} + 1)/(B + 1)))`
    /// over the `B` resampled differences `d*`: the smallest level at which the
    /// percentile interval excludes 0, with the usual +1 correction so that a Monte
    /// Carlo p-value is never 0. Its floor is `2/(B + 1)`.
    pub p_value: f64,
    /// Resamples drawn (`B`).
    pub resamples: usize,
    /// Seed of the `ChaCha8Rng`.
    pub seed: u64,
}

/// Paired bootstrap of the difference in mean of a per-patient metric.
///
/// `a[i]` and `b[i]` are the values of systems A and B on patient `i`. Patients are
/// resampled with replacement (`resamples` times, `ChaCha8Rng` seeded with `seed`, the
/// convention of [`crate::bootstrap_ci`]); each resample keeps a patient's two values
/// together, which is what makes the test paired. The statistic is `mean(a) - mean(b)`.
///
/// Non-finite values are an error ([`MetricsError::NonFinitePairedValue`]), not skipped:
/// dropping a patient where one system failed (say an HD95 of an empty mask left as
/// NaN) would compare the systems on a subset chosen by their failures, biased in favour
/// of the system that fails on hard cases. Replace such values by a penalty first (this
/// crate's HD95 already uses the BraTS-METS 374 mm), or drop the patients explicitly.
///
/// Errors also on different lengths, no patients, or `resamples == 0`.
pub fn paired_bootstrap(
    a: &[f64],
    b: &[f64],
    resamples: usize,
    seed: u64,
) -> Result<PairedBootstrap> {
    check_paired_values(a, b)?;
    if resamples == 0 {
        return Err(MetricsError::InvalidArgument(
            "resamples must be > 0".into(),
        ));
    }
    let diffs: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let difference = mean(&diffs);
    let replicates = bootstrap_replicates(&diffs, |s| Some(mean(s)), resamples, seed);
    let interval = percentile_interval(&replicates, resamples)?;
    Ok(PairedBootstrap {
        n: a.len(),
        mean_a: mean(a),
        mean_b: mean(b),
        difference,
        interval,
        p_value: bootstrap_p_value(&replicates),
        resamples,
        seed,
    })
}

/// Same length, at least one pair, every value finite.
fn check_paired_values(a: &[f64], b: &[f64]) -> Result<()> {
    check_same_length(a.len(), b.len())?;
    check_finite('A', a)?;
    check_finite('B', b)
}

fn check_same_length(a: usize, b: usize) -> Result<()> {
    if a != b {
        return Err(MetricsError::PairedLengthMismatch { a, b });
    }
    if a == 0 {
        return Err(MetricsError::EmptyInput);
    }
    Ok(())
}

fn check_finite(system: char, values: &[f64]) -> Result<()> {
    match values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((index, &value)) => Err(MetricsError::NonFinitePairedValue {
            system,
            index,
            value,
        }),
        None => Ok(()),
    }
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// 95% percentile interval; every replicate must be finite (they are means of finite
/// values, so only an overflow of huge inputs can break this).
fn percentile_interval(replicates: &[f64], drawn: usize) -> Result<Interval> {
    let bounds = (
        percentile_linear(replicates, 2.5),
        percentile_linear(replicates, 97.5),
    );
    match bounds {
        (Some(lower), Some(upper)) if replicates.len() == drawn => Ok(Interval { lower, upper }),
        _ => Err(MetricsError::InvalidArgument(
            "bootstrap mean overflowed: values too large to average".into(),
        )),
    }
}

/// See [`PairedBootstrap::p_value`].
fn bootstrap_p_value(replicates: &[f64]) -> f64 {
    let total = replicates.len() as f64 + 1.0;
    let not_above = replicates.iter().filter(|&&d| d <= 0.0).count() as f64 + 1.0;
    let not_below = replicates.iter().filter(|&&d| d >= 0.0).count() as f64 + 1.0;
    (2.0 * not_above.min(not_below) / total).min(1.0)
}

/// Outcome of [`delong_paired`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedDelong {
    /// Positive cases.
    pub positives: usize,
    /// Negative cases.
    pub negatives: usize,
    /// AUC of system A (Mann-Whitney, ties ½).
    pub auc_a: f64,
    /// AUC of system B.
    pub auc_b: f64,
    /// DeLong variance of `auc_a` (as [`crate::delong`]).
    pub variance_a: f64,
    /// DeLong variance of `auc_b`.
    pub variance_b: f64,
    /// DeLong covariance of the two AUCs; positive when the systems rank cases alike.
    pub covariance: f64,
    /// `auc_a - auc_b`.
    pub difference: f64,
    /// `sqrt(variance_a + variance_b - 2·covariance)`.
    pub std_error: f64,
    /// 95% Wald interval of the difference, `difference ± 1.96·std_error` (not clipped).
    pub interval: Interval,
    /// `difference / std_error`; 0 when both are 0, `±inf` when only the standard error
    /// is 0 (the estimate then admits no sampling variation; pROC gives the same).
    pub z: f64,
    /// Two-sided normal p-value `2·Φ(-|z|)`.
    pub p_value: f64,
}

/// DeLong's test for the difference of two correlated ROC AUCs on the same cases.
///
/// `scores_a[i]` and `scores_b[i]` are both systems' scores for case `i`, whose label is
/// `labels[i]` (higher score = more likely positive). The variance of the difference
/// comes from the covariance of the structural components (placement values) of both
/// systems (DeLong, DeLong & Clarke-Pearson, Biometrics 44 (1988) 837-845), computed in
/// O(N log N) by sorting as in Sun & Xu's fast algorithm (IEEE Signal Process. Lett. 21
/// (2014) 1389-1393). Equivalent to pROC's `roc.test(method = "delong", paired = TRUE)`.
///
/// Needs at least two positives and two negatives; errors on different lengths or
/// non-finite scores.
pub fn delong_paired(labels: &[bool], scores_a: &[f64], scores_b: &[f64]) -> Result<PairedDelong> {
    if labels.len() != scores_a.len() {
        return Err(MetricsError::LengthMismatch {
            labels: labels.len(),
            scores: scores_a.len(),
        });
    }
    check_paired_values(scores_a, scores_b)?;
    let ca = Components::new(labels, scores_a)?;
    let cb = Components::new(labels, scores_b)?;
    let diff = ca.minus(&cb);
    let difference = ca.auc() - cb.auc();
    // The variance of the difference's own components equals va + vb - 2·cov exactly
    // in arithmetic and cannot come out negative by rounding.
    let std_error = diff.covariance(&diff).max(0.0).sqrt();
    let z = z_score(difference, std_error);
    let half = z_for_level(0.95)? * std_error;
    Ok(PairedDelong {
        positives: ca.v10.len(),
        negatives: ca.v01.len(),
        auc_a: ca.auc(),
        auc_b: cb.auc(),
        variance_a: ca.covariance(&ca),
        variance_b: cb.covariance(&cb),
        covariance: ca.covariance(&cb),
        difference,
        std_error,
        interval: Interval {
            lower: difference - half,
            upper: difference + half,
        },
        z,
        p_value: two_sided_normal_p(z),
    })
}

/// `difference / std_error`, with 0/0 read as "no difference" (identical rankings).
fn z_score(difference: f64, std_error: f64) -> f64 {
    if std_error > 0.0 {
        difference / std_error
    } else if difference == 0.0 {
        0.0
    } else {
        difference.signum() * f64::INFINITY
    }
}

fn two_sided_normal_p(z: f64) -> f64 {
    (2.0 * normal_cdf(-z.abs())).min(1.0)
}

/// Outcome of [`mcnemar`]: the paired 2×2 table and both versions of the test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct McNemar {
    /// Cases compared.
    pub n: usize,
    /// Both systems correct.
    pub both_correct: usize,
    /// A correct, B wrong (discordant count `b`).
    pub only_a_correct: usize,
    /// A wrong, B correct (discordant count `c`).
    pub only_b_correct: usize,
    /// Both wrong.
    pub both_wrong: usize,
    /// Exact two-sided p-value, the primary result: `min(1, 2·P(X ≤ min(b, c)))` with
    /// `X ~ Binomial(b + c, ½)`; 1 when `b = c` (including no discordant pair). Valid at
    /// any `b + c`, unlike the chi-square approximation.
    pub p_value: f64,
    /// Continuity-corrected statistic `(|b - c| - 1)² / (b + c)` (Edwards 1948); 0 when
    /// `b = c`, where, as R's `mcnemar.test`, no correction is applied (statsmodels
    /// subtracts it anyway and reports `1/(b + c)`).
    pub chi_square: f64,
    /// Upper tail of chi-square with 1 degree of freedom at `chi_square`.
    pub chi_square_p_value: f64,
}

/// McNemar's test that two systems have the same accuracy on the same cases.
///
/// `correct_a[i]` and `correct_b[i]` say whether each system classified case `i`
/// correctly (e.g. EGFR status at threshold 0.5). Only the discordant cases carry
/// information; the exact binomial p-value is [`McNemar::p_value`], the
/// continuity-corrected chi-square is given beside it for comparison with papers.
///
/// Errors on different lengths or no cases.
pub fn mcnemar(correct_a: &[bool], correct_b: &[bool]) -> Result<McNemar> {
    check_same_length(correct_a.len(), correct_b.len())?;
    let mut t = McNemar {
        n: correct_a.len(),
        both_correct: 0,
        only_a_correct: 0,
        only_b_correct: 0,
        both_wrong: 0,
        p_value: 1.0,
        chi_square: 0.0,
        chi_square_p_value: 1.0,
    };
    for (&x, &y) in correct_a.iter().zip(correct_b) {
        match (x, y) {
            (true, true) => t.both_correct += 1,
            (true, false) => t.only_a_correct += 1,
            (false, true) => t.only_b_correct += 1,
            (false, false) => t.both_wrong += 1,
        }
    }
    let (b, c) = (t.only_a_correct, t.only_b_correct);
    t.p_value = mcnemar_exact_p(b, c);
    t.chi_square = mcnemar_chi_square(b, c);
    t.chi_square_p_value = two_sided_normal_p(t.chi_square.sqrt());
    Ok(t)
}

/// `min(1, 2·P(X ≤ min(b, c)))`, `X ~ Binomial(b + c, ½)`.
fn mcnemar_exact_p(b: usize, c: usize) -> f64 {
    if b == c {
        return 1.0;
    }
    (2.0 * binomial_half_lower_tail(b.min(c), b + c)).min(1.0)
}

/// `P(X ≤ k)` for `X ~ Binomial(n, ½)` and `k < n/2`, in log space so that `2⁻ⁿ` does not
/// underflow for large `n`: `pmf(k)·Σ_{i≤k} pmf(i)/pmf(k)`, the ratios (all ≤ 1, since
/// the terms increase up to the mode) built downwards from `i = k`.
fn binomial_half_lower_tail(k: usize, n: usize) -> f64 {
    let ln_choose: f64 = (1..=k).map(|i| ((n - k + i) as f64 / i as f64).ln()).sum();
    let ln_pmf_k = ln_choose - n as f64 * std::f64::consts::LN_2;
    let (mut term, mut sum) = (1.0, 1.0);
    for i in (1..=k).rev() {
        term *= i as f64 / (n - i + 1) as f64;
        sum += term;
    }
    ln_pmf_k.exp() * sum
}

/// Continuity-corrected McNemar statistic; 0 when `b = c`.
fn mcnemar_chi_square(b: usize, c: usize) -> f64 {
    if b == c {
        return 0.0;
    }
    let excess = b.abs_diff(c) as f64 - 1.0;
    excess * excess / (b + c) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_tail_matches_direct_sum() {
        // P(X <= 2), n = 9: (1 + 9 + 36) / 512.
        assert!((binomial_half_lower_tail(2, 9) - 46.0 / 512.0).abs() < 1e-15);
        assert!((binomial_half_lower_tail(0, 5) - 1.0 / 32.0).abs() < 1e-16);
    }

    #[test]
    fn bootstrap_p_value_counts_both_sides() {
        assert_eq!(bootstrap_p_value(&[0.0, 0.0, 0.0]), 1.0);
        // None <= 0: 2·(0 + 1)/(4 + 1).
        assert!((bootstrap_p_value(&[1.0, 2.0, 3.0, 4.0]) - 0.4).abs() < 1e-15);
    }

    #[test]
    fn z_score_degenerate_cases() {
        assert_eq!(z_score(0.0, 0.0), 0.0);
        assert_eq!(z_score(-0.2, 0.0), f64::NEG_INFINITY);
        assert_eq!(two_sided_normal_p(f64::INFINITY), 0.0);
    }
}
