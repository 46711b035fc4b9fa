//! A lesion-level classifier after the network: the false-positive reduction stage of
//! computer-aided detection systems [ours; beyond the paper].
//!
//! Why: at the demo's 1.6 mm pixels the network marks enhancing vessels in the sulci and the
//! choroid plexus as confidently as small metastases (hundreds of false components with a peak
//! over 0.98, in every volume bin), so no probability or size cut separates them, and the size
//! cut that keeps false lesions near one per patient removes every lesion under 6 mm. On the
//! scan's own grid (0.8-1 mm in-plane) a few measurements tell them apart: a metastasis is
//! brighter than a vessel and sits in parenchyma, a vessel sits in dark CSF and near the
//! cortex. A candidate is a 26-connected component of the voxels the network marks (its
//! probabilities restored onto the scan's grid, above the segment threshold) together with the
//! voxels bright enough to be enhancement ([`BRIGHT_CONTRAST`]): at 1.6 mm pixels the network
//! never marks two in five metastases under 6 mm, while on the scan's own grid every one of
//! them is a bright spot. Each candidate is described by seven numbers ([`FEATURE_NAMES`]) and
//! scored by a ridge-penalised logistic regression fitted on the validation patients'
//! candidates ([`fit`]), whose cut is chosen for the best lesion-wise F1 on out-of-fold scores
//! (the thick-slice classifier's, [`fit_thick`], for the best mean patient Dice).
//!
//! Intensities enter as a contrast `ln(v / p50) / ln(p90 / p50)` against the brain's median and
//! 90th percentile (non-zero voxels), which a scanner's scale and gamma leave unchanged: with
//! plain ratios to the median, a classifier fitted on the internal site kept 2.35 false lesions
//! per patient on a site with gamma 1.2, against 0.10-0.45 with the contrast.
//!
//! This module holds the fitted classifier and how it keeps and outlines candidates; the
//! candidates and their description are [`candidates`]'s, the fitting on validation patients
//! [`fit`]'s.

mod candidates;
mod fit;

pub(crate) use candidates::candidates;
pub use candidates::{Candidates, BRIGHT_CONTRAST};
pub(crate) use fit::CUTS;
pub use fit::{fit, fit_thick, Fitted, LabelledCandidates};

use crate::contrast::Contrast;
use crate::look::{look, LookModel};
use crate::named_logistic::NamedLogistic;
use mtsa_io::Volume;
use mtsa_metrics::connected_components_3d;
use ndarray::{Array3, Zip};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// What describes a candidate, in the order of a feature row.
pub const FEATURE_NAMES: [&str; 7] = [
    "ln_volume_mm3_up_to_8mm_sphere",
    "mean_probability",
    "contrast_max_above_scan_p95",
    "contrast_p10_brain_shell_0_2.5mm",
    "contrast_p10_brain_shell_2.5_6mm",
    "ln_1_plus_depth_mm",
    "ln_1_plus_brighter_candidates",
];

/// The thick-slice classifier's eighth feature, after [`FEATURE_NAMES`], when it has a look
/// model ([`LesionClassifier::look`]): the model's logit for the candidate's in-plane look.
pub const LOOK_FEATURE: &str = "look_logit";

