//! `mtsa predict` over an archive: many studies, the model loaded once, one output folder per
//! study and a summary table. Finished studies are skipped on a rerun, a failing study is
//! reported and the others go on, and `--part I --parts N` splits the studies deterministically
//! so N machines (a Slurm array, a Kubernetes Indexed Job) share the work without talking.

use crate::predict::{read_input, Outputs, Predictor, SeriesPick};
use crate::scan_workers::{score_scans, Workers};
use crate::EvalError;
use mtsa_data::nifti_stem;
use mtsa_infer::LoadOptions;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One study of a batch: its name (the output folder's), its input and, for a scan that is not
/// skull-stripped, its brain mask ([`with_brain_masks`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Study {
    pub name: String,
    pub input: PathBuf,
    pub brain_mask: Option<PathBuf>,
}

pub struct BatchOptions {
    pub run: PathBuf,
    pub studies: Vec<Study>,
    /// The batch's folder: `<study>/` per study and the summary CSV.
    pub out: PathBuf,
    /// Device, layout and batch of the one model every study runs through.
    pub load: LoadOptions,
    pub outputs: Outputs,
    /// Which series of each DICOM study to read (`SeriesPick::Described` to pick the T1-CE of
    /// studies exported whole).
    pub series: SeriesPick,
    /// This machine's share: studies `part`, `part + parts`, ... of the name-sorted list.
    pub part: usize,
    pub parts: usize,
    pub progress: Option<Box<dyn Fn(usize, usize) + Sync>>,
}

/// One row of the summary CSV.
#[derive(Debug, Clone, Serialize)]
pub struct BatchRow {
    pub study: String,
    pub input: String,
    /// The brain mask the study was read with, when the batch had one for it.
    pub brain_mask: Option<String>,
    /// `done`, `done earlier` (skipped: its output folder is complete) or `failed`.
    pub status: String,
    pub gtv_volume_ml: Option<f64>,
    pub lesions: Option<usize>,
    pub egfr_probability: Option<f64>,
    pub egfr_call: Option<mtsa_data::Egfr>,
    pub seconds: f64,
    pub error: Option<String>,
    /// The study's `egfr.json` warnings, joined by "; " (slices much thicker than the run was
    /// calibrated on), so an archive's doubtful studies can be found in the summary.
    pub warnings: Option<String>,
    /// DICOM studies: the series read, by description and UID (`--series-description` picks
    /// it from a study exported whole), so the archive's choice can be checked study by study.
    pub series_description: Option<String>,
    pub series_uid: Option<String>,
}

fn is_nifti(path: &Path) -> bool {
    nifti_stem(&file_name(path)).is_some()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn visible_entries(dir: &Path) -> Result<Vec<PathBuf>, EvalError> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| EvalError::file(dir, e))? {
        let path = entry.map_err(|e| EvalError::file(dir, e))?.path();
        if !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            entries.push(path);
        }
    }
    entries.sort();
    Ok(entries)
}

/// The studies `input` names, or `None` when it is a single study: a NIfTI file, a DICOM file
/// (its series), or a folder with files that are not NIfTI (one DICOM series). A batch is a
/// folder whose entries are NIfTI files and/or series folders, or a list file with one input
/// per line (relative paths from the list's folder; blank lines and `#` comments ignored).
/// Names come from the file (without `.nii.gz`) or folder; two studies with one name are
/// refused.
pub fn batch_studies(input: &Path) -> Result<Option<Vec<Study>>, EvalError> {
    let paths = if input.is_dir() {
        let entries = visible_entries(input)?;
        if entries.iter().any(|p| p.is_file() && !is_nifti(p)) {
            return Ok(None);
        }
        entries
    } else if is_nifti(input) || mtsa_dicom::is_dicom_file(input) {
        return Ok(None);
    } else {
        let text = std::fs::read_to_string(input).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                EvalError::file(
                    input,
                    "is neither a NIfTI file (.nii, .nii.gz), a DICOM file, a folder, nor a \
                     list of inputs (text, one path per line)",
                )
            } else {
                EvalError::file(input, e)
            }
        })?;
        let base = input.parent().unwrap_or(Path::new("."));
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| base.join(l))
            .collect()
    };
    let mut studies: Vec<Study> = Vec::with_capacity(paths.len());
    for path in paths {
        let file = file_name(&path);
        let name = nifti_stem(&file).unwrap_or(&file).to_string();
        if name.is_empty() || !(path.is_dir() || is_nifti(&path)) {
            return Err(EvalError::file(
                input,
                format!(
                    "{} is neither a NIfTI file nor a DICOM series folder",
                    path.display()
                ),
            ));
        }
        if let Some(other) = studies.iter().find(|s| s.name == name) {
            return Err(EvalError::file(
                input,
                format!(
                    "{} and {} would both write study `{name}`",
                    other.input.display(),
                    path.display()
                ),
            ));
        }
        studies.push(Study {
            name,
            input: path,
            brain_mask: None,
        });
    }
    if studies.is_empty() {
        return Err(EvalError::file(input, "holds no study"));
    }
    studies.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Some(studies))
}

