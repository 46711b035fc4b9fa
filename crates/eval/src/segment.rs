//! One whole scan through the trained network: the code `predict` runs for a new patient and
//! `evaluate` runs for every test patient, so the numbers in the report are those of the tool
//! a clinic uses.
//!
//! Steps: preprocess every axial slice (spec §4), run the network on the brain slices (with an
//! optional left-right mirror average), threshold the probabilities, drop lesions smaller than
//! the minimum volume (both chosen on validation patients, [`Postprocess`]), and map the result
//! back onto the input's own grid. The EGFR call votes over the cleaned mask's slices, or, with
//! a phenotype model in the run, is made from the cleaned mask's measured lesions.

use crate::closing::close_lesions;
use crate::contrast::Contrast;
use crate::lesion_filter::{self, Candidates};
use crate::phenotype::PhenotypeCall;
use crate::postprocess::Postprocess;
use crate::EvalError;
use mtsa_data::{
    network_input, preprocess_image, resample_mask, restore_probabilities, PreprocessConfig,
    SliceGeometry,
};
use mtsa_infer::{patient_egfr_call, PatientCall, TrainedModel};
use mtsa_io::Volume;
use mtsa_metrics::keep_lesions;
use ndarray::{Array3, ArrayView2, Axis};
use std::cell::OnceCell;
use tch::Tensor;

/// Everything known about one scan after the network has seen it.
pub struct ScanPrediction {
    /// Preprocessed slices, K x S x S (all canonical axial slices), for overlays.
    pub slices: Array3<f32>,
    pub geom: SliceGeometry,
    /// GTV probability on the network's grid, K x S x S (0 on slices without brain).
    pub prob: Array3<f32>,
    /// The cleaned mask on the network's grid (cut, then doubtful and small lesions dropped).
    pub mask_grid: Array3<bool>,
    /// The cleaned mask on the input's own grid: what `predict` writes.
    pub mask: Volume<u8>,
    /// With [`Postprocess::second_size`]: the GTV probability at that side, restored onto the
    /// input's grid.
    pub fine_prob: Option<Volume<f32>>,
    /// Canonical slice indices the network ran on (the brain slices).
    pub run_k: Vec<usize>,
    /// Per run slice: cleaned GTV area (px) and EGFR-mutant probability.
    pub areas: Vec<usize>,
    pub p_mutant: Vec<f64>,
    /// The paper's vote over the slices with cleaned GTV (or, when none is left, over the
    /// slices by probability mass); `None` only for a scan without brain slices. `used`
    /// indexes `with_gtv`.
    pub call: Option<PatientCall>,
    /// Indices into `run_k` of the slices that could vote.
    pub with_gtv: Vec<usize>,
    /// With a lesion classifier: its candidates on the input's grid and each one's probability
    /// of being a lesion (every kept lesion of `mask` is one candidate).
    pub candidates: Option<ScoredCandidates>,
    /// With [`Postprocess::egfr_phenotype`]: the call from the cleaned GTV's lesion phenotype.
    pub phenotype: Option<PhenotypeCall>,
}

/// The lesion classifier's candidates of one scan and their scores.
pub struct ScoredCandidates {
    /// 0 outside every candidate, `n` on the voxels candidate `n` keeps when the classifier
    /// keeps it (its outline,
    /// [`LesionClassifier::outlined_labels`](crate::LesionClassifier::outlined_labels); the
    /// input's grid).
    pub labels: Array3<u32>,
    /// Candidate `n`'s probability of being a lesion at index `n - 1`.
    pub probability: Vec<f64>,
    /// The deciding classifier's cut: a kept candidate under it is the scan's most probable
    /// one, kept because none reached the cut
    /// ([`LesionClassifier::keep_most_probable`](crate::LesionClassifier::keep_most_probable)).
    pub cut: f64,
}

impl ScanPrediction {
    /// The patient's P(mutant): the lesion phenotype's when the run has that model, else the
    /// network's slice vote (`None` for a segmentation-only system without the model, or a
    /// scan without brain slices).
    pub fn egfr_probability(&self) -> Option<f64> {
        match &self.phenotype {
            Some(p) => Some(p.probability),
            None => self.call.as_ref().map(|c| c.probability),
        }
    }

