//! A synthetic brain-metastasis cohort whose EGFR truth is known.
//!
//! No public data set pairs brain MRI with EGFR status, so the project's demo, tests and EGFR
//! figures run on patients made here: real MNI152 anatomy (shipped in `assets/`, embedded in the
//! binary), one to four simulated metastases per patient, a per-site acquisition (gamma, bias
//! field, Rician noise, spacing), and an EGFR label drawn from the lesions' phenotype through a
//! known formula, so the best achievable accuracy (the Bayes accuracy) is known too.
//! See `docs/synthetic-cohort.md`.
//!
//! Every random choice comes from a ChaCha8 stream keyed by (seed, site, patient index, purpose),
//! so a patient does not depend on the cohort size, the worker count or the order of work, and
//! the same seed writes byte-identical files.

mod calibration;
mod clinical;
mod cohort;
mod egfr;
mod error;
mod field;
mod grid;
mod lesion;
mod patient;
mod render;
mod rng;
mod site;
mod size;
mod template;
mod transform;
mod truth;

pub use calibration::{calibrate_formula, FormulaCalibration, FORMULA_MEASURED};
pub use clinical::{ClinicalRow, Sex};
pub use cohort::{generate_cohort, truth_only, SynthConfig, SynthFormat, GTV_ROI_NAME};
pub use egfr::{
    p_mutant, phenotype_logit, Egfr, FormulaCoefficients, LesionPhenotype, Phenotype, COEFFICIENTS,
    FORMULA,
};
pub use error::SynthError;
pub use lesion::LesionTruth;
pub use patient::{generate_patient, plan_patient, PatientPlan, SyntheticPatient};
pub use site::{standard_sites, SiteProfile};
pub use size::{SizeDistribution, SIZE_DISTRIBUTION};
pub use template::{AnatomySample, Template, MNI_LICENCE};
pub use transform::Similarity;
pub use truth::{summarize, CohortSummary, PatientTruth, SiteSummary};

/// Written into `truth.json` so a cohort can be traced to the code that made it. The cohort
/// model number after the slash changes whenever the same seed starts giving different patients
/// (2: clinical lesion-size mix, re-fitted EGFR formula, centre voxel always GTV).
pub const GENERATOR: &str = concat!("mtsa-synth ", env!("CARGO_PKG_VERSION"), "/cohort-2");
