//! The patient's EGFR call from the lesions' measured appearance on the whole scan [ours;
//! beyond the paper].
//!
//! Why: MTSA-Net's slice vote at the demo's 128 px input (1.6 mm pixels) stayed near chance on
//! whole scans (internal test 0.39-0.48 over three seeds, Bayes 0.84-0.90), because what sets
//! P(mutant) — how many lesions, how large, how necrotic, how heterogeneous their enhancement,
//! how much oedema around them — lives in lesions two to four pixels across at that size. On
//! the scan's own grid (0.8-1 mm in-plane) inside the cleaned GTV these are measurable: a
//! ridge-penalised logistic regression on six such measurements, fitted on the training and
//! validation patients' true GTVs, called 0.71-0.79 of the internal test patients from the
//! predicted masks of the eighteenth session's seed-0 model (`docs/whole-scan.md`).
//!
//! Limits: the measurements were chosen for what the synthetic cohort's EGFR formula uses
//! (count, size, necrosis, texture, oedema; `docs/synthetic-cohort.md`). On real patients
//! these are the features radiology reads too, but whether they carry EGFR there is a
//! clinical question this project cannot answer without a labelled cohort.
//!
//! Every intensity enters as the scan's contrast ([`Contrast`]), which a scanner's scale and
//! gamma leave unchanged, and the shells around a lesion as differences from the lesion's own
//! surroundings 15-25 mm out, which a smooth bias field leaves nearly unchanged.

use crate::contrast::Contrast;
use crate::named_logistic::NamedLogistic;
use crate::neighbourhood::{bounding_boxes, neighbourhood, BoundingBox};
use mtsa_io::Volume;
use mtsa_metrics::{connected_components_3d, percentile_linear};
use ndarray::{Array3, Zip};
use serde::{Deserialize, Serialize};

/// A patient's row: the lesion count, then per-lesion measurements averaged over its lesions.
pub const FEATURE_NAMES: [&str; 6] = [
    "lesions",
    "mean_ln_radius_mm",
    "mean_dark_fraction",
    "mean_bright_spread",
    "mean_shell_0_3mm",
    "mean_shell_3_6mm",
];

/// Shells around a lesion (mm from its nearest voxel): the oedema next to it, the oedema
/// further out, and the reference tissue the two are compared with (beyond the 15 mm of oedema
/// the cohort's lesions carry at most).
const SHELLS_MM: [(f64, f64); 3] = [(0.0, 3.0), (3.0, 6.0), (15.0, 25.0)];
/// Voxels darker than the brain's median (contrast 0) count as necrotic core.
const DARK_CONTRAST: f64 = 0.0;
/// Voxels brighter than the brain's 90th percentile (contrast 1) count as enhancement; the
/// spread of their contrast is the texture measure.
const BRIGHT_CONTRAST: f64 = 1.0;
/// Fewer enhancing voxels than this have no spread (spread 0).
const MIN_BRIGHT_VOXELS: usize = 3;
/// Ridge penalty on the standardised coefficients (scikit-learn's default `C = 1`): about 150
/// training patients and six correlated measurements.
const RIDGE: f64 = 1.0;

