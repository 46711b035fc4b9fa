//! Binary classification report (patient-level EGFR status): confusion matrix,
//! proportions with Wald / Wilson / bootstrap intervals, F1, ROC AUC with DeLong's
//! interval, Brier score and reliability table.

use serde::{Deserialize, Serialize};

use crate::calibration::{
    brier_score, reliability_table, ReliabilityTable, DEFAULT_RELIABILITY_BINS,
};
use crate::error::{check_level, check_scores, Result};
use crate::intervals::{bootstrap_ci, wald_ci, wilson_ci, z_for_level, BootstrapOptions, Interval};
use crate::roc::{auc, delong, roc_curve, RocPoint};

/// Counts at a fixed threshold; a case is predicted positive when `score > threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Positive, predicted positive.
    pub tp: usize,
    /// Negative, predicted positive.
    pub fp: usize,
    /// Negative, predicted negative.
    pub tn: usize,
    /// Positive, predicted negative.
    #[serde(rename = "fn")]
    pub fn_: usize,
}

impl ConfusionMatrix {
    /// Counts with the rule `score > threshold` ⇒ positive (the spec's "mean exceeds 0.5").
    pub fn at_threshold(labels: &[bool], scores: &[f64], threshold: f64) -> ConfusionMatrix {
        let mut c = ConfusionMatrix::default();
        for (&l, &s) in labels.iter().zip(scores) {
            match (l, s > threshold) {
                (true, true) => c.tp += 1,
                (false, true) => c.fp += 1,
                (false, false) => c.tn += 1,
                (true, false) => c.fn_ += 1,
            }
        }
        c
    }

    /// Total cases.
    pub fn total(&self) -> usize {
        self.tp + self.fp + self.tn + self.fn_
    }

    /// `(TP+TN)/N`; `None` when empty.
    pub fn accuracy(&self) -> Option<f64> {
        ratio(self.tp + self.tn, self.total())
    }

    /// `TP/(TP+FP)`; `None` when nothing is predicted positive.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }

    /// Sensitivity `TP/(TP+FN)`; `None` without positives.
    pub fn recall(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// `TN/(TN+FP)`; `None` without negatives.
    pub fn specificity(&self) -> Option<f64> {
        ratio(self.tn, self.tn + self.fp)
    }

    /// `2TP/(2TP+FP+FN)`; `None` when there is no positive label and no positive prediction.
    pub fn f1(&self) -> Option<f64> {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// A proportion `successes / n` with its intervals; all `None` when `n == 0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Proportion {
    /// Point estimate.
    pub value: Option<f64>,
    /// Numerator.
    pub successes: usize,
    /// Denominator.
    pub n: usize,
    /// Wald interval (clipped to [0, 1]).
    pub wald: Option<Interval>,
    /// Wilson score interval.
    pub wilson: Option<Interval>,
    /// Patient-bootstrap percentile interval, when bootstrapping was requested.
    pub bootstrap: Option<Interval>,
}

impl Proportion {
    fn new(successes: usize, n: usize, z: f64) -> Proportion {
        Proportion {
            value: ratio(successes, n),
            successes,
            n,
            wald: wald_ci(successes, n, z).ok(),
            wilson: wilson_ci(successes, n, z).ok(),
            bootstrap: None,
        }
    }
}

/// Settings of [`binary_classification_with`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassificationOptions {
    /// Decision threshold: positive when `score > threshold` (default 0.5).
    pub threshold: f64,
    /// Confidence level of every interval (default 0.95).
    pub level: f64,
    /// Patient bootstrap; `None` skips bootstrap intervals. Its `level` is overridden by
    /// `level` above so that all intervals agree.
    pub bootstrap: Option<BootstrapOptions>,
}

impl Default for ClassificationOptions {
    fn default() -> Self {
        ClassificationOptions {
            threshold: 0.5,
            level: 0.95,
            bootstrap: Some(BootstrapOptions::default()),
        }
    }
}

/// Everything reported for a binary classifier on one test set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// Cases.
    pub n: usize,
    /// Positive labels.
    pub positives: usize,
    /// Negative labels.
    pub negatives: usize,
    /// Decision threshold used (positive when `score > threshold`).
    pub threshold: f64,
    /// Confidence level of every interval.
    pub level: f64,
    /// Counts at the threshold.
    pub confusion: ConfusionMatrix,
    /// Accuracy.
    pub accuracy: Proportion,
    /// Precision (positive predictive value).
    pub precision: Proportion,
    /// Recall (sensitivity).
    pub recall: Proportion,
    /// Specificity.
    pub specificity: Proportion,
    /// F1; `None` when undefined.
    pub f1: Option<f64>,
    /// Bootstrap interval of F1.
    pub f1_bootstrap: Option<Interval>,
    /// ROC AUC; `None` unless both classes are present.
    pub auc: Option<f64>,
    /// DeLong interval; `None` unless each class has at least two cases.
    pub auc_delong: Option<Interval>,
    /// Bootstrap interval of the AUC (resamples lacking a class are skipped).
    pub auc_bootstrap: Option<Interval>,
    /// ROC points; empty unless both classes are present.
    pub roc: Vec<RocPoint>,
    /// Brier score; `None` when some score is not a probability in [0, 1].
    pub brier: Option<f64>,
    /// 10-bin reliability table; `None` when some score is not a probability.
    pub reliability: Option<ReliabilityTable>,
    /// Bootstrap settings used, if any.
    pub bootstrap: Option<BootstrapOptions>,
}

