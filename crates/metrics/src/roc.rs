//! ROC curve, AUC (Mann-Whitney, ties count 1/2) and DeLong's confidence interval.
//!
//! A higher score means "more likely positive". AUC is the probability that a random
//! positive scores above a random negative, counting ties as one half, which equals the
//! trapezoidal area under [`roc_curve`].

use serde::{Deserialize, Serialize};

use crate::error::{check_level, check_scores, MetricsError, Result};
use crate::intervals::{z_for_level, Interval};

/// One operating point: predict positive when `score >= threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RocPoint {
    /// False-positive rate, 1 - specificity.
    pub fpr: f64,
    /// True-positive rate, sensitivity.
    pub tpr: f64,
    /// Score threshold; `+inf` for the first point (nothing predicted positive),
    /// which JSON shows as `null`.
    pub threshold: f64,
}

/// AUC with DeLong's variance and interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DelongAuc {
    /// Area under the ROC curve.
    pub auc: f64,
    /// DeLong et al. (1988) variance estimate of the AUC.
    pub variance: f64,
    /// `auc ± z·sqrt(variance)`, clipped to [0, 1] (as pROC does).
    pub interval: Interval,
}

fn split(labels: &[bool], scores: &[f64], needed: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    check_scores(labels, scores)?;
    let pos: Vec<f64> = labels
        .iter()
        .zip(scores)
        .filter(|(l, _)| **l)
        .map(|(_, s)| *s)
        .collect();
    let neg: Vec<f64> = labels
        .iter()
        .zip(scores)
        .filter(|(l, _)| !**l)
        .map(|(_, s)| *s)
        .collect();
    if pos.len() < needed || neg.len() < needed {
        return Err(MetricsError::NotEnoughClasses {
            needed,
            positives: pos.len(),
            negatives: neg.len(),
        });
    }
    Ok((pos, neg))
}

/// ROC points from `(0, 0)` to `(1, 1)`, one per distinct score (descending thresholds).
/// Needs at least one label of each class.
pub fn roc_curve(labels: &[bool], scores: &[f64]) -> Result<Vec<RocPoint>> {
    let (pos, neg) = split(labels, scores, 1)?;
    let (np, nn) = (pos.len() as f64, neg.len() as f64);
    let mut pairs: Vec<(f64, bool)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out = vec![RocPoint {
        fpr: 0.0,
        tpr: 0.0,
        threshold: f64::INFINITY,
    }];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < pairs.len() {
        let t = pairs[i].0;
        while i < pairs.len() && pairs[i].0 == t {
            if pairs[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        out.push(RocPoint {
            fpr: fp as f64 / nn,
            tpr: tp as f64 / np,
            threshold: t,
        });
    }
    Ok(out)
}

/// Mann-Whitney AUC: `P(score_pos > score_neg) + ½·P(score_pos = score_neg)`.
/// Needs at least one label of each class.
pub fn auc(labels: &[bool], scores: &[f64]) -> Result<f64> {
    let (pos, neg) = split(labels, scores, 1)?;
    Ok(auc_from_split(&pos, &neg))
}

/// Placement value of each `x` among `others`: `#(others < x) + ½·#(others = x)`.
fn placements(xs: &[f64], others: &[f64]) -> Vec<f64> {
    let mut sorted = others.to_vec();
    sorted.sort_by(f64::total_cmp);
    xs.iter()
        .map(|&x| {
            let below = sorted.partition_point(|&o| o < x);
            let not_above = sorted.partition_point(|&o| o <= x);
            below as f64 + 0.5 * (not_above - below) as f64
        })
        .collect()
}

fn auc_from_split(pos: &[f64], neg: &[f64]) -> f64 {
    let total: f64 = placements(pos, neg).iter().sum();
    total / (pos.len() as f64 * neg.len() as f64)
}

/// DeLong's structural components of one score vector: `v10[i]`, the fraction of
/// negatives scored below positive `i`, and `v01[j]`, the fraction of positives scored
/// above negative `j` (ties count ½). Both average to the AUC; their sample
/// (co)variances give DeLong's variance, and, across two score vectors on the same
/// cases, the covariance of two AUCs (DeLong, DeLong & Clarke-Pearson, Biometrics 44
/// (1988) 837-845). Positives and negatives keep the order of the input.
#[derive(Debug, Clone)]
pub(crate) struct Components {
    pub(crate) v10: Vec<f64>,
    pub(crate) v01: Vec<f64>,
}

impl Components {
    /// Components of `scores`; needs at least two labels of each class (the covariances
    /// divide by `m-1` and `n-1`).
    pub(crate) fn new(labels: &[bool], scores: &[f64]) -> Result<Components> {
        let (pos, neg) = split(labels, scores, 2)?;
        let (m, n) = (pos.len() as f64, neg.len() as f64);
        Ok(Components {
            v10: placements(&pos, &neg).iter().map(|p| p / n).collect(),
            v01: placements(&neg, &pos).iter().map(|p| 1.0 - p / m).collect(),
        })
    }

    /// Mann-Whitney AUC, the mean of `v10`.
    pub(crate) fn auc(&self) -> f64 {
        mean(&self.v10)
    }

    /// Componentwise `self - other`: the components of the AUC difference.
    pub(crate) fn minus(&self, other: &Components) -> Components {
        let sub = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(a, b)| a - b).collect();
        Components {
            v10: sub(&self.v10, &other.v10),
            v01: sub(&self.v01, &other.v01),
        }
    }

    /// DeLong covariance of the two AUC estimates, `S10/m + S01/n`, where `S10` and `S01`
    /// are the sample covariances of the positives' and the negatives' components.
    /// With `other = self` it is the variance of the AUC.
    pub(crate) fn covariance(&self, other: &Components) -> f64 {
        sample_covariance(&self.v10, &other.v10) / self.v10.len() as f64
            + sample_covariance(&self.v01, &other.v01) / self.v01.len() as f64
    }
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample covariance with the `len - 1` divisor; callers guarantee `len >= 2`.
fn sample_covariance(x: &[f64], y: &[f64]) -> f64 {
    let (mx, my) = (mean(x), mean(y));
    let sum: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    sum / (x.len() as f64 - 1.0)
}

/// AUC, DeLong variance and interval at confidence `level` (e.g. 0.95).
/// Needs at least two labels of each class (the variance uses `m-1` and `n-1`).
pub fn delong(labels: &[bool], scores: &[f64], level: f64) -> Result<DelongAuc> {
    check_level(level)?;
    let c = Components::new(labels, scores)?;
    let a = c.auc();
    let variance = c.covariance(&c);
    let half = z_for_level(level)? * variance.sqrt();
    Ok(DelongAuc {
        auc: a,
        variance,
        interval: Interval {
            lower: (a - half).max(0.0),
            upper: (a + half).min(1.0),
        },
    })
}

/// DeLong confidence interval of the AUC at `level`; see [`delong`].
pub fn delong_ci(labels: &[bool], scores: &[f64], level: f64) -> Result<Interval> {
    delong(labels, scores, level).map(|d| d.interval)
}
