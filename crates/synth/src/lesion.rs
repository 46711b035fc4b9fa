//! One simulated metastasis: geometry (an irregular ellipsoid) and its T1-CE appearance
//! (enhancing rim with texture, optional necrotic core, surrounding oedema), following the
//! spec's "Lesions" section. The GTV is the enhancing part plus the core, never the oedema.

use crate::egfr::LesionPhenotype;
use crate::field::{fibonacci_sphere, random_rotation, WaveField};
use rand::Rng;
use serde::Serialize;

/// Axis ratios of the ellipsoid before normalisation (spec 0.7-1.3).
const AXIS_RATIO: (f64, f64) = (0.7, 1.3);
/// Largest relative radius modulation of the outline (spec ±25%).
const MAX_IRREGULARITY: f64 = 0.25;
/// Enhancing rim relative to white matter (spec 1.6-2.2).
const ENHANCEMENT: (f64, f64) = (1.6, 2.2);
/// Oedema intensity relative to the local tissue (spec 0.75-0.9).
const OEDEMA_LEVEL: (f64, f64) = (0.75, 0.9);
/// Necrotic core relative to the template's CSF (fluid with some debris).
const CORE_LEVEL: (f64, f64) = (0.9, 1.3);
/// Relative variation of the oedema's reach around the lesion (oedema spreads unevenly).
const OEDEMA_IRREGULARITY: f64 = 0.35;
/// Widths (mm) of the partial-volume ramps at the lesion and core boundaries.
const EDGE_MM: f64 = 0.8;
const CORE_EDGE_MM: f64 = 1.0;

/// What `truth.json` records about a lesion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LesionTruth {
    /// Centre in the patient's world coordinates (mm, RAS), the image's frame.
    pub centre_mm: [f64; 3],
    #[serde(flatten)]
    pub phenotype: LesionPhenotype,
    /// Equivalent-sphere diameter, 2 r: the size clinical series report.
    pub diameter_mm: f64,
    /// GTV voxels of this lesion in the patient's mask (at least 1 when its centre is in the
    /// field of view and the brain; see `Grid::gtv_owner`).
    pub gtv_voxels: usize,
    /// Ellipsoid semi-axes relative to the equivalent radius (their product is 1).
    pub axes: [f64; 3],
    /// Amplitude of the outline's low-frequency radius modulation.
    pub irregularity: f64,
    /// Enhancing rim level relative to white matter.
    pub enhancement: f64,
    /// Intensity factor inside the oedema.
    pub oedema_level: f64,
    /// Seeded at the grey-white junction (else elsewhere in the brain).
    pub junction: bool,
}

/// The lesion model at one point.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shade {
    /// Distance beyond the lesion surface along the ray from the centre (negative inside).
    pub(crate) d_out: f64,
    /// Same for the necrotic core's surface.
    d_core: f64,
    /// Unit direction from the centre in the lesion's frame.
    dir: [f64; 3],
}

#[derive(Debug, Clone)]
pub struct Lesion {
    pub truth: LesionTruth,
    /// Rows are the ellipsoid's axes in world coordinates.
    frame: [[f64; 3]; 3],
    /// Radius of the unmodulated shape giving the equivalent radius once modulated.
    shape_radius: f64,
    outline: WaveField,
    oedema_reach: WaveField,
    texture: WaveField,
    core_texture: WaveField,
    core_level: f64,
    /// Beyond this distance from the centre the lesion has no effect.
    reach_mm: f64,
}

