//! The README's main job: everything from a synthetic cohort to a report, on the tiny preset
//! and the CPU unless told otherwise.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use mtsa_eval::{fixed, EvaluateOptions, EvaluationReport};
use mtsa_metrics::ClassificationReport;
use mtsa_model::MtsaConfig;
use mtsa_train::{LoadOptions, TrainConfig, TrainOptions};
use std::fmt::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Folder for the cohort, dataset, run and report.
    #[arg(long, default_value = "demo-out")]
    out: PathBuf,
    /// Replace an existing folder written by `mtsa demo` (never anything else).
    #[arg(long)]
    force: bool,
    /// Internal-site patients.
    #[arg(long, default_value_t = 150)]
    patients: usize,
    /// Patients per external site (two sites).
    #[arg(long, default_value_t = 20)]
    external: usize,
    /// Most training epochs; --train-minutes chooses how many of them fit this machine.
    #[arg(long, default_value_t = 60)]
    epochs: usize,
    /// Minutes of training: the first epoch is timed and the epochs that fit (at most
    /// --epochs) are run, the learning rate decaying over them; the count is re-fitted after
    /// every epoch where the latest epochs' pace no longer fits it or fits a tenth more.
    /// Measured on seed 0, 45 epochs instead of 30 raised patient 3-D Dice and halved the false
    /// lesions (docs/whole-scan.md); a slower machine trains fewer epochs and the demo keeps to
    /// its time.
    #[arg(long, default_value_t = 10.0)]
    train_minutes: f64,
    /// Minutes the whole demo should take at most: training gets less than --train-minutes where
    /// what came before it and what follows it (calibration and evaluation, reckoned at 14.5
    /// epochs' time at the latest epochs' pace) would run past it. On a 2-core AVX2-only EPYC
    /// the demo took 17.1 minutes without this bound (docs/whole-scan.md, twenty-eighth session).
    #[arg(long, default_value_t = 14.5)]
    minutes: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Lesion-free brain slices stored per training patient.
    #[arg(long, default_value_t = 16)]
    background_slices: usize,
    /// Share of each epoch's slices that are lesion-free.
    #[arg(long, default_value_t = 0.4)]
    background_fraction: f64,
    /// Neighbouring slices per side given to the network as extra channels (2.5-D; 0 = 2-D,
    /// the paper's input). 1 by default: on three seeds' fresh demos it raised both external
    /// sites' patient Dice and cut site C's false lesions (`docs/whole-scan.md`,
    /// thirty-fifth session).
    #[arg(long, default_value_t = 1)]
    context_slices: usize,
    /// Model preset: `tiny` (128 px, 8 channels; what 2 CPU cores train in 10 minutes),
    /// `small` (256 px, 16) or `paper` (384 px, 32). The larger ones are for a GPU
    /// (`--device cuda`; `small` on an H200 in docs/whole-scan.md, thirty-fourth session).
    #[arg(long, default_value = "tiny")]
    preset: String,
    /// Where to train and run the network: `cpu`, `cuda`, `cuda:N` or `auto` (a binary built
    /// with `--features cuda`).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Slice size in pixels over the field of view (default: the preset's).
    #[arg(long)]
    size: Option<usize>,
    /// Square field of view in mm, centred on the brain (`prepare --fov-mm`). The synthetic
    /// brains span at most ~200 mm front to back (MNI152 at scale 1.08, yawed 12 degrees), so
    /// 208 mm holds every one with a margin and gives 1.6 mm pixels at 128 px instead of the
    /// 1.9 mm of a 240 mm field: small lesions cover 1.3x more pixels at the same cost.
    #[arg(long, default_value_t = 208.0)]
    fov_mm: f64,
    /// Validation patients (internal site): they choose the epoch and the whole-scan threshold
    /// and minimum lesion volume, which ten patients (~16 lesions) chose unstably.
    #[arg(long, default_value_t = 20)]
    val_patients: usize,
    /// Soft Dice over the whole batch (`train --batch-dice`) instead of the paper's per-slice
    /// Dice.
    #[arg(long)]
    batch_dice: bool,
    /// No mirror test-time augmentation. With it (the default) each slice's probabilities are
    /// averaged with those of its left-right mirror: on seeds 0 and 1 false lesions fell from
    /// 0.65-2.05 to 0.61-1.30 per patient at equal sensitivity (README).
    #[arg(long)]
    no_flip_tta: bool,
    /// No lesion-level classifier: lesions are then kept by the peak probability and minimum
    /// volume chosen on the validation scans. With it (the default) a logistic classifier
    /// fitted on the validation candidates, on each scan's own grid, decides which are lesions:
    /// on seed 0 it keeps lesions under 6 mm that the volume cut removes (docs/whole-scan.md).
    #[arg(long)]
    no_lesion_classifier: bool,
    /// No look model: the lesion classifier for scans with much thicker slices than the
    /// validation scans' then reads the same seven features as the first. With it (the
    /// default) it also reads each candidate's in-plane look, scored by small networks trained
    /// on the training scans' bright spots: on the twenty-fourth session's demo runs it found
    /// more of site C's (4 mm slices) lesions (docs/whole-scan.md).
    #[arg(long)]
    no_look_model: bool,
    /// Side (pixels, a multiple of 64) at which the network's GTV path runs a second time over
    /// the same field of view, its probabilities joining the lesion classifier's candidates
    /// (`train --second-size`). Default: 1.5 x --size rounded up to a multiple of 64 (192 at
    /// 128 px): on fixed weights (seeds 0-2, test and two sites) it raised sensitivity under
    /// 6 mm in seven rows of nine and lowered it in none, at most 0.75 false lesions per patient,
    /// for ~1.3 s more per scan on 2 cores (docs/whole-scan.md).
    #[arg(long)]
    second_size: Option<usize>,
    /// No second input size: the GTV at the trained size only.
    #[arg(long)]
    no_second_size: bool,
    /// The whole-scan EGFR call from MTSA-Net's slice vote (the paper's) instead of the cleaned
    /// GTV's measured lesion phenotype (`train --egfr-phenotype`, docs/whole-scan.md).
    #[arg(long)]
    network_egfr: bool,
    /// Training slices are magnified by a factor drawn log-uniformly in LOW,HIGH (config key
    /// `augment.zoom`; 1,1 = off). On seeds 0-2 (test and two sites, same epochs) 1,1.5 met 20
    /// of the 36 segmentation targets instead of 18 (mean patient Dice 0.653 -> 0.661, false
    /// lesions 0.26 -> 0.18 per patient, under 6 mm no better) (docs/whole-scan.md).
    #[arg(long, value_delimiter = ',', value_name = "LOW,HIGH", default_values_t = [1.0, 1.5])]
    zoom: Vec<f64>,
    /// Share of training slices replaced by the slice twice as thick centred on them (config
    /// key `augment.thick_slices`; 0 = off). It needs each slice's nearest neighbours in the
    /// dataset (`prepare --context-slices 1`), which the demo's 2.5-D input stores anyway.
    #[arg(long, default_value_t = 0.0)]
    thick_slices: f64,
    /// Draw each patient's training slices round its 3-D lesions in turn, so a small
    /// metastasis is drawn as often as a large one (config key `lesion_balanced`).
    #[arg(long)]
    lesion_balanced: bool,
    /// Training slices get an intensity gamma drawn log-uniformly in LOW,HIGH (config key
    /// `augment.gamma`; 1,1 = off). With `--noise-sd 0.04`, 0.8,1.25 (the sites' range) left
    /// every whole-scan row within a lesion or two on seeds 0 and 1 (docs/whole-scan.md).
    #[arg(long, value_delimiter = ',', value_name = "LOW,HIGH", default_values_t = [1.0, 1.0])]
    gamma: Vec<f64>,
    /// Training slices get Gaussian noise inside the brain with a standard deviation drawn in
    /// 0..SD, normalised units (config key `augment.noise_sd`; 0 = off; see `--gamma`).
    #[arg(long, default_value_t = 0.0, value_name = "SD")]
    noise_sd: f64,
    /// Weight of the summed focal term in the GTV loss (config key `loss.beta`). Without this
    /// flag: the paper's 1/25000 times (384 / --size)², i.e. 0.00036 at 128 px. The focal term
    /// is summed over the pixels, so on a 128 px slice the paper's weight gives it 9x less say
    /// against the Dice term than on the paper's 384 px slices; and on lesion-free slices, where
    /// the per-slice Dice is constant, it alone pushes false pixels down. Scaled, seeds 0 and 1
    /// gained patient Dice and sensitivity at 0.75-1.45 false lesions per patient
    /// (docs/whole-scan.md); 0.001 helped seed 0 and hurt seed 1.
    #[arg(long)]
    focal_beta: Option<f64>,
    /// Lesions are cut at this probability; calibration chooses the peak probability a lesion
    /// needs and its minimum volume (`train --segment-threshold`), so the strict threshold that
    /// removes false lesions no longer erodes the outline of those it keeps.
    #[arg(long, default_value_t = 0.5)]
    segment_threshold: f32,
    /// Learning rate (config key `lr`); the paper's 3e-4 when not given.
    #[arg(long)]
    lr: Option<f64>,
    /// `poly` (nnU-Net's decay over the epochs, the default) or `constant` (the paper). With
    /// the decay, seeds 0-2 found more lesions (mean sensitivity over test and both sites 0.42
    /// -> 0.46, for lesions of 6 mm or more 0.86 -> 0.91) at more false lesions (0.95 -> 1.38
    /// per patient): a missed metastasis costs a plan more than a false one a reviewer deletes
    /// (docs/whole-scan.md).
    #[arg(long, default_value = "poly")]
    lr_schedule: mtsa_train::LrSchedule,
    /// Training batches over which every BatchNorm's statistics are re-estimated before each
    /// validation (config key `precise_bn_batches`; 0 = PyTorch's running average). Seed 0's
    /// epoch-10 weights validated at Dice 0.000 with the running average and 0.611 with 16
    /// batches (40: the same, 8: 0.602); 16 cost ~1.3 s an epoch on 2 cores (docs/whole-scan.md).
    #[arg(long, default_value_t = 16)]
    precise_bn_batches: usize,
}

