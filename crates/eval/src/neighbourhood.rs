//! The surroundings of one labelled component of a scan: what the lesion classifier's shells
//! and the EGFR phenotype's shells are measured in. Only a window around the component is
//! looked at (its bounding box grown by the outermost shell), so a distance map per component
//! stays cheap on a whole scan.

use mtsa_metrics::distance_map_mm;
use ndarray::{s, Array3, ArrayView3};

/// Inclusive-exclusive bounding box `(lo, hi)` of a component, in voxel indices.
pub(crate) type BoundingBox = ([usize; 3], [usize; 3]);

/// The bounding box of each label `1..=n` of `labels` (index `label - 1`).
pub(crate) fn bounding_boxes(labels: &Array3<u32>, n: usize) -> Vec<BoundingBox> {
    let mut boxes = vec![([usize::MAX; 3], [0usize; 3]); n];
    for ((i, j, k), &l) in labels.indexed_iter() {
        if l != 0 {
            let (lo, hi) = &mut boxes[l as usize - 1];
            for (ax, v) in [i, j, k].into_iter().enumerate() {
                lo[ax] = lo[ax].min(v);
                hi[ax] = hi[ax].max(v + 1);
            }
        }
    }
    boxes
}

/// A window of the labels and the image around one component, with every window voxel's
/// distance (mm) from that component.
pub(crate) struct Neighbourhood<'a> {
    pub labels: ArrayView3<'a, u32>,
    pub image: ArrayView3<'a, f32>,
    pub distance_mm: Array3<f64>,
}

/// The neighbourhood of component `label` (bounding box `bbox`): the box grown by `margin_mm`
/// plus one voxel on every side, clipped to the grid.
pub(crate) fn neighbourhood<'a>(
    labels: &'a Array3<u32>,
    image: &'a Array3<f32>,
    label: u32,
    (lo, hi): BoundingBox,
    spacing: [f64; 3],
    margin_mm: f64,
) -> Neighbourhood<'a> {
    let dims = labels.dim();
    let dims = [dims.0, dims.1, dims.2];
    let (wlo, whi): (Vec<usize>, Vec<usize>) = (0..3)
        .map(|ax| {
            let pad = (margin_mm / spacing[ax]).ceil() as usize + 1;
            (lo[ax].saturating_sub(pad), (hi[ax] + pad).min(dims[ax]))
        })
        .unzip();
    let window = s![wlo[0]..whi[0], wlo[1]..whi[1], wlo[2]..whi[2]];
    let labels = labels.slice(window);
    let distance_mm = distance_map_mm(labels.mapv(|l| l == label).view(), spacing);
    Neighbourhood {
        labels,
        image: image.slice(window),
        distance_mm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_holds_the_component_and_its_margin_clipped_to_the_grid() {
        let mut labels = Array3::<u32>::zeros((10, 10, 10));
        labels[[1, 5, 5]] = 1;
        labels[[2, 5, 6]] = 1;
        labels[[8, 8, 8]] = 2;
        let boxes = bounding_boxes(&labels, 2);
        assert_eq!(boxes, vec![([1, 5, 5], [3, 6, 7]), ([8, 8, 8], [9, 9, 9])]);
        let image = Array3::<f32>::zeros((10, 10, 10));
        // 2 mm of margin at 1 mm voxels: 2 + 1 voxels each side, clipped at 0 (first axis:
        // 0..6) and inside elsewhere (2..9, 2..10).
        let n = neighbourhood(&labels, &image, 1, boxes[0], [1.0; 3], 2.0);
        assert_eq!(n.labels.dim(), (6, 7, 8));
        assert_eq!(n.distance_mm.dim(), (6, 7, 8));
        assert_eq!(n.distance_mm[[1, 3, 3]], 0.0);
        assert_eq!(n.distance_mm[[1, 3, 0]], 3.0);
        // The second component's window is clipped at 10 on every axis: 5..10.
        let n = neighbourhood(&labels, &image, 2, boxes[1], [1.0; 3], 2.0);
        assert_eq!(n.labels.dim(), (5, 5, 5));
        assert_eq!(n.labels[[3, 3, 3]], 2);
    }
}
