//! Boundary extraction and surface distances (Hausdorff, HD95, ASSD) in millimetres.
//!
//! Definitions follow MONAI's `HausdorffDistanceMetric` / `SurfaceDistanceMetric`:
//! * boundary = mask minus its erosion by the face-connected cross (6-neighbourhood in
//!   3-D, 4-neighbourhood in 2-D); voxels outside the grid count as background, so a
//!   mask touching the grid border has boundary there (scipy's `border_value=0`);
//! * the directed distances from A to B are, for every boundary voxel of A, the exact
//!   Euclidean distance (with spacing) to the nearest boundary voxel of B;
//! * percentiles use linear interpolation between order statistics (numpy's default).
//!
//! Only the bounding box of both masks is transformed: every boundary voxel of either
//! mask lies inside it, so the nearest boundary voxel of B to any boundary voxel of A is
//! found inside the box and the result is exactly that of the full grid. Erosion inside the
//! box is exact too because every voxel outside the box is background.

use ndarray::{ArrayView2, ArrayView3};
use serde::{Deserialize, Serialize};

use crate::edt::squared_edt;
use crate::error::{MetricsError, Result};
use crate::grid::{check_same_shape, check_spacing, flat, Mask};

/// How the two directed percentile distances are combined into HD95.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Hd95Convention {
    /// The larger of the two directed percentiles (MONAI, DeepMind surface-distance).
    #[default]
    MaxOfDirected,
    /// The percentile of both directions' distances pooled together (medpy `hd95`).
    Pooled,
}

/// Options for surface-distance metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SurfaceOptions {
    /// Percentile for the robust Hausdorff distance, in [0, 100]; 95 gives HD95.
    pub percentile: f64,
    /// How the two directions are combined.
    pub convention: Hd95Convention,
    /// Distance (mm) reported for HD, HD95 and ASSD when exactly one mask is empty.
    /// 374 mm is the BraTS-METS penalty (the diagonal of the 240x240x155 1 mm grid).
    pub empty_penalty_mm: f64,
}

impl Default for SurfaceOptions {
    fn default() -> Self {
        SurfaceOptions {
            percentile: 95.0,
            convention: Hd95Convention::MaxOfDirected,
            empty_penalty_mm: DEFAULT_EMPTY_PENALTY_MM,
        }
    }
}

/// BraTS-METS penalty for a missing structure, in millimetres.
pub const DEFAULT_EMPTY_PENALTY_MM: f64 = 374.0;

impl SurfaceOptions {
    pub(crate) fn validate(&self) -> Result<()> {
        if !(self.percentile.is_finite() && (0.0..=100.0).contains(&self.percentile)) {
            return Err(MetricsError::InvalidArgument(format!(
                "percentile must be in [0, 100], got {}",
                self.percentile
            )));
        }
        if !(self.empty_penalty_mm.is_finite() && self.empty_penalty_mm >= 0.0) {
            return Err(MetricsError::InvalidArgument(format!(
                "empty_penalty_mm must be finite and >= 0, got {}",
                self.empty_penalty_mm
            )));
        }
        Ok(())
    }
}

/// Directed boundary-to-boundary distances (mm) between a prediction and a ground truth.
///
/// Each vector has one entry per boundary voxel of its source mask, in C order. When the
/// target mask is empty every entry is `+inf`; when the source mask is empty the vector is
/// empty. The empty-mask *policy* (penalties) is applied by the segmentation report, not here.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SurfaceDistances {
    /// From each prediction boundary voxel to the nearest ground-truth boundary voxel.
    pub pred_to_gt: Vec<f64>,
    /// From each ground-truth boundary voxel to the nearest prediction boundary voxel.
    pub gt_to_pred: Vec<f64>,
}

impl SurfaceDistances {
    /// Symmetric Hausdorff distance: the larger directed maximum. `None` when both
    /// masks are empty, `+inf` when exactly one is.
    pub fn hausdorff(&self) -> Option<f64> {
        self.pred_to_gt
            .iter()
            .chain(&self.gt_to_pred)
            .copied()
            .reduce(f64::max)
    }

    /// Robust Hausdorff distance at `percentile` (95 → HD95) under `convention`.
    /// `None` when both masks are empty, `+inf` when exactly one is.
    pub fn percentile_distance(&self, percentile: f64, convention: Hd95Convention) -> Option<f64> {
        match convention {
            Hd95Convention::MaxOfDirected => {
                let a = percentile_linear(&self.pred_to_gt, percentile);
                let b = percentile_linear(&self.gt_to_pred, percentile);
                match (a, b) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                }
            }
            Hd95Convention::Pooled => {
                let pooled: Vec<f64> = self
                    .pred_to_gt
                    .iter()
                    .chain(&self.gt_to_pred)
                    .copied()
                    .collect();
                percentile_linear(&pooled, percentile)
            }
        }
    }

    /// Average symmetric surface distance: the mean over *all* boundary voxels of both
    /// masks of their distance to the other boundary, `(Σ d(a,B) + Σ d(b,A)) / (|∂A| + |∂B|)`
    /// (Heimann et al. 2009; MONAI's symmetric `SurfaceDistanceMetric`). `None` when both
    /// masks are empty.
    pub fn average_symmetric(&self) -> Option<f64> {
        let n = self.pred_to_gt.len() + self.gt_to_pred.len();
        if n == 0 {
            return None;
        }
        let sum: f64 = self.pred_to_gt.iter().chain(&self.gt_to_pred).sum();
        Some(sum / n as f64)
    }
}

