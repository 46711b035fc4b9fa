//! The synthetic cohort's known truth, so every EGFR figure can stand beside the best any
//! classifier could reach on the same patients.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Deserialize)]
struct TruthFile {
    patients: Vec<TruthPatient>,
}

#[derive(Deserialize)]
struct TruthPatient {
    id: String,
    p_mutant: f64,
}

/// P(mutant) per patient id, when the dataset carries a `truth.json` (synthetic cohorts only).
pub fn read_truth(dataset: &Path) -> Option<BTreeMap<String, f64>> {
    let text = std::fs::read_to_string(dataset.join("truth.json")).ok()?;
    let file: TruthFile = serde_json::from_str(&text).ok()?;
    Some(
        file.patients
            .into_iter()
            .map(|p| (p.id, p.p_mutant))
            .collect(),
    )
}

/// Bayes accuracy of a patient set, mean of max(P, 1 - P): the expected accuracy of the best
/// possible classifier, which knows each patient's P exactly.
pub fn bayes_accuracy(p: impl IntoIterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = p.into_iter().map(|p| p.max(1.0 - p)).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bayes_accuracy_of_known_probabilities() {
        assert_eq!(
            bayes_accuracy([0.9, 0.2, 0.5]),
            Some((0.9 + 0.8 + 0.5) / 3.0)
        );
        assert_eq!(bayes_accuracy([]), None);
    }
}
