//! The radiomics system of Table 3 (ref. 14, Wang et al.) on a prepared dataset: PyRadiomics-
//! compatible features of every patient's GTV on the whole scan (read back from the cohort,
//! hash-checked, as whole-scan evaluation reads it), a LASSO-logistic model fitted on the
//! training patients, and the same patient-level EGFR metrics every other system reports.
//!
//! One row per patient: the ROI is the patient's whole GTV mask (all lesions together), since
//! the EGFR call is per patient. A GTV too small for texture features (empty, one voxel, or
//! flat in two of three axes, which PyRadiomics refuses too) gives no feature row; such a
//! patient, when evaluated, gets the training prevalence as P(mutant), so every system is
//! scored on the same patients.
//!
//! A dataset without EGFR labels (a segmentation cohort) gets the features alone, as a
//! PyRadiomics extraction would: `features.csv` and `metrics.json`, no model.

use crate::files::{write_csv, write_json};
use crate::scoring::egfr_report;
use crate::truth::{bayes_accuracy, read_truth};
use crate::EvalError;
use mtsa_data::Egfr;
use mtsa_data::{read_info, read_patient, DatasetInfo, PatientInfo};
use mtsa_metrics::ClassificationReport;
use mtsa_radiomics::model::{CvConfig, RadiomicsModel};
use mtsa_radiomics::{extract, Features, RadiomicsError, Settings};
use serde::Serialize;
use std::path::{Path, PathBuf};

pub struct RadiomicsOptions {
    pub data: PathBuf,
    pub out: PathBuf,
    pub settings: Settings,
    pub cv: CvConfig,
    /// Seed of the patient bootstrap of the metrics' intervals.
    pub seed: u64,
    pub progress: Option<Box<dyn Fn(usize, usize)>>,
}

/// One row of `predictions.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct RadiomicsPrediction {
    pub patient_id: String,
    pub split: String,
    pub site: String,
    pub egfr_label: Option<Egfr>,
    pub p_mutant: f64,
    pub egfr_call: Egfr,
    pub correct: Option<bool>,
    /// False when the GTV was too small for features and the prevalence stood in.
    pub has_features: bool,
}

/// One split's EGFR metrics, in `metrics.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RadiomicsSplit {
    pub name: String,
    pub patients: usize,
    pub egfr: Option<ClassificationReport>,
    pub bayes_accuracy: Option<f64>,
}

/// `metrics.json`: what was computed, the fitted model and its scores.
#[derive(Debug, Clone, Serialize)]
pub struct RadiomicsReport {
    pub system: &'static str,
    pub features: usize,
    pub settings: String,
    pub cv: CvConfig,
    /// Patients of the extraction with a feature row.
    pub patients: usize,
    pub training_patients: usize,
    /// LASSO's kept features with their logistic coefficients (on standardised values).
    pub selected: Vec<(String, f64)>,
    /// The LASSO penalty and intercept; `None` for a dataset without EGFR labels (features only).
    pub lambda: Option<f64>,
    pub intercept: Option<f64>,
    pub splits: Vec<RadiomicsSplit>,
    /// Patients whose GTV was too small for features, with the reason.
    pub skipped: Vec<(String, String)>,
}

struct PatientFeatures<'a> {
    patient: &'a PatientInfo,
    features: Features,
}

