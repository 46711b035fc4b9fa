//! `mtsa evaluate`: a trained run on prepared splits (the paper's protocol, `scoring`) and on
//! whole scans (`wholescan`), written as metrics.json, CSVs and report.html.

use crate::figures::Overlay;
use crate::files::{write_csv, write_file, write_json};
use crate::postprocess::Postprocess;
use crate::report::write_report;
use crate::report_types::{EvaluationReport, PatientRow, EMPTY_POLICY, HD95_CONVENTION};
use crate::scoring::{score_split, SplitScores};
use crate::truth::read_truth;
use crate::wholescan::{score_whole_scans, WholeScanContext, WholeScanSplit};
use crate::EvalError;
use mtsa_infer::{load_trained, LoadOptions, RunPaths, SplitTensors};
use std::path::{Path, PathBuf};
use tch::Kind;

pub struct EvaluateOptions {
    pub run: PathBuf,
    pub data: PathBuf,
    /// `test`, `val`, `external-<site>`, or `all` (every split but `train`).
    pub split: String,
    pub out: PathBuf,
    /// Device, layout and batch of the network.
    pub load: LoadOptions,
    /// Seed of the patient bootstrap.
    pub seed: u64,
    /// Also score every patient's whole scan, read back from the cohort, through `predict`'s
    /// code (`wholescan`); with `all`, not the validation patients of a calibrated run (they
    /// chose its post-processing).
    pub whole_scan: bool,
    /// Called with (patients done, total) during whole-scan scoring.
    pub progress: Option<Box<dyn Fn(usize, usize) + Sync>>,
}

pub fn evaluate(opts: &EvaluateOptions) -> Result<EvaluationReport, EvalError> {
    let info = mtsa_data::read_info(&opts.data)?;
    let model = load_trained(&opts.run, opts.load)?;
    if model.config.size as usize != info.size {
        return Err(EvalError::Usage(format!(
            "{}: model `{}` takes {} px slices but the dataset has {} px",
            opts.run.display(),
            model.config.preset,
            model.config.size,
            info.size
        )));
    }
    let names: Vec<String> = match opts.split.as_str() {
        "all" => info
            .splits
            .iter()
            .filter(|s| *s != "train")
            .cloned()
            .collect(),
        s if info.splits.iter().any(|x| x == s) => vec![s.to_string()],
        s => {
            return Err(EvalError::Usage(format!(
                "{}: no split `{s}` (available: {}, all)",
                opts.data.display(),
                info.splits.join(", ")
            )))
        }
    };
    let truth = read_truth(&opts.data);
    let mut evaluated = Vec::new();
    for name in &names {
        // The paper's table: the slices that hold GTV.
        let split = mtsa_data::load_split(&opts.data, name)?.gtv_only();
        let tensors = SplitTensors::from_split(&split, model.net.config().context_slices())?;
        let pred = model.predict(&tensors.images, opts.load.batch)?;
        let prob: Vec<f32> =
            Vec::try_from(&pred.prob().contiguous().view([-1]).to_kind(Kind::Float))?;
        let scored = score_split(
            name,
            &split,
            &prob,
            &pred.p_mutant()?,
            model.tasks,
            truth.as_ref(),
            opts.seed,
        )?;
        evaluated.push(scored);
    }
    let mut whole = Vec::new();
    if opts.whole_scan && !model.tasks.segments() {
        tracing::info!(
            "no whole-scan scores: `{}` is classification-only and cannot find lesions",
            model.config.architecture
        );
    } else if opts.whole_scan {
        let preprocess = crate::predict::read_preprocess(&RunPaths::new(&opts.run).preprocess())?;
        let postprocess = Postprocess::of_run(&opts.run)?;
        let silent = |_: usize, _: usize| {};
        let ctx = WholeScanContext {
            info: &info,
            preprocess: &preprocess,
            postprocess: &postprocess,
            truth: truth.as_ref(),
            batch: opts.load.batch,
            seed: opts.seed,
            progress: opts.progress.as_deref().unwrap_or(&silent),
        };
        // A calibrated run's validation patients chose its post-processing (and fitted its
        // lesion classifier): their whole-scan scores are in-sample, so `all` leaves them out
        // and `--split val` still gives them.
        let calibrated = RunPaths::new(&opts.run).postprocess().exists();
        for name in names
            .iter()
            .filter(|n| !(calibrated && opts.split == "all" && *n == "val"))
        {
            whole.push(score_whole_scans(&ctx, &model, name)?);
        }
    }
    let report = EvaluationReport {
        mtsa_version: env!("CARGO_PKG_VERSION").to_string(),
        run: opts.run.display().to_string(),
        data: opts.data.display().to_string(),
        data_hash: info.data_hash.clone(),
        preset: model.config.preset.clone(),
        model: model.config.architecture,
        tasks: model.tasks,
        empty_policy: EMPTY_POLICY.to_string(),
        hd95: HD95_CONVENTION.to_string(),
        splits: evaluated.iter().map(|e| e.report.clone()).collect(),
        whole_scan: whole.iter().map(|w| w.report.clone()).collect(),
    };
    write_outputs(opts, &report, evaluated, whole)?;
    Ok(report)
}

fn write_outputs(
    opts: &EvaluateOptions,
    report: &EvaluationReport,
    evaluated: Vec<SplitScores>,
    whole: Vec<WholeScanSplit>,
) -> Result<(), EvalError> {
    let dir = mtsa_io::AtomicDir::output(&opts.out, "evaluate", true)?;
    let out = dir.path();
    write_json(&out.join("metrics.json"), report)?;
    write_csv(
        &out.join("patients.csv"),
        evaluated.iter().flat_map(|e| &e.patients),
    )?;
    write_csv(
        &out.join("slices.csv"),
        evaluated.iter().flat_map(|e| &e.slices),
    )?;
    if !whole.is_empty() {
        write_csv(
            &out.join("wholescan_patients.csv"),
            whole.iter().flat_map(|w| &w.patients),
        )?;
        write_csv(
            &out.join("lesions.csv"),
            whole.iter().flat_map(|w| &w.lesions),
        )?;
    }
    let fp_overlays = whole
        .iter()
        .flat_map(|w| w.worst.iter().map(|(_, f)| f.render()))
        .collect::<Result<Vec<Overlay>, _>>()?;
    let patients: Vec<PatientRow> = evaluated.iter().flat_map(|e| e.patients.clone()).collect();
    let overlays = evaluated
        .iter()
        .flat_map(|e| e.figures.iter().map(|f| f.render()))
        .collect::<Result<Vec<Overlay>, _>>()?;
    let history = read_history(&opts.run);
    let html = write_report(report, &patients, &history, &overlays, &fp_overlays);
    write_file(&out.join("report.html"), html.as_bytes())?;
    dir.commit()?;
    Ok(())
}

/// Training curves for the report; a run without `metrics.csv` simply has none.
fn read_history(run: &Path) -> Vec<mtsa_infer::EpochRecord> {
    let path = mtsa_infer::RunPaths::new(run).metrics();
    let Ok(mut r) = csv::Reader::from_path(path) else {
        return Vec::new();
    };
    r.deserialize().filter_map(Result::ok).collect()
}