pub fn run(a: Args) -> Result<()> {
    let t0 = Instant::now();
    // Checked before the cohort is made, not after minutes of work.
    let train_budget = mtsa_train::minutes(a.train_minutes).context("--train-minutes")?;
    let deadline = mtsa_train::Deadline {
        at: t0 + mtsa_train::minutes(a.minutes).context("--minutes")?,
        after_training_epochs: AFTER_TRAINING_EPOCHS,
    };
    let device = mtsa_model::parse_device(&a.device)?;
    let config = train_config(&a)?;
    let size = config.model.size as usize;
    let prep = prepare_config(&a, size)?;
    crate::out_guard::claim(&a.out, "demo", mtsa_io::Existing::replace_if(a.force))?;
    let (cohort, data, run, report_dir) = (
        a.out.join("cohort"),
        a.out.join("dataset"),
        a.out.join("run"),
        a.out.join("report"),
    );

    tracing::info!(
        "1/4 synthetic cohort: {} internal + 2 x {} external patients",
        a.patients,
        a.external
    );
    let bar = crate::progress::bar("synth");
    let synth = mtsa_synth::SynthConfig {
        patients: a.patients,
        external_per_site: a.external,
        seed: a.seed,
        format: mtsa_synth::SynthFormat::Nifti,
    };
    mtsa_synth::generate_cohort(&cohort, &synth, &crate::progress::callback(&bar))?;
    bar.finish_and_clear();

    tracing::info!(
        "2/4 prepare at {} px over {} mm ({} lesion-free slices per training patient){}",
        size,
        a.fov_mm,
        a.background_slices,
        since(t0)
    );
    let bar = crate::progress::bar("prepare");
    mtsa_data::prepare(&cohort, &data, &prep, &crate::progress::callback(&bar))?;
    bar.finish_and_clear();

    tracing::info!(
        "3/4 train the {} preset on {:?} for {} minutes (at most {} epochs, less if the demo \
         would end past {} minutes){}",
        a.preset,
        device,
        a.train_minutes,
        a.epochs,
        a.minutes,
        since(t0)
    );
    tracing::info!(
        "learning rate {} ({:?} schedule); focal weight {} (loss.beta); lesions cut at {} and \
         kept {}",
        config.lr,
        config.lr_schedule,
        config.loss.beta,
        a.segment_threshold,
        if config.lesion_classifier {
            "by a lesion classifier fitted on the validation scans"
        } else {
            "by peak probability and volume"
        }
    );
    let opts = TrainOptions {
        data: data.clone(),
        run: run.clone(),
        config,
        resume: false,
        device,
        progress: crate::progress::is_terminal(),
        time_limit: None,
        epoch_budget: Some(train_budget),
        deadline: Some(deadline),
        layout: mtsa_model::LayoutChoice::Auto,
    };
    let s = mtsa_train::train(&opts)?;
    tracing::info!(
        "trained {} epochs in {:.0} s, best at epoch {}{}",
        s.epochs_run,
        s.seconds,
        s.best_epoch,
        since(t0)
    );
    // The budget makes the epoch count, and so the weights, depend on the machine's speed.
    if let Some(e) = s.replanned_after {
        tracing::info!(
            "the machine's pace changed, so the plan was re-fitted after epoch {e}: the epochs \
             before followed another plan's learning rates, and `--epochs {n} --train-minutes \
             1000 --minutes 1000` trains {n} epochs on the final plan alone",
            n = s.epochs_run
        );
    } else if s.epochs_run < a.epochs {
        tracing::info!(
            "the epoch count follows this machine's speed; `--epochs {n} --train-minutes 1000 \
             --minutes 1000` trains the same {n} epochs on any machine",
            n = s.epochs_run
        );
    }
    crate::cmd_train::calibrate(&run, &data, &opts.config, device)?;

    tracing::info!(
        "4/4 evaluate internal test and external sites (GTV slices and whole scans){}",
        since(t0)
    );
    let bar = crate::progress::bar("whole scans");
    let report = mtsa_eval::evaluate(&EvaluateOptions {
        run,
        data,
        split: "all".into(),
        out: report_dir.clone(),
        load: LoadOptions {
            device,
            layout: mtsa_model::LayoutChoice::Auto,
            batch: 16,
            precision: mtsa_model::Precision::F32,
        },
        seed: a.seed,
        whole_scan: true,
        progress: Some(crate::progress::owned_callback(&bar)),
    })?;
    bar.finish_and_clear();
    println!("{}", summary_table(&report));
    println!(
        "demo finished in {:.1} min; report: {}",
        t0.elapsed().as_secs_f64() / 60.0,
        report_dir.join("report.html").display()
    );
    Ok(())
}

