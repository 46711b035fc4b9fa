//! `mtsa predict`: a new patient's whole volume in, a GTV mask in the input's own geometry and
//! the EGFR call with its evidence out.

use crate::overlay::{render_overlay, Outline};
use crate::segment::{segment_scan, Postprocess};
use crate::EvalError;
use mtsa_data::PreprocessConfig;
use mtsa_infer::{load_trained, LoadOptions, RunPaths};
use mtsa_io::{read_nifti, write_nifti, Volume};
use mtsa_model::LayoutChoice;
use ndarray::s;
use serde::Serialize;
use std::path::{Path, PathBuf};
use tch::Device;

pub struct PredictOptions {
    pub run: PathBuf,
    /// A NIfTI file, or a folder holding one DICOM MR series.
    pub input: PathBuf,
    pub out: PathBuf,
    pub device: Device,
    pub batch: usize,
    /// Memory layout of the prepared net (`auto`: the faster one on this machine, measured).
    pub layout: LayoutChoice,
    /// Also write `rtstruct.dcm` (DICOM input only: it must reference the input series).
    pub rtstruct: bool,
    pub series_uid: Option<String>,
}

/// Written as `egfr.json`.
#[derive(Debug, Clone, Serialize)]
pub struct PredictionSummary {
    pub mtsa_version: String,
    pub model_preset: String,
    pub run: String,
    pub gtv_voxels: usize,
    pub gtv_volume_ml: f64,
    /// Mean mutant probability of the voting slices; `None` when no GTV was predicted.
    pub egfr_probability: Option<f64>,
    pub egfr_call: Option<String>,
    /// The slices that voted (top 50% of the slices with predicted GTV, by area).
    pub slices_used: Vec<SliceEvidence>,
    pub slices_run: usize,
    /// Threshold, minimum lesion volume and TTA applied to the network's output.
    pub postprocess: Postprocess,
    pub note: Option<String>,
    pub files: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SliceEvidence {
    /// Axial slice index in RAS order (inferior to superior).
    pub slice_index: usize,
    pub gtv_area_px: usize,
    pub gtv_area_mm2: f64,
    pub p_mutant: f64,
}

pub fn predict(opts: &PredictOptions) -> Result<PredictionSummary, EvalError> {
    // The input first: a bad scan is reported before seconds are spent loading the model.
    let (image, series) = read_input(&opts.input, opts.series_uid.as_deref())?;
    let model = load_trained(
        &opts.run,
        LoadOptions {
            device: opts.device,
            layout: opts.layout,
            batch: opts.batch,
        },
    )?;
    let preprocess = read_preprocess(&RunPaths::new(&opts.run).preprocess())?;
    let postprocess = Postprocess::of_run(&opts.run)?;
    if opts.rtstruct && series.is_none() {
        return Err(EvalError::Usage(format!(
            "{}: --rtstruct needs a DICOM series folder as input (an RTSTRUCT must reference its series)",
            opts.input.display()
        )));
    }
    let scan = segment_scan(&model, &image, &preprocess, &postprocess, opts.batch).map_err(
        |e| match e {
            EvalError::Data(d) => EvalError::Data(d.in_file(&opts.input)),
            other => other,
        },
    )?;
    let s = preprocess.size;
    let mask = &scan.mask;
    let call = &scan.call;
    let px_mm2 = scan.geom.pixel_mm() * scan.geom.pixel_mm();
    let slices_used: Vec<SliceEvidence> = call
        .as_ref()
        .map(|c| {
            c.used
                .iter()
                .map(|&u| {
                    let n = scan.with_gtv[u];
                    SliceEvidence {
                        slice_index: scan.run_k[n],
                        gtv_area_px: scan.areas[n],
                        gtv_area_mm2: scan.areas[n] as f64 * px_mm2,
                        p_mutant: scan.p_mutant[n],
                    }
                })
                .collect()
        })
        .unwrap_or_default();

    let out = mtsa_io::AtomicDir::output(&opts.out, "predict", true)?;
    let mut files = vec!["gtv.nii.gz".to_string(), "egfr.json".to_string()];
    write_nifti(&out.path().join("gtv.nii.gz"), mask)?;
    if let (true, Some(series)) = (opts.rtstruct, &series) {
        mtsa_dicom::write_rtstruct(
            &out.path().join("rtstruct.dcm"),
            mask,
            series,
            "GTV_mtsa",
            mtsa_dicom::UidSource::Random,
        )?;
        files.push("rtstruct.dcm".to_string());
    }
    for ev in slices_used.iter().take(3) {
        let name = format!("overlay_slice{:03}.png", ev.slice_index);
        let img = scan.slices.slice(s![ev.slice_index, .., ..]);
        let pm = scan.mask_grid.slice(s![ev.slice_index, .., ..]);
        let png = render_overlay(
            img,
            &[Outline {
                mask: pm,
                color: [255, 40, 40],
            }],
            (384 / s).max(1) as u32,
        )?;
        std::fs::write(out.path().join(&name), png).map_err(|e| EvalError::file(&opts.out, e))?;
        files.push(name);
    }
    let voxels = mask.data.iter().filter(|v| **v > 0).count();
    let voxel_ml = image.spacing().iter().product::<f64>() / 1000.0;
    let summary = PredictionSummary {
        mtsa_version: env!("CARGO_PKG_VERSION").to_string(),
        model_preset: model.config.preset.clone(),
        run: opts.run.display().to_string(),
        gtv_voxels: voxels,
        gtv_volume_ml: voxels as f64 * voxel_ml,
        egfr_probability: call.as_ref().map(|c| c.probability),
        egfr_call: call
            .as_ref()
            .map(|c| if c.is_mutant() { "mutant" } else { "wild" }.to_string()),
        slices_used,
        slices_run: scan.run_k.len(),
        postprocess: postprocess.clone(),
        note: match (voxels, call.is_some()) {
            (_, false) => Some("no brain slice found: no GTV and no EGFR call".to_string()),
            (0, true) => Some(
                "no lesion survived post-processing: the mask is empty; the EGFR probability \
                 comes from the slices with the most GTV probability"
                    .to_string(),
            ),
            _ => None,
        },
        files,
    };
    let json =
        serde_json::to_string_pretty(&summary).map_err(|e| EvalError::Usage(e.to_string()))?;
    std::fs::write(out.path().join("egfr.json"), json)
        .map_err(|e| EvalError::file(&opts.out, e))?;
    out.commit()?;
    Ok(summary)
}

pub(crate) fn read_preprocess(path: &Path) -> Result<PreprocessConfig, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::file(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| EvalError::file(path, format!("bad preprocessing record: {e}")))
}

fn read_input(
    input: &Path,
    series_uid: Option<&str>,
) -> Result<(Volume<f32>, Option<mtsa_dicom::SeriesRef>), EvalError> {
    if input.is_dir() {
        let (vol, series) = mtsa_dicom::read_series(input, series_uid)?;
        Ok((vol, Some(series)))
    } else {
        Ok((read_nifti(input)?, None))
    }
}
