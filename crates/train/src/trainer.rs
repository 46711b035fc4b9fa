//! The training loop of spec §4.

use crate::adam::Adam;
use crate::augment::{augment, thicken};
use crate::epoch_plan::{
    budget_before, epochs_fitting, recent_pace, refitted_plan, training_time_limit, Deadline,
};
use crate::epoch_slices::{epoch_order, epoch_rng, shuffled_epoch_slices};
use crate::state::{self, TrainState};
use crate::validate::validate;
use crate::{EpochRecord, RunPaths, Selection, SplitTensors, TrainConfig, TrainError};
use indicatif::{ProgressBar, ProgressStyle};
use mtsa_model::{
    choose_training_layout, precise_batch_norm, save_weights, use_layout, Architecture, JointLoss,
    Layout, LayoutCache, LayoutChoice, LossMode, Network, NET_PREFIX,
};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;
use tch::{nn::VarStore, Device};

pub struct TrainOptions {
    pub data: PathBuf,
    pub run: PathBuf,
    pub config: TrainConfig,
    /// Continue from the run's checkpoint; `config` must then be the run's own (epochs aside).
    pub resume: bool,
    pub device: Device,
    pub progress: bool,
    /// Stop after the first epoch that ends past this wall time [ours: `mtsa study
    /// --minutes`]. A time-limited run depends on the machine's speed, so it is not
    /// reproducible epoch for epoch; `None` trains to `epochs` or early stopping.
    pub time_limit: Option<std::time::Duration>,
    /// Fit the number of epochs (at most `config.epochs`) to this wall time, measured on the
    /// first epoch and re-fitted after every later one to the latest epochs' pace
    /// ([`refitted_plan`](crate::epoch_plan::refitted_plan)) [ours: `mtsa train
    /// --train-minutes`, the demo]. Unlike `time_limit`, the learning-rate schedule then
    /// runs its whole course, unless later epochs run so much slower that training passes
    /// 1.1x the budget: it then stops after that epoch. The count depends on the machine's
    /// speed; it is written to the run's `config.toml`, so a resume continues the same plan (a
    /// resumed run is not re-fitted).
    pub epoch_budget: Option<std::time::Duration>,
    /// With `epoch_budget`, a time the whole job must end by: the fitted plan also leaves the
    /// work after training its time [ours: the demo's `--minutes`], reckoned at the latest
    /// epochs' pace.
    pub deadline: Option<Deadline>,
    /// The layout MTSA-Net trains in (`mtsa train --layout`); `Auto` measures both.
    pub layout: LayoutChoice,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainSummary {
    pub epochs_run: usize,
    pub best_epoch: usize,
    /// Best value of the selection criterion (lower is better; `score` is negated).
    pub best_criterion: f64,
    pub stopped_early: bool,
    pub seconds: f64,
    /// The last epoch after which the plan was re-fitted to a changed pace: the learning rates
    /// of the epochs before it followed another plan, so `--epochs N` alone does not repeat
    /// the run.
    pub replanned_after: Option<usize>,
}

pub fn train(opts: &TrainOptions) -> Result<TrainSummary, TrainError> {
    let cfg = &opts.config;
    let info = mtsa_data::read_info(&opts.data)?;
    check_config(cfg, &info)?;
    let r = cfg.model.context_slices();
    let train_split = mtsa_data::load_split(&opts.data, "train")?;
    let mut train_set = SplitTensors::from_split(&train_split, r)?;
    if cfg.augment.enabled && cfg.augment.thick_slices > 0.0 {
        train_set.keep_thick_slices(&train_split)?;
    }
    if cfg.lesion_balanced {
        train_set.lesions = Some(crate::lesion_draw::slice_lesions(&train_split));
    }
    drop(train_split);
    // Validation follows the paper: slices with GTV only.
    let mut val_set =
        SplitTensors::from_split(&mtsa_data::load_split(&opts.data, "val")?.gtv_only(), r)?;
    if cfg.egfr_voting_slices_only {
        train_set.label_only_voting_slices();
        val_set.label_only_voting_slices();
    }
    if train_set.is_empty() || val_set.is_empty() {
        return Err(TrainError::Config(format!(
            "{}: training needs slices in both `train` ({}) and `val` ({})",
            opts.data.display(),
            train_set.len(),
            val_set.len()
        )));
    }

    let paths = RunPaths::new(&opts.run);
    let checkpoint = match opts.resume {
        true => Some(state::read(&paths.checkpoint())?),
        false => None,
    };
    // A resumed run keeps its layout; a new one chooses it before seeding, as measuring draws
    // from libtorch's random generator.
    let layout = match &checkpoint {
        Some(ck) => {
            if let LayoutChoice::Fixed(asked) = opts.layout {
                if asked != ck.state.layout {
                    tracing::warn!(
                        "the run trains in {} (its checkpoint); --layout {asked} ignored",
                        ck.state.layout
                    );
                }
            }
            ck.state.layout
        }
        None => training_layout(opts)?,
    };
    tch::manual_seed(cfg.seed as i64);
    let mut vs = VarStore::new(opts.device);
    let net = Network::new(&(vs.root() / NET_PREFIX), &cfg.model)?;
    let loss = JointLoss::new(&vs.root(), cfg.loss);
    use_layout(&vs, layout);
    let mut adam = Adam::new(&vs, cfg.lr, cfg.adam_eps);

    let mut st = if let Some(ck) = checkpoint {
        let mut st = ck.restore(&mut vs, &mut adam)?;
        if st.data_hash != info.data_hash {
            return Err(TrainError::file(
                paths.checkpoint(),
                "checkpoint was trained on a different dataset (data hash differs)",
            ));
        }
        // Any other change would silently break "resumed = uninterrupted". The EGFR phenotype
        // model and the look model are fitted after training, from the dataset alone, so a
        // finished run can gain them.
        if (TrainConfig {
            epochs: cfg.epochs,
            egfr_phenotype: cfg.egfr_phenotype,
            look_model: cfg.look_model,
            ..st.config.clone()
        }) != *cfg
        {
            return Err(TrainError::file(
                paths.checkpoint(),
                "the run was started with another configuration; a resume may change only the \
                 epochs, egfr_phenotype and look_model",
            ));
        }
        if (st.config.egfr_phenotype, st.config.look_model) != (cfg.egfr_phenotype, cfg.look_model)
        {
            // Recorded in the run, so a later resume and the reader of config.toml see them.
            st.config.egfr_phenotype = cfg.egfr_phenotype;
            st.config.look_model = cfg.look_model;
            write_config(&paths, &st.config)?;
        }
        // metrics.csv is written just before the checkpoint: cut it back to the checkpoint.
        write_metrics_csv(&paths, &st.history)?;
        st
    } else {
        start_run(&paths, cfg, &info.preprocess)?;
        TrainState {
            epochs_done: 0,
            best_criterion: f64::INFINITY,
            best_epoch: 0,
            history: Vec::new(),
            config: cfg.clone(),
            data_hash: info.data_hash.clone(),
            layout,
        }
    };
    // From here `st.config` is `cfg` with the epochs the run plans (fitted to a budget below).
    st.config.epochs = cfg.epochs;

    let mut time_limit = training_time_limit(opts.time_limit, opts.epoch_budget);
    let started = Instant::now();
    let mut stopped_early = false;
    let mut replanned_after = None;
    // The plan is fitted only by the run that starts it: a resume continues the recorded one.
    let budget_asked = opts.epoch_budget.filter(|_| st.epochs_done == 0);
    let mut epoch = st.epochs_done;
    while epoch < st.config.epochs {
        epoch += 1;
        if epoch - st.best_epoch > cfg.patience && st.best_epoch > 0 {
            stopped_early = true;
            break;
        }
        let t0 = Instant::now();
        let (tl, tg, te) =
            train_epoch(&net, &loss, &mut adam, &train_set, &st.config, epoch, opts)?;
        if st.config.precise_bn_batches > 0 {
            let order = epoch_order(&train_set, &st.config, epoch);
            let inputs = order
                .chunks(st.config.batch)
                .take(st.config.precise_bn_batches)
                .map(|idx| train_set.batch(idx).0.to_device(opts.device));
            precise_batch_norm(&vs, &net, inputs);
        }
        let (w_gtv, w_egfr) = loss.weights();
        let v = validate(&net, &loss, &val_set, cfg, opts.device)?;
        if !v.loss.is_finite() {
            return Err(TrainError::NonFiniteValidation {
                epoch,
                value: v.loss,
            });
        }
        let record = EpochRecord {
            epoch,
            train_loss: tl,
            train_gtv: tg,
            train_egfr: te,
            val_loss: v.loss,
            val_gtv: v.gtv,
            val_egfr: v.egfr,
            weight_gtv: w_gtv,
            weight_egfr: w_egfr,
            val_dice: v.dice,
            val_egfr_acc: v.egfr_acc,
            seconds: t0.elapsed().as_secs_f64(),
        };
        let criterion = selection_value(cfg, &record);
        if criterion < st.best_criterion {
            st.best_criterion = criterion;
            st.best_epoch = epoch;
            save_weights(&vs, &cfg.model, &paths.best())?;
        }
        // Fitted before the epoch's line, so that line counts against the plan actually run:
        // after the first epoch by its pace, then again after every epoch by the latest pace.
        if let Some(asked) = budget_asked {
            let pace = recent_pace(st.history.last().map(|r| r.seconds), record.seconds);
            let budget = budget_before(asked, opts.deadline, started, pace);
            time_limit = training_time_limit(opts.time_limit, Some(budget));
            let elapsed = started.elapsed().as_secs_f64();
            let plan = if epoch == 1 {
                let plan = epochs_fitting(budget, elapsed, epoch, pace, cfg.epochs);
                tracing::info!(
                    "the first epoch took {pace:.1} s: {plan} epochs fit {:.1} minutes of \
                     training{}",
                    budget.as_secs_f64() / 60.0,
                    if budget < asked {
                        ", what the deadline leaves for training"
                    } else {
                        ""
                    }
                );
                plan
            } else {
                let plan =
                    refitted_plan(budget, elapsed, epoch, pace, st.config.epochs, cfg.epochs);
                if plan != st.config.epochs {
                    replanned_after = Some(epoch);
                    tracing::info!(
                        "the latest epochs took {pace:.1} s: the plan goes from {} to {plan} \
                         epochs to fit {:.1} minutes of training",
                        st.config.epochs,
                        budget.as_secs_f64() / 60.0
                    );
                }
                plan
            };
            // The first epoch's plan is recorded even where it is the most asked.
            if epoch == 1 || plan != st.config.epochs {
                st.config.epochs = plan;
                write_config(&paths, &st.config)?;
            }
        }
        // One line per epoch also where no bar is drawn (a log file, Slurm, CI).
        tracing::info!(
            "epoch {epoch}/{}: train loss {:.4} (GTV {:.4}, EGFR {:.4}), task weights {:.3}/{:.3}, \
             val loss {:.4}, val Dice {:.4}{}, best epoch {} ({:.1} s)",
            st.config.epochs,
            record.train_loss,
            record.train_gtv,
            record.train_egfr,
            record.weight_gtv,
            record.weight_egfr,
            record.val_loss,
            record.val_dice,
            record
                .val_egfr_acc
                .map_or(String::new(), |a| format!(", val EGFR acc {a:.3}")),
            st.best_epoch,
            record.seconds
        );
        st.history.push(record);
        st.epochs_done = epoch;
        write_metrics_csv(&paths, &st.history)?;
        state::save(&paths.checkpoint(), &vs, &adam, &st)?;
        if epoch < st.config.epochs && time_limit.is_some_and(|limit| started.elapsed() >= limit) {
            tracing::info!("time limit reached after epoch {epoch}");
            stopped_early = true;
            break;
        }
    }
    Ok(TrainSummary {
        epochs_run: st.epochs_done,
        best_epoch: st.best_epoch,
        best_criterion: st.best_criterion,
        stopped_early,
        seconds: started.elapsed().as_secs_f64(),
        replanned_after,
    })
}

/// The layout the run trains in: MTSA-Net's is `opts.layout`, measured (or read from the
/// per-user cache) for `Auto`; the comparison systems train NCHW, as their references do.
fn training_layout(opts: &TrainOptions) -> Result<Layout, TrainError> {
    let cfg = &opts.config;
    if cfg.model.architecture != Architecture::MtsaNet {
        return Ok(Layout::Nchw);
    }
    let (layout, source) = choose_training_layout(
        opts.layout,
        &cfg.model,
        cfg.loss,
        opts.device,
        cfg.batch as i64,
        LayoutCache::default_path().as_deref(),
    )?;
    tracing::info!("training layout {layout} ({source})");
    Ok(layout)
}

/// Lower is better, so the loss and the negated score compare the same way.
fn selection_value(cfg: &TrainConfig, r: &EpochRecord) -> f64 {
    match cfg.select {
        Selection::Loss => r.val_loss,
        Selection::Dice => -r.val_dice,
        Selection::Score => {
            let acc = r.val_egfr_acc.unwrap_or(0.0);
            -match cfg.loss.mode {
                LossMode::SegOnly => r.val_dice,
                LossMode::ClsOnly => acc,
                LossMode::Uncertainty | LossMode::Equal => r.val_dice + acc,
            }
        }
    }
}

fn check_config(cfg: &TrainConfig, info: &mtsa_data::DatasetInfo) -> Result<(), TrainError> {
    cfg.validate().map_err(TrainError::Config)?;
    if cfg.model.size as usize != info.size {
        return Err(TrainError::Config(format!(
            "preset `{}` expects {} px slices but the dataset was prepared at {} px (prepare with --size {})",
            cfg.model.preset, cfg.model.size, info.size, cfg.model.size
        )));
    }
    let required = cfg.model.architecture.tasks().single_task_loss();
    if let Some(mode) = required.filter(|m| *m != cfg.loss.mode) {
        return Err(TrainError::Config(format!(
            "`{}` is a single-task system: it trains with loss mode `{mode}`, not `{}`",
            cfg.model.architecture, cfg.loss.mode
        )));
    }
    if !info.has_egfr && cfg.loss.mode != LossMode::SegOnly {
        return Err(TrainError::Config(format!(
            "the dataset has no EGFR labels, so loss mode `{}` cannot train; use --loss seg-only",
            cfg.loss.mode
        )));
    }
    if cfg.augment.thick_slices > 0.0 && info.context_slices == 0 {
        return Err(TrainError::Config(
            "thick-slice augmentation averages each slice with its neighbours: prepare the \
             dataset with --context-slices 1"
                .into(),
        ));
    }
    if cfg.background_fraction > 0.0 && info.background_slices == 0 {
        return Err(TrainError::Config(
            "a background fraction needs lesion-free slices: prepare the dataset with --background-slices"
                .into(),
        ));
    }
    Ok(())
}

/// Refuses to overwrite an existing run and records the config before any work is done.
fn start_run(
    paths: &RunPaths,
    cfg: &TrainConfig,
    preprocess: &mtsa_data::PreprocessConfig,
) -> Result<(), TrainError> {
    if paths.checkpoint().exists() {
        return Err(TrainError::file(
            &paths.dir,
            "already holds a training run; pass --resume to continue it or choose another --out",
        ));
    }
    mtsa_io::claim_output_dir(&paths.dir, "train", mtsa_io::Existing::Keep)?;
    write_config(paths, cfg)?;
    let json =
        serde_json::to_string_pretty(preprocess).map_err(|e| TrainError::Config(e.to_string()))?;
    mtsa_io::write_atomic(&paths.preprocess(), |tmp| {
        std::fs::write(tmp, json).map_err(|e| mtsa_io::IoError::io(tmp, e))
    })?;
    Ok(())
}

fn write_config(paths: &RunPaths, cfg: &TrainConfig) -> Result<(), TrainError> {
    mtsa_io::write_atomic(&paths.config(), |tmp| {
        std::fs::write(tmp, cfg.to_toml()).map_err(|e| mtsa_io::IoError::io(tmp, e))
    })?;
    Ok(())
}

fn train_epoch(
    net: &Network,
    loss: &JointLoss,
    adam: &mut Adam,
    data: &SplitTensors,
    cfg: &TrainConfig,
    epoch: usize,
    opts: &TrainOptions,
) -> Result<(f64, f64, f64), TrainError> {
    adam.set_lr(cfg.lr_schedule.rate(cfg.lr, epoch, cfg.epochs));
    tch::manual_seed(
        (cfg.seed as i64)
            .wrapping_mul(1_000_003)
            .wrapping_add(epoch as i64),
    );
    let mut rng = epoch_rng(cfg.seed, epoch);
    let order = shuffled_epoch_slices(data, cfg, &mut rng);
    let batches: Vec<&[i64]> = order.chunks(cfg.batch).collect();
    // With a budget the plan is fitted after the first epoch: until then it is only a bound.
    let plan = match (epoch, opts.epoch_budget) {
        (1, Some(_)) => format!("≤{}", cfg.epochs),
        _ => cfg.epochs.to_string(),
    };
    let bar = progress_bar(opts.progress, batches.len() as u64, epoch, &plan);
    let (mut sum, mut sum_gtv, mut sum_egfr, mut seen) = (0.0, 0.0, 0.0, 0.0);
    for (b, idx) in batches.iter().enumerate() {
        let (mut x, mut y, label) = data.batch(idx);
        if cfg.augment.enabled {
            if let Some(thick) = &data.thick {
                x = thicken(&x, thick, idx, cfg.augment.thick_slices, &mut rng);
            }
            (x, y) = augment(&x, &y, &cfg.augment, &mut rng);
        }
        let (x, y, label) = (
            x.to_device(opts.device),
            y.to_device(opts.device),
            label.to_device(opts.device),
        );
        let (gtv, egfr) = net.forward_t(&x, true);
        let parts = loss.compute(&gtv, &egfr, &y, &label);
        let value = parts.total.double_value(&[]);
        if !value.is_finite() {
            bar.abandon();
            return Err(TrainError::NonFinite {
                epoch,
                batch: b + 1,
                value,
            });
        }
        adam.zero_grad();
        parts.total.backward();
        adam.step();
        let n = idx.len() as f64;
        seen += n;
        sum += value * n;
        sum_gtv += parts.gtv.double_value(&[]) * n;
        sum_egfr += parts.egfr.double_value(&[]) * n;
        bar.set_message(format!("loss {:.4}", sum / seen));
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok((sum / seen, sum_gtv / seen, sum_egfr / seen))
}

fn progress_bar(show: bool, len: u64, epoch: usize, epochs: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} batches {msg} ({elapsed})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(format!("{epoch}/{epochs}"));
    bar
}

fn write_metrics_csv(paths: &RunPaths, history: &[EpochRecord]) -> Result<(), TrainError> {
    let path = paths.metrics();
    mtsa_io::write_atomic(&path, |tmp| -> Result<(), TrainError> {
        let mut w = csv::Writer::from_path(tmp).map_err(|e| TrainError::file(&path, e))?;
        for r in history {
            w.serialize(r).map_err(|e| TrainError::file(&path, e))?;
        }
        w.flush().map_err(|e| TrainError::file(&path, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(val_loss: f64, dice: f64, acc: Option<f64>) -> EpochRecord {
        EpochRecord {
            epoch: 1,
            train_loss: 0.0,
            train_gtv: 0.0,
            train_egfr: 0.0,
            val_loss,
            val_gtv: 0.0,
            val_egfr: 0.0,
            weight_gtv: 0.5,
            weight_egfr: 0.5,
            val_dice: dice,
            val_egfr_acc: acc,
            seconds: 0.0,
        }
    }

    #[test]
    fn score_selection_prefers_higher_dice_plus_accuracy_and_loss_lower_loss() {
        let mut cfg = TrainConfig::for_preset("tiny").unwrap();
        let early = record(1.6, 0.52, Some(0.7));
        let late = record(2.1, 0.82, Some(0.7));
        assert!(selection_value(&cfg, &early) < selection_value(&cfg, &late));
        cfg.select = Selection::Score;
        assert!(selection_value(&cfg, &late) < selection_value(&cfg, &early));
        assert_eq!(selection_value(&cfg, &late), -(0.82 + 0.7));
        cfg.loss.mode = LossMode::SegOnly;
        assert_eq!(selection_value(&cfg, &record(1.0, 0.6, None)), -0.6);
        cfg.select = Selection::Dice;
        cfg.loss.mode = LossMode::Uncertainty;
        let lucky = record(1.0, 0.80, Some(0.9));
        let better = record(1.0, 0.85, Some(0.5));
        assert!(selection_value(&cfg, &better) < selection_value(&cfg, &lucky));
    }
}
