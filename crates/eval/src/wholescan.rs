//! Whole-scan scoring: every patient's complete volume, read back from the cohort and run through
//! [`segment_scan`] exactly as `predict` runs it, scored in 3-D against the truth on the
//! patient's own grid. This is what a clinic sees; the paper's table, on the slices a
//! radiologist marked, cannot show false lesions on the slices nobody marked.
//!
//! Also here, the FROC curve: over the network's thresholds on its own grid (K x S x S, where
//! thresholds are cheap to sweep), or, for a run with a lesion classifier, over the
//! classifier's cut on each scan's own grid, the operating points of the pipeline `predict`
//! runs. Choosing the post-processing on the validation patients is [`crate::calibrate`]'s.

use crate::figures::SliceFigure;
use crate::lesion_filter;
use crate::mask_scores::{score_case, CaseScores, DetectionSummary};
use crate::postprocess::Postprocess;
use crate::report_types::{LesionRow, WholeScanPatient, WholeScanReport};
use crate::scan_workers::{score_scans, Workers};
use crate::segment::{segment_scan, ScanPrediction, ScoredCandidates};
use crate::truth::bayes_accuracy;
use crate::EvalError;
use mtsa_data::{read_patient, resample_mask, DatasetInfo, PreprocessConfig};
use mtsa_infer::TrainedModel;
use mtsa_metrics::{DetectionGrid, LesionOptions, SurfaceOptions};
use ndarray::{Array3, Axis};
use std::collections::BTreeMap;

/// Thresholds and minimum lesion volumes (mm³) searched by `calibrate` and swept for FROC.
pub const THRESHOLDS: [f32; 9] = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98];
pub const MIN_VOLUMES_MM3: [f64; 7] = [0.0, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0];

/// A split's whole-scan results.
pub struct WholeScanSplit {
    pub report: WholeScanReport,
    pub patients: Vec<WholeScanPatient>,
    pub lesions: Vec<LesionRow>,
    /// Per patient: false lesions and the network-grid slice with the most false-positive
    /// pixels, for the report's overlays.
    pub worst: Vec<(usize, SliceFigure)>,
}

/// What whole-scan scoring needs besides the patients and the network (which each worker holds
/// a copy of: libtorch tensors may not be shared between threads, and the rest is).
pub struct WholeScanContext<'a> {
    pub info: &'a DatasetInfo,
    pub preprocess: &'a PreprocessConfig,
    pub postprocess: &'a Postprocess,
    pub truth: Option<&'a BTreeMap<String, f64>>,
    pub batch: usize,
    pub seed: u64,
    pub progress: &'a (dyn Fn(usize, usize) + Sync),
}

/// Scores every patient of split `name` on its whole scan, several scans side by side on a CPU
/// ([`crate::scan_workers`]); the scores are summed in the patients' order.
pub fn score_whole_scans(
    ctx: &WholeScanContext,
    model: &TrainedModel,
    name: &str,
) -> Result<WholeScanSplit, EvalError> {
    let ids: Vec<&mtsa_data::PatientInfo> = ctx
        .info
        .patients
        .iter()
        .filter(|p| p.split == name)
        .collect();
    let scored = score_scans(
        Workers::for_model(model, ids.len()),
        &ids,
        model,
        |m| Ok(m.replica()?),
        |model, p| score_patient(ctx, model, name, p),
        ctx.progress,
    )?;
    let mut grid = froc_grid(ctx.postprocess);
    let mut patients = Vec::with_capacity(ids.len());
    let mut lesions = Vec::new();
    let mut worst = Vec::new();
    let mut scores = Vec::with_capacity(ids.len());
    let mut cuts = Vec::new();
    for one in scored {
        grid.merge(&one.grid)?;
        scores.push(one.scores);
        cuts.extend(one.cut);
        patients.push(one.patient);
        lesions.extend(one.lesions);
        worst.extend(one.worst);
    }
    worst.sort_by_key(|w| std::cmp::Reverse(w.0));
    worst.truncate(2);
    let report = summarise(ctx, name, &patients, &scores, &grid, &cuts)?;
    Ok(WholeScanSplit {
        report,
        patients,
        lesions,
        worst,
    })
}

