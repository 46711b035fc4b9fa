use anyhow::{bail, Context, Result};
use mtsa_model::{parse_device, Architecture, LossMode};
use mtsa_train::{LrSchedule, RunPaths, Selection, TrainConfig, TrainOptions};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Prepared dataset folder (from `mtsa prepare`).
    #[arg(long)]
    data: PathBuf,
    /// Run folder: config, checkpoints, best weights, metrics.csv.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value = "paper")]
    preset: String,
    /// The network: mtsa-net, or a comparison system of the paper's Table 3 (unet, unet3plus,
    /// raunet, transunet, swin-unet, deseg; resnet50, densenet121, se-resnet50, rn-gap).
    #[arg(long, default_value = "mtsa-net")]
    model: Architecture,
    /// First-stage channels of the network (default: the preset's width for the model).
    #[arg(long)]
    width: Option<i64>,
    /// TOML with any subset of the training config (see a run's config.toml for every key).
    #[arg(long)]
    config: Option<PathBuf>,
    /// uncertainty (paper), equal, seg-only or cls-only.
    #[arg(long)]
    loss: Option<LossMode>,
    /// Focal-loss alpha (paper ablation: 0.7, 0.8, 0.9).
    #[arg(long)]
    alpha: Option<f64>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    batch: Option<usize>,
    #[arg(long)]
    lr: Option<f64>,
    /// `constant` (paper) or `poly` (nnU-Net's decay to zero over --epochs).
    #[arg(long)]
    lr_schedule: Option<LrSchedule>,
    /// Fit the number of epochs (at most --epochs) to this many minutes of training, timed on
    /// the first epoch and re-fitted to the latest epochs' pace where it no longer fits or a
    /// tenth more fit; the learning-rate schedule then runs its whole course. The count
    /// depends on the machine's speed and is written to the run's config.toml.
    #[arg(long)]
    train_minutes: Option<f64>,
    /// Early-stopping patience in epochs.
    #[arg(long)]
    patience: Option<usize>,
    /// Early stopping and kept weights by validation `loss` (paper), `score` (Dice + EGFR
    /// accuracy) or `dice`.
    #[arg(long)]
    select: Option<Selection>,
    #[arg(long)]
    seed: Option<u64>,
    /// Each epoch trains on at most this many random slices per patient (default: all).
    #[arg(long)]
    slices_per_patient: Option<usize>,
    /// Train the EGFR head only on the slices that vote in the patient call (top half by area).
    #[arg(long)]
    egfr_voting_slices_only: bool,
    /// With --slices-per-patient: draw each patient's slices round its 3-D lesions in turn, so
    /// a small metastasis is drawn as often as a large one.
    #[arg(long)]
    lesion_balanced: bool,
    /// Share of each epoch's slices that are lesion-free brain slices (needs a dataset prepared
    /// with --background-slices); 0 = the paper's protocol.
    #[arg(long)]
    background_fraction: Option<f64>,
    /// Give the network the N neighbouring slices on each side as extra input channels (2.5-D;
    /// needs a dataset prepared with at least --context-slices N).
    #[arg(long)]
    context_slices: Option<usize>,
    /// Soft Dice over the whole batch instead of per slice, so lesion-free slices teach the
    /// network to stay empty (see `LossConfig::batch_dice`).
    #[arg(long)]
    batch_dice: bool,
    /// After training, choose the whole-scan threshold and minimum lesion volume on the
    /// validation patients' whole scans (best lesion-wise F1); `predict` applies them.
    #[arg(long)]
    calibrate: bool,
    /// Mirror test-time augmentation at inference (average with the left-right flip).
    #[arg(long)]
    flip_tta: bool,
    /// With --calibrate: lesions are cut at this probability and calibration chooses the peak
    /// probability a lesion needs instead of one threshold for both.
    #[arg(long)]
    segment_threshold: Option<f32>,
    /// With --calibrate: also fit a lesion-level classifier on the validation patients'
    /// candidates (the network's marks and the bright voxels, on each scan's own grid), which
    /// then decides which candidates are lesions (docs/whole-scan.md).
    #[arg(long)]
    lesion_classifier: bool,
    /// With --lesion-classifier: the GTV path also runs at this side (pixels, a multiple of 64)
    /// over the same field of view, and the candidates come from both sides' probabilities
    /// (docs/whole-scan.md).
    #[arg(long)]
    second_size: Option<usize>,
    /// With --calibrate: the whole-scan EGFR call comes from the cleaned GTV's measured lesion
    /// phenotype, a logistic model fitted on the training and validation patients' true GTVs,
    /// instead of the network's slice vote (docs/whole-scan.md). Also with --resume: a trained,
    /// calibrated run gains the model without training.
    #[arg(long)]
    egfr_phenotype: bool,
    /// Before each validation, re-estimate every BatchNorm's statistics over this many of the
    /// epoch's training batches ("precise BN"); 0 (default) keeps PyTorch's running average.
    #[arg(long)]
    precise_bn_batches: Option<usize>,
    /// Turn augmentation off.
    #[arg(long)]
    no_augment: bool,
    /// Continue the run in --out from its last checkpoint (its own config; --epochs may raise
    /// the limit).
    #[arg(long)]
    resume: bool,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Memory layout MTSA-Net trains in: auto (a few training steps timed in each, once per
    /// machine, model and batch, cached), nchw or nhwc. Changes speed, not results (beyond
    /// float summation order).
    #[arg(long, default_value = "auto")]
    layout: mtsa_model::LayoutChoice,
}