/// The six numbers of [`FEATURE_NAMES`] for the lesions of `mask` (26-connected components on
/// `image`'s grid, `contrast` the image's); `None` when the mask holds no lesion.
pub(crate) fn lesion_phenotype(
    image: &Volume<f32>,
    contrast: &Contrast,
    mask: &Array3<bool>,
) -> Option<Vec<f64>> {
    let (labels, n) = connected_components_3d(mask.view());
    if n == 0 {
        return None;
    }
    let lesions: Vec<[Option<f64>; 5]> = bounding_boxes(&labels, n)
        .into_iter()
        .enumerate()
        .map(|(k, bbox)| measure(image, &labels, k as u32 + 1, bbox, contrast))
        .collect();
    let mean = |j: usize| {
        let v: Vec<f64> = lesions.iter().filter_map(|l| l[j]).collect();
        if v.is_empty() {
            0.0 // no lesion had the shell (all at the scan's edge): no oedema measured
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    Some(std::iter::once(n as f64).chain((0..5).map(mean)).collect())
}

/// One lesion's ln equivalent radius, dark fraction, bright spread and the two near shells'
/// median contrast minus the reference shell's (`None` where a shell holds no brain voxel).
fn measure(
    image: &Volume<f32>,
    labels: &Array3<u32>,
    label: u32,
    bbox: BoundingBox,
    contrast: &Contrast,
) -> [Option<f64>; 5] {
    let spacing = image.spacing();
    let around = neighbourhood(labels, &image.data, label, bbox, spacing, SHELLS_MM[2].1);
    let mut inside = Vec::new();
    let mut shells: [Vec<f64>; 3] = Default::default();
    Zip::from(&around.labels)
        .and(&around.image)
        .and(&around.distance_mm)
        .for_each(|&l, &v, &d| {
            let c = contrast.of_value(f64::from(v));
            if l == label {
                inside.push(c);
            } else if l == 0 && v != 0.0 {
                // Brain voxels of no lesion: another lesion is not this one's surroundings.
                for (shell, &(a, b)) in shells.iter_mut().zip(&SHELLS_MM) {
                    if d > a && d <= b {
                        shell.push(c);
                    }
                }
            }
        });
    let volume = inside.len() as f64 * spacing.iter().product::<f64>();
    let radius = (3.0 * volume / (4.0 * std::f64::consts::PI)).cbrt();
    let dark = inside.iter().filter(|c| **c < DARK_CONTRAST).count() as f64 / inside.len() as f64;
    let bright: Vec<f64> = inside
        .iter()
        .copied()
        .filter(|c| *c > BRIGHT_CONTRAST)
        .collect();
    let spread = if bright.len() >= MIN_BRIGHT_VOXELS {
        let m = bright.iter().sum::<f64>() / bright.len() as f64;
        (bright.iter().map(|c| (c - m).powi(2)).sum::<f64>() / bright.len() as f64).sqrt()
    } else {
        0.0
    };
    let [near, further, reference] = shells.map(|v| percentile_linear(&v, 50.0));
    let relative = |shell: Option<f64>| shell.zip(reference).map(|(a, r)| a - r);
    [
        Some(radius.ln()),
        Some(dark),
        Some(spread),
        relative(near),
        relative(further),
    ]
}

/// The fitted patient-level model, stored in the run's `postprocess.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhenotypeModel {
    /// Over [`FEATURE_NAMES`]; its fields sit at the record's top level.
    #[serde(flatten)]
    pub model: NamedLogistic,
    /// The training patients' mutant fraction: the probability of a scan where no lesion is
    /// found (no measurement to call on), as the radiomics system does.
    pub prevalence: f64,
    /// Patients it was fitted on.
    pub patients: usize,
}

/// A scan's phenotype call: its measurements (none without a lesion) and P(mutant).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhenotypeCall {
    pub features: Option<Vec<f64>>,
    pub probability: f64,
}

impl PhenotypeModel {
    /// Fits on one row per patient; `None` when the labels hold one class only.
    pub fn fit(rows: &[Vec<f64>], mutant: &[bool]) -> Option<Self> {
        Some(Self {
            model: NamedLogistic::fit(&FEATURE_NAMES, rows, mutant, RIDGE)?,
            prevalence: mutant.iter().filter(|m| **m).count() as f64 / mutant.len() as f64,
            patients: rows.len(),
        })
    }

    /// The call on a scan whose cleaned GTV is `mask` (on `image`'s grid, `contrast` the
    /// image's).
    pub(crate) fn call(
        &self,
        image: &Volume<f32>,
        contrast: &Contrast,
        mask: &Array3<bool>,
    ) -> PhenotypeCall {
        let features = lesion_phenotype(image, contrast, mask);
        let probability = features
            .as_ref()
            .map_or(self.prevalence, |row| self.model.probability(row));
        PhenotypeCall {
            features,
            probability,
        }
    }

