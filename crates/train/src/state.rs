//! The per-epoch checkpoint: every variable (weights, BatchNorm statistics, loss weights), the
//! Adam moments, and the run's bookkeeping in the safetensors metadata. Saved atomically, so a
//! run killed at any moment resumes from its last complete epoch.

use crate::adam::Adam;
use crate::{EpochRecord, TrainConfig, TrainError};
use mtsa_model::{
    read_metadata, read_tensors, write_tensors, Layout, Metadata, NamedTensors, CONFIG_KEY,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tch::nn::VarStore;

const STATE_KEY: &str = "mtsa_train_state";

/// Bookkeeping that, with the tensors, fully determines how training continues.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed (1-based count).
    pub epochs_done: usize,
    /// Best value of the selection criterion so far.
    pub best_criterion: f64,
    pub best_epoch: usize,
    pub history: Vec<EpochRecord>,
    pub config: TrainConfig,
    /// Hash of the prepared dataset: resuming on other data is refused.
    pub data_hash: String,
    /// The memory layout the run trains in, chosen when it started and kept on resume, so a
    /// resumed run sums in the same order as an uninterrupted one. Checkpoints from before the
    /// choice trained NHWC.
    #[serde(default = "nhwc")]
    pub layout: Layout,
}

fn nhwc() -> Layout {
    Layout::Nhwc
}

/// A checkpoint read and checked, not yet restored into a net: its bookkeeping says how to
/// build the net (the layout) before [`Checkpoint::restore`] fills it.
pub struct Checkpoint {
    path: PathBuf,
    tensors: NamedTensors,
    adam_step: i64,
    pub state: TrainState,
}

pub fn save(path: &Path, vs: &VarStore, adam: &Adam, state: &TrainState) -> Result<(), TrainError> {
    let mut tensors: Vec<(String, tch::Tensor)> = vs.variables().into_iter().collect();
    tensors.extend(adam.state());
    let mut meta = HashMap::new();
    meta.insert(STATE_KEY.to_string(), json(state)?);
    meta.insert(CONFIG_KEY.to_string(), json(&state.config.model)?);
    meta.insert("adam_step".to_string(), adam.step.to_string());
    Ok(write_tensors(path, &tensors, meta)?)
}

/// Reads the checkpoint at `path` and its bookkeeping.
pub fn read(path: &Path) -> Result<Checkpoint, TrainError> {
    let (tensors, meta) = read_tensors(path)?;
    let state = state_of(&meta, path)?;
    let adam_step: i64 = meta
        .get("adam_step")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(Checkpoint {
        path: path.to_path_buf(),
        tensors,
        adam_step,
        state,
    })
}

/// The bookkeeping of the checkpoint at `path` alone, from its header (no tensor is loaded):
/// what `mtsa info --run` reports.
pub fn read_state(path: &Path) -> Result<TrainState, TrainError> {
    state_of(&read_metadata(path)?, path)
}

/// The bookkeeping in a checkpoint's metadata.
fn state_of(meta: &Metadata, path: &Path) -> Result<TrainState, TrainError> {
    meta.get(STATE_KEY)
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| TrainError::file(path, "not a training checkpoint (no training state)"))
}

impl Checkpoint {
    /// Copies the checkpoint's tensors into `vs` (keeping each variable's layout) and `adam`,
    /// returning its bookkeeping.
    pub fn restore(mut self, vs: &mut VarStore, adam: &mut Adam) -> Result<TrainState, TrainError> {
        let path = self.path.as_path();
        tch::no_grad(|| -> Result<(), TrainError> {
            for (name, mut var) in vs.variables() {
                let src = self
                    .tensors
                    .remove(&name)
                    .ok_or_else(|| TrainError::file(path, format!("tensor {name} missing")))?;
                if src.size() != var.size() {
                    return Err(TrainError::file(
                        path,
                        format!("tensor {name} has the wrong shape"),
                    ));
                }
                var.copy_(&src);
            }
            Ok(())
        })?;
        adam.load_state(self.adam_step, |k| self.tensors.remove(k))
            .map_err(|e| TrainError::file(path, e))?;
        Ok(self.state)
    }
}

fn json<T: Serialize>(v: &T) -> Result<String, TrainError> {
    serde_json::to_string(v).map_err(|e| TrainError::Config(e.to_string()))
}