/// `studies` with their brain masks from `dir`: `<study>.nii.gz` (or `.nii`), on the study's
/// grid, as `mtsa predict --brain-mask` takes one. A study without a mask there is read as it
/// is (skull-stripped already, or warned about), and a mask that names no study is refused, as
/// `prepare` reads a cohort's `brainmasks/` ([`mtsa_data::brain_masks_by_id`]).
pub fn with_brain_masks(mut studies: Vec<Study>, dir: &Path) -> Result<Vec<Study>, EvalError> {
    if !dir.is_dir() {
        return Err(EvalError::file(dir, "is not a folder of brain masks"));
    }
    let mut masks = mtsa_data::brain_masks_by_id(dir, studies.iter().map(|s| s.name.as_str()))?;
    for study in &mut studies {
        study.brain_mask = masks.remove(&study.name);
    }
    Ok(studies)
}

/// This part's studies: every `parts`-th of the name-sorted list, starting at `part`.
pub fn shard(studies: &[Study], part: usize, parts: usize) -> Result<Vec<Study>, EvalError> {
    if parts == 0 || part >= parts {
        return Err(EvalError::Usage(format!(
            "--part {part} --parts {parts}: parts must be at least 1 and part one of 0..{parts}"
        )));
    }
    Ok(studies.iter().skip(part).step_by(parts).cloned().collect())
}

/// The summary CSV's name: `summary.csv`, or one per part when the batch is split.
pub fn summary_name(part: usize, parts: usize) -> String {
    if parts == 1 {
        "summary.csv".into()
    } else {
        format!("summary-part-{part}-of-{parts}.csv")
    }
}

/// Runs this part's studies; returns their rows, also written to the summary CSV in `out`.
pub fn predict_batch(opts: &BatchOptions) -> Result<Vec<BatchRow>, EvalError> {
    let studies = shard(&opts.studies, opts.part, opts.parts)?;
    let predictor = Predictor::load(&opts.run, opts.load)?;
    let progress = |i, n| {
        if let Some(p) = &opts.progress {
            p(i, n)
        }
    };
    // Several studies side by side on a CPU, as `evaluate` scores whole scans; the summary
    // keeps the studies' order.
    let rows = score_scans(
        Workers::for_model(predictor.model(), studies.len()),
        &studies,
        &predictor,
        Predictor::replica,
        |predictor, study| Ok(run_study(predictor, study, opts)),
        &progress,
    )?;
    let path = opts.out.join(summary_name(opts.part, opts.parts));
    mtsa_io::write_atomic(&path, |tmp| {
        let csv_err = |e: csv::Error| mtsa_io::IoError::invalid(&path, e.to_string());
        let mut w = csv::Writer::from_path(tmp).map_err(csv_err)?;
        for r in &rows {
            w.serialize(r).map_err(csv_err)?;
        }
        w.flush().map_err(|e| mtsa_io::IoError::io(tmp, e))
    })?;
    Ok(rows)
}

fn run_study(predictor: &Predictor, study: &Study, opts: &BatchOptions) -> BatchRow {
    let t0 = Instant::now();
    let out = opts.out.join(&study.name);
    let mut row = BatchRow {
        study: study.name.clone(),
        input: study.input.display().to_string(),
        brain_mask: study.brain_mask.as_ref().map(|m| m.display().to_string()),
        status: "done".into(),
        gtv_volume_ml: None,
        lesions: None,
        egfr_probability: None,
        egfr_call: None,
        seconds: 0.0,
        error: None,
        warnings: None,
        series_description: None,
        series_uid: None,
    };
    // An output folder appears whole or not at all, so one with its egfr.json is finished.
    if let Some(done) = finished(&out) {
        row.status = "done earlier".into();
        row.gtv_volume_ml = done["gtv_volume_ml"].as_f64();
        row.lesions = done["lesions"].as_u64().map(|n| n as usize);
        row.egfr_probability = done["egfr_probability"].as_f64();
        row.egfr_call = done["egfr_call"].as_str().and_then(|s| s.parse().ok());
        row.warnings = done["warnings"].as_array().and_then(|w| {
            let text: Vec<&str> = w.iter().filter_map(|v| v.as_str()).collect();
            joined(&text)
        });
        let series = &done["series"];
        row.series_description = series["series_description"].as_str().map(str::to_string);
        row.series_uid = series["series_instance_uid"].as_str().map(str::to_string);
        return row;
    }
    let result = read_input(&study.input, &opts.series, study.brain_mask.as_deref()).and_then(
        |(image, series)| {
            predictor.predict(&study.input, &image, series.as_ref(), &out, opts.outputs)
        },
    );
    row.seconds = t0.elapsed().as_secs_f64();
    match result {
        Ok(s) => {
            row.gtv_volume_ml = Some(s.gtv_volume_ml);
            row.lesions = Some(s.lesions);
            row.egfr_probability = s.egfr_probability;
            row.egfr_call = s.egfr_call;
            let text: Vec<&str> = s.warnings.iter().map(String::as_str).collect();
            row.warnings = joined(&text);
            if let Some(series) = s.series {
                row.series_description = Some(series.series_description).filter(|d| !d.is_empty());
                row.series_uid = Some(series.series_instance_uid);
            }
        }
        Err(e) => {
            tracing::warn!("{}: {}", study.name, mtsa_io::public_names(&e.to_string()));
            row.status = "failed".into();
            row.error = Some(mtsa_io::public_names(&e.to_string()));
        }
    }
    row
}

/// Warnings for one CSV cell; `None` when there are none.
fn joined(warnings: &[&str]) -> Option<String> {
    (!warnings.is_empty()).then(|| warnings.join("; "))
}

/// The `egfr.json` of a complete earlier output of this study, if there is one.
fn finished(out: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(out.join("egfr.json")).ok()?;
    serde_json::from_str(&text).ok()
}
