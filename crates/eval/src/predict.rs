//! `mtsa predict`: a new patient's whole volume in, a GTV mask in the input's own geometry and
//! the EGFR call with its evidence out.

use crate::files::{write_file, write_json};
use crate::lesion_list::{lesion_list, LesionSummary, Lesions};
use crate::overlay::{render_overlay, Outline};
use crate::phenotype::FEATURE_NAMES as PHENOTYPE_FEATURES;
use crate::postprocess::Postprocess;
use crate::segment::{segment_scan, ScanPrediction};
use crate::EvalError;
use mtsa_data::PreprocessConfig;
use mtsa_infer::{load_trained, LoadOptions, RunPaths, TrainedModel};
use mtsa_io::{read_nifti, write_nifti, Volume};
use ndarray::s;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `named` as the ROIs or segments of a DICOM object.
fn as_rois<'a>(named: &'a [(String, &'a Volume<u8>)]) -> Vec<mtsa_dicom::Roi<'a>> {
    named
        .iter()
        .map(|(name, mask)| mtsa_dicom::Roi { name, mask })
        .collect()
}

/// Which series of a DICOM folder `predict` reads.
#[derive(Debug, Clone, Default)]
pub enum SeriesPick {
    /// The folder's only image series.
    #[default]
    Only,
    /// The series with this Series Instance UID (one study).
    Uid(String),
    /// The one series whose Series Description matches this pattern (case-insensitive, `*` for
    /// any characters): the same choice in every study of a batch.
    Described(String),
}

/// The whole GTV's segment label in `seg.dcm` (its lesions are `GTV_1`, `GTV_2`, ...).
const SEG_LABEL: &str = "GTV";
/// The probability map's file name ([`Outputs::probability`]).
const PROBABILITY_FILE: &str = "probability.nii.gz";

pub struct PredictOptions {
    pub run: PathBuf,
    /// A NIfTI file, or a folder holding one DICOM MR series.
    pub input: PathBuf,
    pub out: PathBuf,
    /// Device, layout and batch of the network.
    pub load: LoadOptions,
    /// What to write beside `gtv.nii.gz` and `egfr.json`.
    pub outputs: Outputs,
    /// Which series of a DICOM folder to read.
    pub series: SeriesPick,
    /// Brain mask (NIfTI on the input's grid, nonzero inside) for a scan that is not
    /// skull-stripped: everything outside it is set to 0 before anything is read from the scan.
    pub brain_mask: Option<PathBuf>,
}

/// Written as `egfr.json`.
#[derive(Debug, Clone, Serialize)]
pub struct PredictionSummary {
    pub mtsa_version: String,
    pub model_preset: String,
    /// The network that made the prediction (`mtsa-net` or a comparison system).
    pub model: mtsa_model::Architecture,
    pub run: String,
    pub gtv_voxels: usize,
    pub gtv_volume_ml: f64,
    /// Separate lesions (26-connected components) of the mask.
    pub lesions: usize,
    /// Each lesion: size, position and the network's peak probability, largest first.
    pub lesion_list: Vec<LesionSummary>,
    /// P(mutant): from the lesion phenotype when the run has that model (`egfr_source`), else
    /// the mean mutant probability of the voting slices; `None` without either.
    pub egfr_probability: Option<f64>,
    pub egfr_call: Option<mtsa_data::Egfr>,
    /// `lesion phenotype` or `network vote`.
    pub egfr_source: &'static str,
    /// The network's slice vote (the same as `egfr_probability` without the phenotype model).
    pub network_egfr_probability: Option<f64>,
    /// With the phenotype model: what it measured on the kept lesions, core and texture shrunk
    /// towards the cohort's as the model reads them (absent when no lesion was found; the
    /// training prevalence is then the probability). With a lesion classifier that outlines,
    /// the lesions are measured whole (each kept candidate, closed) rather than as the GTV
    /// written, whose outline can trim a lesion's dark core away ([`crate::segment_scan`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lesion_phenotype: Option<BTreeMap<&'static str, f64>>,
    /// The slices that voted (top 50% of the slices with predicted GTV, by area).
    pub slices_used: Vec<SliceEvidence>,
    pub slices_run: usize,
    /// Threshold, minimum lesion volume, TTA and lesion classifiers applied to the network's
    /// output (look models by their size, [`crate::postprocess::serialize_applied`]).
    #[serde(serialize_with = "crate::postprocess::serialize_applied")]
    pub postprocess: Postprocess,
    pub note: Option<String>,
    /// What may make this scan's result less reliable than the run's validation: slices much
    /// thicker than those it was calibrated on; an image wider than the field of view; a scan
    /// that does not look skull-stripped; lesions unlike the EGFR model's patients; a lesion
    /// kept under the classifier's cut.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// DICOM input: the series read (a study's folder may hold several).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<SeriesRead>,
    pub files: Vec<String>,
}

/// The DICOM series a prediction was made on, by UID and description.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesRead {
    pub series_instance_uid: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub series_description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SliceEvidence {
    /// Axial slice index in RAS order (inferior to superior).
    pub slice_index: usize,
    pub gtv_area_px: usize,
    pub gtv_area_mm2: f64,
    pub p_mutant: f64,
}

/// What `predict` writes beside `gtv.nii.gz` and `egfr.json`: DICOM objects (DICOM input only:
/// they reference its series) and the probability map.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outputs {
    /// `rtstruct.dcm`, an RT Structure Set with the whole GTV as ROI `GTV_mtsa`.
    pub rtstruct: bool,
    /// Each lesion also as its own ROI or segment after the whole GTV (`GTV_mtsa_1`, ... in the
    /// structure set, `GTV_1`, ... in the Segmentation), numbered as `egfr.json`'s
    /// `lesion_list` (largest first).
    pub lesion_rois: bool,
    /// `seg.dcm`, a binary DICOM Segmentation of the whole GTV as segment `GTV`.
    pub seg: bool,
    /// `probability.nii.gz`, the network's GTV probability on the input's grid
    /// ([`ScanPrediction::probability_map`]), as nnU-Net's `--save_probabilities` keeps its
    /// softmax: for a user's own threshold, ensembles of runs, or a look at what the network
    /// marked that the lesion classifier dropped.
    pub probability: bool,
}

/// A trained run loaded once and applied to any number of scans (`mtsa predict` on one study or
/// a whole archive).
pub struct Predictor {
    run: PathBuf,
    model: TrainedModel,
    preprocess: PreprocessConfig,
    postprocess: Postprocess,
    batch: usize,
}

impl Predictor {
    pub fn load(run: &Path, load: LoadOptions) -> Result<Self, EvalError> {
        Ok(Self {
            run: run.to_path_buf(),
            model: load_trained(run, load)?,
            preprocess: read_preprocess(&RunPaths::new(run).preprocess())?,
            postprocess: Postprocess::of_run(run)?,
            batch: load.batch,
        })
    }

    /// A second copy for a worker of its own ([`TrainedModel::replica`]).
    pub(crate) fn replica(&self) -> Result<Self, EvalError> {
        Ok(Self {
            run: self.run.clone(),
            model: self.model.replica()?,
            preprocess: self.preprocess.clone(),
            postprocess: self.postprocess.clone(),
            batch: self.batch,
        })
    }

    pub(crate) fn model(&self) -> &TrainedModel {
        &self.model
    }

    /// Predicts the scan `input` (already read into `image`; `series` when it was a DICOM
    /// series) and writes its output folder `out` whole.
    pub fn predict(
        &self,
        input: &Path,
        image: &Volume<f32>,
        series: Option<&mtsa_dicom::SeriesRef>,
        out: &Path,
        outputs: Outputs,
    ) -> Result<PredictionSummary, EvalError> {
        if (outputs.rtstruct || outputs.seg) && series.is_none() {
            return Err(EvalError::Usage(format!(
                "{}: --rtstruct and --seg need a DICOM series folder as input (the object must \
                 reference its series)",
                input.display()
            )));
        }
        let scan = segment_scan(
            &self.model,
            image,
            &self.preprocess,
            &self.postprocess,
            self.batch,
        )
        .map_err(|e| match e {
            EvalError::Data(d) => EvalError::Data(d.in_file(input)),
            other => other,
        })?;
        let dir = mtsa_io::AtomicDir::output(out, "predict", true)?;
        let mut files = vec!["gtv.nii.gz".to_string(), "egfr.json".to_string()];
        write_nifti(&dir.path().join("gtv.nii.gz"), &scan.mask)?;
        let lesions = lesion_list(&scan);
        if let Some(series) = series {
            files.extend(self.write_dicom(dir.path(), &scan.mask, &lesions, series, outputs)?);
        }
        if outputs.probability {
            write_nifti(&dir.path().join(PROBABILITY_FILE), &scan.probability_map())?;
            files.push(PROBABILITY_FILE.to_string());
        }
        let slices_used = evidence(&scan);
        for ev in slices_used.iter().take(3) {
            let name = format!("overlay_slice{:03}.png", ev.slice_index);
            let png = render_overlay(
                scan.slices.slice(s![ev.slice_index, .., ..]),
                &[Outline {
                    mask: scan.mask_grid.slice(s![ev.slice_index, .., ..]),
                    color: [255, 40, 40],
                }],
                (384 / self.preprocess.size).max(1) as u32,
            )?;
            write_file(&dir.path().join(&name), &png)?;
            files.push(name);
        }
        let summary = self.summary(&scan, image, series, lesions.list, slices_used, files);
        write_json(&dir.path().join("egfr.json"), &summary)?;
        dir.commit()?;
        Ok(summary)
    }

    fn write_dicom(
        &self,
        dir: &Path,
        mask: &Volume<u8>,
        lesions: &Lesions,
        series: &mtsa_dicom::SeriesRef,
        outputs: Outputs,
    ) -> Result<Vec<String>, EvalError> {
        let mut files = Vec::new();
        // Each lesion's own mask, numbered as `egfr.json`'s lesion list, when asked for.
        let lesion_masks: Vec<(usize, Volume<u8>)> = if outputs.lesion_rois {
            lesions
                .list
                .iter()
                .map(|l| (l.number, lesions.mask(l.number)))
                .collect()
        } else {
            Vec::new()
        };
        // The whole GTV as `whole`, then each lesion as `whole_N`.
        let named = |whole: &str| -> Vec<(String, &Volume<u8>)> {
            std::iter::once((whole.to_string(), mask))
                .chain(
                    lesion_masks
                        .iter()
                        .map(|(n, m)| (format!("{whole}_{n}"), m)),
                )
                .collect()
        };
        if outputs.rtstruct {
            let rois = named(mtsa_dicom::DEFAULT_ROI_NAME);
            mtsa_dicom::write_rtstruct_rois(
                &dir.join("rtstruct.dcm"),
                &as_rois(&rois),
                series,
                mtsa_dicom::UidSource::Random,
            )?;
            files.push("rtstruct.dcm".to_string());
        }
        if outputs.seg {
            let algorithm = mtsa_dicom::SegAlgorithm {
                name: format!(
                    "{} ({})",
                    self.model.config.architecture.paper_name(),
                    self.model.config.preset
                ),
                version: env!("CARGO_PKG_VERSION").to_string(),
            };
            let segments = named(SEG_LABEL);
            mtsa_dicom::write_seg_segments(
                &dir.join("seg.dcm"),
                &as_rois(&segments),
                series,
                &algorithm,
                mtsa_dicom::UidSource::Random,
            )?;
            files.push("seg.dcm".to_string());
        }
        Ok(files)
    }

    /// A warning when the kept lesions measure outside what the EGFR phenotype model was
    /// fitted on ([`crate::phenotype::PhenotypeModel::unseen`]).
    fn unseen_phenotype(&self, scan: &ScanPrediction) -> Option<String> {
        let model = self.postprocess.egfr_phenotype.as_ref()?;
        let row = scan.phenotype.as_ref()?.features.as_ref()?;
        let unseen = model.unseen(row);
        (!unseen.is_empty()).then(|| {
            format!(
                "the kept lesions measure outside what the EGFR model was fitted on: {}; its \
                 call extrapolates, and lesions so unlike the training patients' may mean the \
                 scan is too (sequence, intensity preprocessing, skull stripping): review them \
                 before planning",
                unseen.join(", ")
            )
        })
    }

    fn summary(
        &self,
        scan: &ScanPrediction,
        image: &Volume<f32>,
        series: Option<&mtsa_dicom::SeriesRef>,
        lesion_list: Vec<LesionSummary>,
        slices_used: Vec<SliceEvidence>,
        files: Vec<String>,
    ) -> PredictionSummary {
        let call = &scan.call;
        let voxels = scan.mask.data.iter().filter(|v| **v > 0).count();
        let voxel_ml = image.spacing().iter().product::<f64>() / 1000.0;
        let below_cut = lesion_list.iter().any(|l| l.kept_below_cut);
        PredictionSummary {
            mtsa_version: env!("CARGO_PKG_VERSION").to_string(),
            model_preset: self.model.config.preset.clone(),
            model: self.model.config.architecture,
            run: self.run.display().to_string(),
            gtv_voxels: voxels,
            gtv_volume_ml: voxels as f64 * voxel_ml,
            lesions: lesion_list.len(),
            lesion_list,
            egfr_probability: scan.egfr_probability(),
            egfr_call: scan.egfr_probability().map(mtsa_data::Egfr::call),
            egfr_source: self.postprocess.egfr_source(),
            network_egfr_probability: call.as_ref().map(|c| c.probability),
            lesion_phenotype: scan
                .phenotype
                .as_ref()
                .and_then(|p| p.features.as_ref())
                .map(|f| {
                    PHENOTYPE_FEATURES
                        .into_iter()
                        .zip(f.iter().copied())
                        .collect()
                }),
            slices_used,
            slices_run: scan.run_k.len(),
            postprocess: self.postprocess.clone(),
            note: match (voxels, call.is_some(), scan.phenotype.is_some()) {
                (0, _, true) => Some(
                    "no lesion survived post-processing: the mask is empty; with no lesion to \
                     measure, the EGFR probability is the training patients' prevalence"
                        .to_string(),
                ),
                (_, _, true) => None,
                (_, false, _) if !self.model.tasks.classifies() => Some(format!(
                    "`{}` is a segmentation-only system: no EGFR call",
                    self.model.config.architecture
                )),
                (_, false, _) => Some("no brain slice found: no GTV and no EGFR call".to_string()),
                (0, true, _) => Some(
                    "no lesion survived post-processing: the mask is empty; the EGFR probability \
                     comes from the slices with the most GTV probability"
                        .to_string(),
                ),
                _ => None,
            },
            warnings: self
                .postprocess
                .slice_warning(scan.geom.slice_thickness_mm)
                .into_iter()
                .chain(scan.geom.field_of_view_warnings())
                .chain(mtsa_data::not_skull_stripped(image).map(|why| {
                    format!(
                        "{why}: it does not look skull-stripped, and the run learnt from \
                         skull-stripped scans, so scalp and fat are read as brain and may be \
                         kept as lesions; give a brain mask (--brain-mask) or a skull-stripped \
                         scan"
                    )
                }))
                .chain(self.unseen_phenotype(scan))
                .chain(below_cut.then(|| {
                    "no lesion candidate reached the lesion classifier's cut: the scan's most \
                     probable one is kept (kept_below_cut in lesion_list), since the run assumes \
                     a scan shows at least one metastasis; review it before planning"
                        .to_string()
                }))
                .collect(),
            series: series.map(|s| SeriesRead {
                series_instance_uid: s.series_instance_uid.clone(),
                series_description: s.series_description.clone(),
            }),
            files,
        }
    }
}

/// The slices that voted in the EGFR call, with their GTV area and mutant probability.
fn evidence(scan: &ScanPrediction) -> Vec<SliceEvidence> {
    let px_mm2 = scan.geom.pixel_mm() * scan.geom.pixel_mm();
    scan.call
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
        .unwrap_or_default()
}

/// One study: the input is read (and refused, naming the file) before the model is loaded.
pub fn predict(opts: &PredictOptions) -> Result<PredictionSummary, EvalError> {
    let (image, series) = read_input(&opts.input, &opts.series, opts.brain_mask.as_deref())?;
    let predictor = Predictor::load(&opts.run, opts.load)?;
    predictor.predict(
        &opts.input,
        &image,
        series.as_ref(),
        &opts.out,
        opts.outputs,
    )
}

/// A run's `preprocess.json`: how its scans are turned into network input.
pub fn read_preprocess(path: &Path) -> Result<PreprocessConfig, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::file(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| EvalError::file(path, format!("bad preprocessing record: {e}")))
}