    /// The GTV probability on the input's own grid, the map the lesion candidates are cut from
    /// ([`candidate_probabilities`]): the network's probabilities restored there and, with a
    /// second size, their voxel-wise maximum with those at that size. Not the mask written: a
    /// run's threshold, minimum volume or lesion classifier decide that.
    pub fn probability_map(&self) -> Volume<f32> {
        candidate_probabilities(&self.prob, &self.geom, self.fine_prob.as_ref())
    }

    /// Spacing of the network's grid (slice, row, column) in mm.
    pub fn grid_spacing(&self) -> [f64; 3] {
        let px = self.geom.pixel_mm();
        [self.geom.slice_thickness_mm, px, px]
    }
}

/// Runs `image` through `model` and post-processes as `pp` says.
pub fn segment_scan(
    model: &TrainedModel,
    image: &Volume<f32>,
    preprocess: &PreprocessConfig,
    pp: &Postprocess,
    batch: usize,
) -> Result<ScanPrediction, EvalError> {
    if !model.tasks.segments() {
        return Err(EvalError::Usage(format!(
            "`{}` is a classification-only system: it cannot find lesions in a whole scan \
             (use a segmenting model)",
            model.config.architecture
        )));
    }
    let (slices, geom) = preprocess_image(image, None, preprocess)?;
    let run_k = geom.brain_slices.clone();
    let x = brain_slices_input(model, &slices, &geom);
    let (prob_run, p_mutant) = forward(model, &x, batch, pp.flip_tta)?;
    let prob = place_slices(&prob_run, &geom)?;
    let fine_prob = match pp.second_size {
        Some(size) => Some(fine_probabilities(model, image, preprocess, size, batch)?),
        None => None,
    };
    // The brain's intensity reference, for the classifier and the phenotype alike: a sort of
    // every brain voxel, done once per scan and only when one of them needs it.
    let contrast = OnceCell::new();
    let contrast = || contrast.get_or_init(|| Contrast::of(&image.data));
    // `measured`: the lesions the phenotype reads, where they are not the mask itself.
    let (mask_grid, mask, candidates, measured) = match pp.classifier_for(geom.slice_thickness_mm) {
        None => {
            let px = geom.pixel_mm();
            let spacing = [geom.slice_thickness_mm, px, px];
            let mask_grid = keep_lesions(
                prob.view(),
                spacing,
                pp.segment(),
                pp.threshold,
                pp.min_volume_mm3,
            )?;
            // Back onto the input grid: the cleaned mask itself is interpolated and cut at one
            // half. Interpolating the probabilities and cutting at a high threshold instead
            // would erode every lesion and split thin ones into several on the finer grid.
            let mask: Volume<u8> = restore_probabilities(&mask_grid.mapv(f32::from), &geom)
                .map(|p| u8::from(*p > 0.5));
            (mask_grid, mask, None, None)
        }
        Some(classifier) => {
            // The classifier decides on the input's own grid, where a small metastasis and a
            // vessel differ; the network's grid keeps the kept lesions for the vote and overlays.
            let found = scan_candidates(
                image,
                contrast(),
                &prob,
                &geom,
                fine_prob.as_ref(),
                pp.segment(),
                classifier.bright_contrast,
            );
            let probability: Vec<f64> = classifier
                .rows(image, contrast(), &found)
                .iter()
                .map(|r| classifier.probability(r))
                .collect();
            let brain = OnceCell::new();
            let close = |lesions: Array3<bool>| match pp.close_mm {
                Some(radius) => {
                    let brain = brain.get_or_init(|| image.data.mapv(|v| v != 0.0));
                    close_lesions(&lesions, brain, image.spacing(), radius)
                }
                None => lesions,
            };
            let kept = close(classifier.keep(&found, &probability, classifier.outline));
            // The phenotype reads the kept candidates whole: its model is fitted on true GTVs,
            // and an outline that trims a lesion to the network's surest voxels can trim its
            // dark core too (seed 0's demo run: test EGFR 0.737 measured whole, 0.711
            // outlined at 0.8; docs/whole-scan.md). Only a run with a phenotype model needs them.
            let measured = (classifier.outline.is_some() && pp.egfr_phenotype.is_some())
                .then(|| close(classifier.keep(&found, &probability, None)));
            let mask = Volume::new(kept.mapv(u8::from), image.affine);
            let mask_grid = resample_mask(&mask, &geom).mapv(|v| v != 0);
            let scored = ScoredCandidates {
                labels: classifier.outlined_labels(&found),
                probability,
                cut: classifier.cut,
            };
            (mask_grid, mask, Some(scored), measured)
        }
    };
    let areas: Vec<usize> = run_k
        .iter()
        .map(|&k| {
            mask_grid
                .index_axis(Axis(0), k)
                .iter()
                .filter(|m| **m)
                .count()
        })
        .collect();
    let phenotype = pp.egfr_phenotype.as_ref().map(|m| {
        let lesions = measured.unwrap_or_else(|| mask.data.mapv(|v| v != 0));
        m.call(image, contrast(), &lesions)
    });
    let (with_gtv, mut call) = egfr_vote(&areas, &prob, &run_k, &p_mutant);
    if !model.tasks.classifies() {
        // A segmentation-only system has no EGFR output to vote with.
        call = None;
    }
    Ok(ScanPrediction {
        slices,
        geom,
        prob,
        mask_grid,
        mask,
        fine_prob,
        run_k,
        areas,
        p_mutant,
        call,
        with_gtv,
        candidates,
        phenotype,
    })
}