/// One patient's whole-scan scores, to be summed with the others' in the patients' order.
struct PatientScores {
    patient: WholeScanPatient,
    lesions: Vec<LesionRow>,
    /// The 3-D scores the split's summary is made of (its lesion rows moved to `lesions`).
    scores: CaseScores,
    /// This patient alone on the FROC's operating points.
    grid: DetectionGrid,
    /// The classifier's cut this scan was kept at, if a classifier decided.
    cut: Option<f64>,
    /// False lesions and the overlay of the slice with the most false-positive pixels.
    worst: Option<(usize, SliceFigure)>,
}

/// Runs patient `p`'s whole scan through `model` as `predict` does and scores it in 3-D.
fn score_patient(
    ctx: &WholeScanContext,
    model: &TrainedModel,
    name: &str,
    p: &mtsa_data::PatientInfo,
) -> Result<PatientScores, EvalError> {
    let (image, gt) = read_patient(ctx.info, &p.id)?;
    let scan = segment_scan(model, &image, ctx.preprocess, ctx.postprocess, ctx.batch)?;
    let classifier = ctx.postprocess.classifier_for(scan.geom.slice_thickness_mm);
    let cut = classifier.map(|c| c.cut);
    let most_probable_kept = classifier.is_some_and(|c| c.keep_most_probable);
    let gt_grid = resample_mask(&gt, &scan.geom);
    let spacing = image.spacing();
    let gt_b = gt.data.mapv(|v| v != 0);
    let mut grid = froc_grid(ctx.postprocess);
    match &scan.candidates {
        Some(found) => grid.add_patient(
            classifier_score_map(found, most_probable_kept).view(),
            gt_b.view(),
            spacing,
            &LesionOptions::default(),
        )?,
        None => add_to_grid(&mut grid, &scan, &gt_grid)?,
    }
    let pred_b = scan.mask.data.mapv(|v| v != 0);
    let mut scores = score_case(
        pred_b.view(),
        gt_b.view(),
        spacing,
        &SurfaceOptions::default(),
        name,
        &p.id,
    )?;
    let lesions = std::mem::take(&mut scores.lesions);
    let label = p.egfr;
    let p_mutant = scan.egfr_probability();
    let patient = WholeScanPatient {
        split: name.to_string(),
        patient_id: p.id.clone(),
        site: p.site.clone(),
        dice: scores.dice,
        hd95_mm: scores.hd95_mm,
        gt_lesions: scores.gt_lesions,
        detected_lesions: scores.detected_lesions,
        false_positive_lesions: scores.false_positive_lesions,
        lesion_wise_dice: scores.lesion_wise_dice,
        gtv_ml: scores.gtv_ml,
        predicted_ml: scores.predicted_ml,
        egfr_label: label.map(mtsa_data::Egfr::from_class),
        p_mutant,
        egfr_call: p_mutant.map(mtsa_data::Egfr::call),
        correct: label
            .zip(p_mutant)
            .map(|(l, p)| mtsa_data::Egfr::call(p).class() == l),
        network_p_mutant: scan.call.as_ref().map(|c| c.probability),
        truth_p_mutant: ctx.truth.and_then(|t| t.get(&p.id).copied()),
    };
    let false_lesions = scores.false_positive_lesions;
    let worst = (false_lesions > 0).then(|| {
        (
            false_lesions,
            fp_figure(&scan, &gt_grid, &p.id, false_lesions),
        )
    });
    Ok(PatientScores {
        patient,
        lesions,
        scores,
        grid,
        cut,
        worst,
    })
}

/// The FROC's operating points: the classifier's cuts (with the run's own) for a run with a
/// lesion classifier, whose candidates [`classifier_score_map`] turns into a map, else
/// [`detection_grid`]'s thresholds.
fn froc_grid(pp: &Postprocess) -> DetectionGrid {
    match &pp.lesion_classifier {
        Some(c) => {
            let mut cuts: Vec<f32> = lesion_filter::CUTS
                .iter()
                .chain([&c.cut])
                .map(|&v| v as f32)
                .collect();
            cuts.sort_by(f32::total_cmp);
            cuts.dedup();
            DetectionGrid::new(cuts, vec![0.0]).with_segment_threshold(0.0)
        }
        None => detection_grid(pp),
    }
}