/// Features of every patient, the model fitted on `train`, scores of every other split; writes
/// `features.csv`, `predictions.csv`, `model.json` and `metrics.json` into `opts.out` whole.
/// Without EGFR labels in the dataset: `features.csv` and `metrics.json` only.
pub fn radiomics(opts: &RadiomicsOptions) -> Result<RadiomicsReport, EvalError> {
    // Bad settings are refused before minutes of extraction, not at the first patient or the fit.
    opts.settings
        .validate()
        .map_err(|e| EvalError::Usage(e.to_string()))?;
    opts.cv
        .validate()
        .map_err(|e| EvalError::Usage(e.to_string()))?;
    let info = read_info(&opts.data)?;
    let progress = |i, n| {
        if let Some(p) = &opts.progress {
            p(i, n)
        }
    };
    let mut rows = Vec::with_capacity(info.patients.len());
    let mut skipped = Vec::new();
    progress(0, info.patients.len());
    for (i, p) in info.patients.iter().enumerate() {
        match patient_features(&info, p, &opts.settings)? {
            Ok(features) => rows.push(PatientFeatures {
                patient: p,
                features,
            }),
            Err(reason) => skipped.push((p.id.clone(), reason)),
        }
        progress(i + 1, info.patients.len());
    }
    let names: Vec<String> = rows
        .first()
        .map(|r| r.features.names().map(str::to_owned).collect())
        .unwrap_or_default();
    let matrix = |sel: &dyn Fn(&PatientInfo) -> bool| -> Vec<(&PatientFeatures, Vec<f64>)> {
        rows.iter()
            .filter(|r| sel(r.patient))
            .map(|r| (r, r.features.0.iter().map(|(_, v)| *v).collect()))
            .collect()
    };
    let report = |training_patients, model: Option<&RadiomicsModel>, splits| RadiomicsReport {
        system: "Radiomics (LASSO-logistic, ref. 14)",
        features: names.len(),
        settings: format!("{:?}", opts.settings),
        cv: opts.cv.clone(),
        patients: rows.len(),
        training_patients,
        selected: model.map_or_else(Vec::new, |m| {
            m.selected
                .iter()
                .zip(&m.coefficients)
                .map(|(&j, &c)| (names[j].clone(), c))
                .collect()
        }),
        lambda: model.map(|m| m.lambda),
        intercept: model.map(|m| m.intercept),
        splits,
        skipped: skipped.clone(),
    };
    if !info.has_egfr {
        let report = report(0, None, Vec::new());
        write_outputs(opts, &names, &rows, None, &report)?;
        return Ok(report);
    }
    let train: Vec<_> = matrix(&|p| p.split == "train" && p.egfr.is_some());
    let x: Vec<Vec<f64>> = train.iter().map(|(_, v)| v.clone()).collect();
    let y: Vec<bool> = train
        .iter()
        .map(|(r, _)| r.patient.egfr == Some(1))
        .collect();
    let model = RadiomicsModel::fit(&x, &y, &opts.cv).map_err(|e| {
        EvalError::Usage(format!(
            "{}: cannot fit the radiomics model on {} training patients: {e}",
            opts.data.display(),
            x.len()
        ))
    })?;

    let prevalence = y.iter().filter(|m| **m).count() as f64 / y.len().max(1) as f64;
    let truth = read_truth(&opts.data);
    let mut predictions = Vec::new();
    let mut splits = Vec::new();
    for name in info.splits.iter().filter(|s| *s != "train") {
        let part = matrix(&|p| &p.split == name);
        let p_mutant =
            model.predict_proba(&part.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>());
        let called = part
            .iter()
            .zip(&p_mutant)
            .map(|((r, _), &p)| (r.patient, p, true));
        let stand_in = info
            .patients
            .iter()
            .filter(|p| &p.split == name && skipped.iter().any(|(id, _)| *id == p.id))
            .map(|p| (p, prevalence, false));
        let rows: Vec<RadiomicsPrediction> = called
            .chain(stand_in)
            .map(|(patient, p, has_features)| {
                let label = patient.egfr.map(Egfr::from_class);
                let call = Egfr::call(p);
                RadiomicsPrediction {
                    patient_id: patient.id.clone(),
                    split: name.clone(),
                    site: patient.site.clone(),
                    correct: label.as_ref().map(|l| *l == call),
                    egfr_label: label,
                    p_mutant: p,
                    egfr_call: call,
                    has_features,
                }
            })
            .collect();
        let egfr = egfr_report(
            rows.iter().map(|r| (r.egfr_label, Some(r.p_mutant))),
            opts.seed,
        )?;
        let bayes = truth.as_ref().and_then(|t| {
            bayes_accuracy(rows.iter().filter_map(|r| t.get(&r.patient_id).copied()))
        });
        splits.push(RadiomicsSplit {
            name: name.clone(),
            patients: rows.len(),
            egfr,
            bayes_accuracy: bayes,
        });
        predictions.extend(rows);
    }
    let report = report(x.len(), Some(&model), splits);
    write_outputs(opts, &names, &rows, Some((&model, &predictions)), &report)?;
    Ok(report)
}

/// The features of one patient's whole GTV, or why its GTV is too small to have them.
fn patient_features(
    info: &DatasetInfo,
    p: &PatientInfo,
    settings: &Settings,
) -> Result<Result<Features, String>, EvalError> {
    let (image, gt) = read_patient(info, &p.id)?;
    let mask = gt.map(|&v| u16::from(v != 0));
    match extract(&image, &mask, settings) {
        Ok(f) => Ok(Ok(f)),
        Err(
            e @ (RadiomicsError::EmptyMask { .. }
            | RadiomicsError::SingleVoxel { .. }
            | RadiomicsError::TooFewDimensions { .. }),
        ) => Ok(Err(e.to_string())),
        Err(e) => Err(EvalError::file(
            Path::new(&info.cohort).join(&p.source.image),
            format!("radiomics of patient {}: {e}", p.id),
        )),
    }
}

fn write_outputs(
    opts: &RadiomicsOptions,
    names: &[String],
    rows: &[PatientFeatures],
    fitted: Option<(&RadiomicsModel, &[RadiomicsPrediction])>,
    report: &RadiomicsReport,
) -> Result<(), EvalError> {
    let dir = mtsa_io::AtomicDir::output(&opts.out, "radiomics", true)?;
    let out = dir.path();
    let path = out.join("features.csv");
    let mut w = csv::Writer::from_path(&path).map_err(|e| EvalError::file(&path, e))?;
    let head = ["patient_id", "split", "site", "egfr"].map(String::from);
    w.write_record(head.iter().chain(names))
        .map_err(|e| EvalError::file(&path, e))?;
    for r in rows {
        let p = r.patient;
        let fixed = [
            p.id.clone(),
            p.split.clone(),
            p.site.clone(),
            p.egfr
                .map_or(String::new(), |c| Egfr::from_class(c).to_string()),
        ];
        let values = r.features.0.iter().map(|(_, v)| format!("{v:e}"));
        w.write_record(fixed.into_iter().chain(values))
            .map_err(|e| EvalError::file(&path, e))?;
    }
    w.flush().map_err(|e| EvalError::file(&path, e))?;
    if let Some((model, predictions)) = fitted {
        write_csv(&out.join("predictions.csv"), predictions.iter())?;
        write_json(&out.join("model.json"), model)?;
    }
    write_json(&out.join("metrics.json"), report)?;
    dir.commit()?;
    Ok(())
}