/// A fitted lesion classifier, stored in the run's `postprocess.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LesionClassifier {
    /// Over [`FEATURE_NAMES`]; its fields sit at the record's top level.
    #[serde(flatten)]
    pub model: NamedLogistic,
    /// A candidate is kept when its probability of being a lesion reaches this.
    pub cut: f64,
    /// Voxels above this contrast are candidates with the network's marks
    /// ([`BRIGHT_CONTRAST`] at fitting time).
    pub bright_contrast: f64,
    /// With a value, a kept candidate's GTV is its voxels whose probability exceeds this, and
    /// its bright voxels (all of them when that leaves none); without, the whole candidate
    /// (records before the twenty-first session). Why: the candidates are cut low (segment
    /// threshold 0.5) so that faint small lesions are found, and at that cut the network's
    /// probabilities, restored from 1.6 mm pixels, outline each lesion wider than its GTV;
    /// chosen on the validation patients for the mean patient Dice ([`fit`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outline: Option<f32>,
    /// With a value, each candidate's in-plane look scored by this model ([`crate::look`]) is
    /// the last feature ([`LOOK_FEATURE`]). Written for the thick-slice classifier only: on the
    /// twenty-fourth session's demo runs it found site C's small lesions (4 mm slices), while
    /// added to the first classifier it cost the internal site and site B lesions or false
    /// lesions on one of two runs (`docs/whole-scan.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub look: Option<LookModel>,
    /// When no candidate of a scan reaches the cut, its most probable one is kept (and
    /// outlined) all the same; chosen on the validation patients after the cut ([`fit`],
    /// [`fit_thick`]). Why: a scan sent for radiosurgery planning shows at least one
    /// metastasis, and on 4 mm slices the thick-slice classifier scores a dim 3-4 mm one under
    /// the cut while it is still the scan's likeliest candidate (two of the four site-C
    /// patients seed 0's demo left empty), which cost those patients all of their Dice. The
    /// price, on a scan that truly holds no metastasis (a follow-up after treatment), is one
    /// false lesion: `predict` flags it (`kept_below_cut` in `egfr.json`). Records before the
    /// thirty-third session read `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_most_probable: bool,
}

impl LesionClassifier {
    /// Probability that a candidate with this feature row ([`LesionClassifier::rows`]) is a
    /// lesion.
    pub fn probability(&self, row: &[f64]) -> f64 {
        self.model.probability(row)
    }

    /// The features this classifier reads: [`FEATURE_NAMES`], then [`LOOK_FEATURE`] with a
    /// look model.
    pub fn feature_names(&self) -> Vec<&'static str> {
        names_with(self.look.is_some())
    }

    /// `found`'s feature rows as this classifier reads them: with a look model, each
    /// candidate's look logit appended (`image` and its `contrast` are the scan's).
    pub(crate) fn rows<'a>(
        &self,
        image: &Volume<f32>,
        contrast: &Contrast,
        found: &'a Candidates,
    ) -> Cow<'a, [Vec<f64>]> {
        with_look(self.look.as_ref(), image, contrast, found)
    }

    /// Which candidates are kept, by their `probability` (one per candidate): those reaching
    /// the cut, or with [`LesionClassifier::keep_most_probable`] and none reaching it, the most
    /// probable one (the first of equals).
    pub fn kept(&self, probability: &[f64]) -> Vec<bool> {
        kept_at(probability, self.cut, self.keep_most_probable)
    }

    /// The GTV of the candidates of `found` that [`LesionClassifier::kept`] keeps, each
    /// outlined at `outline` ([`outlined`]), or whole.
    pub(crate) fn keep(
        &self,
        found: &Candidates,
        probability: &[f64],
        outline: Option<f32>,
    ) -> Array3<bool> {
        let kept = self.kept(probability);
        outlined(found, outline, |k| kept[k])
    }

    /// `found`'s labels on the voxels each candidate would keep at this classifier's outline
    /// (0 elsewhere): what the whole-scan FROC sweeps its cut over, so that its point at the
    /// cut counts the lesions `keep` outputs (before any closing), not whole candidates.
    pub(crate) fn outlined_labels(&self, found: &Candidates) -> Array3<u32> {
        let kept = outlined(found, self.outline, |_| true);
        Zip::from(&found.labels)
            .and(&kept)
            .map_collect(|&l, &k| if k { l } else { 0 })
    }

    /// Why a stored record cannot be applied by this build, if it cannot: fitted on other
    /// features, a coefficient or standardiser entry missing, a cut outside (0, 1) or a
    /// contrast level that is not positive.
    pub fn problem(&self) -> Option<String> {
        if let Some(problem) = self.look.as_ref().and_then(LookModel::problem) {
            return Some(problem);
        }
        let consistent = self.model.fits_features(&self.feature_names())
            && self.cut > 0.0
            && self.cut < 1.0
            && self.bright_contrast.is_finite()
            && self.bright_contrast > 0.0
            && self.outline.is_none_or(|t| t > 0.0 && t < 1.0);
        (!consistent).then(|| {
            format!(
                "the lesion classifier must use the features {FEATURE_NAMES:?} (and \
                 {LOOK_FEATURE:?} with a look model) with one coefficient each, a cut and any \
                 outline in (0, 1) and a positive bright_contrast (a run calibrated by another \
                 version of mtsa is re-calibrated, without training, by `mtsa train --data \
                 <its dataset> --out <run> --resume`)"
            )
        })
    }
}