/// Calibration and evaluation take about this many epochs' time (at the latest epochs' pace,
/// as the trainer reckons it). Before whole scans were scored side by side the largest measured
/// was 17.8 (a 2-core AVX2-only EPYC that slowed from 22.6 to 28-30 s an epoch; the reserve was
/// 18.5); scoring two scans at once took evaluation 256 -> 198 s and calibration 148 -> 119 s
/// there (docs/whole-scan.md, thirty-first session), which puts that worst case near 13.8, and a
/// demo of the new build took 13.0 of its latest epochs. 14.5 keeps the old margin over the
/// worst case.
const AFTER_TRAINING_EPOCHS: f64 = 14.5;

/// How long the demo has run, for its step lines: where the minutes go on a slow machine.
fn since(t0: Instant) -> String {
    format!(" [{:.1} min in]", t0.elapsed().as_secs_f64() / 60.0)
}

/// The demo's training config, checked (`TrainConfig::validate`) before anything is written.
fn train_config(a: &Args) -> Result<TrainConfig> {
    let mut config = TrainConfig::for_preset(&a.preset)?;
    let size = a.size.unwrap_or(config.model.size as usize);
    config.model.size = size as i64;
    config.model.in_channels = 2 * a.context_slices as i64 + 1;
    config.epochs = a.epochs;
    config.seed = a.seed;
    config.lr = a.lr.unwrap_or(config.lr);
    config.lr_schedule = a.lr_schedule;
    // Twenty validation patients are too few for the EGFR loss or accuracy to pick an epoch (see
    // `Selection::Score` and `Selection::Dice`); the demo keeps the epoch with the best Dice.
    config.select = mtsa_train::Selection::Dice;
    // The whole plan, no early stop: the plan already fits the time budget, and the poly
    // schedule's last, low-rate epochs are where the validation Dice climbs (docs/whole-scan.md,
    // twenty-seventh session); patience on twenty patients' noisy Dice cut seed 1 short once.
    config.patience = config.epochs;
    // ~100 training patients at 6 slices each per epoch: the EGFR classifier needs patients more
    // than it needs neighbouring slices of the same lesion, and the epoch stays ~600 slices.
    config.slices_per_patient = Some(6);
    config.egfr_voting_slices_only = true;
    // Whole scans [ours, beyond the paper]: lesion-free slices in training, then the threshold
    // and minimum lesion volume chosen on the validation patients' whole scans.
    config.background_fraction = a.background_fraction;
    config.lesion_balanced = a.lesion_balanced;
    config.loss.batch_dice = a.batch_dice;
    let paper_size = MtsaConfig::preset("paper")?.size as f64;
    config.loss.beta = a
        .focal_beta
        .unwrap_or(config.loss.beta * (paper_size / size as f64).powi(2));
    config.calibrate_postprocess = true;
    config.flip_tta = !a.no_flip_tta;
    config.lesion_classifier = !a.no_lesion_classifier;
    config.look_model = config.lesion_classifier && !a.no_look_model;
    let second = a.second_size.unwrap_or((size * 3 / 2).div_ceil(64) * 64);
    config.second_size = (!a.no_second_size && config.lesion_classifier).then_some(second);
    config.segment_threshold = Some(a.segment_threshold);
    config.egfr_phenotype = !a.network_egfr;
    config.precise_bn_batches = a.precise_bn_batches;
    config.augment.zoom = match a.zoom[..] {
        [low, high] => [low, high],
        _ => anyhow::bail!("--zoom takes two numbers, LOW,HIGH"),
    };
    config.augment.thick_slices = a.thick_slices;
    config.augment.gamma = match a.gamma[..] {
        [low, high] => [low, high],
        _ => anyhow::bail!("--gamma takes two numbers, LOW,HIGH"),
    };
    config.augment.noise_sd = a.noise_sd;
    config.validate().map_err(anyhow::Error::msg)?;
    Ok(config)
}

