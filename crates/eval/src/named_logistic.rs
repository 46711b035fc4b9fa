//! A fitted logistic regression over named features, as the run stores it in
//! `postprocess.json`: the lesion classifier and the EGFR phenotype model are both one. The
//! feature names travel with the coefficients so that a record fitted on another feature set
//! (an older or newer mtsa) is refused instead of silently misread.

use mtsa_radiomics::model::{fit_logistic, sigmoid, Standardizer};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedLogistic {
    /// The feature names at fitting time, in row order.
    pub features: Vec<String>,
    pub standardizer: Standardizer,
    pub intercept: f64,
    pub coefficients: Vec<f64>,
}

impl NamedLogistic {
    /// Standardises the rows and fits with a ridge penalty on the standardised coefficients;
    /// `None` when the labels hold one class only (nothing to learn).
    pub fn fit(names: &[&str], rows: &[Vec<f64>], labels: &[bool], ridge: f64) -> Option<Self> {
        if labels.iter().all(|v| *v) || labels.iter().all(|v| !*v) {
            return None;
        }
        let standardizer = Standardizer::fit(rows);
        let (intercept, coefficients) = fit_logistic(&standardizer.transform(rows), labels, ridge);
        Some(Self {
            features: names.iter().map(|s| s.to_string()).collect(),
            standardizer,
            intercept,
            coefficients,
        })
    }

    /// The modelled probability of a row of [`NamedLogistic::features`].
    pub fn probability(&self, row: &[f64]) -> f64 {
        let z = self.standardizer.transform_row(row);
        sigmoid(
            self.intercept
                + z.iter()
                    .zip(&self.coefficients)
                    .map(|(x, b)| x * b)
                    .sum::<f64>(),
        )
    }

    /// Whether the record was fitted on exactly `names`, with one coefficient and one
    /// standardiser entry each.
    pub fn fits_features(&self, names: &[&str]) -> bool {
        let p = names.len();
        self.features
            .iter()
            .map(String::as_str)
            .eq(names.iter().copied())
            && self.coefficients.len() == p
            && self.standardizer.mean.len() == p
            && self.standardizer.scale.len() == p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_only_its_own_features() {
        let rows: Vec<Vec<f64>> = (0..20).map(|i| vec![i as f64, 1.0]).collect();
        let labels: Vec<bool> = (0..20).map(|i| i >= 10).collect();
        let m = NamedLogistic::fit(&["a", "b"], &rows, &labels, 1.0).unwrap();
        assert!(m.fits_features(&["a", "b"]));
        assert!(!m.fits_features(&["b", "a"]));
        assert!(!m.fits_features(&["a"]));
        assert!(m.probability(&[19.0, 1.0]) > 0.5 && m.probability(&[0.0, 1.0]) < 0.5);
        assert!(NamedLogistic::fit(&["a", "b"], &rows, &[true; 20], 1.0).is_none());
    }
}
