//! The one preprocessing path shared by `prepare` (training data) and `predict` (a new patient):
//! reorient to RAS, normalise intensity inside the brain, and resample each axial slice onto a
//! fixed field of view centred on the brain. Sharing it guarantees the network sees at inference
//! exactly what it saw in training, and `SliceGeometry` records everything needed to put a
//! prediction back on the patient's own grid.

use crate::resample::{self, InPlaneMap, Tap};
use crate::DataError;
use mtsa_io::{Reorientation, Volume};
use ndarray::{Array3, ArrayView3, Axis};
use serde::{Deserialize, Serialize};

/// How volumes become network input. Stored in `dataset.json` (and by training with the model)
/// so that prediction repeats it exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreprocessConfig {
    /// Output slices are `size x size` pixels.
    pub size: usize,
    /// Side of the square field of view in mm; the pixel spacing is `fov_mm / size`, the same
    /// for every patient, so lesion size in pixels means the same thing across scanners.
    pub fov_mm: f64,
    /// Brain-intensity percentiles mapped to 0 and 1 (spec §4: 0.5 and 99.5).
    pub clip_percentiles: (f64, f64),
}

/// The largest slice side preprocessing produces, for the trained size and a second input size
/// alike: 2048 x 2048 float slices are 16 MB each, far past any MRI's in-plane resolution.
pub const MAX_SIDE: usize = 2048;

impl Default for PreprocessConfig {
    fn default() -> Self {
        Self {
            size: 384,
            fov_mm: 240.0,
            clip_percentiles: (0.5, 99.5),
        }
    }
}

impl PreprocessConfig {
    pub fn validate(&self) -> Result<(), DataError> {
        if !(8..=MAX_SIDE).contains(&self.size) {
            return Err(DataError::Config(format!(
                "size {} is outside 8..={MAX_SIDE} pixels",
                self.size
            )));
        }
        if !(self.fov_mm.is_finite() && self.fov_mm > 0.0) {
            return Err(DataError::Config(format!(
                "field of view {} mm must be positive",
                self.fov_mm
            )));
        }
        let (lo, hi) = self.clip_percentiles;
        if !((0.0..100.0).contains(&lo) && lo < hi && hi <= 100.0) {
            return Err(DataError::Config(format!(
                "clip percentiles ({lo}, {hi}) must satisfy 0 <= low < high <= 100"
            )));
        }
        Ok(())
    }

    pub fn pixel_mm(&self) -> f64 {
        self.fov_mm / self.size as f64
    }
}

/// Everything needed to map a volume's canonical axial slices to network pixels and back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceGeometry {
    /// Source index order and affine, and how to reach RAS order from it.
    pub reorientation: Reorientation,
    pub size: usize,
    pub fov_mm: f64,
    /// Canonical in-plane voxel size (along `i` = Right, `j` = Anterior), mm.
    pub voxel_mm: [f64; 2],
    /// Canonical voxel size along `k` (Superior): the slice thickness, mm.
    pub slice_thickness_mm: f64,
    /// Brain bounding-box centre, in mm from canonical voxel (0, 0) along `i` and `j`; output
    /// pixel ((S-1)/2, (S-1)/2) sits here.
    pub centre_mm: [f64; 2],
    /// Canonical `k` indices with at least one brain voxel.
    pub brain_slices: Vec<usize>,
    /// Source intensities mapped to 0 and 1 (the clip percentiles), kept for reports.
    pub intensity_range: [f32; 2],
    /// Where the image's nonzero region is wider than the field of view, one note per axis
    /// ("spans 215 mm front-back, more than the 208 mm field of view"); empty when it fits.
    /// Only without a brain mask: a mask that does not fit is an error. Read by
    /// [`SliceGeometry::field_of_view_warnings`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub beyond_field_of_view: Vec<String>,
}