/// [`FEATURE_NAMES`], then [`LOOK_FEATURE`] when `look`.
fn names_with(look: bool) -> Vec<&'static str> {
    let mut names = FEATURE_NAMES.to_vec();
    if look {
        names.push(LOOK_FEATURE);
    }
    names
}

/// The candidates whose probability reaches `cut`; with `most_probable` and none reaching it,
/// the most probable one (the first of equals) instead of none.
fn kept_at(probability: &[f64], cut: f64, most_probable: bool) -> Vec<bool> {
    let mut kept: Vec<bool> = probability.iter().map(|p| *p >= cut).collect();
    if most_probable && !kept.contains(&true) {
        if let Some(best) = most_probable_of(probability) {
            kept[best] = true;
        }
    }
    kept
}

/// The index of the highest probability (the first of equals); `None` when there is none.
pub(crate) fn most_probable_of(probability: &[f64]) -> Option<usize> {
    (0..probability.len()).reduce(|b, k| match probability[k] > probability[b] {
        true => k,
        false => b,
    })
}

/// `found`'s feature rows, with each candidate's look logit appended when there is a model
/// (without one, `found`'s own rows, not a copy).
pub(crate) fn with_look<'a>(
    model: Option<&LookModel>,
    image: &Volume<f32>,
    contrast: &Contrast,
    found: &'a Candidates,
) -> Cow<'a, [Vec<f64>]> {
    let Some(model) = model else {
        return Cow::Borrowed(&found.features);
    };
    found
        .features
        .iter()
        .zip(&found.brightest)
        .map(|(row, &at)| {
            let mut row = row.clone();
            row.push(model.logit(&look(image, contrast, at)));
            row
        })
        .collect()
}

/// The voxels of the candidates `chosen` (by 0-based index) at `outline`, as
/// [`LesionClassifier::outline`] describes: with an outline, a candidate's voxels above it
/// (all of them when none is), and of the pieces that trimming may split it into, the largest;
/// without, the whole candidate. The others would each count as a false lesion of their own:
/// on seed 0's demo run they doubled the test set's false lesions. Pieces of two candidates
/// never touch, since the candidates are separate components of a larger mask.
fn outlined(
    found: &Candidates,
    outline: Option<f32>,
    chosen: impl Fn(usize) -> bool,
) -> Array3<bool> {
    let kept = |l: u32| l != 0 && chosen(l as usize - 1);
    let Some(outline) = outline else {
        return found.labels.mapv(kept);
    };
    let mut above = vec![false; found.features.len()];
    Zip::from(&found.labels)
        .and(&found.level)
        .for_each(|&l, &level| {
            if l != 0 && level > outline {
                above[l as usize - 1] = true;
            }
        });
    let trimmed = Zip::from(&found.labels)
        .and(&found.level)
        .map_collect(|&l, &level| kept(l) && (level > outline || !above[l as usize - 1]));
    let (pieces, n) = connected_components_3d(trimmed.view());
    let (mut size, mut owner) = (vec![0usize; n], vec![0usize; n]);
    Zip::from(&pieces).and(&found.labels).for_each(|&p, &l| {
        if p != 0 {
            size[p as usize - 1] += 1;
            owner[p as usize - 1] = l as usize - 1;
        }
    });
    let mut largest = vec![None::<usize>; found.features.len()];
    for piece in 0..n {
        let best = &mut largest[owner[piece]];
        if best.is_none_or(|b| size[piece] > size[b]) {
            *best = Some(piece);
        }
    }
    pieces.mapv(|p| p != 0 && largest[owner[p as usize - 1]] == Some(p as usize - 1))
}
