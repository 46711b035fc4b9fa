//! Measures the EGFR formula by simulation, through the generator's own phenotype draws: the
//! prevalence and Bayes accuracy a large cohort will have, and the count-blind ceiling, so the
//! figures in the docs and in `truth.json` can be re-measured whenever the formula or the lesion
//! model changes (example `egfr_formula`).

use crate::egfr::{draw_phenotypes, p_mutant, phenotype_logit, Phenotype, COUNT_WEIGHTS};
use rand::SeedableRng;
use serde::Serialize;

/// What a simulation of the formula gives.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FormulaCalibration {
    pub patients: usize,
    /// Mean P(mutant): the expected share of mutant labels.
    pub prevalence: f64,
    /// mean(max(P, 1 - P)): the best accuracy any classifier can reach.
    pub bayes_accuracy: f64,
    /// Accuracy of the best classifier that knows the means of every lesion trait (size,
    /// necrosis, oedema, texture) exactly but not the count: it predicts mutant when the
    /// count-weighted average of P over n = 1..4 exceeds one half. What a per-slice model,
    /// which never sees the whole brain, can hope for at most (up to what one slice hides).
    pub count_blind_ceiling: f64,
}

/// The figures of the current formula and lesion model, measured by `egfr_formula` on 200,000
/// patients (seed 1); `truth.json` records them and a test keeps them honest.
pub const FORMULA_MEASURED: FormulaCalibration = FormulaCalibration {
    patients: 200_000,
    prevalence: 0.5416,
    bayes_accuracy: 0.8717,
    count_blind_ceiling: 0.8506,
};

/// Simulates `patients` phenotypes (the generator's draws, not the cohort's patient streams).
pub fn calibrate_formula(patients: usize, seed: u64) -> FormulaCalibration {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut sum_p, mut sum_bayes, mut sum_blind) = (0.0, 0.0, 0.0);
    for _ in 0..patients {
        let ph = Phenotype::of(&draw_phenotypes(&mut rng));
        let p = ph.p_mutant();
        sum_p += p;
        sum_bayes += p.max(1.0 - p);
        let blind: f64 = COUNT_WEIGHTS
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let z = phenotype_logit(
                    i + 1,
                    ph.mean_necrosis_fraction,
                    ph.mean_oedema_mm,
                    ph.mean_radius_mm,
                    ph.mean_heterogeneity,
                );
                w * p_mutant(z)
            })
            .sum();
        sum_blind += if blind > 0.5 { p } else { 1.0 - p };
    }
    let n = patients.max(1) as f64;
    FormulaCalibration {
        patients,
        prevalence: sum_p / n,
        bayes_accuracy: sum_bayes / n,
        count_blind_ceiling: sum_blind / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 50,000 draws: standard errors are about 0.002 (prevalence) and 0.001 (accuracies).
    #[test]
    fn recorded_figures_match_a_fresh_simulation() {
        let m = calibrate_formula(50_000, 7);
        eprintln!("{m:?}");
        let want = FORMULA_MEASURED;
        assert!((m.prevalence - want.prevalence).abs() < 0.01, "{m:?}");
        assert!(
            (m.bayes_accuracy - want.bayes_accuracy).abs() < 0.005,
            "{m:?}"
        );
        assert!(
            (m.count_blind_ceiling - want.count_blind_ceiling).abs() < 0.006,
            "{m:?}"
        );
        // The targets the formula was fitted to.
        assert!((0.52..=0.56).contains(&m.prevalence));
        assert!((0.86..=0.88).contains(&m.bayes_accuracy));
        assert!(m.count_blind_ceiling > 0.84);
    }
}
