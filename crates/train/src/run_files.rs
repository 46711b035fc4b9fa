//! The files of a run folder, named once.

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
