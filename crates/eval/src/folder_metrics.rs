//! `mtsa metrics` on two folders: every case's predicted mask against its reference, scored and
//! summarised as whole-scan evaluation scores mtsa's own ([`crate::mask_scores`]), as nnU-Net's
//! `nnUNetv2_evaluate_folder` scores a folder of predictions. Why: a team compares mtsa with a
//! system it runs elsewhere (nnU-Net, a vendor's tool, a second reader's contours) on the same
//! lesion-wise numbers, BraTS-METS matching and size bins, or scores an archive mtsa predicted.

use crate::files::{write_csv, write_json};
use crate::mask_scores::{score_case, CaseScores, DetectionSummary};
use crate::EvalError;
use mtsa_io::read_nifti_labels;
use mtsa_metrics::SurfaceOptions;
use ndarray::Array3;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where `predict` puts each study's mask in a batch's output folder.
const PREDICT_MASK: &str = "gtv.nii.gz";

pub struct FolderOptions {
    /// Predicted masks: `<case>.nii.gz` (or `.nii`), or `<case>/gtv.nii.gz` as `mtsa predict`
    /// writes a batch.
    pub pred: PathBuf,
    /// Reference masks, `<case>.nii.gz` (or `.nii`): every one needs its prediction.
    pub gt: PathBuf,
    pub out: PathBuf,
    /// Labels that count as foreground in both masks (empty: any non-zero).
    pub labels: Vec<u16>,
    /// HD95 (mm) of a case where exactly one mask is empty.
    pub empty_penalty_mm: f64,
    /// Replace an earlier output of `mtsa metrics` at `out`.
    pub force: bool,
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct FolderReport {
    pub pred: String,
    pub gt: String,
    pub cases: usize,
    /// Its fields sit at the record's top level, named as in `evaluate`'s `metrics.json`
    /// (`false_positive_lesions_per_patient` counts per case).
    #[serde(flatten)]
    pub detection: DetectionSummary,
}

/// Scores every reference of `opts.gt` against its prediction in `opts.pred` and writes
/// `cases.csv`, `lesions.csv` (its `split` column holds the prediction folder's name) and
/// `summary.json` into `opts.out`, whole or not at all. Every pair is found and checked before
/// anything is read or written: a reference without a prediction, a prediction without a
/// reference, or one case predicted twice is an error naming them. `progress(done, total)`
/// after each case.
pub fn score_folders(
    opts: &FolderOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<FolderReport, EvalError> {
    let pairs = pair_cases(&opts.pred, &opts.gt)?;
    let system = opts.pred.file_name().map_or_else(
        || opts.pred.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let surface = SurfaceOptions {
        empty_penalty_mm: opts.empty_penalty_mm,
        ..SurfaceOptions::default()
    };
    let done = AtomicUsize::new(0);
    let scored: Vec<CaseScores> = pairs
        .par_iter()
        .map(|(case, pred, gt)| {
            let m = read_mask_pair(pred, gt, &opts.labels)?;
            let scores = score_case(
                m.pred.view(),
                m.gt.view(),
                m.spacing,
                &surface,
                &system,
                case,
            )?;
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, pairs.len());
            Ok(scores)
        })
        .collect::<Result<_, EvalError>>()?;
    let report = FolderReport {
        pred: opts.pred.display().to_string(),
        gt: opts.gt.display().to_string(),
        cases: scored.len(),
        detection: DetectionSummary::of(&scored),
    };
    let dir = mtsa_io::AtomicDir::output(&opts.out, "metrics", opts.force)?;
    write_csv(&dir.path().join("cases.csv"), scored.iter())?;
    write_csv(
        &dir.path().join("lesions.csv"),
        scored.iter().flat_map(|s| &s.lesions),
    )?;
    write_json(&dir.path().join("summary.json"), &report)?;
    dir.commit()?;
    Ok(report)
}

/// A predicted mask and its reference on one grid, as foreground voxels.
pub struct MaskPair {
    pub pred: Array3<bool>,
    pub gt: Array3<bool>,
    /// The grid's voxel size (mm).
    pub spacing: [f64; 3],
}

/// The masks `pred` and `gt` as foreground (`labels`, or any non-zero), after checking that they
/// lie on one grid.
pub fn read_mask_pair(pred: &Path, gt: &Path, labels: &[u16]) -> Result<MaskPair, EvalError> {
    let p = read_nifti_labels(pred)?;
    let g = read_nifti_labels(gt)?;
    if p.shape() != g.shape() {
        return Err(EvalError::file(
            pred,
            format!(
                "shape {:?} differs from the reference {} ({:?})",
                p.shape(),
                gt.display(),
                g.shape()
            ),
        ));
    }
    if !p.same_geometry(&g, 1e-3) {
        return Err(EvalError::file(
            pred,
            format!(
                "affine differs from the reference {} (the masks are not on the same grid)",
                gt.display()
            ),
        ));
    }
    let fg = |v: &u16| match labels.is_empty() {
        true => *v != 0,
        false => labels.contains(v),
    };
    Ok(MaskPair {
        pred: p.data.map(fg),
        gt: g.data.map(fg),
        spacing: g.spacing(),
    })
}

/// Each reference case of `gt` with its prediction in `pred`, sorted by case name.
fn pair_cases(pred: &Path, gt: &Path) -> Result<Vec<(String, PathBuf, PathBuf)>, EvalError> {
    let references = nifti_cases(gt)?;
    if references.is_empty() {
        return Err(EvalError::file(
            gt,
            "no reference masks here (<case>.nii.gz or <case>.nii)",
        ));
    }
    // One pass over the prediction folder: its NIfTI files and `predict`'s study folders.
    let mut predictions: BTreeMap<String, PathBuf> = BTreeMap::new();
    for entry in read_dir(pred)? {
        let found = match entry.is_dir() {
            true => {
                let mask = entry.join(PREDICT_MASK);
                mask.is_file().then(|| (file_name(&entry), mask))
            }
            false => nifti_case(&entry).map(|case| (case, entry.clone())),
        };
        let Some((case, path)) = found else { continue };
        if let Some(other) = predictions.insert(case.clone(), path.clone()) {
            // Named in sorted order, whatever order the folder lists them in.
            let (first, second) = match path < other {
                true => (path, other),
                false => (other, path),
            };
            return Err(EvalError::file(
                &second,
                format!(
                    "case {case} is predicted twice (also {}); keep one",
                    first.display()
                ),
            ));
        }
    }
    let predicted = |case: &str| predictions.get(case);
    let listed = |cases: &[&str]| {
        let shown = cases[..cases.len().min(5)].join(", ");
        match cases.len().saturating_sub(5) {
            0 => shown,
            more => format!("{shown} and {more} more"),
        }
    };
    let missing: Vec<&str> = references
        .iter()
        .map(|(c, _)| c.as_str())
        .filter(|c| predicted(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(EvalError::file(
            pred,
            format!(
                "no prediction for {} reference case(s): {} (expected <case>.nii.gz or \
                 <case>/{PREDICT_MASK}; a case where nothing was found needs an empty mask, as \
                 `mtsa predict` writes one)",
                missing.len(),
                listed(&missing)
            ),
        ));
    }
    let referenced: BTreeSet<&str> = references.iter().map(|(c, _)| c.as_str()).collect();
    let extra: Vec<&str> = predictions
        .keys()
        .map(String::as_str)
        .filter(|c| !referenced.contains(c))
        .collect();
    if !extra.is_empty() {
        return Err(EvalError::file(
            gt,
            format!(
                "no reference for {} predicted case(s): {}",
                extra.len(),
                listed(&extra)
            ),
        ));
    }
    Ok(references
        .iter()
        .filter_map(|(case, gt)| Some((case.clone(), predicted(case)?.clone(), gt.clone())))
        .collect())
}

/// The NIfTI files directly in `dir`, by case name, sorted.
fn nifti_cases(dir: &Path) -> Result<Vec<(String, PathBuf)>, EvalError> {
    let mut cases: Vec<(String, PathBuf)> = read_dir(dir)?
        .into_iter()
        .filter_map(|p| Some((nifti_case(&p)?, p)))
        .collect();
    cases.sort();
    Ok(cases)
}

/// The case a NIfTI file at `p` holds: its file name without `.nii.gz` or `.nii` (`None` for
/// anything else, and for hidden files).
fn nifti_case(p: &Path) -> Option<String> {
    let name = file_name(p);
    let case = name
        .strip_suffix(".nii.gz")
        .or_else(|| name.strip_suffix(".nii"))?;
    (p.is_file() && !case.is_empty() && !case.starts_with('.')).then(|| case.to_string())
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, EvalError> {
    let entries = std::fs::read_dir(dir).map_err(|e| EvalError::file(dir, e))?;
    entries
        .map(|e| e.map(|e| e.path()).map_err(|e| EvalError::file(dir, e)))
        .collect()
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
