//! Training of MTSA-Net on a prepared dataset (spec §4): Adam, per-epoch validation, early
//! stopping on the validation loss, best weights kept, and checkpoints complete enough that a
//! killed run resumes to the same weights it would have reached uninterrupted (on CPU).

mod adam;
mod augment;
mod batches;
mod config;
mod error;
mod infer;
mod patient_call;
mod run_files;
mod state;
mod trainer;

pub use batches::{SplitTensors, NO_LABEL};
pub use config::{AugmentConfig, Selection, TrainConfig};
pub use error::TrainError;
pub use infer::{load_trained, predict_slices, LoadOptions, SlicePredictions, TrainedModel};
pub use patient_call::{patient_egfr_call, slices_by_patient, voting_slices, PatientCall};
pub use run_files::{
    RunPaths, BEST_WEIGHTS, CHECKPOINT, CONFIG_FILE, METRICS_CSV, PREPROCESS_FILE,
};
pub use trainer::{train, use_channels_last, EpochRecord, TrainOptions, TrainSummary};
