//! What `mtsa evaluate` reports: the rows of its CSVs and the per-split summary of
//! `metrics.json`, shared by scoring, the report and the study.

use crate::mask_scores::DetectionSummary;
use crate::postprocess::Postprocess;
use crate::MeanCi;
use mtsa_data::Egfr;
use mtsa_metrics::{ClassificationReport, GridPoint};
use mtsa_model::Tasks;
use serde::Serialize;

/// One row of `slices.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct SliceRow {
    pub split: String,
    pub patient_id: String,
    pub slice_index: usize,
    pub gt_area_px: usize,
    pub pred_area_px: usize,
    /// Segmentation scores; empty for a classification-only system.
    pub dice: Option<f64>,
    pub hd95_mm: Option<f64>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    /// Empty for a segmentation-only system.
    pub p_mutant: Option<f64>,
}

/// One row of `patients.csv`: 3-D segmentation over the patient's evaluated slices and the
/// patient-level EGFR call.
#[derive(Debug, Clone, Serialize)]
pub struct PatientRow {
    pub split: String,
    pub patient_id: String,
    pub site: String,
    pub slices: usize,
    /// Segmentation scores; empty for a classification-only system.
    pub dice: Option<f64>,
    pub hd95_mm: Option<f64>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub gt_lesions: usize,
    pub detected_lesions: usize,
    pub false_positive_lesions: usize,
    pub egfr_label: Option<Egfr>,
    pub p_mutant: Option<f64>,
    pub egfr_call: Option<Egfr>,
    pub correct: Option<bool>,
    /// The generator's P(mutant), synthetic cohorts only.
    pub truth_p_mutant: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SplitReport {
    pub name: String,
    pub patients: usize,
    pub slices: usize,
    pub slice_dice: Option<MeanCi>,
    pub slice_hd95_mm: Option<MeanCi>,
    pub slice_precision: Option<MeanCi>,
    pub slice_recall: Option<MeanCi>,
    pub patient_dice: Option<MeanCi>,
    pub patient_hd95_mm: Option<MeanCi>,
    pub patient_precision: Option<MeanCi>,
    pub patient_recall: Option<MeanCi>,
    /// Detected / counted ground-truth lesions over the split (BraTS-METS matching).
    pub lesion_sensitivity: Option<f64>,
    pub false_positive_lesions_per_patient: Option<f64>,
    pub egfr: Option<ClassificationReport>,
    /// Expected accuracy of the Bayes-optimal classifier on these patients (synthetic only).
    pub bayes_accuracy: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvaluationReport {
    pub mtsa_version: String,
    pub run: String,
    pub data: String,
    pub data_hash: String,
    pub preset: String,
    /// The network (`mtsa-net` or a comparison system) and the tasks it has outputs for.
    pub model: mtsa_model::Architecture,
    pub tasks: Tasks,
    pub empty_policy: String,
    pub hd95: String,
    pub splits: Vec<SplitReport>,
    /// Whole-scan scores per split (empty when not asked for).
    pub whole_scan: Vec<WholeScanReport>,
}

pub const EMPTY_POLICY: &str = "both masks empty: Dice 1, HD95 0; exactly one empty: Dice 0, HD95 374 mm (BraTS-METS penalty); such cases are counted, never dropped";
pub const HD95_CONVENTION: &str = "larger of the two directed 95th percentiles of boundary distances, linear interpolation (MONAI), in mm";

/// One row of `wholescan_patients.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct WholeScanPatient {
    pub split: String,
    pub patient_id: String,
    pub site: String,
    pub dice: f64,
    pub hd95_mm: f64,
    pub gt_lesions: usize,
    pub detected_lesions: usize,
    pub false_positive_lesions: usize,
    /// BraTS-METS lesion-wise Dice (false lesions count as Dice 0).
    pub lesion_wise_dice: f64,
    pub gtv_ml: f64,
    pub predicted_ml: f64,
    pub egfr_label: Option<mtsa_data::Egfr>,
    pub p_mutant: Option<f64>,
    pub egfr_call: Option<mtsa_data::Egfr>,
    pub correct: Option<bool>,
    pub truth_p_mutant: Option<f64>,
    /// The network's slice vote, when the call above comes from the lesion phenotype (else
    /// the same as `p_mutant`).
    pub network_p_mutant: Option<f64>,
}

/// One row of `lesions.csv`: a true lesion (detected or not) or a predicted one (false or not).
#[derive(Debug, Clone, Serialize)]
pub struct LesionRow {
    pub split: String,
    pub patient_id: String,
    /// `truth` or `prediction`.
    pub kind: &'static str,
    pub id: usize,
    pub volume_mm3: f64,
    pub diameter_mm: f64,
    pub size_bin: &'static str,
    /// Truth: counted in the scores (above the BraTS-METS 2 mm³ floor).
    pub counted: bool,
    /// Truth: found; prediction: matches a true lesion.
    pub hit: bool,
    /// Truth: Dice against its matched components (0 when missed).
    pub dice: Option<f64>,
}

/// Whole-scan scores of one split, in `metrics.json`.
#[derive(Debug, Clone, Serialize)]
pub struct WholeScanReport {
    pub name: String,
    pub patients: usize,
    #[serde(serialize_with = "crate::postprocess::serialize_applied")]
    pub postprocess: Postprocess,
    /// Segmentation and detection; its fields sit at the record's top level.
    #[serde(flatten)]
    pub detection: DetectionSummary,
    pub egfr: Option<ClassificationReport>,
    /// Where `egfr` comes from: `lesion phenotype` (the run's [`Postprocess::egfr_phenotype`])
    /// or `network vote`.
    pub egfr_source: String,
    /// With the lesion phenotype: the network's slice vote on the same patients, beside it.
    pub network_egfr: Option<ClassificationReport>,
    pub bayes_accuracy: Option<f64>,
    /// Sensitivity against false lesions per patient: for a run with a lesion classifier over
    /// its cut (`threshold` is the cut) on each scan's own grid, else over the network's
    /// thresholds at the run's minimum lesion volume on the network's grid.
    pub froc: Vec<GridPoint>,
    /// With a lesion classifier: the cut this split's scans were kept at, which is the first
    /// classifier's, or the thick-slice one's where every scan's slices called for it
    /// ([`Postprocess::classifier_for`]); `None` where the split mixes both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classifier_cut: Option<f64>,
}
