//! `mtsa study`: the paper's experiments in one command. Every system of Tables 3-5 (MTSA-Net,
//! its single-task forms and loss ablations, the comparison networks, the radiomics model) is
//! trained through the same pipeline (same prepared slices, splits, augmentation, early
//! stopping, metrics, patient EGFR vote) for several seeds, evaluated on every test split, and
//! compiled into the tables with the paper's numbers beside ours and paired tests against
//! MTSA-Net. Each run lives in its own folder; a killed study resumes where it stopped.

mod error;
mod paper;
mod plan;
mod render;
mod results;
mod run;
mod summary;
mod tables;

pub use error::StudyError;
pub use paper::published;
pub use plan::{system, Recipe, System, Table, REFERENCE, SYSTEMS};
pub use results::{read_run, Metric, PatientScore, RunResult, SplitResult};
pub use run::{RunDirs, StudyPlan};
pub use summary::{t_975, SeedSummary};
pub use tables::{build_rows, Comparison, Results, TableRow, ALPHA};

use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::Device;

pub struct StudyOptions {
    /// Prepared dataset (`mtsa prepare`).
    pub data: PathBuf,
    /// The study's folder: `study.json`, `runs/`, `evals/` and the tables.
    pub out: PathBuf,
    pub preset: String,
    pub seeds: Vec<u64>,
    /// The systems to run (all of [`SYSTEMS`] by default).
    pub systems: Vec<&'static System>,
    pub epochs: usize,
    /// Wall-time limit per training run, in minutes.
    pub minutes: Option<f64>,
    /// Partial TOML laid over every run's config (as `mtsa train --config`).
    pub config: Option<String>,
    pub device: Device,
    pub batch: usize,
    /// Patient-bootstrap resamples of the paired Dice and HD95 tests.
    pub resamples: usize,
    /// Show the trainer's epoch bars.
    pub progress: bool,
}

/// What a study call did.
#[derive(Debug)]
pub struct StudySummary {
    pub runs: usize,
    /// Runs found finished and skipped.
    pub skipped: usize,
    pub seconds: f64,
    pub rows: Vec<TableRow>,
}

/// Runs what is missing, then writes `tables.csv`, `tables.md`, `tables.json` and
/// `study.html` into `opts.out`.
pub fn study(opts: &StudyOptions) -> Result<StudySummary, StudyError> {
    let started = Instant::now();
    let info = mtsa_data::read_info(&opts.data)?;
    if opts.seeds.is_empty() || opts.systems.is_empty() || opts.epochs == 0 {
        return Err(StudyError::Usage(
            "a study needs at least one seed, one system and one epoch".into(),
        ));
    }
    // Checked before the study's folder is written, not when the first run starts.
    opts.minutes.map(mtsa_train::minutes).transpose()?;
    let plan = StudyPlan {
        preset: opts.preset.clone(),
        epochs: opts.epochs,
        minutes: opts.minutes,
        config: opts.config.clone(),
        data_hash: info.data_hash.clone(),
    };
    // Every run's config (the overlay included) is checked before the study's folder is
    // written, not when that run's turn comes hours later.
    for system in &opts.systems {
        let config = system.train_config(&plan.preset, plan.config.as_deref(), 0, plan.epochs)?;
        if let Some(c) = config {
            c.validate()
                .map_err(|e| StudyError::Usage(format!("{}: {e}", system.id)))?;
        }
    }
    // `mtsa radiomics` extracts features alone from a dataset without EGFR labels; a study
    // needs its model and predictions.
    if !info.has_egfr {
        if let Some(s) = opts
            .systems
            .iter()
            .find(|s| matches!(s.recipe, Recipe::Radiomics))
        {
            return Err(StudyError::Usage(format!(
                "{}: the dataset has no EGFR labels, which the system {} needs",
                opts.data.display(),
                s.id
            )));
        }
    }
    start_or_resume(&opts.out, &plan)?;
    let ctx = run::RunContext {
        data: &opts.data,
        out: &opts.out,
        plan: &plan,
        device: opts.device,
        batch: opts.batch,
        progress: opts.progress,
    };
    let jobs: Vec<(u64, &System)> = opts
        .seeds
        .iter()
        .flat_map(|&seed| opts.systems.iter().map(move |s| (seed, *s)))
        .collect();
    let todo = jobs
        .iter()
        .filter(|(seed, s)| !RunDirs::new(&opts.out, s.id, *seed).finished())
        .count();
    let skipped = jobs.len() - todo;
    if skipped > 0 {
        tracing::info!("{skipped} of {} runs already finished", jobs.len());
    }
    let work_started = Instant::now();
    let mut done_here = 0;
    for (k, (seed, system)) in jobs.iter().enumerate() {
        if RunDirs::new(&opts.out, system.id, *seed).finished() {
            continue;
        }
        tracing::info!(
            "study run {}/{}: {} seed {seed} ({})",
            k + 1,
            jobs.len(),
            system.id,
            run::time_left(work_started, done_here, todo - done_here)
        );
        let t = Instant::now();
        run::run_one(&ctx, system, *seed)?;
        done_here += 1;
        tracing::info!(
            "study run {}/{}: {} seed {seed} finished in {:.0} s",
            k + 1,
            jobs.len(),
            system.id,
            t.elapsed().as_secs_f64()
        );
    }
    let results = collect(&opts.out, &opts.seeds)?;
    // The internal test set (the paper's) first, then the external sites.
    let mut splits: Vec<String> = info
        .splits
        .iter()
        .filter(|s| *s != "train" && *s != "val")
        .cloned()
        .collect();
    splits.sort_by_key(|s| (s != "test", s.clone()));
    let rows = build_rows(&results, &splits, opts.resamples, 0)?;
    write_tables(&opts.out, &plan, &opts.seeds, &rows)?;
    Ok(StudySummary {
        runs: jobs.len(),
        skipped,
        seconds: started.elapsed().as_secs_f64(),
        rows,
    })
}

