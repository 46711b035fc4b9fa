//! Running, or resuming, every (system, seed) of a study: train, then evaluate, each into its
//! own folder under the study's, so a killed study continues where it stopped.
use mtsa_eval::{EvaluateOptions, RadiomicsOptions};
use mtsa_model::LayoutChoice;
use mtsa_radiomics::model::CvConfig;
use mtsa_radiomics::Settings;
use mtsa_train::{LoadOptions, RunPaths, TrainOptions};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::Device;

use crate::plan::{Recipe, System};
use crate::StudyError;

/// What decides every run's result; stored as `study.json` so a resumed study runs what the
/// first call planned (seeds and systems may be added later; everything else must match).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyPlan {
    pub preset: String,
    pub epochs: usize,
    /// Wall-time limit per training run, in minutes.
    pub minutes: Option<f64>,
    /// Partial TOML laid over every run's config.
    pub config: Option<String>,
    pub data_hash: String,
}

/// Where a study keeps one run.
pub struct RunDirs {
    /// `mtsa train`'s run folder (none for the radiomics model).
    pub run: PathBuf,
    /// `mtsa evaluate`'s (or `mtsa radiomics`') output folder.
    pub eval: PathBuf,
}

impl RunDirs {
    pub fn new(out: &Path, system: &str, seed: u64) -> Self {
        let leaf = format!("seed-{seed}");
        Self {
            run: out.join("runs").join(system).join(&leaf),
            eval: out.join("evals").join(system).join(&leaf),
        }
    }

    /// A run is finished once its evaluation folder is complete (it is written whole).
    pub fn finished(&self) -> bool {
        self.eval.join("metrics.json").is_file()
    }
}

/// The per-patient CSV a system's evaluation writes.
pub fn patients_file(system: &System) -> &'static str {
    match system.recipe {
        Recipe::Network { .. } => "patients.csv",
        Recipe::Radiomics => "predictions.csv",
    }
}

/// Settings one run needs besides its system and seed.
pub struct RunContext<'a> {
    pub data: &'a Path,
    pub out: &'a Path,
    pub plan: &'a StudyPlan,
    pub device: Device,
    pub batch: usize,
    pub progress: bool,
}

/// Trains (or resumes) and evaluates one system at one seed.
pub fn run_one(ctx: &RunContext, system: &System, seed: u64) -> Result<(), StudyError> {
    let dirs = RunDirs::new(ctx.out, system.id, seed);
    let parent = dirs.eval.parent().unwrap_or(ctx.out);
    std::fs::create_dir_all(parent).map_err(|e| StudyError::file(parent, e))?;
    let Some(config) = system.train_config(
        &ctx.plan.preset,
        ctx.plan.config.as_deref(),
        seed,
        ctx.plan.epochs,
    )?
    else {
        mtsa_eval::radiomics(&RadiomicsOptions {
            data: ctx.data.to_path_buf(),
            out: dirs.eval.clone(),
            settings: Settings::for_mri(),
            cv: CvConfig {
                seed,
                ..CvConfig::default()
            },
            seed,
            progress: None,
        })?;
        return Ok(());
    };
    // Training ended (epochs, early stop or time limit) and only the evaluation is missing: a
    // time-limited run must not train on when the study resumes.
    let trained = dirs.run.join(TRAINED_MARKER);
    if !trained.is_file() {
        train(ctx, &dirs, config)?;
        mtsa_io::write_atomic(&trained, |tmp| {
            std::fs::write(tmp, b"").map_err(|e| mtsa_io::IoError::io(tmp, e))
        })?;
    }
    mtsa_eval::evaluate(&EvaluateOptions {
        run: dirs.run.clone(),
        data: ctx.data.to_path_buf(),
        split: "all".into(),
        out: dirs.eval.clone(),
        load: LoadOptions {
            device: ctx.device,
            layout: LayoutChoice::Auto,
            batch: ctx.batch,
            precision: mtsa_model::Precision::F32,
        },
        seed,
        whole_scan: false,
        progress: None,
    })?;
    Ok(())
}

/// Written into a run folder once its training has ended, however it ended.
const TRAINED_MARKER: &str = "study-trained";

/// Trains the run, or resumes it from its last checkpoint.
fn train(
    ctx: &RunContext,
    dirs: &RunDirs,
    config: mtsa_train::TrainConfig,
) -> Result<(), StudyError> {
    let resume = RunPaths::new(&dirs.run).checkpoint().exists();
    let run_parent = dirs.run.parent().unwrap_or(ctx.out);
    std::fs::create_dir_all(run_parent).map_err(|e| StudyError::file(run_parent, e))?;
    mtsa_train::train(&TrainOptions {
        data: ctx.data.to_path_buf(),
        run: dirs.run.clone(),
        config,
        resume,
        device: ctx.device,
        progress: ctx.progress,
        time_limit: ctx.plan.minutes.map(mtsa_train::minutes).transpose()?,
        epoch_budget: None,
        deadline: None,
        layout: mtsa_model::LayoutChoice::Auto,
    })?;
    Ok(())
}

/// "about 12 min left" from the runs timed so far in this call.
pub fn time_left(started: Instant, done_here: usize, remaining: usize) -> String {
    if done_here == 0 {
        return "time left unknown".into();
    }
    let per_run = started.elapsed().as_secs_f64() / done_here as f64;
    let left = per_run * remaining as f64;
    if left < 90.0 {
        format!("about {left:.0} s left")
    } else {
        format!("about {:.0} min left", left / 60.0)
    }
}
