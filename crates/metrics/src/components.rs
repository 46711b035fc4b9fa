//! 3-D connected components (26-connectivity) and binary dilation (18-connectivity).
//!
//! BraTS-METS lesion matching labels lesions with `cc3d.connected_components(...,
//! connectivity=26)` and grows ground-truth lesions with `scipy.ndimage.binary_dilation`
//! using `generate_binary_structure(3, 2)`, i.e. the 3x3x3 cube without its 8 corners.
//! Both are reproduced here so that lesion counts match the challenge's evaluation.

use ndarray::{Array3, ArrayView3};

use crate::error::{check_volume, MetricsError, Result};
use crate::grid::{check_spacing, flat, unflat, Mask};

/// Offsets of the 26-neighbourhood.
fn offsets_26() -> impl Iterator<Item = [isize; 3]> {
    (-1isize..=1).flat_map(|dz| {
        (-1isize..=1).flat_map(move |dy| {
            (-1isize..=1)
                .map(move |dx| [dz, dy, dx])
                .filter(|o| *o != [0, 0, 0])
        })
    })
}

/// Offsets of the 18-neighbourhood (`generate_binary_structure(3, 2)` minus the centre).
fn offsets_18() -> impl Iterator<Item = [isize; 3]> {
    offsets_26().filter(|o| o.iter().map(|v| v.abs()).sum::<isize>() <= 2)
}

/// Neighbour of `p` at `o`, if inside `dims`.
#[inline]
fn step(dims: [usize; 3], p: [usize; 3], o: [isize; 3]) -> Option<[usize; 3]> {
    let mut q = [0usize; 3];
    for ax in 0..3 {
        let c = p[ax] as isize + o[ax];
        if c < 0 || c >= dims[ax] as isize {
            return None;
        }
        q[ax] = c as usize;
    }
    Some(q)
}

/// A neighbourhood as grid offsets and as flat-index offsets.
struct Neighbourhood {
    offsets: Vec<[isize; 3]>,
    flat: Vec<isize>,
}

impl Neighbourhood {
    fn new(offsets: Vec<[isize; 3]>, dims: [usize; 3]) -> Neighbourhood {
        let strides = [(dims[1] * dims[2]) as isize, dims[2] as isize, 1];
        let flat = offsets
            .iter()
            .map(|o| o[0] * strides[0] + o[1] * strides[1] + o[2] * strides[2])
            .collect();
        Neighbourhood { offsets, flat }
    }

    /// Calls `visit` with the flat index of every in-grid neighbour of voxel `i`.
    /// Voxels away from the grid faces take the fast path of plain flat offsets.
    #[inline]
    fn for_each(&self, dims: [usize; 3], i: usize, mut visit: impl FnMut(usize)) {
        let p = unflat(dims, i);
        let interior = (0..3).all(|a| p[a] >= 1 && p[a] + 1 < dims[a]);
        if interior {
            for &d in &self.flat {
                visit((i as isize + d) as usize);
            }
        } else {
            for &o in &self.offsets {
                if let Some(q) = step(dims, p, o) {
                    visit(flat(dims, q[0], q[1], q[2]));
                }
            }
        }
    }
}

/// Labels of the 26-connected components of a flat mask: 0 for background, `1..=n` for
/// components numbered in raster order of their first voxel. Returns `(labels, n)`.
pub(crate) fn label_26(m: &Mask) -> (Vec<u32>, usize) {
    let nb = Neighbourhood::new(offsets_26().collect(), m.dims);
    let mut labels = vec![0u32; m.data.len()];
    let mut n = 0u32;
    let mut stack = Vec::new();
    for start in 0..m.data.len() {
        if !m.data[start] || labels[start] != 0 {
            continue;
        }
        n += 1;
        labels[start] = n;
        stack.push(start);
        while let Some(i) = stack.pop() {
            nb.for_each(m.dims, i, |j| {
                if m.data[j] && labels[j] == 0 {
                    labels[j] = n;
                    stack.push(j);
                }
            });
        }
    }
    (labels, n as usize)
}

/// Binary dilation by the 18-connected structuring element, `iterations` times; voxels
/// outside the grid are never set.
pub(crate) fn dilate_18(m: &Mask, iterations: usize) -> Mask {
    let nb = Neighbourhood::new(offsets_18().collect(), m.dims);
    let mut cur = m.clone();
    for _ in 0..iterations {
        let mut next = cur.data.clone();
        for (i, &b) in cur.data.iter().enumerate() {
            if b {
                nb.for_each(cur.dims, i, |j| next[j] = true);
            }
        }
        cur.data = next;
    }
    cur
}

