//! The files of a run folder, named once.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The training configuration (TOML), written when the run starts.
pub const CONFIG_FILE: &str = "config.toml";
/// Last completed epoch: weights, optimiser moments, history; what `--resume` reads.
pub const CHECKPOINT: &str = "checkpoint.safetensors";
/// Best-validation weights with the model config in the metadata; what evaluate/predict read.
pub const BEST_WEIGHTS: &str = "best.safetensors";
pub const METRICS_CSV: &str = "metrics.csv";
/// The dataset's preprocessing, so `predict` prepares a new patient exactly as training data.
pub const PREPROCESS_FILE: &str = "preprocess.json";
/// Whole-scan post-processing chosen on the validation patients (threshold, minimum lesion
/// volume, flip TTA); without it `predict` applies the paper's plain 0.5 threshold.
pub const POSTPROCESS_FILE: &str = "postprocess.json";

#[derive(Debug, Clone)]
pub struct RunPaths {
    pub dir: PathBuf,
}

impl RunPaths {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }
    pub fn config(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }
    pub fn checkpoint(&self) -> PathBuf {
        self.dir.join(CHECKPOINT)
    }
    pub fn best(&self) -> PathBuf {
        self.dir.join(BEST_WEIGHTS)
    }
    pub fn metrics(&self) -> PathBuf {
        self.dir.join(METRICS_CSV)
    }
    pub fn preprocess(&self) -> PathBuf {
        self.dir.join(PREPROCESS_FILE)
    }
    pub fn postprocess(&self) -> PathBuf {
        self.dir.join(POSTPROCESS_FILE)
    }
}

/// One row of `metrics.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_gtv: f64,
    pub train_egfr: f64,
    /// What early stopping watches: the unweighted sum of the trained tasks' losses [ours], since
    /// the learned uncertainty weights would otherwise move the target as they change.
    pub val_loss: f64,
    pub val_gtv: f64,
    pub val_egfr: f64,
    pub weight_gtv: f64,
    pub weight_egfr: f64,
    pub val_dice: f64,
    /// Patient-level accuracy with the paper's top-half rule; empty without EGFR labels.
    pub val_egfr_acc: Option<f64>,
    pub seconds: f64,
}