/// Each candidate's kept voxels (its outline) carry its classifier probability, 0 elsewhere.
/// Outlined candidates are separate components, so cut at 0 and kept by peak above `t`
/// ([`DetectionGrid`]'s segment threshold) this is the mask of the lesions the classifier keeps
/// at cut `t`, before closing. With `most_probable_kept`
/// ([`LesionClassifier::keep_most_probable`](crate::LesionClassifier::keep_most_probable)) the
/// scan's most probable candidate is kept at every cut (when any candidate reaches the cut, so
/// does it), so it carries 1, above every cut.
fn classifier_score_map(found: &ScoredCandidates, most_probable_kept: bool) -> Array3<f32> {
    let always = most_probable_kept
        .then(|| lesion_filter::most_probable_of(&found.probability))
        .flatten();
    found.labels.mapv(|l| match l {
        0 => 0.0,
        l if Some(l as usize - 1) == always => 1.0,
        l => found.probability[l as usize - 1] as f32,
    })
}

/// The operating points scored for `pp`'s kind of post-processing: every threshold × minimum
/// volume; with a segment threshold, only the thresholds at or above it (a lower one keeps
/// every component the cut makes).
pub(crate) fn detection_grid(pp: &Postprocess) -> DetectionGrid {
    match pp.segment_threshold {
        None => DetectionGrid::new(THRESHOLDS.to_vec(), MIN_VOLUMES_MM3.to_vec()),
        Some(s) => DetectionGrid::new(
            THRESHOLDS.iter().copied().filter(|&t| t >= s).collect(),
            MIN_VOLUMES_MM3.to_vec(),
        )
        .with_segment_threshold(s),
    }
}

/// Adds the scan's network-grid probabilities and its truth (resampled onto that grid as the
/// training masks are, `resample_mask`) to the detection grid.
pub(crate) fn add_to_grid(
    grid: &mut DetectionGrid,
    scan: &ScanPrediction,
    gt_grid: &Array3<u8>,
) -> Result<(), EvalError> {
    let gt_grid = gt_grid.mapv(|v| v != 0);
    grid.add_patient(
        scan.prob.view(),
        gt_grid.view(),
        scan.grid_spacing(),
        &LesionOptions::default(),
    )?;
    Ok(())
}

fn summarise(
    ctx: &WholeScanContext,
    name: &str,
    patients: &[WholeScanPatient],
    scores: &[CaseScores],
    grid: &DetectionGrid,
    cuts: &[f64],
) -> Result<WholeScanReport, EvalError> {
    let egfr = crate::scoring::egfr_report(
        patients.iter().map(|p| (p.egfr_label, p.p_mutant)),
        ctx.seed,
    )?;
    let phenotype = ctx.postprocess.egfr_phenotype.is_some();
    let network_egfr = if phenotype {
        crate::scoring::egfr_report(
            patients.iter().map(|p| (p.egfr_label, p.network_p_mutant)),
            ctx.seed,
        )?
    } else {
        None
    };
    Ok(WholeScanReport {
        name: name.to_string(),
        patients: patients.len(),
        postprocess: ctx.postprocess.clone(),
        detection: DetectionSummary::of(scores),
        egfr,
        egfr_source: ctx.postprocess.egfr_source().into(),
        network_egfr,
        bayes_accuracy: ctx
            .truth
            .and_then(|_| bayes_accuracy(patients.iter().filter_map(|p| p.truth_p_mutant))),
        // A classified run's grid holds the one minimum volume 0 ([`froc_grid`]), the nearest
        // to any.
        froc: grid.froc(ctx.postprocess.min_volume_mm3),
        classifier_cut: cuts
            .first()
            .copied()
            .filter(|c| cuts.iter().all(|x| x == c)),
    })
}