pub fn run(a: Args) -> Result<()> {
    let device = parse_device(&a.device)?;
    crate::out_guard::check_out(
        "train",
        &a.out,
        mtsa_io::Existing::Keep,
        &[("--data", &a.data)],
    )?;
    // A run killed before its first checkpoint holds only its config: it starts over with it.
    let resume = a.resume && RunPaths::new(&a.out).checkpoint().exists();
    if a.resume && !resume {
        tracing::warn!(
            "{} has no checkpoint yet (stopped before its first epoch ended); starting it over",
            a.out.display()
        );
    }
    let config = if a.resume {
        resumed_config(&a)?
    } else {
        fresh_config(&a)?
    };
    let opts = TrainOptions {
        data: a.data.clone(),
        run: a.out.clone(),
        config,
        resume,
        device,
        progress: crate::progress::is_terminal(),
        time_limit: None,
        epoch_budget: a
            .train_minutes
            .map(|m| mtsa_train::minutes(m).context("--train-minutes"))
            .transpose()?,
        deadline: None,
        layout: a.layout,
    };
    tracing::info!(
        "training {} at preset {} ({} loss) on {} -> {}",
        opts.config.model.architecture,
        opts.config.model.preset,
        opts.config.loss.mode,
        a.data.display(),
        a.out.display()
    );
    let s = mtsa_train::train(&opts)?;
    tracing::info!(
        "{} epochs in {:.0} s{}; best validation {} {:.4} at epoch {}; weights in {}",
        s.epochs_run,
        s.seconds,
        if s.stopped_early { " (early stop)" } else { "" },
        opts.config.select_name(),
        s.best_criterion.abs(),
        s.best_epoch,
        RunPaths::new(&a.out).best().display()
    );
    if opts.config.calibrate_postprocess {
        calibrate(&a.out, &a.data, &opts.config, device)?;
    }
    Ok(())
}

/// Chooses the whole-scan post-processing on the validation patients and stores it in the run.
pub fn calibrate(run: &Path, data: &Path, config: &TrainConfig, device: tch::Device) -> Result<()> {
    tracing::info!(
        "choosing the whole-scan threshold and minimum lesion volume on the validation patients"
    );
    let batch = 16;
    let model = mtsa_train::load_trained(
        run,
        mtsa_train::LoadOptions {
            device,
            layout: mtsa_model::LayoutChoice::Auto,
            batch,
            precision: mtsa_model::Precision::F32,
        },
    )?;
    let bar = crate::progress::bar("calibrate");
    let (pp, best) = mtsa_eval::calibrate(
        &model,
        run,
        data,
        &mtsa_eval::Postprocess {
            flip_tta: config.flip_tta,
            segment_threshold: config.segment_threshold,
            second_size: config.second_size,
            ..mtsa_eval::Postprocess::default()
        },
        mtsa_eval::CalibrationFits {
            lesion_classifier: config.lesion_classifier,
            egfr_phenotype: config.egfr_phenotype,
            look_model: config.look_model,
        },
        batch,
        &crate::progress::callback(&bar),
    )?;
    bar.finish_and_clear();
    if let Some(m) = &pp.egfr_phenotype {
        tracing::info!(
            "EGFR from the lesion phenotype: fitted on {} patients' true GTVs (prevalence {:.3})",
            m.patients,
            m.prevalence
        );
    }
    if pp.lesion_classifier.is_some() {
        tracing::info!("post-processing: {}", pp.source);
    } else {
        tracing::info!(
            "post-processing: threshold {}, lesions under {} mm3 dropped (validation: lesion F1 {:.3}, sensitivity {}, {:.2} false lesions per patient)",
            pp.threshold,
            pp.min_volume_mm3,
            best.f1,
            best.sensitivity.map_or("-".into(), |s| format!("{s:.3}")),
            best.fp_per_patient
        );
    }
    Ok(())
}