impl SliceGeometry {
    /// The warnings [`SliceGeometry::beyond_field_of_view`] gives: what lies outside the field
    /// of view is never examined, which is fine for background and not for brain.
    pub fn field_of_view_warnings(&self) -> impl Iterator<Item = String> + '_ {
        self.beyond_field_of_view.iter().map(|what| {
            format!(
                "the image's nonzero region {what}: anything outside it is not examined (fine \
                 for background; give a brain mask or a larger --fov-mm if brain lies there)"
            )
        })
    }

    /// Output pixel spacing in mm, the same along rows and columns.
    pub fn pixel_mm(&self) -> f64 {
        self.fov_mm / self.size as f64
    }

    /// Number of canonical axial slices (the `K` of `preprocess_image`'s output).
    pub fn n_slices(&self) -> usize {
        self.reorientation.canonical_shape()[2]
    }

    pub(crate) fn map(&self) -> InPlaneMap {
        InPlaneMap {
            size: self.size,
            pixel_mm: self.pixel_mm(),
            voxel_mm: self.voxel_mm,
            centre_mm: self.centre_mm,
        }
    }
}

/// Canonical `k` indices that contain brain: the slices `predict` should run the network on.
pub fn brain_slices(geom: &SliceGeometry) -> Vec<usize> {
    geom.brain_slices.clone()
}

/// A volume reoriented and normalised, ready to have any of its axial slices resampled. Lets
/// `prepare` resample only tumour slices instead of the whole volume.
pub(crate) struct Normalised {
    pub geom: SliceGeometry,
    /// Canonical (RAS) normalised intensities, zero outside the brain.
    canonical: Array3<f32>,
}

impl Normalised {
    /// Resamples canonical slice `k` onto the `size x size` grid (bilinear), row-major.
    pub fn slice(&self, k: usize, taps: &(Vec<Tap>, Vec<Tap>)) -> Vec<f32> {
        let plane = canonical_plane(&self.canonical, k);
        let [nx, ny, _] = self.geom.reorientation.canonical_shape();
        let mut out = vec![0.0; self.geom.size * self.geom.size];
        resample::bilinear(&plane, nx, ny, &taps.0, &taps.1, &mut out);
        out
    }

    pub fn taps(&self) -> (Vec<Tap>, Vec<Tap>) {
        self.geom.map().forward_taps(Tap::linear)
    }
}

/// Canonical slice `k` as a row-major plane with rows over `j` and columns over `i`.
fn canonical_plane<T: Copy>(canonical: &Array3<T>, k: usize) -> Vec<T> {
    let view = canonical.index_axis(Axis(2), k); // [i, j]
    let mut plane = Vec::with_capacity(view.len());
    for row in view.t().rows() {
        plane.extend(row.iter().copied());
    }
    plane
}

