//! Choosing the post-processing on the validation patients' whole scans (`mtsa train
//! --calibrate`): the threshold and minimum volume with the best lesion-wise F1, and the models
//! fitted beside them (the lesion classifiers, the look model, the EGFR phenotype), written to
//! the run as `postprocess.json` for `predict` and `evaluate`.

use crate::contrast::Contrast;
use crate::lesion_filter::{self, Fitted, LabelledCandidates};
use crate::look::{self, LookModel};
use crate::phenotype::{lesion_phenotype, PhenotypeModel};
use crate::postprocess::{Postprocess, THICK_SLICE_FACTOR};
use crate::scan_workers::{score_scans, Workers};
use crate::segment::{scan_candidates, segment_scan, ScanPrediction};
use crate::thick_view::thicker_slices_from;
use crate::wholescan::{add_to_grid, detection_grid};
use crate::EvalError;
use mtsa_data::{read_patient, resample_mask, DatasetInfo};
use mtsa_infer::{RunPaths, TrainedModel};
use mtsa_io::Volume;
use mtsa_metrics::{DetectionGrid, GridPoint};
use rayon::prelude::*;
use std::borrow::Cow;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The models [`calibrate`] fits besides choosing the threshold and minimum volume.
#[derive(Debug, Clone, Copy, Default)]
pub struct CalibrationFits {
    /// The lesion-level classifier ([`crate::lesion_filter`]).
    pub lesion_classifier: bool,
    /// The patient-level EGFR model on the lesion phenotype ([`crate::phenotype`]).
    pub egfr_phenotype: bool,
    /// With `lesion_classifier`: the thick-slice classifier also reads each candidate's
    /// in-plane look ([`crate::look`]), scored by a model trained on the training scans.
    pub look_model: bool,
}

/// Seed of the look model's networks.
const LOOK_SEED: u64 = 25;