/// The lesion candidates of a scan on the input's own grid: the network's probabilities there
/// ([`candidate_probabilities`]) cut at `segment`, with the voxels above the `bright` contrast
/// (`contrast` the image's); each component described for the classifier.
pub(crate) fn scan_candidates(
    image: &Volume<f32>,
    contrast: &Contrast,
    prob: &Array3<f32>,
    geom: &SliceGeometry,
    fine: Option<&Volume<f32>>,
    segment: f32,
    bright: f64,
) -> Candidates {
    let restored = candidate_probabilities(prob, geom, fine);
    lesion_filter::candidates(image, contrast, &restored, segment, bright)
}

/// `prob` (the network's grid) restored onto the input's grid (bilinear), joined by the
/// voxel-wise maximum with `fine` (a second size's, already on that grid) if any.
fn candidate_probabilities(
    prob: &Array3<f32>,
    geom: &SliceGeometry,
    fine: Option<&Volume<f32>>,
) -> Volume<f32> {
    let mut restored = restore_probabilities(prob, geom);
    if let Some(fine) = fine {
        restored
            .data
            .zip_mut_with(&fine.data, |p, &q| *p = p.max(q));
    }
    restored
}

/// The GTV probabilities of `image` with its slices resampled to `size` pixels over the same
/// field of view (the network's GTV path alone, no mirror), restored onto the input's grid.
fn fine_probabilities(
    model: &TrainedModel,
    image: &Volume<f32>,
    preprocess: &PreprocessConfig,
    size: usize,
    batch: usize,
) -> Result<Volume<f32>, EvalError> {
    let fine = PreprocessConfig {
        size,
        ..preprocess.clone()
    };
    let (slices, geom) = preprocess_image(image, None, &fine)?;
    let run: Vec<f32> = match geom.brain_slices.is_empty() {
        true => Vec::new(),
        false => {
            let x = brain_slices_input(model, &slices, &geom);
            Vec::try_from(&model.predict_gtv(&x, batch)?.contiguous().view([-1]))?
        }
    };
    Ok(restore_probabilities(&place_slices(&run, &geom)?, &geom))
}

/// Network input: every brain slice (with its neighbours for a 2.5-D model), since nobody
/// knows where the tumour is. N x C x S x S, N = brain slices.
fn brain_slices_input(model: &TrainedModel, slices: &Array3<f32>, geom: &SliceGeometry) -> Tensor {
    let s = geom.size;
    let r = model.net.config().context_slices();
    let run_k = &geom.brain_slices;
    let mut input = Vec::with_capacity(run_k.len() * (2 * r + 1) * s * s);
    for &k in run_k {
        input.extend(network_input(slices.view(), k, r));
    }
    Tensor::from_slice(&input).view([run_k.len() as i64, (2 * r + 1) as i64, s as i64, s as i64])
}

/// Per-brain-slice maps (flattened N x S x S) placed into all K canonical slices (K x S x S,
/// 0 on slices without brain).
fn place_slices(run: &[f32], geom: &SliceGeometry) -> Result<Array3<f32>, EvalError> {
    let s = geom.size;
    let mut prob = Array3::<f32>::zeros((geom.n_slices(), s, s));
    for (n, &k) in geom.brain_slices.iter().enumerate() {
        let plane = ArrayView2::from_shape((s, s), &run[n * s * s..(n + 1) * s * s])
            .map_err(|e| EvalError::Usage(e.to_string()))?;
        prob.index_axis_mut(Axis(0), k).assign(&plane);
    }
    Ok(prob)
}