/// The demo's `prepare` settings, checked before anything is written.
fn prepare_config(a: &Args, size: usize) -> Result<mtsa_data::PrepareConfig> {
    let prep = mtsa_data::PrepareConfig {
        size,
        fov_mm: a.fov_mm,
        background_slices: a.background_slices,
        // Thick-slice augmentation averages each slice with its nearest neighbours.
        context_slices: a.context_slices.max(usize::from(a.thick_slices > 0.0)),
        cutoff: NaiveDate::from_ymd_opt(2021, 5, 1).context("cutoff date")?,
        val_patients: a.val_patients,
        seed: a.seed,
        ..mtsa_data::PrepareConfig::default()
    };
    prep.validate()?;
    Ok(prep)
}

/// The terminal version of the report's main table.
/// The EGFR columns of the terminal tables: accuracy with its Wilson interval, AUC, Bayes.
pub fn egfr_cells(e: Option<&ClassificationReport>, bayes: Option<f64>) -> String {
    let acc = e.map_or("-".to_string(), |e| {
        match (e.accuracy.value, e.accuracy.wilson) {
            (Some(v), Some(i)) => format!("{v:.3} ({:.2}-{:.2})", i.lower, i.upper),
            (Some(v), None) => format!("{v:.3}"),
            _ => "-".to_string(),
        }
    });
    format!(
        "{acc:>22} {:>7} {:>6}",
        fixed(e.and_then(|e| e.auc), 3),
        fixed(bayes, 3)
    )
}