/// Claims `out` and records the plan, or checks that a resumed study keeps it.
fn start_or_resume(out: &Path, plan: &StudyPlan) -> Result<(), StudyError> {
    mtsa_io::claim_output_dir(out, "study", mtsa_io::Existing::Keep)?;
    let path = out.join("study.json");
    if path.is_file() {
        let bytes = std::fs::read(&path).map_err(|e| StudyError::file(&path, e))?;
        let stored: StudyPlan =
            serde_json::from_slice(&bytes).map_err(|e| StudyError::file(&path, e))?;
        if stored != *plan {
            return Err(StudyError::file(
                &path,
                format!(
                    "this study was started with another plan (preset {}, {} epochs, {:?} minutes, \
                     data hash {}); resume it with the same options or choose another --out",
                    stored.preset, stored.epochs, stored.minutes, stored.data_hash
                ),
            ));
        }
        return Ok(());
    }
    write_json(&path, plan)
}

/// Every finished run of the study folder for `seeds`, whichever call ran it.
fn collect(out: &Path, seeds: &[u64]) -> Result<Results, StudyError> {
    let mut results = Results::new();
    for system in SYSTEMS.iter() {
        for &seed in seeds {
            let dirs = RunDirs::new(out, system.id, seed);
            if dirs.finished() {
                let run = read_run(&dirs.eval, run::patients_file(system))?;
                results
                    .entry(system.id.to_string())
                    .or_default()
                    .insert(seed, run);
            }
        }
    }
    Ok(results)
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), StudyError> {
    let json = serde_json::to_vec_pretty(value).map_err(|e| StudyError::file(path, e))?;
    write_bytes(path, &json)
}

fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), StudyError> {
    mtsa_io::write_atomic(path, |tmp| {
        std::fs::write(tmp, bytes).map_err(|e| mtsa_io::IoError::io(tmp, e))
    })?;
    Ok(())
}

fn write_tables(
    out: &Path,
    plan: &StudyPlan,
    seeds: &[u64],
    rows: &[TableRow],
) -> Result<(), StudyError> {
    let preamble = format!(
        "mtsa study: preset {}, seeds {:?}, {} epochs per run{}.",
        plan.preset,
        seeds,
        plan.epochs,
        plan.minutes.map_or(String::new(), |m| format!(
            " or {m} min, whichever ends first"
        ))
    );
    let csv = render::csv(rows).map_err(|e| StudyError::file(&out.join("tables.csv"), e))?;
    write_bytes(&out.join("tables.csv"), csv.as_bytes())?;
    write_bytes(
        &out.join("tables.md"),
        render::markdown(rows, &preamble).as_bytes(),
    )?;
    write_json(&out.join("tables.json"), &rows)?;
    let link = |system: &str, seed: u64| {
        let file = if system == "radiomics" {
            "metrics.json"
        } else {
            "report.html"
        };
        format!("evals/{system}/seed-{seed}/{file}")
    };
    write_bytes(
        &out.join("study.html"),
        render::html(rows, &preamble, &link).as_bytes(),
    )
}