    /// Why a stored record cannot be applied by this build, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let consistent =
            self.model.fits_features(&FEATURE_NAMES) && (0.0..=1.0).contains(&self.prevalence);
        (!consistent).then(|| {
            format!(
                "the EGFR phenotype model must use the features {FEATURE_NAMES:?} with one \
                 coefficient each and a prevalence in [0, 1] (a run calibrated by another \
                 version of mtsa is re-calibrated, without training, by `mtsa train --data \
                 <its dataset> --out <run> --resume`)"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mtsa_io::diagonal_affine;
    use ndarray::s;

    /// A 60 x 60 x 60 brain of 1 mm voxels at 100 (and 200 on one voxel in ten, so the
    /// 90th percentile sits above the median), a 5 x 5 x 5 lesion at 400 with a dark 3 x 3 x 3
    /// core at 50, oedema at 80 out to 3 mm around it; and a second, 2 x 2 x 2 lesion.
    fn scan() -> (Volume<f32>, Array3<bool>) {
        let mut img = Array3::from_shape_fn((60, 60, 60), |(i, j, k)| {
            if (i + j + k) % 10 == 0 {
                200.0f32
            } else {
                100.0
            }
        });
        let mut mask = Array3::from_elem((60, 60, 60), false);
        img.slice_mut(s![17..28, 17..28, 17..28]).fill(80.0);
        img.slice_mut(s![20..25, 20..25, 20..25]).fill(400.0);
        img.slice_mut(s![21..24, 21..24, 21..24]).fill(50.0);
        mask.slice_mut(s![20..25, 20..25, 20..25]).fill(true);
        img.slice_mut(s![45..47, 45..47, 45..47]).fill(400.0);
        mask.slice_mut(s![45..47, 45..47, 45..47]).fill(true);
        (Volume::new(img, diagonal_affine([1.0; 3], [0.0; 3])), mask)
    }

    #[test]
    fn the_phenotype_counts_lesions_and_measures_their_size_core_and_surroundings() {
        let (image, mask) = scan();
        let contrast = Contrast::of(&image.data);
        let row = lesion_phenotype(&image, &contrast, &mask).unwrap();
        assert_eq!(row[0], 2.0);
        let ln_r = |v: f64| (3.0 * v / (4.0 * std::f64::consts::PI)).cbrt().ln();
        assert!((row[1] - (ln_r(125.0) + ln_r(8.0)) / 2.0).abs() < 1e-12);
        // The core: 27 of the first lesion's 125 voxels; the second has none.
        assert!((row[2] - (27.0 / 125.0) / 2.0).abs() < 1e-12);
        // Every enhancing voxel is 400: no spread.
        assert!(row[3].abs() < 1e-9, "{row:?}");
        // Oedema darkens the first lesion's 0-3 mm shell against its reference; the second
        // lesion's surroundings are plain brain.
        assert!(row[4] < -0.1, "{row:?}");
        let empty = Array3::from_elem((60, 60, 60), false);
        assert!(lesion_phenotype(&image, &contrast, &empty).is_none());
    }

    #[test]
    fn a_fitted_model_follows_its_feature_and_falls_back_to_the_prevalence() {
        // The second feature decides; the others are noise-free constants or alternate.
        let rows: Vec<Vec<f64>> = (0..40)
            .map(|i| vec![1.0, (i as f64) / 10.0, 0.1, (i % 2) as f64, 0.0, 0.0])
            .collect();
        let mutant: Vec<bool> = (0..40).map(|i| i >= 15).collect();
        let model = PhenotypeModel::fit(&rows, &mutant).unwrap();
        assert_eq!(model.problem(), None);
        assert!((model.prevalence - 25.0 / 40.0).abs() < 1e-12);
        assert!(model.model.coefficients[1] > 0.0);
        let (image, mask) = scan();
        let contrast = Contrast::of(&image.data);
        let empty = model.call(&image, &contrast, &Array3::from_elem((60, 60, 60), false));
        assert_eq!(empty.features, None);
        assert_eq!(empty.probability, model.prevalence);
        assert!(model.call(&image, &contrast, &mask).features.is_some());
        assert!(PhenotypeModel::fit(&rows, &[true; 40]).is_none());
        let mut other = model;
        other.model.coefficients.pop();
        assert!(other.problem().is_some());
    }
}