/// The lesions of a probability map by two cuts (hysteresis thresholding): the 26-connected
/// components of `prob > segment` whose highest probability exceeds `peak` and whose volume
/// (voxel count × voxel volume from `spacing`, mm³) is at least `min_volume_mm3`. This is the
/// post-processing stored with a model: isolated specks of a few voxels are the commonest false
/// positives of a voxel classifier, while real metastases are connected blobs; the peak decides
/// whether a component is a lesion, the lower cut how far it reaches, so a strict detection
/// threshold no longer shrinks every outline it keeps. With `segment == peak` this is one cut
/// at `peak` followed by the volume filter.
pub fn keep_lesions(
    prob: ArrayView3<f32>,
    spacing: [f64; 3],
    segment: f32,
    peak: f32,
    min_volume_mm3: f64,
) -> Result<Array3<bool>> {
    check_spacing(&spacing)?;
    check_volume("min_volume_mm3", min_volume_mm3)?;
    if !segment.is_finite() || !peak.is_finite() {
        return Err(MetricsError::InvalidArgument(format!(
            "thresholds must be finite, got segment {segment} and peak {peak}"
        )));
    }
    let m = Mask::from_view3(prob.mapv(|p| p > segment).view());
    let probs: Vec<f32> = prob.iter().copied().collect();
    let (labels, n) = label_26(&m);
    let peaks = label_peaks(&labels, n, &probs);
    let voxel_mm3: f64 = spacing.iter().product();
    let kept: Vec<bool> = label_sizes(&labels, n)
        .iter()
        .zip(&peaks)
        .map(|(&k, &top)| k as f64 * voxel_mm3 >= min_volume_mm3 && top > peak)
        .collect();
    let data = labels
        .iter()
        .map(|&l| l != 0 && kept[l as usize - 1])
        .collect();
    Array3::from_shape_vec(prob.raw_dim(), data)
        .map_err(|e| MetricsError::InvalidArgument(format!("mask shape: {e}")))
}

/// 26-connected component labels of a 3-D mask (0 = background, components `1..=n` in
/// raster order of their first voxel) and the number of components `n`.
pub fn connected_components_3d(mask: ArrayView3<bool>) -> (Array3<u32>, usize) {
    let m = Mask::from_view3(mask);
    let (labels, n) = label_26(&m);
    let [a, b, c] = m.dims;
    // Shape and length agree by construction.
    let arr = Array3::from_shape_vec((a, b, c), labels).expect("label buffer matches shape");
    (arr, n)
}

/// Voxel count of every label `1..=n` (index `k` is label `k + 1`).
pub(crate) fn label_sizes(labels: &[u32], n: usize) -> Vec<usize> {
    let mut sizes = vec![0usize; n];
    for &l in labels {
        if l != 0 {
            sizes[l as usize - 1] += 1;
        }
    }
    sizes
}

/// Highest probability inside every label `1..=n` (index `k` is label `k + 1`); `probs` in
/// the labels' order.
pub(crate) fn label_peaks(labels: &[u32], n: usize, probs: &[f32]) -> Vec<f32> {
    let mut peaks = vec![f32::NEG_INFINITY; n];
    for (&l, &p) in labels.iter().zip(probs) {
        if l != 0 {
            let k = l as usize - 1;
            peaks[k] = peaks[k].max(p);
        }
    }
    peaks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(dims: [usize; 3], on: &[[usize; 3]]) -> Mask {
        let mut data = vec![false; dims.iter().product()];
        for p in on {
            data[flat(dims, p[0], p[1], p[2])] = true;
        }
        Mask {
            dims,
            data,
            planar: false,
        }
    }

    #[test]
    fn corner_touching_voxels_are_one_component() {
        let m = mask([3, 3, 3], &[[0, 0, 0], [1, 1, 1], [2, 2, 2]]);
        assert_eq!(label_26(&m).1, 1);
        let m = mask([3, 3, 5], &[[0, 0, 0], [0, 0, 2], [2, 2, 4]]);
        assert_eq!(label_26(&m).1, 3);
    }

    #[test]
    fn dilation_uses_18_neighbourhood() {
        let m = mask([3, 3, 3], &[[1, 1, 1]]);
        let d = dilate_18(&m, 1);
        assert_eq!(d.data.iter().filter(|&&b| b).count(), 19);
        assert!(!d.data[flat(d.dims, 0, 0, 0)]);
        assert!(d.data[flat(d.dims, 0, 0, 1)]);
    }
}