/// The `p`-th percentile (p in [0, 100]) with linear interpolation between order statistics,
/// identical to `numpy.percentile(x, p)` (method "linear"). `None` for an empty slice.
pub fn percentile_linear(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * (p / 100.0).clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    let frac = h - lo as f64;
    if frac == 0.0 || v[lo] == v[hi] {
        Some(v[lo])
    } else {
        Some(v[lo] + frac * (v[hi] - v[lo]))
    }
}

/// Surface distances between two 3-D masks with spacing `[axis0, axis1, axis2]` in mm.
pub fn surface_distances_3d(
    pred: ArrayView3<bool>,
    gt: ArrayView3<bool>,
    spacing: [f64; 3],
) -> Result<SurfaceDistances> {
    check_same_shape(pred.shape(), gt.shape())?;
    check_spacing(&spacing)?;
    Ok(mask_surface_distances(
        &Mask::from_view3(pred),
        &Mask::from_view3(gt),
        spacing,
    ))
}

/// Surface distances between two 2-D slices with spacing `[row, column]` in mm.
pub fn surface_distances_2d(
    pred: ArrayView2<bool>,
    gt: ArrayView2<bool>,
    spacing: [f64; 2],
) -> Result<SurfaceDistances> {
    check_same_shape(pred.shape(), gt.shape())?;
    check_spacing(&spacing)?;
    Ok(mask_surface_distances(
        &Mask::from_view2(pred),
        &Mask::from_view2(gt),
        [1.0, spacing[0], spacing[1]],
    ))
}

/// Bounding boxes smaller than this run both distance transforms on the calling thread.
const PARALLEL_MIN_VOXELS: usize = 1 << 16;

/// Surface distances on already-validated masks of equal shape.
pub(crate) fn mask_surface_distances(a: &Mask, b: &Mask, spacing: [f64; 3]) -> SurfaceDistances {
    let bb = match (a.bbox(), b.bbox()) {
        (None, None) => return SurfaceDistances::default(),
        (Some(x), None) | (None, Some(x)) => x,
        (Some(x), Some(y)) => x.union(&y),
    };
    let a = a.crop(&bb);
    let b = b.crop(&bb);
    let ba = boundary(&a);
    let bb_ = boundary(&b);
    let dims = a.dims;
    // The two transforms are independent: run them on two threads, unless the box is so
    // small (a single lesion, a slice) that spawning costs more than it saves.
    let (dt_to_b, dt_to_a) = if a.data.len() < PARALLEL_MIN_VOXELS {
        (
            squared_edt(&bb_, dims, spacing),
            squared_edt(&ba, dims, spacing),
        )
    } else {
        std::thread::scope(|s| {
            let h = s.spawn(|| squared_edt(&bb_, dims, spacing));
            let to_a = squared_edt(&ba, dims, spacing);
            // A panic inside squared_edt would be a bug in this crate, not bad input.
            let to_b = h.join().expect("distance-transform thread panicked");
            (to_b, to_a)
        })
    };
    SurfaceDistances {
        pred_to_gt: sample(&ba, &dt_to_b),
        gt_to_pred: sample(&bb_, &dt_to_a),
    }
}

/// Distances (mm) read from a squared transform at the voxels where `at` is true.
fn sample(at: &[bool], sq: &[f64]) -> Vec<f64> {
    at.iter()
        .zip(sq)
        .filter(|(&b, _)| b)
        .map(|(_, &d)| d.sqrt())
        .collect()
}

/// Mask minus its erosion by the face-connected cross; outside the grid is background.
pub(crate) fn boundary(m: &Mask) -> Vec<bool> {
    let [nz, ny, nx] = m.dims;
    let d = m.dims;
    let mut out = vec![false; m.data.len()];
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let i = flat(d, z, y, x);
                if !m.data[i] {
                    continue;
                }
                let inside = |zz: usize, yy: usize, xx: usize| m.data[flat(d, zz, yy, xx)];
                let mut interior = x > 0
                    && x + 1 < nx
                    && y > 0
                    && y + 1 < ny
                    && inside(z, y, x - 1)
                    && inside(z, y, x + 1)
                    && inside(z, y - 1, x)
                    && inside(z, y + 1, x);
                if interior && !m.planar {
                    interior = z > 0 && z + 1 < nz && inside(z - 1, y, x) && inside(z + 1, y, x);
                }
                out[i] = !interior;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4], 95) = 3.85
        assert!((percentile_linear(&[4.0, 1.0, 3.0, 2.0], 95.0).unwrap() - 3.85).abs() < 1e-12);
        assert_eq!(percentile_linear(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile_linear(&[], 95.0), None);
        assert_eq!(percentile_linear(&[1.0, 9.0], 100.0), Some(9.0));
        assert_eq!(percentile_linear(&[1.0, 9.0], 0.0), Some(1.0));
    }

    #[test]
    fn boundary_of_solid_cube_is_its_shell() {
        let mut m = Mask {
            dims: [5, 5, 5],
            data: vec![false; 125],
            planar: false,
        };
        for z in 1..4 {
            for y in 1..4 {
                for x in 1..4 {
                    m.data[flat(m.dims, z, y, x)] = true;
                }
            }
        }
        let b = boundary(&m);
        assert_eq!(b.iter().filter(|&&v| v).count(), 27 - 1);
        assert!(!b[flat(m.dims, 2, 2, 2)]);
    }

    #[test]
    fn planar_boundary_ignores_missing_axis0_neighbours() {
        let m = Mask {
            dims: [1, 3, 3],
            data: vec![true; 9],
            planar: true,
        };
        let b = boundary(&m);
        assert_eq!(b.iter().filter(|&&v| v).count(), 8);
    }
}
