//! Error type shared by every metric in this crate.
//!
//! Metrics are computed on data that users control (masks read from disk, score lists
//! built by an evaluation loop), so malformed input is reported as an error rather than
//! a panic.

use thiserror::Error;

/// Why a metric could not be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MetricsError {
    /// Prediction and ground-truth masks must describe the same voxel grid.
    #[error("shape mismatch: prediction {pred:?} vs ground truth {gt:?}")]
    ShapeMismatch {
        /// Shape of the prediction mask.
        pred: Vec<usize>,
        /// Shape of the ground-truth mask.
        gt: Vec<usize>,
    },
    /// Voxel spacing must be finite and strictly positive on every axis.
    #[error("invalid spacing {0:?}: every component must be finite and > 0")]
    InvalidSpacing(Vec<f64>),
    /// Paired inputs (labels and scores) must have the same length.
    #[error("length mismatch: {labels} labels vs {scores} scores")]
    LengthMismatch {
        /// Number of labels.
        labels: usize,
        /// Number of scores.
        scores: usize,
    },
    /// Two systems compared on the same cases must give one value per case each.
    #[error("paired inputs differ in length: {a} values for system A vs {b} for system B")]
    PairedLengthMismatch {
        /// Number of values for system A.
        a: usize,
        /// Number of values for system B.
        b: usize,
    },
    /// A per-case value of a paired comparison (a metric or a score) was NaN or infinite.
    #[error("value of system {system} at index {index} is not finite ({value})")]
    NonFinitePairedValue {
        /// `'A'` or `'B'`.
        system: char,
        /// Position of the offending case.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// The statistic needs at least one observation.
    #[error("empty input")]
    EmptyInput,
    /// A score was NaN or infinite.
    #[error("score at index {index} is not finite ({value})")]
    NonFiniteScore {
        /// Position of the offending score.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A probability (Brier score, calibration) was outside [0, 1].
    #[error("score at index {index} is not a probability in [0, 1] ({value})")]
    NotAProbability {
        /// Position of the offending score.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// ROC / AUC need both classes; DeLong's variance needs at least two of each.
    #[error("need at least {needed} positive and {needed} negative labels, got {positives} positive and {negatives} negative")]
    NotEnoughClasses {
        /// Minimum count required per class.
        needed: usize,
        /// Positive labels present.
        positives: usize,
        /// Negative labels present.
        negatives: usize,
    },
    /// A parameter (confidence level, percentile, replicate count, ...) was out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// Convenience alias used throughout the crate.
pub type Result<T> = std::result::Result<T, MetricsError>;

/// Checks that a confidence level is in the open interval (0, 1).
pub(crate) fn check_level(level: f64) -> Result<()> {
    if level.is_finite() && level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(MetricsError::InvalidArgument(format!(
            "confidence level must be in (0, 1), got {level}"
        )))
    }
}

/// Checks that a volume threshold (mm³) is finite and non-negative; `what` names it.
pub(crate) fn check_volume(what: &str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(MetricsError::InvalidArgument(format!(
            "{what} must be finite and >= 0, got {v}"
        )))
    }
}

/// Checks paired label / score input: same length, non-empty, finite scores.
pub(crate) fn check_scores(labels: &[bool], scores: &[f64]) -> Result<()> {
    if labels.len() != scores.len() {
        return Err(MetricsError::LengthMismatch {
            labels: labels.len(),
            scores: scores.len(),
        });
    }
    if labels.is_empty() {
        return Err(MetricsError::EmptyInput);
    }
    if let Some((index, &value)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
        return Err(MetricsError::NonFiniteScore { index, value });
    }
    Ok(())
}
