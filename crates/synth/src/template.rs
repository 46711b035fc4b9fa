//! The anatomy every synthetic patient starts from: the MNI152 2009a T1 with its grey- and
//! white-matter maps, shipped in `assets/` and embedded in the binary so the generator runs on a
//! fresh machine. Loaded once, cropped to the brain (the rest is empty and would only cost time),
//! with intensities expressed relative to white matter so every later level (enhancement,
//! necrosis, noise) can be stated as the spec states it: a multiple of white matter.

use crate::SynthError;
use mtsa_io::{read_nifti, Volume};
use std::path::Path;
use std::sync::OnceLock;

const T1_GZ: &[u8] = include_bytes!("../assets/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz");
const GM_GZ: &[u8] = include_bytes!("../assets/mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz");
const WM_GZ: &[u8] = include_bytes!("../assets/mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz");

/// The template's copyright notice, which must travel with every copy and derived cohort.
pub const MNI_LICENCE: &str = include_str!("../assets/MNI-ICBM152-2009-LICENSE.txt");

/// Voxels kept around the brain's bounding box when cropping (trilinear sampling needs a border).
const CROP_MARGIN: usize = 4;

/// Template values at one point, trilinearly interpolated; all zero outside the template.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AnatomySample {
    /// T1 intensity relative to white matter (white matter = 1).
    pub t1: f32,
    /// Grey-matter probability.
    pub gm: f32,
    /// White-matter probability.
    pub wm: f32,
    /// Fraction of intracranial tissue (brain and CSF): 1 inside, 0 in the background.
    pub brain: f32,
}

/// The cropped template, 1 mm, axis-aligned RAS.
pub struct Template {
    dims: [usize; 3],
    /// World position (mm) of voxel (0, 0, 0).
    origin: [f64; 3],
    spacing: [f64; 3],
    /// Per voxel [t1, gm, wm, brain], index `(i * dims[1] + j) * dims[2] + k`.
    voxels: Vec<[f32; 4]>,
    csf_level: f32,
    /// Candidate lesion centres (linear voxel indices): brain (GM + WM > 0.5) ...
    deep: Vec<u32>,
    /// ... and the grey-white junction among them (GM 0.3-0.7), where metastases seed.
    junction: Vec<u32>,
    /// World positions of the brain's surface voxels: a patient's field of view is their bounding
    /// box after the patient's transform.
    surface: Vec<[f64; 3]>,
    centre: [f64; 3],
    /// Per block of `BLOCK`^3 voxels: whether it or a neighbouring block holds brain. Lets
    /// sampling skip the background, about half of every field of view, cheaply.
    occupied: Vec<bool>,
    blocks: [usize; 3],
}

/// Side of the occupancy blocks, in voxels.
const BLOCK: usize = 4;

static EMBEDDED: OnceLock<Template> = OnceLock::new();