/// The network-grid slice with the most predicted pixels outside the (dilated) truth: where the
/// false lesions are.
fn fp_figure(
    scan: &ScanPrediction,
    gt_grid: &Array3<u8>,
    patient: &str,
    fps: usize,
) -> SliceFigure {
    let k = (0..scan.geom.n_slices())
        .max_by_key(|&k| {
            let g = gt_grid.index_axis(Axis(0), k);
            scan.mask_grid
                .index_axis(Axis(0), k)
                .iter()
                .zip(g.iter())
                .filter(|(p, g)| **p && **g == 0)
                .count()
        })
        .unwrap_or(0);
    SliceFigure {
        caption: format!(
            "{patient}: {fps} false lesion(s) on the whole scan; slice {k} (green truth, red prediction)"
        ),
        image: scan.slices.index_axis(Axis(0), k).to_owned(),
        truth: gt_grid.index_axis(Axis(0), k).mapv(|v| v != 0),
        prediction: scan.mask_grid.index_axis(Axis(0), k).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lesion_filter::LesionClassifier;
    use crate::named_logistic::NamedLogistic;
    use mtsa_metrics::GridPoint;
    use mtsa_radiomics::model::Standardizer;
    use ndarray::s;

    /// Two true lesions; candidate 1 (probability 0.85) covers the first, candidate 2 (0.45)
    /// touches none; the second lesion has no candidate.
    fn two_candidates(cut: f64) -> (ScoredCandidates, Array3<bool>) {
        let mut labels = Array3::<u32>::zeros((20, 20, 20));
        labels.slice_mut(s![2..5, 2..5, 2..5]).fill(1);
        labels.slice_mut(s![12..15, 2..5, 2..5]).fill(2);
        let found = ScoredCandidates {
            labels,
            probability: vec![0.85, 0.45],
            cut,
        };
        let mut gt = Array3::<bool>::from_elem((20, 20, 20), false);
        gt.slice_mut(s![2..5, 2..5, 2..5]).fill(true);
        gt.slice_mut(s![12..15, 12..15, 12..15]).fill(true);
        (found, gt)
    }

    /// The FROC of `found` against `gt` on `grid`.
    fn froc_of(
        mut grid: DetectionGrid,
        found: &ScoredCandidates,
        gt: &Array3<bool>,
        most_probable_kept: bool,
    ) -> Result<Vec<GridPoint>, EvalError> {
        grid.add_patient(
            classifier_score_map(found, most_probable_kept).view(),
            gt.view(),
            [1.0; 3],
            &LesionOptions::default(),
        )?;
        Ok(grid.froc(0.0))
    }

    /// Sensitivity and false lesions per patient at `cut`.
    fn at(froc: &[GridPoint], cut: f32) -> Option<(Option<f64>, f64)> {
        froc.iter()
            .find(|q| q.threshold == cut)
            .map(|q| (q.sensitivity, q.fp_per_patient))
    }

    #[test]
    fn the_froc_of_a_classified_run_sweeps_the_classifiers_cut() -> Result<(), EvalError> {
        let (found, gt) = two_candidates(0.35);
        let p = lesion_filter::FEATURE_NAMES.len();
        let pp = Postprocess {
            lesion_classifier: Some(LesionClassifier {
                model: NamedLogistic {
                    features: lesion_filter::FEATURE_NAMES.map(String::from).to_vec(),
                    standardizer: Standardizer {
                        mean: vec![0.0; p],
                        scale: vec![1.0; p],
                    },
                    intercept: 0.0,
                    coefficients: vec![0.0; p],
                },
                cut: 0.35,
                bright_contrast: 2.0,
                outline: None,
                look: None,
                keep_most_probable: false,
            }),
            ..Postprocess::default()
        };
        let froc = froc_of(froc_grid(&pp), &found, &gt, false)?;
        // The run's cut joins the ten swept.
        assert_eq!(froc.len(), 11);
        assert_eq!(at(&froc, 0.35), Some((Some(0.5), 1.0)));
        assert_eq!(at(&froc, 0.05), Some((Some(0.5), 1.0)));
        assert_eq!(at(&froc, 0.5), Some((Some(0.5), 0.0)));
        assert_eq!(at(&froc, 0.9), Some((Some(0.0), 0.0)));
        Ok(())
    }

    /// With `keep_most_probable` the FROC counts what `predict` keeps: candidate 1 at every
    /// cut, even 0.9, which no candidate reaches; candidate 2 by its own probability.
    #[test]
    fn a_kept_most_probable_candidate_counts_at_every_cut_of_the_froc() -> Result<(), EvalError> {
        let (found, gt) = two_candidates(0.9);
        let grid =
            || DetectionGrid::new(vec![0.3, 0.5, 0.9], vec![0.0]).with_segment_threshold(0.0);
        let kept = froc_of(grid(), &found, &gt, true)?;
        assert_eq!(at(&kept, 0.3), Some((Some(0.5), 1.0)));
        assert_eq!(at(&kept, 0.5), Some((Some(0.5), 0.0)));
        assert_eq!(at(&kept, 0.9), Some((Some(0.5), 0.0)));
        let plain = froc_of(grid(), &found, &gt, false)?;
        assert_eq!(at(&plain, 0.9), Some((Some(0.0), 0.0)));
        Ok(())
    }
}