/// The scan at `input` (a NIfTI file; a DICOM folder, or a DICOMDIR for the folder it lies in,
/// and the series `pick` names in it; or a DICOM file and the series it belongs to) as
/// `prepare` and the whole-scan
/// read-back see a scan ([`mtsa_data::scan_as_read`]): its background at 0, and with a
/// `brain_mask` (NIfTI on the scan's grid) zero outside it.
pub(crate) fn read_input(
    input: &Path,
    pick: &SeriesPick,
    brain_mask: Option<&Path>,
) -> Result<(Volume<f32>, Option<mtsa_dicom::SeriesRef>), EvalError> {
    let folder = |dir: &Path| match pick {
        SeriesPick::Only => mtsa_dicom::read_series(dir, None),
        SeriesPick::Uid(uid) => mtsa_dicom::read_series(dir, Some(uid)),
        SeriesPick::Described(pattern) => mtsa_dicom::read_series_described(dir, pattern),
    };
    let (vol, series) = if input.is_dir() {
        let (vol, series) = folder(input)?;
        (vol, Some(series))
    } else if mtsa_dicom::is_dicomdir(input) {
        // A CD's DICOMDIR stands for the export it indexes: the folder it lies in.
        let (vol, series) = folder(mtsa_dicom::folder_of(input))?;
        (vol, Some(series))
    } else if mtsa_dicom::is_dicom_file(input) {
        // One file of a series (or an enhanced image's only file): that series.
        if !matches!(pick, SeriesPick::Only) {
            return Err(EvalError::Usage(format!(
                "{}: one DICOM file names its own series; --series-uid and \
                 --series-description choose among the series of a folder",
                input.display()
            )));
        }
        let (vol, series) = mtsa_dicom::read_series_containing(input)?;
        (vol, Some(series))
    } else {
        (read_nifti(input)?, None)
    };
    let (image, _) = mtsa_data::scan_as_read(vol, input, brain_mask)?;
    Ok((image, series))
}
