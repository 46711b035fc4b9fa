//! BraTS-METS matching steps shared by the per-patient lesion scores ([`crate::lesions`])
//! and the operating-point detection grid ([`crate::detection`]), so that both count the
//! same lesions, matches and false positives.
//!
//! Ground-truth lesions are the 26-connected components of the ground truth dilated by
//! `dilation` (18-connected structuring element), restricted back to ground-truth voxels.
//! Component `k` of the dilated mask is *exactly* lesion `k` dilated by `dilation`: every
//! dilated voxel is joined to the ground-truth voxel it grew from by a chain of 18-steps,
//! so it lies in that voxel's component, and the dilation of a union is the union of the
//! dilations. The dilated regions of different lesions are therefore disjoint, and
//! "component overlaps the dilated lesion" is a single sweep over the region labels
//! instead of one dilation per lesion.

use crate::components::{dilate_18, label_26, label_sizes};
use crate::grid::{BBox, Mask};

/// Ground-truth lesions of one (cropped) grid.
pub(crate) struct GtRegions {
    /// Per voxel: lesion label `1..=n` restricted to ground-truth voxels, 0 elsewhere.
    pub lesions: Vec<u32>,
    /// Per voxel: label of the dilated lesion region containing it, 0 outside all.
    pub regions: Vec<u32>,
    /// Flat indices of the voxels with a non-zero region label.
    region_voxels: Vec<usize>,
    /// Number of lesions.
    pub n: usize,
}

impl GtRegions {
    /// Lesions of `gt` merged and dilated by `dilation` voxels.
    pub fn new(gt: &Mask, dilation: usize) -> GtRegions {
        let (regions, n) = label_26(&dilate_18(gt, dilation));
        let lesions = regions
            .iter()
            .zip(&gt.data)
            .map(|(&l, &g)| if g { l } else { 0 })
            .collect();
        let region_voxels = regions
            .iter()
            .enumerate()
            .filter(|(_, &l)| l != 0)
            .map(|(i, _)| i)
            .collect();
        GtRegions {
            lesions,
            regions,
            region_voxels,
            n,
        }
    }

    /// Ground-truth voxel count of every lesion (index `k` is label `k + 1`).
    pub fn voxel_counts(&self) -> Vec<usize> {
        label_sizes(&self.lesions, self.n)
    }

    /// For every lesion (index `k` is label `k + 1`), the labels of the predicted components
    /// (`pred_labels`, same grid) that overlap its dilated region, sorted and unique.
    pub fn matches(&self, pred_labels: &[u32]) -> Vec<Vec<u32>> {
        let mut pairs: Vec<(u32, u32)> = self
            .region_voxels
            .iter()
            .filter_map(|&i| {
                let c = pred_labels[i];
                (c != 0).then(|| (self.regions[i], c))
            })
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut out = vec![Vec::new(); self.n];
        for (k, c) in pairs {
            out[k as usize - 1].push(c);
        }
        out
    }
}

/// The box both matching passes crop to: the union of the foreground boxes grown by the
/// dilation (so dilated lesions are never clipped by the crop), `None` when both are empty.
pub(crate) fn matching_box(
    a: Option<BBox>,
    b: Option<BBox>,
    dilation: usize,
    dims: [usize; 3],
) -> Option<BBox> {
    let bb = match (a, b) {
        (None, None) => return None,
        (Some(x), None) | (None, Some(x)) => x,
        (Some(x), Some(y)) => x.union(&y),
    };
    Some(bb.expand(dilation, dims))
}
