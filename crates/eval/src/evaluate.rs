//! `mtsa evaluate`: the paper's protocol on a prepared split (spec §5-§6).

use crate::files::{write_csv, write_file, write_json};
use crate::overlay::{render_overlay, Outline};
use crate::report::{write_report, Overlay};
use crate::segment::Postprocess;
use crate::truth::{bayes_accuracy, read_truth};
use crate::wholescan::{score_whole_scans, WholeScanContext, WholeScanReport, WholeScanSplit};
use crate::{EvalError, MeanCi};
use mtsa_data::{Egfr, SliceRecord};
use mtsa_infer::{
    load_trained, patient_egfr_call, slices_by_patient, LoadOptions, RunPaths, SplitTensors,
};
use mtsa_metrics::{
    binary_classification_with, segmentation_metrics_2d, segmentation_metrics_3d, BootstrapOptions,
    ClassificationOptions, ClassificationReport, SurfaceOptions,
};
use mtsa_model::Tasks;
use ndarray::{Array3, ArrayView2, Axis};
use serde::Serialize;
use std::collections::BTreeMap;
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
    /// code (`wholescan`).
    pub whole_scan: bool,
    /// Called with (patients done, total) during whole-scan scoring.
    pub progress: Option<Box<dyn Fn(usize, usize)>>,
}

/// One row of `slices.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct SliceRow {
    pub split: String,
    pub patient_id: String,
    pub slice_index: usize,
    pub gt_area_px: usize,
    pub pred_area_px: usize,
    /// Segmentation scores; empty for a classification-only system.
    pub dice: Option<f64>,
    pub hd95_mm: Option<f64>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    /// Empty for a segmentation-only system.
    pub p_mutant: Option<f64>,
}