/// Reorients, finds the brain, normalises intensity. Brain = `brain` mask voxels if given (must
/// match the image's shape), else the image's nonzero voxels (the readers put a skull-stripped
/// scan's background at 0 first, [`crate::scan_as_read`]).
pub(crate) fn normalise(
    img: &Volume<f32>,
    brain: Option<&Volume<u8>>,
    cfg: &PreprocessConfig,
) -> Result<Normalised, DataError> {
    cfg.validate()?;
    if let Some(b) = brain {
        if b.shape() != img.shape() {
            return Err(DataError::Volume(format!(
                "brain mask shape {:?} differs from the image shape {:?}",
                b.shape(),
                img.shape()
            )));
        }
    }
    let reo = Reorientation::for_volume(img);
    let mut canonical = reo.apply(img).data;
    let in_brain: Array3<bool> = match brain {
        Some(b) => reo.apply(b).data.mapv(|v| v != 0),
        None => canonical.mapv(|v| v != 0.0),
    };

    let mut values: Vec<f32> = canonical
        .iter()
        .zip(in_brain.iter())
        .filter_map(|(v, b)| b.then_some(*v))
        .collect();
    if values.is_empty() {
        return Err(DataError::Volume(
            "no brain voxels (the image is all zero, or the brain mask is empty)".into(),
        ));
    }
    let lo = percentile(&mut values, cfg.clip_percentiles.0);
    let hi = percentile(&mut values, cfg.clip_percentiles.1);
    drop(values);
    if hi - lo <= f32::EPSILON * hi.abs().max(lo.abs()).max(1.0) {
        return Err(DataError::Volume(format!(
            "image intensity is constant inside the brain ({lo}); cannot normalise"
        )));
    }
    // Background set to zero rather than to the normalised value of its raw intensity: outside
    // a brain mask, a z-scored image can hold values that would otherwise land mid-grey (a scan
    // read whole has its background at 0 already: `crate::scan_as_read`). The same pass
    // finds the brain's bounding box and the slices that contain brain.
    let scale = 1.0 / (hi - lo);
    let shape = reo.canonical_shape();
    let (mut lo_ij, mut hi_ij) = ([usize::MAX; 2], [0usize; 2]);
    let mut has_brain = vec![false; shape[2]];
    ndarray::Zip::indexed(&mut canonical)
        .and(&in_brain)
        .for_each(|(i, j, k), v, &b| {
            if b {
                *v = ((*v - lo) * scale).clamp(0.0, 1.0);
                lo_ij = [lo_ij[0].min(i), lo_ij[1].min(j)];
                hi_ij = [hi_ij[0].max(i), hi_ij[1].max(j)];
                has_brain[k] = true;
            } else {
                *v = 0.0;
            }
        });
    // Column lengths of the canonical affine: voxel size along i, j, k even when oblique.
    let affine = reo.canonical_affine();
    let spacing: [f64; 3] =
        std::array::from_fn(|c| (0..3).map(|r| affine[r][c].powi(2)).sum::<f64>().sqrt());
    let voxel_mm = [spacing[0], spacing[1]];
    // The square field of view is centred on the brain; a brain wider than it would lose its
    // edges from every slice without a word (no GTV could be found there). Only a brain mask
    // says for sure where the brain is: without one the "brain" is every nonzero voxel, which
    // in a scan that is not skull-stripped includes the head and the background noise, so a
    // wider region is then only reported.
    let mut beyond_field_of_view = Vec::new();
    for (a, axis) in ["left-right", "front-back"].iter().enumerate() {
        let extent = (hi_ij[a] - lo_ij[a] + 1) as f64 * voxel_mm[a];
        if extent <= cfg.fov_mm {
            continue;
        }
        let what = format!(
            "spans {extent:.0} mm {axis}, more than the {} mm field of view",
            cfg.fov_mm
        );
        if brain.is_some() {
            return Err(DataError::Volume(format!(
                "the brain mask {what} (prepare with a larger --fov-mm)"
            )));
        }
        beyond_field_of_view.push(what);
    }
    let centre_mm = std::array::from_fn(|a| (lo_ij[a] + hi_ij[a]) as f64 / 2.0 * voxel_mm[a]);
    let geom = SliceGeometry {
        reorientation: reo,
        size: cfg.size,
        fov_mm: cfg.fov_mm,
        voxel_mm,
        slice_thickness_mm: spacing[2],
        centre_mm,
        brain_slices: (0..shape[2]).filter(|&k| has_brain[k]).collect(),
        intensity_range: [lo, hi],
        beyond_field_of_view,
    };
    Ok(Normalised { geom, canonical })
}

/// Percentile with linear interpolation between order statistics (numpy's default), using
/// selection rather than a full sort. Reorders `values`.
fn percentile(values: &mut [f32], q: f64) -> f32 {
    let pos = (q / 100.0).clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let i = pos.floor() as usize;
    let (_, &mut a, right) = values.select_nth_unstable_by(i, f32::total_cmp);
    let frac = (pos - i as f64) as f32;
    if frac == 0.0 || right.is_empty() {
        return a;
    }
    let b = right.iter().copied().fold(f32::INFINITY, f32::min);
    a + (b - a) * frac
}

/// Preprocesses a whole volume: all canonical axial slices, `K x S x S` in `[0, 1]`, with the
/// geometry that `resample_mask` and `restore_probabilities` need.
pub fn preprocess_image(
    img: &Volume<f32>,
    brain: Option<&Volume<u8>>,
    cfg: &PreprocessConfig,
) -> Result<(Array3<f32>, SliceGeometry), DataError> {
    let norm = normalise(img, brain, cfg)?;
    let taps = norm.taps();
    let (k_total, s) = (norm.geom.n_slices(), cfg.size);
    let mut out = Vec::with_capacity(k_total * s * s);
    for k in 0..k_total {
        out.extend(norm.slice(k, &taps));
    }
    let out = Array3::from_shape_vec((k_total, s, s), out)
        .map_err(|e| DataError::Volume(format!("internal shape error: {e}")))?;
    Ok((out, norm.geom))
}

