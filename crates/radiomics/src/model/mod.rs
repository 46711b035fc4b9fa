//! The radiomics EGFR classifier of Table 3's baseline (Wang et al.): standardise the features
//! on the training split, select them with L1-penalised (LASSO) logistic regression whose
//! penalty is chosen by k-fold cross-validation on the training patients, then fit an
//! (unpenalised) logistic model on the selected features.

mod cv;
mod lasso;
mod logistic;
mod standardize;

pub use cv::{lambda_grid, CvConfig};
pub use logistic::{fit_logistic, sigmoid};
pub use standardize::Standardizer;

/// The ridge of the final (unpenalised) fit on the selected features: only enough to keep the
/// Newton step defined on perfectly separable training patients.
const FINAL_RIDGE: f64 = 1e-4;

use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum ModelError {
    #[error("no training patients")]
    Empty,
    #[error("feature rows have different lengths ({0} and {1})")]
    Ragged(usize, usize),
    #[error("features and labels differ in length ({0} rows, {1} labels)")]
    LabelCount(usize, usize),
    #[error("a feature value is not finite (patient {row}, feature {col})")]
    NonFinite { row: usize, col: usize },
    #[error("training labels hold one class only: a classifier needs both")]
    OneClass,
    #[error("{folds}-fold cross-validation needs at least {folds} patients of each class")]
    TooFewForFolds { folds: usize },
    #[error("invalid cross-validation setting: {0}")]
    InvalidCv(String),
}

/// A fitted radiomics model: which features it uses and how it weighs them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RadiomicsModel {
    pub standardizer: Standardizer,
    /// Indices (into the feature rows) of the features LASSO kept.
    pub selected: Vec<usize>,
    /// The penalty cross-validation chose.
    pub lambda: f64,
    pub intercept: f64,
    /// Logistic coefficients of the selected (standardised) features.
    pub coefficients: Vec<f64>,
}

impl RadiomicsModel {
    /// Fits the model on training rows `x` (one per patient) with labels `y` (EGFR mutant).
    pub fn fit(x: &[Vec<f64>], y: &[bool], config: &CvConfig) -> Result<Self, ModelError> {
        check(x, y)?;
        let standardizer = Standardizer::fit(x);
        let z = standardizer.transform(x);
        let (lambda, beta) = cv::select(&z, y, config)?;
        let selected: Vec<usize> = (0..beta.len()).filter(|j| beta[*j] != 0.0).collect();
        let zs: Vec<Vec<f64>> = z
            .iter()
            .map(|r| selected.iter().map(|j| r[*j]).collect())
            .collect();
        let (intercept, coefficients) = logistic::fit_logistic(&zs, y, FINAL_RIDGE);
        Ok(Self {
            standardizer,
            selected,
            lambda,
            intercept,
            coefficients,
        })
    }

    /// EGFR-mutant probability for each row.
    pub fn predict_proba(&self, x: &[Vec<f64>]) -> Vec<f64> {
        self.standardizer
            .transform(x)
            .iter()
            .map(|r| {
                let eta = self.intercept
                    + self
                        .selected
                        .iter()
                        .zip(&self.coefficients)
                        .map(|(j, b)| b * r[*j])
                        .sum::<f64>();
                logistic::sigmoid(eta)
            })
            .collect()
    }
}

fn check(x: &[Vec<f64>], y: &[bool]) -> Result<(), ModelError> {
    let first = x.first().ok_or(ModelError::Empty)?;
    if x.len() != y.len() {
        return Err(ModelError::LabelCount(x.len(), y.len()));
    }
    for (row, r) in x.iter().enumerate() {
        if r.len() != first.len() {
            return Err(ModelError::Ragged(first.len(), r.len()));
        }
        if let Some(col) = r.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::NonFinite { row, col });
        }
    }
    if y.iter().all(|v| *v) || y.iter().all(|v| !*v) {
        return Err(ModelError::OneClass);
    }
    Ok(())
}