/// One row of `patients.csv`: 3-D segmentation over the patient's evaluated slices and the
/// patient-level EGFR call.
#[derive(Debug, Clone, Serialize)]
pub struct PatientRow {
    pub split: String,
    pub patient_id: String,
    pub site: String,
    pub slices: usize,
    /// Segmentation scores; empty for a classification-only system.
    pub dice: Option<f64>,
    pub hd95_mm: Option<f64>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub gt_lesions: usize,
    pub detected_lesions: usize,
    pub false_positive_lesions: usize,
    pub egfr_label: Option<Egfr>,
    pub p_mutant: Option<f64>,
    pub egfr_call: Option<Egfr>,
    pub correct: Option<bool>,
    /// The generator's P(mutant), synthetic cohorts only.
    pub truth_p_mutant: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SplitReport {
    pub name: String,
    pub patients: usize,
    pub slices: usize,
    pub slice_dice: Option<MeanCi>,
    pub slice_hd95_mm: Option<MeanCi>,
    pub slice_precision: Option<MeanCi>,
    pub slice_recall: Option<MeanCi>,
    pub patient_dice: Option<MeanCi>,
    pub patient_hd95_mm: Option<MeanCi>,
    pub patient_precision: Option<MeanCi>,
    pub patient_recall: Option<MeanCi>,
    /// Detected / counted ground-truth lesions over the split (BraTS-METS matching).
    pub lesion_sensitivity: Option<f64>,
    pub false_positive_lesions_per_patient: Option<f64>,
    pub egfr: Option<ClassificationReport>,
    /// Expected accuracy of the Bayes-optimal classifier on these patients (synthetic only).
    pub bayes_accuracy: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvaluationReport {
    pub mtsa_version: String,
    pub run: String,
    pub data: String,
    pub data_hash: String,
    pub preset: String,
    /// The network (`mtsa-net` or a comparison system) and the tasks it has outputs for.
    pub model: mtsa_model::Architecture,
    pub tasks: Tasks,
    pub empty_policy: String,
    pub hd95: String,
    pub splits: Vec<SplitReport>,
    /// Whole-scan scores per split (empty when not asked for).
    pub whole_scan: Vec<WholeScanReport>,
}

pub const EMPTY_POLICY: &str = "both masks empty: Dice 1, HD95 0; exactly one empty: Dice 0, HD95 374 mm (BraTS-METS penalty); such cases are counted, never dropped";
pub const HD95_CONVENTION: &str = "larger of the two directed 95th percentiles of boundary distances, linear interpolation (MONAI), in mm";

struct Evaluated {
    report: SplitReport,
    patients: Vec<PatientRow>,
    slices: Vec<SliceRow>,
    best_worst: Vec<(f64, Overlay)>,
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
            model: &model,
            info: &info,
            preprocess: &preprocess,
            postprocess: &postprocess,
            truth: truth.as_ref(),
            batch: opts.load.batch,
            seed: opts.seed,
            progress: opts.progress.as_deref().unwrap_or(&silent),
        };
        for name in &names {
            whole.push(score_whole_scans(&ctx, name)?);
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

/// The scores of one split from given predictions, without a network: what `evaluate` writes to
/// `metrics.json`, `patients.csv` and `slices.csv` for that split.
#[derive(Debug, Clone)]
pub struct SplitScores {
    pub report: SplitReport,
    pub patients: Vec<PatientRow>,
    pub slices: Vec<SliceRow>,
}

/// Scores `split` as `evaluate` does. `prob`: per-pixel GTV probability, slice-major like
/// `split.masks` (thresholded at > 0.5); `p_mutant`: per-slice EGFR-mutant probability;
/// `truth`: the synthetic cohort's P(mutant) per patient, if known; `seed`: the bootstrap's.
/// Both tasks are scored.
pub fn score_predictions(
    name: &str,
    split: &mtsa_data::SplitData,
    prob: &[f32],
    p_mutant: &[f64],
    truth: Option<&BTreeMap<String, f64>>,
    seed: u64,
) -> Result<SplitScores, EvalError> {
    let e = score_split(name, split, prob, p_mutant, Tasks::Both, truth, seed)?;
    Ok(SplitScores {
        report: e.report,
        patients: e.patients,
        slices: e.slices,
    })
}

fn score_split(
    name: &str,
    split: &mtsa_data::SplitData,
    prob: &[f32],
    p_mutant: &[f64],
    tasks: Tasks,
    truth: Option<&BTreeMap<String, f64>>,
    seed: u64,
) -> Result<Evaluated, EvalError> {
    let (seg, cls) = (tasks.segments(), tasks.classifies());
    let s = split.size;
    let n = split.slices.len();
    if prob.len() != n * s * s || split.masks.len() != n * s * s || p_mutant.len() != n {
        return Err(EvalError::Usage(format!(
            "split {name}: {} probabilities, {} mask pixels and {} EGFR scores for {n} slices of {s} x {s}",
            prob.len(),
            split.masks.len(),
            p_mutant.len()
        )));
    }
    let pred = Array3::from_shape_fn((n, s, s), |(k, r, c)| prob[(k * s + r) * s + c] > 0.5);
    let gt = Array3::from_shape_fn((n, s, s), |(k, r, c)| split.masks[(k * s + r) * s + c] > 0);
    let surface = SurfaceOptions::default();

    let mut slices = Vec::with_capacity(n);
    for (k, rec) in split.slices.iter().enumerate() {
        let (p, g) = (pred.index_axis(Axis(0), k), gt.index_axis(Axis(0), k));
        let m = segmentation_metrics_2d(p, g, rec.spacing_mm, &surface)?;
        slices.push(SliceRow {
            split: name.to_string(),
            patient_id: rec.patient_id.clone(),
            slice_index: rec.slice_index,
            gt_area_px: m.gt_voxels,
            pred_area_px: m.pred_voxels,
            dice: seg.then_some(m.dice),
            hd95_mm: seg.then_some(m.hd95_mm),
            precision: m.precision.filter(|_| seg),
            recall: m.recall.filter(|_| seg),
            p_mutant: cls.then_some(p_mutant[k]),
        });
    }

    let groups = slices_by_patient(&split.slices);
    let mut patients = Vec::new();
    let mut lesion_counts = (0usize, 0usize, 0usize);
    let mut overlays = Vec::new();
    for (id, ks) in &groups {
        let rec = &split.slices[ks[0]];
        let (pv, gv, spacing) = stack_patient(&pred, &gt, &split.slices, ks);
        let m = segmentation_metrics_3d(pv.view(), gv.view(), spacing, &surface)?;
        let lesions = m.lesions.as_ref();
        let (gt_l, tp_l, fp_l) = lesions.map_or((0, 0, 0), |l| {
            (
                l.gt_lesions - l.ignored_gt_lesions,
                l.true_positives,
                l.false_positives,
            )
        });
        lesion_counts = (
            lesion_counts.0 + gt_l,
            lesion_counts.1 + tp_l,
            lesion_counts.2 + fp_l,
        );
        // A classifier has no mask of its own: it votes by the GTV slices' true areas, the
        // slices a radiologist would hand it.
        let areas: Vec<usize> = ks
            .iter()
            .map(|&k| {
                if seg {
                    slices[k].pred_area_px
                } else {
                    slices[k].gt_area_px
                }
            })
            .collect();
        let probs: Vec<f64> = ks.iter().map(|&k| p_mutant[k]).collect();
        let call = patient_egfr_call(&areas, &probs).filter(|_| cls);
        let label = rec.egfr;
        patients.push(PatientRow {
            split: name.to_string(),
            patient_id: id.to_string(),
            site: rec.site.clone(),
            slices: ks.len(),
            dice: seg.then_some(m.dice),
            hd95_mm: seg.then_some(m.hd95_mm),
            precision: m.precision.filter(|_| seg),
            recall: m.recall.filter(|_| seg),
            gt_lesions: gt_l,
            detected_lesions: tp_l,
            false_positive_lesions: fp_l,
            egfr_label: label.map(Egfr::from_class),
            p_mutant: call.as_ref().map(|c| c.probability),
            egfr_call: call.as_ref().map(|c| Egfr::call(c.probability)),
            correct: label.zip(call.as_ref()).map(|(l, c)| c.egfr().class() == l),
            truth_p_mutant: truth.and_then(|t| t.get(*id).copied()),
        });
        let biggest = *ks
            .iter()
            .max_by_key(|&&k| slices[k].gt_area_px)
            .unwrap_or(&ks[0]);
        overlays.push((
            m.dice,
            slice_overlay(
                split,
                biggest,
                pred.index_axis(Axis(0), biggest),
                id,
                m.dice,
            )?,
        ));
    }
    if !seg {
        overlays.clear();
    }
    overlays.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Best two and worst two patients by 3-D Dice.
    if overlays.len() > 4 {
        let worst = overlays.split_off(overlays.len() - 2);
        overlays.truncate(2);
        overlays.extend(worst);
    }
    let best_worst = overlays;

    let egfr = egfr_report(patients.iter().map(|p| (p.egfr_label, p.p_mutant)), seed)?;
    let bayes =
        truth.and_then(|_| bayes_accuracy(patients.iter().filter_map(|p| p.truth_p_mutant)));
    let n_pat = patients.len();
    let report = SplitReport {
        name: name.to_string(),
        patients: n_pat,
        slices: n,
        slice_dice: MeanCi::of(slices.iter().map(|r| r.dice)),
        slice_hd95_mm: MeanCi::of(slices.iter().map(|r| r.hd95_mm)),
        slice_precision: MeanCi::of(slices.iter().map(|r| r.precision)),
        slice_recall: MeanCi::of(slices.iter().map(|r| r.recall)),
        patient_dice: MeanCi::of(patients.iter().map(|r| r.dice)),
        patient_hd95_mm: MeanCi::of(patients.iter().map(|r| r.hd95_mm)),
        patient_precision: MeanCi::of(patients.iter().map(|r| r.precision)),
        patient_recall: MeanCi::of(patients.iter().map(|r| r.recall)),
        lesion_sensitivity: (seg && lesion_counts.0 > 0)
            .then(|| lesion_counts.1 as f64 / lesion_counts.0 as f64),
        false_positive_lesions_per_patient: (seg && n_pat > 0)
            .then(|| lesion_counts.2 as f64 / n_pat as f64),
        egfr,
        bayes_accuracy: bayes,
    };
    Ok(Evaluated {
        report,
        patients,
        slices,
        best_worst,
    })
}

/// Patient-level EGFR statistics over the patients with both a label (`mutant`/`wild`) and a
/// call; `None` when there are none.
pub(crate) fn egfr_report(
    calls: impl Iterator<Item = (Option<Egfr>, Option<f64>)>,
    seed: u64,
) -> Result<Option<ClassificationReport>, EvalError> {
    let (labels, scores): (Vec<bool>, Vec<f64>) = calls
        .filter_map(|(label, p)| Some((label?.is_mutant(), p?)))
        .unzip();
    if labels.is_empty() {
        return Ok(None);
    }
    let opts = ClassificationOptions {
        bootstrap: Some(BootstrapOptions {
            seed,
            ..BootstrapOptions::default()
        }),
        ..ClassificationOptions::default()
    };
    Ok(Some(binary_classification_with(&labels, &scores, &opts)?))
}

/// A patient's evaluated slices as a 3-D block spanning its lowest to highest slice index, so
/// 3-D distances see the true slice gaps; slices in between that were not evaluated count as
/// empty in both masks.
fn stack_patient(
    pred: &Array3<bool>,
    gt: &Array3<bool>,
    records: &[SliceRecord],
    ks: &[usize],
) -> (Array3<bool>, Array3<bool>, [f64; 3]) {
    let lo = ks
        .iter()
        .map(|&k| records[k].slice_index)
        .min()
        .unwrap_or(0);
    let hi = ks
        .iter()
        .map(|&k| records[k].slice_index)
        .max()
        .unwrap_or(0);
    let (_, h, w) = pred.dim();
    let mut pv = Array3::from_elem((hi - lo + 1, h, w), false);
    let mut gv = pv.clone();
    for &k in ks {
        let z = records[k].slice_index - lo;
        pv.index_axis_mut(Axis(0), z)
            .assign(&pred.index_axis(Axis(0), k));
        gv.index_axis_mut(Axis(0), z)
            .assign(&gt.index_axis(Axis(0), k));
    }
    let r = &records[ks[0]];
    (
        pv,
        gv,
        [r.slice_thickness_mm, r.spacing_mm[0], r.spacing_mm[1]],
    )
}

fn slice_overlay(
    split: &mtsa_data::SplitData,
    k: usize,
    pred: ArrayView2<bool>,
    patient: &str,
    dice: f64,
) -> Result<Overlay, EvalError> {
    let s = split.size;
    let img = ArrayView2::from_shape((s, s), split.image(k))
        .map_err(|e| EvalError::Usage(e.to_string()))?;
    let gt = ArrayView2::from_shape((s, s), split.mask(k))
        .map_err(|e| EvalError::Usage(e.to_string()))?
        .map(|v| *v > 0);
    let png = render_overlay(
        img.view(),
        &[
            Outline {
                mask: gt.view(),
                color: [0, 220, 0],
            },
            Outline {
                mask: pred,
                color: [255, 40, 40],
            },
        ],
        (384 / s).max(1) as u32,
    )?;
    Ok(Overlay {
        caption: format!(
            "{patient}, slice {}: Dice {dice:.3} (green truth, red prediction)",
            split.slices[k].slice_index
        ),
        png,
    })
}

fn write_outputs(
    opts: &EvaluateOptions,
    report: &EvaluationReport,
    evaluated: Vec<Evaluated>,
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
    let fp_overlays: Vec<Overlay> = whole
        .into_iter()
        .flat_map(|w| w.worst.into_iter().map(|(_, o)| o))
        .collect();
    let patients: Vec<PatientRow> = evaluated.iter().flat_map(|e| e.patients.clone()).collect();
    let overlays: Vec<Overlay> = evaluated
        .into_iter()
        .flat_map(|e| e.best_worst.into_iter().map(|(_, o)| o))
        .collect();
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
