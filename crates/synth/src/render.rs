//! Turns a planned patient into voxels on the site's grid: template anatomy resampled through
//! the patient's transform, enhancing vessels in the CSF spaces (what makes a T1 a T1-CE besides
//! the lesions), lesions painted in, thick slices averaged over their thickness, then the site's
//! acquisition (gamma, bias field, Rician noise, intensity scale).

use crate::field::WaveField;
use crate::grid::Grid;
use crate::lesion::{composite, Lesion};
use crate::rng::normal_pair;
use crate::site::SiteProfile;
use crate::template::{AnatomySample, Template};
use mtsa_io::{diagonal_affine, Volume};
use ndarray::Array3;
use rand::Rng;

/// Wavelengths of the bias field (mm): a field that varies over the head, not within a lesion.
const BIAS_WAVELENGTH_MM: (f64, f64) = (150.0, 300.0);
/// Voxels with less brain than this are background and stay exactly 0 (the template is
/// skull-stripped, so the images are too, as BraTS-style preprocessed data are).
const MIN_BRAIN: f32 = 0.01;
/// Enhancing vessels in the CSF spaces (cortical veins in the sulci, choroid plexus): level
/// relative to white matter, and the field value above which a CSF point is vessel. Without
/// them a T1-CE looks like a plain T1, and the brightest 0.5% of the brain would be lesion alone,
/// so a percentile-based normalisation would flatten every lesion's texture.
const VESSEL_LEVEL: (f64, f64) = (1.3, 1.9);
const VESSEL_THRESHOLD: f64 = 1.0;

/// Image (float32, integer scanner units) and GTV mask (0/1) on the patient's grid.
pub(crate) fn render(
    template: &Template,
    site: &SiteProfile,
    grid: &Grid,
    lesions: &[Lesion],
    vessels: &Vessels,
    rng: &mut impl Rng,
) -> (Volume<f32>, Volume<u8>) {
    let (origin, spacing, dims) = (grid.origin, grid.spacing, grid.dims);
    let affine = diagonal_affine(spacing, origin);
    let bias = BiasField::draw(rng, site.bias_amplitude, origin, spacing, dims);

    // Thick slices average the anatomy over their thickness (partial volume): an odd number of
    // samples through the slice, at most 2.5 mm apart, so that the slice centre (where the mask
    // is taken) is one of them: 1 for slices up to 2.5 mm, 3 up to 7.5 mm.
    let n_sub = 2 * (site.slice_mm / 2.5).floor() as usize + 1;
    let centre_sub = n_sub / 2;
    let offsets: Vec<f64> = (0..n_sub)
        .map(|s| ((s as f64 + 0.5) / n_sub as f64 - 0.5) * spacing[2])
        .collect();

    let csf = template.csf_level();
    let gamma = site.gamma;
    let sigma = site.noise_sigma;
    let mut image = Array3::<f32>::zeros(dims);
    let mut mask = Array3::<u8>::zeros(dims);
    for i in 0..dims[0] {
        for j in 0..dims[1] {
            for k in 0..dims[2] {
                let ijk = [i, j, k];
                let (mut sum, mut brain) = (0.0f32, 0.0f32);
                let mut brain_centre = 0.0f32;
                for (s, off) in offsets.iter().enumerate() {
                    // The centre sample's offset is exactly 0, so its points are the grid's.
                    let off = if s == centre_sub { 0.0 } else { *off };
                    let q = grid.template_point(ijk, off);
                    let a = template.sample(q);
                    let base = vessels.enhance(q, a);
                    sum += composite(lesions, grid.world(ijk, off), base, a.brain, csf);
                    brain += a.brain;
                    if s == centre_sub {
                        brain_centre = a.brain;
                    }
                }
                let n = n_sub as f32;
                if brain / n < MIN_BRAIN {
                    continue;
                }
                let mean = f64::from((sum / n).max(0.0));
                let x = if gamma == 1.0 { mean } else { mean.powf(gamma) } * bias.at(i, j, k);
                let (n1, n2) = normal_pair(rng);
                let rician = ((x + sigma * n1).powi(2) + (sigma * n2).powi(2)).sqrt();
                image[ijk] = (rician * site.intensity_scale).round() as f32;
                mask[ijk] = u8::from(grid.gtv_owner(lesions, ijk, brain_centre).is_some());
            }
        }
    }
    (Volume::new(image, affine), Volume::new(mask, affine))
}

/// Smooth multiplicative field `1 + A b`, b in [-1, 1], separable along the image axes so that
/// it costs three table look-ups per voxel.
struct BiasField {
    along: [Vec<f64>; 3],
    amplitude: f64,
}

impl BiasField {
    fn draw(
        rng: &mut impl Rng,
        amplitude: f64,
        origin: [f64; 3],
        spacing: [f64; 3],
        dims: [usize; 3],
    ) -> Self {
        let along = std::array::from_fn(|d| {
            let f = WaveField::draw(rng, 2, BIAS_WAVELENGTH_MM);
            (0..dims[d])
                .map(|i| {
                    let mut x = [0.0; 3];
                    x[d] = origin[d] + i as f64 * spacing[d];
                    f.bounded(x)
                })
                .collect()
        });
        Self { along, amplitude }
    }

    fn at(&self, i: usize, j: usize, k: usize) -> f64 {
        let b = (self.along[0][i] + self.along[1][j] + self.along[2][k]) / 3.0;
        1.0 + self.amplitude * b
    }
}

/// Enhancing vessels, fixed to the anatomy (template space) so they sit in sulci and ventricles.
pub(crate) struct Vessels {
    field: WaveField,
    level: f64,
}

impl Vessels {
    pub(crate) fn draw(rng: &mut impl Rng) -> Self {
        Self {
            field: WaveField::draw(rng, 8, (6.0, 20.0)),
            level: rng.random_range(VESSEL_LEVEL.0..=VESSEL_LEVEL.1),
        }
    }

    /// The T1 value with vessel enhancement where the point is CSF (little GM or WM) and the
    /// vessel field is high.
    fn enhance(&self, q: [f64; 3], a: AnatomySample) -> f32 {
        let csf = ((0.6 - f64::from(a.gm + a.wm)) / 0.25).clamp(0.0, 1.0) * f64::from(a.brain);
        if csf == 0.0 {
            return a.t1;
        }
        let strength = ((self.field.at(q) - VESSEL_THRESHOLD) / 0.4).clamp(0.0, 1.0) * csf;
        let t1 = f64::from(a.t1);
        (t1 + (self.level - t1) * strength) as f32
    }
}
