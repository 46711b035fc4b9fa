//! Running a trained MTSA-Net: a run folder's files, loading its best weights into one network
//! prepared for inference, slice predictions and the paper's patient-level EGFR call. Training
//! writes runs through this crate's names and evaluation reads them, so neither stage depends on
//! the other.

mod error;
mod loader;
mod patient_call;
mod run_files;
mod split_tensors;

pub use error::InferError;
pub use loader::{load_trained, predict_slices, LoadOptions, SlicePredictions, TrainedModel};
pub use patient_call::{patient_egfr_call, slices_by_patient, voting_slices, PatientCall};
pub use run_files::{
    EpochRecord, RunPaths, BEST_WEIGHTS, CHECKPOINT, CONFIG_FILE, METRICS_CSV, POSTPROCESS_FILE,
    PREPROCESS_FILE,
};
pub use split_tensors::{SplitTensors, NO_LABEL};