fn fresh_config(a: &Args) -> Result<TrainConfig> {
    let mut cfg = TrainConfig::for_system(&a.preset, a.model)?;
    if let Some(w) = a.width {
        cfg.model.base_channels = w;
    }
    if let Some(path) = &a.config {
        cfg = merge_toml(&cfg, path)?;
    }
    if let Some(v) = a.loss {
        cfg.loss.mode = v;
    }
    if let Some(v) = a.alpha {
        cfg.loss.focal_alpha = v;
    }
    if let Some(v) = a.epochs {
        cfg.epochs = v;
    }
    if let Some(v) = a.batch {
        cfg.batch = v;
    }
    if let Some(v) = a.lr {
        cfg.lr = v;
    }
    if let Some(v) = a.lr_schedule {
        cfg.lr_schedule = v;
    }
    if let Some(v) = a.patience {
        cfg.patience = v;
    }
    if let Some(v) = a.select {
        cfg.select = v;
    }
    if let Some(v) = a.seed {
        cfg.seed = v;
    }
    if a.slices_per_patient.is_some() {
        cfg.slices_per_patient = a.slices_per_patient;
    }
    if a.egfr_voting_slices_only {
        cfg.egfr_voting_slices_only = true;
    }
    if a.lesion_balanced {
        cfg.lesion_balanced = true;
    }
    if let Some(v) = a.background_fraction {
        cfg.background_fraction = v;
    }
    if let Some(r) = a.context_slices {
        cfg.model.in_channels = 2 * r as i64 + 1;
    }
    if a.batch_dice {
        cfg.loss.batch_dice = true;
    }
    if a.calibrate {
        cfg.calibrate_postprocess = true;
    }
    if a.flip_tta {
        cfg.flip_tta = true;
    }
    if a.segment_threshold.is_some() {
        cfg.segment_threshold = a.segment_threshold;
    }
    if a.lesion_classifier {
        cfg.lesion_classifier = true;
    }
    if a.second_size.is_some() {
        cfg.second_size = a.second_size;
    }
    if a.egfr_phenotype {
        cfg.egfr_phenotype = true;
    }
    if let Some(v) = a.precise_bn_batches {
        cfg.precise_bn_batches = v;
    }
    if a.no_augment {
        cfg.augment.enabled = false;
    }
    Ok(cfg)
}

/// A resumed run keeps its own config: changing it midway would break the promise that the
/// result equals an uninterrupted run.
fn resumed_config(a: &Args) -> Result<TrainConfig> {
    let path = RunPaths::new(&a.out).config();
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot resume", path.display()))?;
    let mut cfg =
        TrainConfig::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if a.config.is_some()
        || a.select.is_some()
        || a.loss.is_some()
        || a.alpha.is_some()
        || a.batch.is_some()
        || a.lr.is_some()
        || a.lr_schedule.is_some()
        || a.train_minutes.is_some()
        || a.seed.is_some()
        || a.width.is_some()
        || a.model != Architecture::MtsaNet
        || a.background_fraction.is_some()
        || a.calibrate
        || a.flip_tta
        || a.segment_threshold.is_some()
        || a.lesion_classifier
        || a.second_size.is_some()
        || a.precise_bn_batches.is_some()
        || a.patience.is_some()
        || a.slices_per_patient.is_some()
        || a.egfr_voting_slices_only
        || a.lesion_balanced
        || a.context_slices.is_some()
        || a.batch_dice
        || a.no_augment
    {
        bail!(
            "--resume continues {} with its own config; only --epochs and --egfr-phenotype may \
             change",
            path.display()
        );
    }
    if let Some(v) = a.epochs {
        cfg.epochs = v;
    }
    // Fitted after training from the dataset alone: a finished run can gain it.
    if a.egfr_phenotype {
        cfg.egfr_phenotype = true;
    }
    Ok(cfg)
}

/// Lays a partial TOML file over the preset's config, so users write only what they change.
fn merge_toml(base: &TrainConfig, path: &Path) -> Result<TrainConfig> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    base.overlay(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