/// A mask (or label map) on the image's source grid resampled like the image (nearest
/// neighbour, so labels stay labels), `K x S x S`.
///
/// # Panics
/// If the mask's shape differs from the image the geometry came from; check
/// `Volume::same_geometry` first when the mask comes from a user file.
pub fn resample_mask<T: Copy + Default>(mask: &Volume<T>, geom: &SliceGeometry) -> Array3<T> {
    assert_eq!(
        mask.shape(),
        geom.reorientation.source_shape,
        "resample_mask: mask shape differs from the image geometry"
    );
    let canonical = geom.reorientation.apply(mask).data;
    let [nx, ny, nk] = geom.reorientation.canonical_shape();
    let (rows, cols) = geom.map().forward_taps(Tap::nearest);
    let s = geom.size;
    let mut out = Array3::<T>::from_elem((nk, s, s), T::default());
    for k in 0..nk {
        let plane = canonical_plane(&canonical, k);
        if let Some(dst) = out.index_axis_mut(Axis(0), k).as_slice_mut() {
            resample::nearest(&plane, nx, ny, &rows, &cols, dst);
        }
    }
    out
}

/// Nearest-neighbour resampling of selected canonical slices of a canonical mask.
pub(crate) fn resample_canonical_mask_slice(
    canonical: &Array3<u8>,
    k: usize,
    geom: &SliceGeometry,
    taps: &(Vec<Tap>, Vec<Tap>),
) -> Vec<u8> {
    let [nx, ny, _] = geom.reorientation.canonical_shape();
    let plane = canonical_plane(canonical, k);
    let mut out = vec![0u8; geom.size * geom.size];
    resample::nearest(&plane, nx, ny, &taps.0, &taps.1, &mut out);
    out
}

/// Network output (`K x S x S`, one plane per canonical slice) back onto the source grid by
/// bilinear interpolation: same shape and affine as the input volume. Threshold at 0.5 to get
/// a mask.
///
/// # Panics
/// If `prob` is not `n_slices x size x size` for this geometry.
pub fn restore_probabilities(prob: &Array3<f32>, geom: &SliceGeometry) -> Volume<f32> {
    let [nx, ny, nk] = geom.reorientation.canonical_shape();
    let s = geom.size;
    assert_eq!(
        prob.shape(),
        &[nk, s, s],
        "restore_probabilities: expected {nk} x {s} x {s} probabilities"
    );
    let (rows, cols) = geom.map().inverse_taps(nx, ny);
    // Built as [k][j][i] so each output plane is contiguous, then viewed as [i, j, k].
    let mut planes = vec![0.0f32; nk * ny * nx];
    for k in 0..nk {
        let src = prob.index_axis(Axis(0), k);
        let src = src.as_standard_layout();
        let Some(src) = src.as_slice() else { continue };
        let dst = &mut planes[k * ny * nx..(k + 1) * ny * nx];
        resample::bilinear(src, s, s, &rows, &cols, dst);
    }
    let canonical = Array3::from_shape_vec((nk, ny, nx), planes)
        .map(|a| a.permuted_axes([2, 1, 0]))
        .unwrap_or_else(|_| Array3::zeros((nx, ny, nk)));
    geom.reorientation.invert(&canonical)
}

/// The `r` slices below `k`, then the `r` above it, each run ordered bottom to top and clamped
/// to the volume: at its ends the nearest existing slice stands in (replication padding).
pub fn neighbour_slices(k: usize, r: usize, n_slices: usize) -> Vec<usize> {
    let last = n_slices.saturating_sub(1);
    let below = (1..=r).rev().map(|d| k.saturating_sub(d));
    let above = (1..=r).map(|d| (k + d).min(last));
    below.chain(above).collect()
}

/// Slice `k` of preprocessed `slices` (K x S x S) as network input channels: the `r` slices
/// below, slice `k`, the `r` above (`2r + 1` planes, bottom to top), as stored by `prepare`.
pub fn network_input(slices: ArrayView3<f32>, k: usize, r: usize) -> Vec<f32> {
    let n = slices.len_of(Axis(0));
    let nb = neighbour_slices(k, r, n);
    let (below, above) = nb.split_at(r);
    below
        .iter()
        .chain(std::iter::once(&k))
        .chain(above)
        .flat_map(|&j| {
            slices
                .index_axis(Axis(0), j)
                .iter()
                .copied()
                .collect::<Vec<_>>()
        })
        .collect()
}