pub fn summary_table(r: &EvaluationReport) -> String {
    let mut t = format!(
        "{:<16} {:>8} {:>8} {:>9} {:>22} {:>7} {:>6}\n",
        "set", "patients", "Dice", "HD95 mm", "EGFR acc (95% Wilson)", "AUC", "Bayes"
    );
    for s in &r.splits {
        let _ = writeln!(
            t,
            "{:<16} {:>8} {:>8} {:>9} {}",
            s.name,
            s.patients,
            fixed(s.slice_dice.map(|m| m.mean), 4),
            fixed(s.slice_hd95_mm.map(|m| m.mean), 2),
            egfr_cells(s.egfr.as_ref(), s.bayes_accuracy)
        );
    }
    if !r.whole_scan.is_empty() {
        let _ = writeln!(
            t,
            "\nwhole scans (EGFR from the {})\n{:<16} {:>8} {:>9} {:>7} {:>9} {:>7} {:>7} {:>8} {:>9} {:>9} {:>6}",
            r.whole_scan[0].egfr_source,
            "set",
            "patients",
            "3-D Dice",
            "median",
            "lesions",
            "sens",
            "<6 mm",
            "FP/pat",
            "EGFR acc",
            "vote acc",
            "Bayes"
        );
        for w in &r.whole_scan {
            let f = fixed;
            let _ = writeln!(
                t,
                "{:<16} {:>8} {:>9} {:>7} {:>9} {:>7} {:>7} {:>8} {:>9} {:>9} {:>6}",
                w.name,
                w.patients,
                f(w.detection.dice.map(|m| m.mean), 3),
                f(w.detection.dice_median, 3),
                w.detection.lesions,
                f(w.detection.lesion_sensitivity, 3),
                f(w.detection.sensitivity_under_6mm, 3),
                f(w.detection.false_positive_lesions_per_patient, 2),
                f(w.egfr.as_ref().and_then(|e| e.accuracy.value), 3),
                // The network's own slice vote, when the call above is the phenotype's.
                f(w.network_egfr.as_ref().and_then(|e| e.accuracy.value), 3),
                f(w.bayes_accuracy, 3)
            );
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Demo {
        #[command(flatten)]
        args: Args,
    }

    /// Patience never stops the demo: `epoch - best > patience` cannot hold within the plan.
    #[test]
    fn the_demo_trains_every_epoch_it_plans() -> Result<()> {
        for argv in [vec!["demo"], vec!["demo", "--epochs", "50"]] {
            let config = train_config(&Demo::try_parse_from(argv)?.args)?;
            assert!(config.patience >= config.epochs, "{}", config.patience);
        }
        Ok(())
    }
}
