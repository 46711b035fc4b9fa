//! What one finished run scored, read back from its evaluation folder (`metrics.json` and the
//! per-patient CSV that `mtsa evaluate` and `mtsa radiomics` write), so a resumed study sees
//! finished runs exactly as it would have seen them fresh.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::StudyError;

/// The columns of Tables 3-5 (AUC is ours; the paper reports no AUC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Mean per-slice Dice over the GTV slices (the paper's Dice).
    Dice,
    /// Mean per-slice HD95 in mm.
    Hd95,
    PixelPrecision,
    PixelRecall,
    /// Patient-level EGFR accuracy.
    Accuracy,
    Precision,
    Recall,
    F1,
    Auc,
}

impl Metric {
    pub const ALL: [Metric; 9] = [
        Metric::Dice,
        Metric::Hd95,
        Metric::PixelPrecision,
        Metric::PixelRecall,
        Metric::Accuracy,
        Metric::Precision,
        Metric::Recall,
        Metric::F1,
        Metric::Auc,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Metric::Dice => "dice",
            Metric::Hd95 => "hd95_mm",
            Metric::PixelPrecision => "pixel_precision",
            Metric::PixelRecall => "pixel_recall",
            Metric::Accuracy => "egfr_accuracy",
            Metric::Precision => "egfr_precision",
            Metric::Recall => "egfr_recall",
            Metric::F1 => "egfr_f1",
            Metric::Auc => "egfr_auc",
        }
    }

    pub fn header(self) -> &'static str {
        match self {
            Metric::Dice => "Dice",
            Metric::Hd95 => "HD95 (mm)",
            Metric::PixelPrecision => "Precision",
            Metric::PixelRecall => "Recall",
            Metric::Accuracy => "EGFR accuracy",
            Metric::Precision => "EGFR precision",
            Metric::Recall => "EGFR recall",
            Metric::F1 => "EGFR F1",
            Metric::Auc => "EGFR AUC",
        }
    }

    /// Digits the tables print.
    pub fn digits(self) -> usize {
        if self == Metric::Hd95 {
            2
        } else {
            3
        }
    }
}

/// One patient of one run, as its per-patient CSV has it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct PatientScore {
    pub split: String,
    pub patient_id: String,
    /// 3-D Dice over the patient's GTV slices; empty for a classifier.
    #[serde(default)]
    pub dice: Option<f64>,
    #[serde(default)]
    pub hd95_mm: Option<f64>,
    pub egfr_label: Option<mtsa_data::Egfr>,
    /// Patient-level P(mutant); empty for a segmentation-only system.
    pub p_mutant: Option<f64>,
}

impl PatientScore {
    pub fn is_mutant(&self) -> Option<bool> {
        self.egfr_label.map(mtsa_data::Egfr::is_mutant)
    }
}

/// One split of one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SplitResult {
    /// The metrics the run has (a single-task system has half of them).
    pub metrics: BTreeMap<Metric, f64>,
    pub patients: Vec<PatientScore>,
}

/// Every split of one run.
pub type RunResult = BTreeMap<String, SplitResult>;

#[derive(Deserialize)]
struct MetricsFile {
    splits: Vec<SplitFile>,
}

#[derive(Deserialize)]
struct Mean {
    mean: f64,
}

#[derive(Deserialize)]
struct Value {
    value: Option<f64>,
}

#[derive(Deserialize)]
struct Egfr {
    accuracy: Value,
    precision: Value,
    recall: Value,
    f1: Option<f64>,
    auc: Option<f64>,
}

#[derive(Deserialize)]
struct SplitFile {
    name: String,
    slice_dice: Option<Mean>,
    slice_hd95_mm: Option<Mean>,
    slice_precision: Option<Mean>,
    slice_recall: Option<Mean>,
    egfr: Option<Egfr>,
}

/// Reads `dir/metrics.json` and the per-patient CSV `dir/patients_file`.
pub fn read_run(dir: &Path, patients_file: &str) -> Result<RunResult, StudyError> {
    let path = dir.join("metrics.json");
    let bytes = std::fs::read(&path).map_err(|e| StudyError::file(&path, e))?;
    let file: MetricsFile =
        serde_json::from_slice(&bytes).map_err(|e| StudyError::file(&path, e))?;
    let mut run = RunResult::new();
    for s in file.splits {
        let mut metrics = BTreeMap::new();
        let mut put = |m: Metric, v: Option<f64>| {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                metrics.insert(m, v);
            }
        };
        put(Metric::Dice, s.slice_dice.map(|m| m.mean));
        put(Metric::Hd95, s.slice_hd95_mm.map(|m| m.mean));
        put(Metric::PixelPrecision, s.slice_precision.map(|m| m.mean));
        put(Metric::PixelRecall, s.slice_recall.map(|m| m.mean));
        if let Some(e) = s.egfr {
            put(Metric::Accuracy, e.accuracy.value);
            put(Metric::Precision, e.precision.value);
            put(Metric::Recall, e.recall.value);
            put(Metric::F1, e.f1);
            put(Metric::Auc, e.auc);
        }
        run.insert(
            s.name,
            SplitResult {
                metrics,
                patients: Vec::new(),
            },
        );
    }
    let path = dir.join(patients_file);
    let mut reader = csv::Reader::from_path(&path).map_err(|e| StudyError::file(&path, e))?;
    for row in reader.deserialize::<PatientScore>() {
        let row = row.map_err(|e| StudyError::file(&path, e))?;
        if let Some(split) = run.get_mut(&row.split) {
            split.patients.push(row);
        }
    }
    Ok(run)
}
