//! `mtsa info --run`: what a trained run is, for whoever receives one (a planning team, a
//! reviewer), as a MONAI bundle's metadata or a model card says it: the network and its input,
//! how and on which prepared data it was trained, the epoch it keeps and how that epoch did on
//! the validation patients, how it post-processes whole scans, and its weights' checksum.

use anyhow::{Context, Result};
use mtsa_model::{read_metadata, MtsaConfig, CHECKSUM_KEY};
use mtsa_train::{read_state, EpochRecord, RunPaths};
use serde::Serialize;
use std::path::Path;

#[derive(Serialize)]
pub struct RunCard {
    run: String,
    model: String,
    preset: String,
    params: usize,
    /// Input slices per prediction (the slice and its neighbours).
    input_slices: i64,
    size: usize,
    field_of_view_mm: f64,
    seed: u64,
    loss: String,
    epochs_done: usize,
    best_epoch: usize,
    /// The kept epoch's training and validation record.
    best: Option<EpochRecord>,
    /// The prepared dataset's hash (`dataset.json`'s `data_hash`).
    data_hash: String,
    /// SHA-256 of the kept weights as recorded with them (verified whenever they are loaded).
    weights_sha256: String,
    /// How whole scans are post-processed, as calibration wrote it (`postprocess.json`).
    postprocess: String,
}

/// Reads `run`'s files; a folder that is no finished `mtsa train` run is named with the file it
/// lacks.
pub fn describe(run: &Path) -> Result<RunCard> {
    let paths = RunPaths::new(run);
    let state = read_state(&paths.checkpoint()).with_context(|| {
        format!(
            "{}: not a finished `mtsa train` run (its training record, checkpoint.safetensors, \
             is needed)",
            run.display()
        )
    })?;
    let weights_sha256 = read_metadata(&paths.best())?
        .remove(CHECKSUM_KEY)
        .unwrap_or_default();
    let preprocess = mtsa_eval::read_preprocess(&paths.preprocess())?;
    let postprocess = mtsa_eval::Postprocess::of_run(run)?;
    let model: &MtsaConfig = &state.config.model;
    Ok(RunCard {
        run: run.display().to_string(),
        model: model.architecture.to_string(),
        preset: model.preset.clone(),
        params: crate::cmd_info::params(model)?.0,
        input_slices: model.in_channels,
        size: preprocess.size,
        field_of_view_mm: preprocess.fov_mm,
        seed: state.config.seed,
        // As config.toml spells it (`uncertainty`, `seg-only`, ...).
        loss: serde_json::to_value(state.config.loss.mode)?
            .as_str()
            .unwrap_or_default()
            .to_string(),
        epochs_done: state.epochs_done,
        best_epoch: state.best_epoch,
        best: state
            .history
            .iter()
            .find(|e| e.epoch == state.best_epoch)
            .cloned(),
        data_hash: state.data_hash.clone(),
        weights_sha256,
        postprocess: postprocess.source,
    })
}

impl RunCard {
    /// A few lines for the terminal.
    pub fn text(&self) -> String {
        let best = self.best.as_ref().map_or(String::new(), |b| {
            let egfr = b
                .val_egfr_acc
                .map_or(String::new(), |a| format!(", patient EGFR accuracy {a:.3}"));
            format!(
                ": validation slice Dice {:.3} (GTV slices){egfr}",
                b.val_dice
            )
        });
        format!(
            "{}\n\
             network: {} ({} preset), {} parameters, {} input slice(s) of {} x {} px over {} mm\n\
             trained: {} epochs, seed {}, loss {}; kept epoch {}{best}\n\
             data: prepared dataset {}\n\
             weights: sha256 {}\n\
             post-processing: {}\n",
            self.run,
            self.model,
            self.preset,
            self.params,
            self.input_slices,
            self.size,
            self.size,
            self.field_of_view_mm,
            self.epochs_done,
            self.seed,
            self.loss,
            self.best_epoch,
            self.data_hash,
            self.weights_sha256,
            self.postprocess,
        )
    }
}