impl Lesion {
    /// Draws the shape and appearance of a lesion of the given phenotype; the centre is set by
    /// `placed_at` once a place is found.
    pub(crate) fn draw(rng: &mut impl Rng, phenotype: LesionPhenotype) -> Self {
        let raw: [f64; 3] = std::array::from_fn(|_| rng.random_range(AXIS_RATIO.0..=AXIS_RATIO.1));
        let norm = (raw[0] * raw[1] * raw[2]).cbrt();
        let axes = raw.map(|a| a / norm);
        let frame = random_rotation(rng);
        let irregularity = rng.random_range(0.0..=MAX_IRREGULARITY);
        // Wavelengths 1.8-4.2 on the unit sphere: two to four bumps around the outline.
        let outline = WaveField::draw(rng, 3, (1.8, 4.2));
        let oedema_reach = WaveField::draw(rng, 3, (1.8, 4.2));
        let texture = WaveField::draw(rng, 16, (3.0, 6.0));
        let core_texture = WaveField::draw(rng, 4, (2.0, 5.0));
        let enhancement = rng.random_range(ENHANCEMENT.0..=ENHANCEMENT.1);
        let oedema_level = rng.random_range(OEDEMA_LEVEL.0..=OEDEMA_LEVEL.1);
        let core_level = rng.random_range(CORE_LEVEL.0..=CORE_LEVEL.1);

        // The modulated outline changes the volume; rescale so the equivalent radius is r.
        let dirs = fibonacci_sphere(256);
        let mean_cube = dirs
            .iter()
            .map(|u| {
                (ellipsoid_radius(u, &axes) * (1.0 + irregularity * outline.bounded(*u))).powi(3)
            })
            .sum::<f64>()
            / dirs.len() as f64;
        let r = phenotype.radius_mm;
        let shape_radius = r / mean_cube.cbrt();
        let max_axis = axes.iter().fold(0.0f64, |m, a| m.max(*a));
        let reach_mm = shape_radius * max_axis * (1.0 + irregularity)
            + phenotype.oedema_mm * (1.0 + OEDEMA_IRREGULARITY)
            + 2.0;
        Self {
            truth: LesionTruth {
                centre_mm: [0.0; 3],
                phenotype,
                diameter_mm: 2.0 * r,
                gtv_voxels: 0,
                axes,
                irregularity,
                enhancement,
                oedema_level,
                junction: false,
            },
            frame,
            shape_radius,
            outline,
            oedema_reach,
            texture,
            core_texture,
            core_level,
            reach_mm,
        }
    }

    pub(crate) fn placed_at(mut self, centre_mm: [f64; 3], junction: bool) -> Self {
        self.truth.centre_mm = centre_mm;
        self.truth.junction = junction;
        self
    }

    /// Largest distance from the centre to the lesion's surface (not its oedema).
    pub(crate) fn extent_mm(&self) -> f64 {
        let max_axis = self.truth.axes.iter().fold(0.0f64, |m, a| m.max(*a));
        self.shape_radius * max_axis * (1.0 + self.truth.irregularity)
    }

    pub(crate) fn shade(&self, p: [f64; 3]) -> Option<Shade> {
        let c = self.truth.centre_mm;
        let d = [p[0] - c[0], p[1] - c[1], p[2] - c[2]];
        let dist2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
        if dist2 > self.reach_mm * self.reach_mm {
            return None;
        }
        let f = self.truth.phenotype.necrosis_fraction;
        let dist = dist2.sqrt();
        if dist < 1e-9 {
            let r = self.shape_radius;
            return Some(Shade {
                d_out: -r,
                d_core: -f * r,
                dir: [0.0, 0.0, 1.0],
            });
        }
        let local: [f64; 3] = std::array::from_fn(|a| {
            self.frame[a][0] * d[0] + self.frame[a][1] * d[1] + self.frame[a][2] * d[2]
        });
        let dir = local.map(|x| x / dist);
        let radius = self.shape_radius
            * ellipsoid_radius(&dir, &self.truth.axes)
            * (1.0 + self.truth.irregularity * self.outline.bounded(dir));
        Some(Shade {
            d_out: dist - radius,
            d_core: dist - f * radius,
            dir,
        })
    }

    /// Multiplicative oedema factor (<= 1), the spec's level times a ramp at the oedema's edge.
    fn oedema_factor(&self, s: &Shade) -> f64 {
        let e = self.truth.phenotype.oedema_mm;
        if e <= 0.0 {
            return 1.0;
        }
        let reach = e * (1.0 + OEDEMA_IRREGULARITY * self.oedema_reach.bounded(s.dir));
        let ramp = (1.5f64).max(0.3 * reach);
        let fall = ((reach - s.d_out) / ramp).clamp(0.0, 1.0);
        1.0 - (1.0 - self.truth.oedema_level) * fall
    }

