//! What is known about the cohort: per patient P(mutant), phenotype and lesions; per site and
//! overall the prevalence and the Bayes accuracy, the ceiling any EGFR classifier is judged
//! against.

use crate::calibration::{FormulaCalibration, FORMULA_MEASURED};
use crate::egfr::{Egfr, FormulaCoefficients, Phenotype, COEFFICIENTS, FORMULA};
use crate::lesion::LesionTruth;
use crate::site::SiteProfile;
use crate::size::{SizeDistribution, SIZE_DISTRIBUTION};
use crate::transform::Similarity;
use crate::SynthError;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatientTruth {
    pub id: String,
    pub site: String,
    pub external: bool,
    pub egfr: Egfr,
    /// sigmoid(3 z) of the phenotype: the label was drawn from Bernoulli(p_mutant).
    pub p_mutant: f64,
    pub phenotype: Phenotype,
    pub lesions: Vec<LesionTruth>,
    /// Template-to-patient pose and size.
    pub transform: Similarity,
}

/// Prevalence and Bayes accuracy of a set of patients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteSummary {
    pub site: String,
    pub external: bool,
    pub patients: usize,
    pub mutant: usize,
    /// Fraction labelled mutant.
    pub prevalence: f64,
    /// Expected prevalence, mean P(mutant).
    pub mean_p_mutant: f64,
    /// mean(max(P, 1 - P)): the expected accuracy of the best possible classifier.
    pub bayes_accuracy: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortSummary {
    pub generator: String,
    pub seed: u64,
    pub patients: usize,
    pub mutant: usize,
    pub prevalence: f64,
    pub mean_p_mutant: f64,
    pub bayes_accuracy: f64,
    /// Sites in cohort order (internal first), only those with patients.
    pub sites: Vec<SiteSummary>,
    /// Wall time of the generation (0 for summaries of truth alone).
    pub seconds: f64,
}

fn stats(site: &str, external: bool, truths: &[&PatientTruth]) -> SiteSummary {
    let n = truths.len();
    let mutant = truths.iter().filter(|t| t.egfr == Egfr::Mutant).count();
    let mean = |f: &dyn Fn(&PatientTruth) -> f64| {
        if n == 0 {
            0.0
        } else {
            truths.iter().map(|t| f(t)).sum::<f64>() / n as f64
        }
    };
    SiteSummary {
        site: site.to_string(),
        external,
        patients: n,
        mutant,
        prevalence: if n == 0 {
            0.0
        } else {
            mutant as f64 / n as f64
        },
        mean_p_mutant: mean(&|t| t.p_mutant),
        bayes_accuracy: mean(&|t| t.p_mutant.max(1.0 - t.p_mutant)),
    }
}

/// Overall and per-site figures; sites appear in order of first appearance.
pub fn summarize(truths: &[PatientTruth], seed: u64) -> CohortSummary {
    let all: Vec<&PatientTruth> = truths.iter().collect();
    let overall = stats("all", false, &all);
    let mut names: Vec<(&str, bool)> = Vec::new();
    for t in truths {
        if !names.iter().any(|(n, _)| *n == t.site) {
            names.push((&t.site, t.external));
        }
    }
    let sites = names
        .into_iter()
        .map(|(name, external)| {
            let members: Vec<&PatientTruth> = truths.iter().filter(|t| t.site == name).collect();
            stats(name, external, &members)
        })
        .collect();
    CohortSummary {
        generator: crate::GENERATOR.to_string(),
        seed,
        patients: overall.patients,
        mutant: overall.mutant,
        prevalence: overall.prevalence,
        mean_p_mutant: overall.mean_p_mutant,
        bayes_accuracy: overall.bayes_accuracy,
        sites,
        seconds: 0.0,
    }
}

/// How the cohort was made: the code's version, the EGFR formula with its coefficients and the
/// figures a simulation of it gives, and the lesion-size distribution with its clinical source.
#[derive(Serialize)]
struct GeneratorInfo<'a> {
    version: &'a str,
    egfr_formula: &'static str,
    egfr_coefficients: FormulaCoefficients,
    /// Prevalence, Bayes accuracy and count-blind ceiling of the formula over a large simulated
    /// cohort (this cohort's own figures are the top-level ones).
    egfr_simulated: FormulaCalibration,
    lesion_size: SizeDistribution,
}

/// `truth.json`. Holds nothing that varies between runs of the same seed (no time, no host).
#[derive(Serialize)]
struct TruthFile<'a> {
    generator: GeneratorInfo<'a>,
    seed: u64,
    patients_total: usize,
    mutant: usize,
    prevalence: f64,
    mean_p_mutant: f64,
    bayes_accuracy: f64,
    sites: &'a [SiteSummary],
    acquisition: &'a [SiteProfile],
    patients: &'a [PatientTruth],
}

pub(crate) fn write_truth(
    path: &Path,
    summary: &CohortSummary,
    sites: &[SiteProfile],
    truths: &[PatientTruth],
) -> Result<(), SynthError> {
    let file = TruthFile {
        generator: GeneratorInfo {
            version: &summary.generator,
            egfr_formula: FORMULA,
            egfr_coefficients: COEFFICIENTS,
            egfr_simulated: FORMULA_MEASURED,
            lesion_size: SIZE_DISTRIBUTION,
        },
        seed: summary.seed,
        patients_total: summary.patients,
        mutant: summary.mutant,
        prevalence: summary.prevalence,
        mean_p_mutant: summary.mean_p_mutant,
        bayes_accuracy: summary.bayes_accuracy,
        sites: &summary.sites,
        acquisition: sites,
        patients: truths,
    };
    let mut text = serde_json::to_vec_pretty(&file).map_err(|e| SynthError::write(path, e))?;
    text.push(b'\n');
    std::fs::write(path, text).map_err(|e| SynthError::file(path, e))
}