impl Template {
    /// The shipped template, decoded on first use and shared afterwards.
    pub fn embedded() -> Result<&'static Template, SynthError> {
        if let Some(t) = EMBEDDED.get() {
            return Ok(t);
        }
        let t = Self::decode_embedded()?;
        Ok(EMBEDDED.get_or_init(|| t))
    }

    /// The embedded bytes go through a temporary file so that they are read by exactly the
    /// reader (and affine logic) every other volume in the project goes through.
    fn decode_embedded() -> Result<Template, SynthError> {
        let dir = tempfile::tempdir().map_err(|e| SynthError::file(std::env::temp_dir(), e))?;
        let read = |name: &str, bytes: &[u8]| -> Result<Volume<f32>, SynthError> {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).map_err(|e| SynthError::file(&path, e))?;
            Ok(read_nifti(&path)?)
        };
        let t1 = read("t1.nii.gz", T1_GZ)?;
        let gm = read("gm.nii.gz", GM_GZ)?;
        let wm = read("wm.nii.gz", WM_GZ)?;
        Self::from_volumes(&t1, &gm, &wm)
    }

    /// Loads a template from files (same layout as the shipped one).
    pub fn from_files(t1: &Path, gm: &Path, wm: &Path) -> Result<Template, SynthError> {
        Self::from_volumes(&read_nifti(t1)?, &read_nifti(gm)?, &read_nifti(wm)?)
    }

    /// `t1` must be skull-stripped (zero outside the intracranial volume); `gm` and `wm` are
    /// probability maps in any unit (scaled so their maximum is 1).
    pub fn from_volumes(
        t1: &Volume<f32>,
        gm: &Volume<f32>,
        wm: &Volume<f32>,
    ) -> Result<Template, SynthError> {
        if !t1.same_geometry(gm, 1e-3) || !t1.same_geometry(wm, 1e-3) {
            return Err(SynthError::Template(
                "T1, GM and WM volumes differ in shape or affine".into(),
            ));
        }
        let a = &t1.affine;
        let off_diagonal = (0..3).any(|r| (0..3).any(|c| r != c && a[r][c].abs() > 1e-6));
        if off_diagonal || (0..3).any(|r| a[r][r] <= 0.0) {
            return Err(SynthError::Template(
                "expected an axis-aligned RAS affine (a diagonal with positive spacing)".into(),
            ));
        }
        let spacing = [a[0][0], a[1][1], a[2][2]];
        let shape = t1.shape();
        let (lo, hi) = bounding_box(t1).ok_or_else(|| {
            SynthError::Template("T1 volume is empty (no voxel above zero)".into())
        })?;
        let lo: [usize; 3] = std::array::from_fn(|d| lo[d].saturating_sub(CROP_MARGIN));
        let hi: [usize; 3] = std::array::from_fn(|d| (hi[d] + CROP_MARGIN).min(shape[d] - 1));
        let dims: [usize; 3] = std::array::from_fn(|d| hi[d] - lo[d] + 1);
        let origin: [f64; 3] = std::array::from_fn(|d| a[d][3] + lo[d] as f64 * spacing[d]);

        let scale = |v: &Volume<f32>| {
            let m = v.data.iter().fold(0.0f32, |m, x| m.max(*x));
            if m > 0.0 {
                1.0 / m
            } else {
                0.0
            }
        };
        let (gs, ws) = (scale(gm), scale(wm));
        let mut voxels = Vec::with_capacity(dims.iter().product());
        for i in lo[0]..=hi[0] {
            for j in lo[1]..=hi[1] {
                for k in lo[2]..=hi[2] {
                    let t = t1.data[[i, j, k]];
                    let brain = if t > 0.0 { 1.0 } else { 0.0 };
                    voxels.push([t, gm.data[[i, j, k]] * gs, wm.data[[i, j, k]] * ws, brain]);
                }
            }
        }
        let wm_level =
            median(voxels.iter().filter(|v| v[2] > 0.95).map(|v| v[0])).ok_or_else(|| {
                SynthError::Template("no voxel with white-matter probability > 0.95".into())
            })?;
        for v in &mut voxels {
            v[0] /= wm_level;
        }
        let csf_level = median(
            voxels
                .iter()
                .filter(|v| v[3] > 0.0 && v[1] < 0.05 && v[2] < 0.05)
                .map(|v| v[0]),
        )
        .unwrap_or(0.25);

        let mut t = Template {
            dims,
            origin,
            spacing,
            voxels,
            csf_level,
            deep: Vec::new(),
            junction: Vec::new(),
            surface: Vec::new(),
            centre: [0.0; 3],
            occupied: Vec::new(),
            blocks: [0; 3],
        };
        t.index_regions();
        t.index_occupancy();
        if t.deep.is_empty() {
            return Err(SynthError::Template("no voxel with GM + WM > 0.5".into()));
        }
        Ok(t)
    }

    /// Candidate centres, surface points and the brain's centre of mass.
    fn index_regions(&mut self) {
        let [_, nj, nk] = self.dims;
        let mut sum = [0.0; 3];
        let mut count = 0.0f64;
        for idx in 0..self.voxels.len() {
            let v = self.voxels[idx];
            if v[3] == 0.0 {
                continue;
            }
            let ijk = [idx / (nj * nk), (idx / nk) % nj, idx % nk];
            let w = self.world_of(ijk);
            for d in 0..3 {
                sum[d] += w[d];
            }
            count += 1.0;
            if v[1] + v[2] > 0.5 {
                self.deep.push(idx as u32);
                if (0.3..=0.7).contains(&v[1]) {
                    self.junction.push(idx as u32);
                }
            }
            if self.on_surface(ijk) {
                self.surface.push(w);
            }
        }
        self.centre = sum.map(|s| s / count.max(1.0));
    }

    fn index_occupancy(&mut self) {
        let nb: [usize; 3] = std::array::from_fn(|d| self.dims[d].div_ceil(BLOCK));
        let block = |i: usize, j: usize, k: usize| (i * nb[1] + j) * nb[2] + k;
        let mut any = vec![false; nb.iter().product()];
        let [_, nj, nk] = self.dims;
        for (idx, v) in self.voxels.iter().enumerate() {
            if v[3] > 0.0 {
                let (i, j, k) = (idx / (nj * nk), (idx / nk) % nj, idx % nk);
                any[block(i / BLOCK, j / BLOCK, k / BLOCK)] = true;
            }
        }
        let mut occupied = vec![false; any.len()];
        for i in 0..nb[0] {
            for j in 0..nb[1] {
                for k in 0..nb[2] {
                    let near = |c: usize, n: usize| c.saturating_sub(1)..=(c + 1).min(n - 1);
                    occupied[block(i, j, k)] = near(i, nb[0]).any(|a| {
                        near(j, nb[1]).any(|b| near(k, nb[2]).any(|c| any[block(a, b, c)]))
                    });
                }
            }
        }
        self.occupied = occupied;
        self.blocks = nb;
    }

    fn on_surface(&self, [i, j, k]: [usize; 3]) -> bool {
        let d = self.dims;
        if i == 0 || j == 0 || k == 0 || i + 1 == d[0] || j + 1 == d[1] || k + 1 == d[2] {
            return true;
        }
        [(1, 0, 0), (0, 1, 0), (0, 0, 1)].iter().any(|&(a, b, c)| {
            self.voxel([i + a, j + b, k + c])[3] == 0.0
                || self.voxel([i - a, j - b, k - c])[3] == 0.0
        })
    }

    fn voxel(&self, [i, j, k]: [usize; 3]) -> [f32; 4] {
        self.voxels[(i * self.dims[1] + j) * self.dims[2] + k]
    }

    fn world_of(&self, ijk: [usize; 3]) -> [f64; 3] {
        std::array::from_fn(|d| self.origin[d] + ijk[d] as f64 * self.spacing[d])
    }

    /// World position (mm) of a candidate voxel index.
    pub(crate) fn candidate_world(&self, idx: u32) -> [f64; 3] {
        let idx = idx as usize;
        let [_, nj, nk] = self.dims;
        self.world_of([idx / (nj * nk), (idx / nk) % nj, idx % nk])
    }

    pub(crate) fn deep_candidates(&self) -> &[u32] {
        &self.deep
    }

    pub(crate) fn junction_candidates(&self) -> &[u32] {
        &self.junction
    }

    pub(crate) fn surface(&self) -> &[[f64; 3]] {
        &self.surface
    }

    /// Centre of mass of the intracranial volume (world mm): patients rotate and scale about it.
    pub fn centre(&self) -> [f64; 3] {
        self.centre
    }

    /// CSF intensity relative to white matter: the level of a necrotic core.
    pub fn csf_level(&self) -> f32 {
        self.csf_level
    }

    /// Trilinear sample at a world position (mm); zero outside the cropped template. The hot
    /// loop of rendering: the interior case reads the eight neighbours directly.
    pub fn sample(&self, q: [f64; 3]) -> AnatomySample {
        let d = self.dims;
        let mut b = [0isize; 3];
        let mut f = [0.0f32; 3];
        for a in 0..3 {
            let u = (q[a] - self.origin[a]) / self.spacing[a];
            // Explicit floor: `f64::floor` is a libm call on baseline x86-64.
            let t = u as isize;
            let t = if (t as f64) > u { t - 1 } else { t };
            if t < -1 || t >= d[a] as isize {
                return AnatomySample::default();
            }
            b[a] = t;
            f[a] = (u - t as f64) as f32;
        }
        let interior = (0..3).all(|a| b[a] >= 0 && b[a] + 1 < d[a] as isize);
        if interior {
            let nb = self.blocks;
            let blk = |a: usize| b[a] as usize / BLOCK;
            if !self.occupied[(blk(0) * nb[1] + blk(1)) * nb[2] + blk(2)] {
                return AnatomySample::default();
            }
        }
        let acc = if interior {
            let (sj, si) = (d[2], d[1] * d[2]);
            let idx = (b[0] as usize * d[1] + b[1] as usize) * d[2] + b[2] as usize;
            let v = &self.voxels;
            let lerp = |x: [f32; 4], y: [f32; 4], t: f32| -> [f32; 4] {
                std::array::from_fn(|c| x[c] + (y[c] - x[c]) * t)
            };
            let k00 = lerp(v[idx], v[idx + 1], f[2]);
            let k01 = lerp(v[idx + sj], v[idx + sj + 1], f[2]);
            let k10 = lerp(v[idx + si], v[idx + si + 1], f[2]);
            let k11 = lerp(v[idx + si + sj], v[idx + si + sj + 1], f[2]);
            lerp(lerp(k00, k01, f[1]), lerp(k10, k11, f[1]), f[0])
        } else {
            self.sample_border(b, f)
        };
        AnatomySample {
            t1: acc[0],
            gm: acc[1],
            wm: acc[2],
            brain: acc[3],
        }
    }

    /// Trilinear interpolation where some neighbours fall outside (they count as zero).
    fn sample_border(&self, b: [isize; 3], f: [f32; 3]) -> [f32; 4] {
        let d = self.dims;
        let mut acc = [0.0f32; 4];
        for corner in 0..8 {
            let o = [(corner >> 2) & 1, (corner >> 1) & 1, corner & 1];
            let idx: [isize; 3] = std::array::from_fn(|a| b[a] + o[a] as isize);
            if (0..3).any(|a| idx[a] < 0 || idx[a] >= d[a] as isize) {
                continue;
            }
            let w = (0..3)
                .map(|a| if o[a] == 1 { f[a] } else { 1.0 - f[a] })
                .product::<f32>();
            let v = self.voxel(idx.map(|x| x as usize));
            for c in 0..4 {
                acc[c] += w * v[c];
            }
        }
        acc
    }
}