    /// Lesion occupancy (partial volume, 0..1) and the lesion's own intensity at `p`.
    fn tissue(&self, s: &Shade, p: [f64; 3], csf: f32) -> (f64, f64) {
        let alpha = (0.5 - s.d_out / EDGE_MM).clamp(0.0, 1.0);
        if alpha == 0.0 {
            return (0.0, 0.0);
        }
        let c = self.truth.centre_mm;
        let rel = [p[0] - c[0], p[1] - c[1], p[2] - c[2]];
        let h = self.truth.phenotype.heterogeneity;
        let rim = self.truth.enhancement * (1.0 + h * self.texture.at(rel)).max(0.3);
        let core_w = if self.truth.phenotype.necrosis_fraction > 0.0 {
            (0.5 - s.d_core / CORE_EDGE_MM).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let core = f64::from(csf) * self.core_level * (1.0 + 0.1 * self.core_texture.at(rel));
        (alpha, rim * (1.0 - core_w) + core * core_w)
    }
}

/// Distance from the centre to the unit-volume ellipsoid's surface along unit direction `u`.
fn ellipsoid_radius(u: &[f64; 3], axes: &[f64; 3]) -> f64 {
    let s: f64 = (0..3).map(|a| (u[a] / axes[a]).powi(2)).sum();
    1.0 / s.sqrt()
}

/// Puts a patient's lesions into the tissue at one point: oedema darkens the background (the
/// strongest oedema wins where several overlap), then each lesion replaces the tissue in
/// proportion to its occupancy. Lesions end at the brain surface. Returns the intensity; the
/// GTV is decided on the voxel grid (`Grid::gtv_owner`).
pub(crate) fn composite(lesions: &[Lesion], p: [f64; 3], base: f32, brain: f32, csf: f32) -> f32 {
    let mut shades = [None; 4];
    let mut any = false;
    for (slot, l) in shades.iter_mut().zip(lesions) {
        *slot = l.shade(p);
        any |= slot.is_some();
    }
    if !any {
        return base;
    }
    let factor = lesions
        .iter()
        .zip(&shades)
        .filter_map(|(l, s)| s.map(|s| l.oedema_factor(&s)))
        .fold(1.0f64, f64::min);
    let mut value = f64::from(base) * factor;
    for (l, s) in lesions.iter().zip(&shades) {
        let Some(s) = s else { continue };
        let (alpha, own) = l.tissue(s, p, csf);
        let alpha = alpha * f64::from(brain.clamp(0.0, 1.0));
        value = value * (1.0 - alpha) + own * alpha;
    }
    value as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn lesion(seed: u64, r: f64, f: f64, e: f64) -> Lesion {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        Lesion::draw(
            &mut rng,
            LesionPhenotype {
                radius_mm: r,
                necrosis_fraction: f,
                oedema_mm: e,
                heterogeneity: 0.1,
            },
        )
        .placed_at([0.0; 3], true)
    }

    #[test]
    fn volume_matches_the_equivalent_radius() {
        for seed in 0..5 {
            let l = lesion(seed, 8.0, 0.0, 0.0);
            let h = 0.25; // voxel side in mm
            let n = (12.0 / h) as i32;
            let mut inside = 0usize;
            for i in -n..=n {
                for j in -n..=n {
                    for k in -n..=n {
                        let p = [i as f64 * h, j as f64 * h, k as f64 * h];
                        if l.shade(p).is_some_and(|s| s.d_out <= 0.0) {
                            inside += 1;
                        }
                    }
                }
            }
            let vol = inside as f64 * h.powi(3);
            let want = 4.0 / 3.0 * std::f64::consts::PI * 8.0f64.powi(3);
            assert!(
                (vol / want - 1.0).abs() < 0.05,
                "seed {seed}: {vol} vs {want}"
            );
        }
    }

    #[test]
    fn ring_enhancing_lesion_has_dark_core_bright_rim_and_darker_oedema() {
        let l = lesion(1, 10.0, 0.6, 8.0);
        let ls = [l];
        let csf = 0.25;
        let centre = composite(&ls, [0.0; 3], 1.0, 1.0, csf);
        assert!(centre < 0.5, "core {centre}");
        // Along the outline direction find the rim and the oedema.
        let along = |t: f64| composite(&ls, [t, 0.0, 0.0], 1.0, 1.0, csf);
        let inside = |t: f64| ls[0].shade([t, 0.0, 0.0]).is_some_and(|s| s.d_out <= 0.0);
        let surface = (0..400)
            .map(|i| i as f64 * 0.05)
            .find(|t| !inside(*t))
            .expect("lesion ends");
        let rim = along(surface - 1.2);
        assert!(rim > 1.1, "rim {rim}");
        let oedema = along(surface + 2.0);
        assert!((0.74..0.95).contains(&oedema), "oedema {oedema}");
        assert_eq!(along(surface + 30.0), 1.0);
        // Outside the brain nothing of the lesion shows.
        assert_eq!(composite(&ls, [0.0; 3], 0.0, 0.0, csf), 0.0);
    }
}
