//! From a trained run to answers: `evaluate` scores a prepared split exactly as the paper does
//! (spec §5-§6) and writes the report; `predict` runs a new patient's whole volume and writes a
//! GTV mask in the input's own geometry plus the EGFR call with its evidence; `radiomics` fits
//! and scores Table 3's radiomics EGFR system on the same patients.

mod batch;
mod calibrate;
mod closing;
mod contrast;
mod error;
mod evaluate;
mod export;
mod figures;
mod files;
mod folder_metrics;
mod html;
mod lesion_filter;
mod lesion_list;
mod look;
mod mask_scores;
mod named_logistic;
mod neighbourhood;
mod overlay;
mod phenotype;
mod plots;
mod postprocess;
mod predict;
mod radiomics;
mod report;
mod report_types;
mod report_wholescan;
mod scan_workers;
mod scoring;
mod segment;
mod stats;
mod thick_view;
mod truth;
mod wholescan;

pub use batch::{
    batch_studies, predict_batch, shard, summary_name, with_brain_masks, BatchOptions, BatchRow,
    Study,
};
pub use calibrate::{calibrate, CalibrationFits};
pub use error::EvalError;
pub use evaluate::{evaluate, EvaluateOptions};
pub use export::{export, ExportInfo, ExportOptions};
pub use figures::{Overlay, SliceFigure};
pub use folder_metrics::{read_mask_pair, score_folders, FolderOptions, FolderReport, MaskPair};
/// HTML-escapes text, as every report of mtsa writes it.
pub use html::esc as escape_html;
/// Numbers as the report and the terminal tables print them (`-` when there is none).
pub use html::{fixed, mean_ci};
pub use lesion_filter::{LesionClassifier, FEATURE_NAMES as LESION_FEATURES, LOOK_FEATURE};
pub use lesion_list::LesionSummary;
pub use look::{LookModel, LOOK_SIZE};
pub use mask_scores::{score_case, BinDetection, CaseScores, DetectionSummary};
pub use named_logistic::NamedLogistic;
pub use overlay::{render_overlay, Outline};
pub use phenotype::{PhenotypeCall, PhenotypeModel, FEATURE_NAMES as PHENOTYPE_FEATURES};
pub use postprocess::{Postprocess, EGFR_FROM_PHENOTYPE, EGFR_FROM_VOTE};
pub use predict::{
    predict, read_preprocess, Outputs, PredictOptions, PredictionSummary, Predictor, SeriesPick,
};
pub use radiomics::{
    radiomics, RadiomicsOptions, RadiomicsPrediction, RadiomicsReport, RadiomicsSplit,
};
pub use report_types::{
    EvaluationReport, LesionRow, PatientRow, SliceRow, SplitReport, WholeScanPatient,
    WholeScanReport,
};
pub use scoring::{score_predictions, SplitScores};
pub use segment::{segment_scan, ScanPrediction, ScoredCandidates};
pub use stats::MeanCi;
pub use wholescan::{
    score_whole_scans, WholeScanContext, WholeScanSplit, MIN_VOLUMES_MM3, THRESHOLDS,
};
