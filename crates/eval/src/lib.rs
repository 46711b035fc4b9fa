//! From a trained run to answers: `evaluate` scores a prepared split exactly as the paper does
//! (spec §5-§6) and writes the report; `predict` runs a new patient's whole volume and writes a
//! GTV mask in the input's own geometry plus the EGFR call with its evidence.

mod error;
mod evaluate;
mod overlay;
mod plots;
mod predict;
mod report;
mod stats;
mod truth;

pub use error::EvalError;
pub use evaluate::{
    evaluate, score_predictions, EvaluateOptions, EvaluationReport, PatientRow, SliceRow,
    SplitReport, SplitScores,
};
pub use overlay::{render_overlay, Outline};
pub use predict::{predict, PredictOptions, PredictionSummary};
pub use stats::MeanCi;