/// Chooses the post-processing on the validation patients' whole scans: the grid point with the
/// best lesion-wise F1, stored in the run as `postprocess.json` for `predict` and `evaluate`.
/// `fixed` carries what is not chosen here (mirror TTA, segment threshold); its threshold and
/// minimum volume are ignored. With `fit.lesion_classifier`, a lesion-level classifier is also
/// fitted on the same patients' candidates ([`crate::lesion_filter`]) and decides in place of
/// the grid point, whose values are still recorded; and a second one on the same scans seen
/// through slices twice as thick, both pairings of their slices ([`lesion_filter::fit_thick`]),
/// for scans with much thicker slices than theirs (recorded as `calibrated_slice_mm`). The
/// models learnt from true GTVs (read back from the cohort: no inference) come first
/// ([`fit_on_true_gtvs`]): with `fit.look_model`, the look model the thick-slice classifier
/// reads; with `fit.egfr_phenotype`, the patient-level EGFR model ([`crate::phenotype`]),
/// stored beside.
pub fn calibrate(
    model: &TrainedModel,
    run: &Path,
    data: &Path,
    fixed: &Postprocess,
    fit: CalibrationFits,
    batch: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(Postprocess, GridPoint), EvalError> {
    let info = mtsa_data::read_info(data)?;
    let preprocess = crate::predict::read_preprocess(&RunPaths::new(run).preprocess())?;
    let val: Vec<&mtsa_data::PatientInfo> =
        info.patients.iter().filter(|p| p.split == "val").collect();
    // The look model and the phenotype model learn from the patients' own scans and true
    // GTVs, read once; the look model first, since the thick-slice candidates read it.
    let (look, phenotype) = fit_on_true_gtvs(&info, fit, progress)?;
    let scored = score_scans(
        Workers::for_model(model, val.len()),
        &val,
        model,
        |m| Ok(m.replica()?),
        |model, p| {
            let (image, gt) = read_patient(&info, &p.id)?;
            let scan = segment_scan(model, &image, &preprocess, fixed, batch)?;
            let mut grid = detection_grid(fixed);
            add_to_grid(&mut grid, &scan, &resample_mask(&gt, &scan.geom))?;
            let mut one = ValidationScan {
                slice_mm: scan.geom.slice_thickness_mm,
                grid,
                labelled: None,
                thick: Vec::new(),
            };
            if fit.lesion_classifier {
                one.labelled = Some(labelled_candidates(&image, &gt, &scan, fixed, None));
                // The same scan through slices twice as thick, paired from the first slice and
                // from the second, for the thick-slice classifier.
                for first in 0..2 {
                    if let Some((image, gt)) = thicker_slices_from(&image, &gt, first) {
                        let scan = segment_scan(model, &image, &preprocess, fixed, batch)?;
                        let l = labelled_candidates(&image, &gt, &scan, fixed, look.as_ref());
                        one.thick.push(l);
                    }
                }
            }
            Ok(one)
        },
        progress,
    )?;
    let mut grid = detection_grid(fixed);
    let mut labelled = Vec::new();
    let mut thick_labelled = Vec::new();
    let mut thick_groups = Vec::new();
    let mut thickest = None::<f64>;
    for (i, one) in scored.into_iter().enumerate() {
        thickest = Some(thickest.map_or(one.slice_mm, |t| t.max(one.slice_mm)));
        grid.merge(&one.grid)?;
        labelled.extend(one.labelled);
        // Both views of a patient in one group: held out together in the thick classifier's
        // cross-validation.
        thick_groups.extend(std::iter::repeat_n(i, one.thick.len()));
        thick_labelled.extend(one.thick);
    }
    let classifier = fit
        .lesion_classifier
        .then(|| lesion_filter::fit(&labelled))
        .flatten();
    if let Some(f) = &classifier {
        log_fit("lesion classifier", f);
    }
    let thick_classifier = classifier.as_ref().and_then(|native| {
        let thick =
            lesion_filter::fit_thick(&native.classifier, &thick_labelled, &thick_groups, look)?;
        log_fit("thick-slice lesion classifier", &thick);
        Some(thick)
    });
    let best = grid.best_f1().ok_or_else(|| {
        EvalError::Usage(format!(
            "{}: no validation patients to choose the post-processing on",
            data.display()
        ))
    })?;
    let pp = Postprocess {
        threshold: best.threshold,
        min_volume_mm3: best.min_volume_mm3,
        flip_tta: fixed.flip_tta,
        segment_threshold: fixed.segment_threshold,
        source: format!(
            "{}chosen on {} validation patients' whole scans: best lesion-wise F1 {:.3} \
             (sensitivity {}, {:.2} false lesions per patient) over {} {:?} and minimum \
             volumes {:?} mm3",
            classifier_source(
                fit.lesion_classifier,
                classifier.as_ref(),
                thick_classifier.as_ref()
            ),
            val.len(),
            best.f1,
            best.sensitivity.map_or("-".into(), |s| format!("{s:.3}")),
            best.fp_per_patient,
            match fixed.segment_threshold {
                Some(s) => format!("lesions cut at {s} and peak thresholds"),
                None => "thresholds".into(),
            },
            grid.thresholds,
            grid.min_volumes_mm3
        ),
        // The second side's candidates need the classifier to read them.
        second_size: fixed.second_size.filter(|_| classifier.is_some()),
        close_mm: classifier.is_some().then_some(crate::closing::CLOSE_MM),
        lesion_classifier: classifier.map(|f| f.classifier),
        egfr_phenotype: phenotype,
        calibrated_slice_mm: thickest,
        thick_slice_classifier: thick_classifier.map(|f| f.classifier),
    };
    let path = RunPaths::new(run).postprocess();
    let json = serde_json::to_string_pretty(&pp).map_err(|e| EvalError::Usage(e.to_string()))?;
    mtsa_io::write_atomic(&path, |tmp| {
        std::fs::write(tmp, &json).map_err(|e| mtsa_io::IoError::io(tmp, e))
    })?;
    Ok((pp, best))
}

/// What one validation scan gives [`calibrate`], to be gathered in the patients' order.
struct ValidationScan {
    slice_mm: f64,
    /// This patient alone on the threshold and minimum-volume grid.
    grid: DetectionGrid,
    /// Its candidates on its own slices, with the classifier.
    labelled: Option<LabelledCandidates>,
    /// Its candidates through slices twice as thick (both pairings).
    thick: Vec<LabelledCandidates>,
}

/// What [`calibrate`] learns from patients' own scans and true GTVs (no inference), each scan
/// read once on all threads: the look model ([`crate::look`], with `fit.look_model` and
/// `fit.lesion_classifier`) from the training patients' bright spots and lesions, on their own
/// slices and through slices twice as thick; and the EGFR phenotype model ([`crate::phenotype`],
/// with `fit.egfr_phenotype`) from the lesions of every training and validation patient with an
/// EGFR label. Either is `None` when not asked for or when its examples hold one class only.
fn fit_on_true_gtvs(
    info: &DatasetInfo,
    fit: CalibrationFits,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(Option<LookModel>, Option<PhenotypeModel>), EvalError> {
    let look_asked = fit.lesion_classifier && fit.look_model;
    let wants_look = |p: &mtsa_data::PatientInfo| look_asked && p.split == "train";
    let wants_phenotype = |p: &mtsa_data::PatientInfo| {
        fit.egfr_phenotype && (p.split == "train" || p.split == "val") && p.egfr.is_some()
    };
    let patients: Vec<_> = info
        .patients
        .iter()
        .filter(|p| wants_look(p) || wants_phenotype(p))
        .collect();
    if patients.is_empty() {
        return Ok((None, None));
    }
    progress(0, patients.len());
    let done = AtomicUsize::new(0);
    let per_patient = patients
        .par_iter()
        .map(|p| {
            let (image, gt) = read_patient(info, &p.id)?;
            let examples = match wants_look(p) {
                true => look::examples(&image, &gt, lesion_filter::BRIGHT_CONTRAST),
                false => Vec::new(),
            };
            // A training patient without a lesion in its mask has nothing to measure.
            let measured = wants_phenotype(p)
                .then(|| {
                    let contrast = Contrast::of(&image.data);
                    lesion_phenotype(&image, &contrast, &gt.data.mapv(|v| v != 0))
                        .map(|m| (m, p.egfr == Some(1)))
                })
                .flatten();
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, patients.len());
            Ok((examples, measured))
        })
        .collect::<Result<Vec<_>, EvalError>>()?;
    // Patient order, whatever the threads' order: the models are the same on every run.
    let (examples, measured): (Vec<_>, Vec<_>) = per_patient.into_iter().unzip();
    let look = look_asked
        .then(|| fit_look(examples.into_iter().flatten().unzip()))
        .flatten();
    let (measured, mutant): (Vec<_>, Vec<_>) = measured.into_iter().flatten().unzip();
    let phenotype = fit
        .egfr_phenotype
        .then(|| PhenotypeModel::fit(&measured, &mutant))
        .flatten();
    Ok((look, phenotype))
}

/// The look model on the training scans' looks and whether each is a lesion's, logged.
fn fit_look((looks, lesion): (Vec<Vec<f64>>, Vec<bool>)) -> Option<LookModel> {
    let model = LookModel::fit(&looks, &lesion, LOOK_SEED);
    match &model {
        Some(m) => tracing::info!(
            "look model for the thick-slice classifier: {} networks on {} training bright spots \
             and lesions ({} lesion examples)",
            m.nets.len(),
            m.examples,
            m.lesions
        ),
        None => tracing::info!(
            "look model for the thick-slice classifier: none (the training scans' {} bright \
             spots and lesions hold one class only)",
            looks.len()
        ),
    }
    model
}

/// The first words of a calibrated run's `source`: what the lesion classifier did on the
/// validation patients (out-of-fold), before the grid point it replaces.
fn classifier_source(asked: bool, fitted: Option<&Fitted>, thick: Option<&Fitted>) -> String {
    match (chosen(fitted, true), chosen(thick, false)) {
        (Some(native), thick) => format!(
            "lesion classifier on {native}{}; it decides in place of the threshold and minimum \
             volume, which were ",
            thick.map_or(String::new(), |t| format!(
                "; on scans with slices over {THICK_SLICE_FACTOR}x as thick, a classifier on \
                 the same scans' slices averaged in pairs (both pairings): {t}"
            ))
        ),
        (None, _) if asked => "no lesion classifier (the validation candidates hold one class \
                               only); threshold and minimum volume "
            .into(),
        (None, _) => String::new(),
    }
}

/// Logs what each of a fitted classifier's cuts and outlines scored on the validation patients.
fn log_fit(name: &str, f: &Fitted) {
    for s in &f.cuts {
        tracing::info!(
            "{name} cut {:.2} on the validation patients (out of fold): {s}",
            s.cut
        );
    }
    for (outline, dice) in &f.outlines {
        tracing::info!(
            "{name}: kept lesions outlined at {}: mean patient Dice {dice:.3} on the validation \
             patients",
            outline.map_or("the candidate".into(), |t| format!("probability {t}"))
        );
    }
}

/// A fitted classifier's choices and what they scored, for the record's `source`; with
/// `outlined`, the outline it chose too.
fn chosen(fitted: Option<&Fitted>, outlined: bool) -> Option<String> {
    let f = fitted?;
    let c = &f.classifier;
    let s = f
        .cuts
        .iter()
        .find(|s| s.cut == c.cut && s.most_probable_kept == c.keep_most_probable)?;
    let (outline, dice) = f.outlines.iter().find(|o| o.0 == c.outline)?;
    let outline = match outlined {
        true => format!(
            "; kept lesions outlined at {} for the best mean patient Dice ({dice:.3})",
            outline.map_or("the whole candidate".into(), |t| format!("probability {t}"))
        ),
        false => "; kept lesions outlined as the first classifier's".into(),
    };
    Some(format!(
        "{} validation candidates ({} true), cut {} chosen for the best {} on out-of-fold \
         scores: {s}{outline}",
        s.candidates, s.true_candidates, c.cut, f.cut_for,
    ))
}

/// One validation scan's candidates on its own grid, each with the true lesions it touches.
fn labelled_candidates(
    image: &Volume<f32>,
    gt: &Volume<u8>,
    scan: &ScanPrediction,
    fixed: &Postprocess,
    look: Option<&LookModel>,
) -> LabelledCandidates {
    let contrast = Contrast::of(&image.data);
    let mut found = scan_candidates(
        image,
        &contrast,
        &scan.prob,
        &scan.geom,
        scan.fine_prob.as_ref(),
        fixed.segment(),
        lesion_filter::BRIGHT_CONTRAST,
    );
    if let Cow::Owned(rows) = lesion_filter::with_look(look, image, &contrast, &found) {
        found.features = rows;
    }
    LabelledCandidates::new(found, &gt.data.mapv(|v| v != 0))
}
