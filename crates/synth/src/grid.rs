//! A patient's voxel grid on a site: field of view, voxel positions in the patient's world and in
//! template space, and the GTV rule. Shared by rendering and by planning, which counts each
//! lesion's GTV voxels without rendering; both compute every point the same way, so the counts
//! in `truth.json` are exactly the masks'.

use crate::lesion::Lesion;
use crate::template::Template;
use crate::transform::Similarity;

/// Space left around the brain in the field of view (mm).
const FOV_MARGIN_MM: f64 = 3.0;
/// Template brain fraction from which a voxel centre can be GTV (lesions end at the brain).
const GTV_MIN_BRAIN: f32 = 0.5;

pub(crate) struct Grid {
    pub(crate) origin: [f64; 3],
    pub(crate) spacing: [f64; 3],
    pub(crate) dims: [usize; 3],
    /// Template point of voxel (0, 0, 0) and the template steps along i, j, k and 1 mm of z:
    /// the template point of a voxel is affine in (i, j, k).
    q0: [f64; 3],
    steps: [[f64; 3]; 3],
    dz: [f64; 3],
    /// Per lesion, the voxel holding its centre (None outside the field of view).
    centre_voxels: Vec<Option<[usize; 3]>>,
}

impl Grid {
    /// The bounding box of the transformed brain surface plus a margin: each patient's field of
    /// view fits their head, which keeps volumes small.
    pub(crate) fn new(
        template: &Template,
        transform: &Similarity,
        spacing: [f64; 3],
        lesions: &[Lesion],
    ) -> Self {
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for q in template.surface() {
            let p = transform.forward(*q);
            for d in 0..3 {
                lo[d] = lo[d].min(p[d]);
                hi[d] = hi[d].max(p[d]);
            }
        }
        let origin: [f64; 3] = std::array::from_fn(|d| lo[d] - FOV_MARGIN_MM);
        let dims: [usize; 3] = std::array::from_fn(|d| {
            ((hi[d] + FOV_MARGIN_MM - origin[d]) / spacing[d]).ceil() as usize + 1
        });
        let q0 = transform.inverse(origin);
        let along = |d: usize, len: f64| -> [f64; 3] {
            let mut p = origin;
            p[d] += len;
            let q = transform.inverse(p);
            std::array::from_fn(|a| q[a] - q0[a])
        };
        let steps = std::array::from_fn(|d| along(d, spacing[d]));
        let dz = along(2, 1.0);
        let mut grid = Self {
            origin,
            spacing,
            dims,
            q0,
            steps,
            dz,
            centre_voxels: Vec::new(),
        };
        grid.centre_voxels = lesions
            .iter()
            .map(|l| grid.voxel_of(l.truth.centre_mm))
            .collect();
        grid
    }

    /// World position (mm) of voxel (i, j, k), `off` mm along z from its centre.
    pub(crate) fn world(&self, [i, j, k]: [usize; 3], off: f64) -> [f64; 3] {
        [
            self.origin[0] + i as f64 * self.spacing[0],
            self.origin[1] + j as f64 * self.spacing[1],
            self.origin[2] + k as f64 * self.spacing[2] + off,
        ]
    }

    /// The same point in template space.
    pub(crate) fn template_point(&self, [i, j, k]: [usize; 3], off: f64) -> [f64; 3] {
        let (fi, fj, fk) = (i as f64, j as f64, k as f64);
        let s = &self.steps;
        std::array::from_fn(|a| {
            self.q0[a] + fi * s[0][a] + fj * s[1][a] + fk * s[2][a] + off * self.dz[a]
        })
    }

    /// The voxel whose extent holds world point `p`.
    fn voxel_of(&self, p: [f64; 3]) -> Option<[usize; 3]> {
        let mut v = [0usize; 3];
        for d in 0..3 {
            let x = ((p[d] - self.origin[d]) / self.spacing[d]).round();
            if x < 0.0 || x >= self.dims[d] as f64 {
                return None;
            }
            v[d] = x as usize;
        }
        Some(v)
    }

    /// Which lesion's GTV voxel `ijk` is, given the template brain fraction at its centre: a
    /// voxel whose centre lies inside a lesion, and also the voxel holding a lesion's centre.
    /// Why the latter: a lesion of 2-4 mm can fall between the centres of 4-5 mm slices, and a
    /// lesion with no GTV voxel is one no model can be taught or scored on; its centre voxel
    /// does show it (the slice averages over the lesion, see `render`).
    pub(crate) fn gtv_owner(
        &self,
        lesions: &[Lesion],
        ijk: [usize; 3],
        brain: f32,
    ) -> Option<usize> {
        if brain < GTV_MIN_BRAIN {
            return None;
        }
        let p = self.world(ijk, 0.0);
        lesions.iter().enumerate().find_map(|(n, l)| {
            let inside = l.shade(p).is_some_and(|s| s.d_out <= 0.0);
            (inside || self.centre_voxels[n] == Some(ijk)).then_some(n)
        })
    }

    /// Each lesion's GTV voxel count, looking only at the voxels near it.
    pub(crate) fn gtv_counts(&self, template: &Template, lesions: &[Lesion]) -> Vec<usize> {
        let mut counts = vec![0; lesions.len()];
        for (n, l) in lesions.iter().enumerate() {
            let c = l.truth.centre_mm;
            let reach = l.extent_mm();
            let range = |d: usize| {
                let lo = ((c[d] - reach - self.origin[d]) / self.spacing[d]).floor() - 1.0;
                let hi = ((c[d] + reach - self.origin[d]) / self.spacing[d]).ceil() + 1.0;
                let clip = |x: f64| x.clamp(0.0, self.dims[d] as f64) as usize;
                clip(lo)..clip(hi + 1.0)
            };
            for i in range(0) {
                for j in range(1) {
                    for k in range(2) {
                        let ijk = [i, j, k];
                        let near = self.centre_voxels[n] == Some(ijk)
                            || l.shade(self.world(ijk, 0.0))
                                .is_some_and(|s| s.d_out <= 0.0);
                        if !near {
                            continue;
                        }
                        let brain = template.sample(self.template_point(ijk, 0.0)).brain;
                        if self.gtv_owner(lesions, ijk, brain) == Some(n) {
                            counts[n] += 1;
                        }
                    }
                }
            }
        }
        counts
    }
}
