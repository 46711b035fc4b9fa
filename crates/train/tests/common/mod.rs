//! Shared fixtures for the train, eval and cli integration tests: a tiny hand-written cohort
//! (NIfTI volumes + clinical.csv), its prepared dataset, and a micro model that trains an epoch
//! in about a second on one CPU core. This file is the only copy: the eval and cli tests include
//! it with `#[path = "../../train/tests/common/mod.rs"] mod common;` (the eval tests include
//! only its data half, `cohort.rs`).
#![allow(dead_code)]

mod cohort;
pub use cohort::*;

use mtsa_train::{AugmentConfig, TrainConfig, TrainError, TrainOptions, TrainSummary};
use std::sync::Mutex;

/// A full training config for the micro model, augmentation on (so its random stream is part
/// of what a resume must reproduce).
pub fn train_config(epochs: usize) -> TrainConfig {
    let mut cfg = TrainConfig::for_preset("tiny").unwrap();
    cfg.model = micro_model();
    cfg.epochs = epochs;
    cfg.batch = 8;
    cfg.lr = 1e-3;
    cfg.seed = 7;
    cfg.augment = AugmentConfig::default();
    cfg
}

/// The micro config as the partial TOML `mtsa train --config` takes.
pub fn micro_config_toml() -> String {
    let m = micro_model();
    format!(
        "batch = 8\nlr = 0.001\nseed = 7\n\n[model]\nsize = {}\nbase_channels = {}\nmlp_hidden = {}\npreset = \"{}\"\n",
        m.size, m.base_channels, m.mlp_hidden, m.preset
    )
}

/// `mtsa_train::train`, one at a time per process. libtorch's random generator (weight init,
/// dropout) is process-global and `train` reseeds it every epoch, so two runs training at once
/// in one test binary would draw from each other's stream and lose their determinism.
pub fn train_serial(opts: &TrainOptions) -> Result<TrainSummary, TrainError> {
    static TORCH_RNG: Mutex<()> = Mutex::new(());
    let _guard = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    mtsa_train::train(opts)
}
