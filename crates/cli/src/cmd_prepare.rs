use crate::progress;
use anyhow::{bail, Result};
use chrono::NaiveDate;
use mtsa_data::PrepareConfig;
use mtsa_io::Existing;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Cohort folder: images/ + labels/ + clinical.csv, nnU-Net imagesTr/ + labelsTr/, one
    /// folder per case (with --image-name and --label-name), or DICOM images/<id>/ series
    /// (single-frame or enhanced multi-frame images) + rtstruct/<id>.dcm (or seg/<id>.dcm, DICOM
    /// Segmentations) + clinical.csv. With images/, an optional brainmasks/<id>.nii.gz
    /// skull-strips a case that is not.
    #[arg(long)]
    cohort: PathBuf,
    /// Output dataset folder.
    #[arg(long)]
    out: PathBuf,
    /// Slice size in pixels: 128 (tiny), 256 (small), 384 (paper).
    #[arg(long, default_value_t = 384)]
    size: usize,
    /// Square in-plane field of view in mm that every slice is resampled onto.
    #[arg(long, default_value_t = 240.0)]
    fov_mm: f64,
    /// Internal patients diagnosed after this date form the test set.
    #[arg(long, default_value = "2021-05-01")]
    cutoff: String,
    /// Internal training patients held out for validation (date split only).
    #[arg(long, default_value_t = 10)]
    val_patients: usize,
    /// Seed of the validation patients' draw (date split only).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Mask labels forming the GTV, e.g. 1,3,4 for the BRATS tumour core.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    gtv_labels: Vec<u16>,
    /// Mask labels to treat as background (e.g. 2, BRATS oedema).
    #[arg(long, value_delimiter = ',')]
    ignore_labels: Vec<u16>,
    /// DICOM cohorts: name of the GTV ROI in the structure sets, or label of its segment in the
    /// Segmentations (case-insensitive). Several, comma-separated, or a pattern with `*` (e.g.
    /// "GTV*" for a plan with one ROI per metastasis) take the union of every one that matches.
    #[arg(long, default_value = "GTV")]
    roi: String,
    /// JSON {"train": [ids], "val": [ids], "test": [ids]} instead of the date split.
    #[arg(long)]
    splits: Option<PathBuf>,
    /// Case-folder layout: the image file name inside each case folder.
    #[arg(long)]
    image_name: Option<String>,
    /// Case-folder layout: the label file name inside each case folder.
    #[arg(long)]
    label_name: Option<String>,
    /// Lesion-free brain slices to store per training patient, spread from the bottom to the
    /// top of the brain [ours; 0 = the paper's protocol, GTV slices only]. Whole-scan training
    /// (`mtsa train --background-fraction`) samples from them.
    #[arg(long, default_value_t = 0)]
    background_slices: usize,
    /// Neighbouring slices to store on each side of every slice, for 2.5-D training
    /// (`mtsa train --context-slices`) [ours; 0 = the paper's 2-D input].
    #[arg(long, default_value_t = 0)]
    context_slices: usize,
    /// Replace an existing dataset folder written by `mtsa prepare` (never anything else).
    #[arg(long, alias = "overwrite")]
    force: bool,
}

pub fn run(a: Args) -> Result<()> {
    let Ok(cutoff) = NaiveDate::parse_from_str(&a.cutoff, "%Y-%m-%d") else {
        bail!("--cutoff {:?}: expected a date as YYYY-MM-DD", a.cutoff);
    };
    let mut inputs = vec![("--cohort", a.cohort.as_path())];
    inputs.extend(a.splits.as_deref().map(|s| ("--splits", s)));
    crate::out_guard::check_out("prepare", &a.out, Existing::replace_if(a.force), &inputs)?;
    let cfg = PrepareConfig {
        size: a.size,
        fov_mm: a.fov_mm,
        cutoff,
        val_patients: a.val_patients,
        seed: a.seed,
        labels: mtsa_data::LabelRules {
            gtv_labels: a.gtv_labels,
            ignore_labels: a.ignore_labels,
            roi: a.roi,
        },
        splits_file: a.splits,
        image_name: a.image_name,
        label_name: a.label_name,
        background_slices: a.background_slices,
        context_slices: a.context_slices,
        overwrite: a.force,
        ..PrepareConfig::default()
    };
    let bar = progress::bar("prepare");
    let summary = mtsa_data::prepare(&a.cohort, &a.out, &cfg, &progress::callback(&bar))?;
    bar.finish_and_clear();
    for w in &summary.warnings {
        tracing::warn!("{w}");
    }
    let counts: Vec<String> = summary
        .counts
        .iter()
        .map(|(k, c)| format!("{k} {} patients / {} slices", c.patients, c.slices))
        .collect();
    tracing::info!(
        "prepared {} patients into {}: {}{}",
        summary.patients,
        a.out.display(),
        counts.join(", "),
        if summary.has_egfr {
            ""
        } else {
            " (no EGFR labels: segmentation only)"
        }
    );
    Ok(())
}