/// Report at `threshold` with 95% intervals and the default seeded patient bootstrap
/// (2000 replicates, seed 0).
pub fn binary_classification(
    labels: &[bool],
    scores: &[f64],
    threshold: f64,
) -> Result<ClassificationReport> {
    binary_classification_with(
        labels,
        scores,
        &ClassificationOptions {
            threshold,
            ..ClassificationOptions::default()
        },
    )
}

/// Report with explicit options. Errors on mismatched lengths, empty input, non-finite
/// scores or an invalid level; undefined quantities (a missing class) become `None`.
pub fn binary_classification_with(
    labels: &[bool],
    scores: &[f64],
    opts: &ClassificationOptions,
) -> Result<ClassificationReport> {
    check_scores(labels, scores)?;
    check_level(opts.level)?;
    let z = z_for_level(opts.level)?;
    let t = opts.threshold;
    let c = ConfusionMatrix::at_threshold(labels, scores, t);
    let positives = labels.iter().filter(|&&l| l).count();
    let mut accuracy = Proportion::new(c.tp + c.tn, c.total(), z);
    let mut precision = Proportion::new(c.tp, c.tp + c.fp, z);
    let mut recall = Proportion::new(c.tp, c.tp + c.fn_, z);
    let mut specificity = Proportion::new(c.tn, c.tn + c.fp, z);
    let mut f1_bootstrap = None;
    let mut auc_bootstrap = None;
    let boot = opts.bootstrap.map(|b| BootstrapOptions {
        level: opts.level,
        ..b
    });
    if let Some(b) = &boot {
        let cases: Vec<(bool, f64)> = labels.iter().copied().zip(scores.iter().copied()).collect();
        let cm = |s: &[(bool, f64)]| {
            let (l, sc): (Vec<bool>, Vec<f64>) = s.iter().copied().unzip();
            ConfusionMatrix::at_threshold(&l, &sc, t)
        };
        // Same seed for every statistic, so all are computed on the same resamples.
        accuracy.bootstrap = bootstrap_ci(&cases, |s| cm(s).accuracy(), b)?.interval;
        precision.bootstrap = bootstrap_ci(&cases, |s| cm(s).precision(), b)?.interval;
        recall.bootstrap = bootstrap_ci(&cases, |s| cm(s).recall(), b)?.interval;
        specificity.bootstrap = bootstrap_ci(&cases, |s| cm(s).specificity(), b)?.interval;
        f1_bootstrap = bootstrap_ci(&cases, |s| cm(s).f1(), b)?.interval;
        auc_bootstrap = bootstrap_ci(
            &cases,
            |s| {
                let (l, sc): (Vec<bool>, Vec<f64>) = s.iter().copied().unzip();
                auc(&l, &sc).ok()
            },
            b,
        )?
        .interval;
    }
    Ok(ClassificationReport {
        n: labels.len(),
        positives,
        negatives: labels.len() - positives,
        threshold: t,
        level: opts.level,
        confusion: c,
        accuracy,
        precision,
        recall,
        specificity,
        f1: c.f1(),
        f1_bootstrap,
        auc: auc(labels, scores).ok(),
        auc_delong: delong(labels, scores, opts.level).ok().map(|d| d.interval),
        auc_bootstrap,
        roc: roc_curve(labels, scores).unwrap_or_default(),
        brier: brier_score(labels, scores).ok(),
        reliability: reliability_table(labels, scores, DEFAULT_RELIABILITY_BINS).ok(),
        bootstrap: boot,
    })
}