/// Inclusive index bounds of the voxels above zero.
fn bounding_box(v: &Volume<f32>) -> Option<([usize; 3], [usize; 3])> {
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for ((i, j, k), x) in v.data.indexed_iter() {
        if *x > 0.0 {
            for (d, c) in [i, j, k].into_iter().enumerate() {
                lo[d] = lo[d].min(c);
                hi[d] = hi[d].max(c);
            }
        }
    }
    (lo[0] != usize::MAX).then_some((lo, hi))
}

fn median(values: impl Iterator<Item = f32>) -> Option<f32> {
    let mut v: Vec<f32> = values.collect();
    if v.is_empty() {
        return None;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f32::total_cmp);
    Some(*m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_template_is_normalised_and_indexed() {
        let t = Template::embedded().expect("embedded template decodes");
        // White matter is the unit; CSF is much darker (a T1 contrast), grey matter in between.
        let c = t.sample(t.centre());
        assert!(c.brain > 0.99);
        assert!(
            t.csf_level() > 0.05 && t.csf_level() < 0.5,
            "{}",
            t.csf_level()
        );
        assert!(!t.junction_candidates().is_empty());
        assert!(t.junction_candidates().len() < t.deep_candidates().len());
        // Far outside: nothing.
        assert_eq!(t.sample([500.0, 0.0, 0.0]), AnatomySample::default());
        // The occupancy shortcut never hides brain: every surface point still samples as brain.
        for q in t.surface().iter().step_by(97) {
            assert!(t.sample(*q).brain > 0.99);
        }
        // A candidate voxel samples as brain exactly at its centre.
        let w = t.candidate_world(t.deep_candidates()[0]);
        let s = t.sample(w);
        assert!(s.gm + s.wm > 0.5 && s.brain == 1.0);
    }

    #[test]
    fn interior_fast_path_agrees_with_the_general_interpolation() {
        let t = Template::embedded().expect("embedded template decodes");
        let c = t.centre();
        for n in 0..50 {
            let q = [
                c[0] + n as f64 * 1.37 - 30.0,
                c[1] - n as f64 * 0.71,
                c[2] + 0.33 * n as f64,
            ];
            let fast = t.sample(q);
            let u: [f64; 3] = std::array::from_fn(|a| (q[a] - t.origin[a]) / t.spacing[a]);
            let b = u.map(|x| x.floor() as isize);
            let f: [f32; 3] = std::array::from_fn(|a| (u[a] - b[a] as f64) as f32);
            let slow = t.sample_border(b, f);
            for (x, y) in [fast.t1, fast.gm, fast.wm, fast.brain].iter().zip(slow) {
                assert!((x - y).abs() < 1e-5, "{x} vs {y}");
            }
        }
    }
}
