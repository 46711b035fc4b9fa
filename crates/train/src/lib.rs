//! Training of MTSA-Net on a prepared dataset (spec §4): Adam, per-epoch validation, early
//! stopping on the validation loss, best weights kept, and checkpoints complete enough that a
//! killed run resumes to the same weights it would have reached uninterrupted (on CPU).

mod adam;
mod augment;
mod config;
mod epoch_plan;
mod epoch_slices;
mod error;
mod lesion_draw;
mod state;
mod trainer;
mod validate;

pub use adam::Adam;
pub use config::{AugmentConfig, LrSchedule, Selection, TrainConfig};
pub use error::TrainError;
// The run files, loading and the patient call live in mtsa-infer (evaluation needs them without
// the trainer); re-exported so training code and its callers keep one import path.
pub use epoch_plan::{minutes, Deadline};
pub use mtsa_infer::{
    load_trained, patient_egfr_call, predict_slices, slices_by_patient, voting_slices, EpochRecord,
    InferError, LoadOptions, PatientCall, RunPaths, SlicePredictions, SplitTensors, TrainedModel,
    BEST_WEIGHTS, CHECKPOINT, CONFIG_FILE, METRICS_CSV, NO_LABEL, PREPROCESS_FILE,
};
pub use state::{read_state, TrainState};
pub use trainer::{train, TrainOptions, TrainSummary};