/// The paper's vote over the slices with cleaned GTV. When post-processing left no lesion, the
/// vote falls back to the slices by probability mass (the most lesion-like slices), so every
/// scan gets an EGFR probability; `with_gtv` then lists the slices with any mass.
fn egfr_vote(
    areas: &[usize],
    prob: &Array3<f32>,
    run_k: &[usize],
    p_mutant: &[f64],
) -> (Vec<usize>, Option<PatientCall>) {
    let mut weights = areas.to_vec();
    if weights.iter().all(|&a| a == 0) {
        // Probability mass in thousandths of a pixel, so the vote's integer areas can rank it.
        weights = run_k
            .iter()
            .map(|&k| (prob.index_axis(Axis(0), k).sum() * 1000.0) as usize)
            .collect();
    }
    let with_gtv: Vec<usize> = (0..run_k.len()).filter(|&n| weights[n] > 0).collect();
    let call = patient_egfr_call(
        &with_gtv.iter().map(|&n| weights[n]).collect::<Vec<_>>(),
        &with_gtv.iter().map(|&n| p_mutant[n]).collect::<Vec<_>>(),
    );
    (with_gtv, call)
}

/// Per-pixel GTV probabilities (flattened N x S x S) and per-slice mutant probabilities, with
/// the mirrored slices' outputs averaged in when `flip` (mirrored back before averaging).
fn forward(
    model: &TrainedModel,
    x: &Tensor,
    batch: usize,
    flip: bool,
) -> Result<(Vec<f32>, Vec<f64>), EvalError> {
    let pred = model.predict(x, batch)?;
    let mut prob = pred.prob();
    let mut p_mutant = pred.p_mutant()?;
    if flip {
        let mirrored = model.predict(&x.flip([3]), batch)?;
        prob = (prob + mirrored.prob().flip([2])) * 0.5;
        for (p, q) in p_mutant.iter_mut().zip(mirrored.p_mutant()?) {
            *p = 0.5 * (*p + q);
        }
    }
    let prob: Vec<f32> = Vec::try_from(&prob.contiguous().view([-1]))?;
    Ok((prob, p_mutant))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::s;

    #[test]
    fn a_second_size_adds_the_candidates_its_probabilities_mark() -> Result<(), EvalError> {
        // A 40 x 40 x 6 mm head of 1 mm voxels, brain inside a disc; 64 px over 48 mm.
        let data = Array3::from_shape_fn((40, 40, 6), |(i, j, _)| {
            let d = (i as f32 - 19.5).powi(2) + (j as f32 - 19.5).powi(2);
            match d <= 225.0 {
                true => 100.0 + ((i * 7 + j * 3) % 5) as f32,
                false => 0.0,
            }
        });
        let image = Volume::new(data, mtsa_io::diagonal_affine([1.0; 3], [0.0; 3]));
        let cfg = PreprocessConfig {
            size: 64,
            fov_mm: 48.0,
            ..PreprocessConfig::default()
        };
        let (_, geom) = preprocess_image(&image, None, &cfg)?;
        // The trained size marks one blob near the centre; the second size another off it.
        let mut prob = Array3::<f32>::zeros((geom.n_slices(), 64, 64));
        prob.slice_mut(s![2..4, 30..35, 30..35]).fill(0.9);
        let mut fine = Volume::new(Array3::<f32>::zeros((40, 40, 6)), image.affine);
        fine.data.slice_mut(s![8..12, 8..12, 2..4]).fill(0.9);
        let blank = Volume::new(Array3::<f32>::zeros((40, 40, 6)), image.affine);
        let contrast = Contrast::of(&image.data);
        let count = |fine: Option<&Volume<f32>>| {
            scan_candidates(&image, &contrast, &prob, &geom, fine, 0.5, f64::INFINITY)
                .features
                .len()
        };
        assert_eq!(count(None), 1);
        // The maximum: a second size that marks nothing removes nothing.
        assert_eq!(count(Some(&blank)), 1);
        assert_eq!(count(Some(&fine)), 2);
        Ok(())
    }
}
