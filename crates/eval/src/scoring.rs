//! Scoring one split's predictions as the paper does (spec §5-§6): per slice, per patient in
//! 3-D over the GTV slices, and the patient EGFR call. Pure: it reads predictions and truth and
//! returns numbers and the figures to draw, and renders nothing.

use crate::figures::SliceFigure;
use crate::report_types::{PatientRow, SliceRow, SplitReport};
use crate::truth::bayes_accuracy;
use crate::{EvalError, MeanCi};
use mtsa_data::{Egfr, SliceRecord};
use mtsa_infer::{patient_egfr_call, slices_by_patient};
use mtsa_metrics::{
    binary_classification_with, segmentation_metrics_2d, segmentation_metrics_3d, BootstrapOptions,
    ClassificationOptions, ClassificationReport, SurfaceOptions,
};
use mtsa_model::Tasks;
use ndarray::{Array3, Axis};
use std::collections::BTreeMap;

/// The scores of one split from given predictions, without a network: what `evaluate` writes to
/// `metrics.json`, `patients.csv` and `slices.csv` for that split.
#[derive(Debug, Clone)]
pub struct SplitScores {
    pub report: SplitReport,
    pub patients: Vec<PatientRow>,
    pub slices: Vec<SliceRow>,
    /// The report's slice figures (the best two and worst two patients by 3-D Dice), not yet
    /// rendered.
    pub figures: Vec<SliceFigure>,
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
    score_split(name, split, prob, p_mutant, Tasks::Both, truth, seed)
}

/// [`score_predictions`] for the tasks a run has: the other task's scores stay empty.
pub(crate) fn score_split(
    name: &str,
    split: &mtsa_data::SplitData,
    prob: &[f32],
    p_mutant: &[f64],
    tasks: Tasks,
    truth: Option<&BTreeMap<String, f64>>,
    seed: u64,
) -> Result<SplitScores, EvalError> {
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
    // (3-D Dice, the patient's slice with the largest GTV) for the report's figures.
    let mut picks: Vec<(f64, usize)> = Vec::new();
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
        picks.push((m.dice, biggest));
    }
    if !seg {
        picks.clear();
    }
    picks.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Best two and worst two patients by 3-D Dice.
    if picks.len() > 4 {
        let worst = picks.split_off(picks.len() - 2);
        picks.truncate(2);
        picks.extend(worst);
    }
    let figures = picks
        .into_iter()
        .map(|(dice, k)| SliceFigure::of_split(split, k, pred.index_axis(Axis(0), k), dice))
        .collect::<Result<Vec<_>, _>>()?;

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
    Ok(SplitScores {
        report,
        patients,
        slices,
        figures,
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
