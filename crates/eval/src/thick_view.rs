//! A scan seen through slices twice as thick: what a validation scan would look like from a
//! site that acquires thicker slices, for fitting the lesion classifier that such scans get
//! ([`crate::Postprocess::thick_slice_classifier`]).
//!
//! Why: on 4 mm slices a metastasis of a few millimetres is averaged with the tissue around it
//! and shows fainter against the scan's vessels than on the 2 mm slices the classifier was
//! fitted on, so the brightness it learnt to trust rejects it (`docs/whole-scan.md`,
//! twenty-fourth session). Averaging each pair of neighbouring slices is exactly the mean over
//! a slab twice as thick when each slice is the mean over its own thickness (as thick slices
//! are acquired, and as the synthetic sites render them); nnU-Net's simulated low resolution is
//! the in-plane kin.

use mtsa_io::Volume;
use ndarray::{Array3, Axis, Zip};

/// `image` and its GTV `gt` with each pair of neighbouring slices (2k, 2k + 1) along the axis
/// that runs most nearly head to foot merged into one slice of twice the thickness, centred
/// between them: the image's values averaged (a voxel outside the brain, 0, where both are), the
/// GTV their union. A last unpaired slice is dropped. `None` with fewer than two slices.
pub(crate) fn thicker_slices(
    image: &Volume<f32>,
    gt: &Volume<u8>,
) -> Option<(Volume<f32>, Volume<u8>)> {
    thicker_slices_from(image, gt, 0)
}

/// [`thicker_slices`] with the pairs starting at slice `first` (0 or 1): pairs (first + 2k,
/// first + 2k + 1).
pub(crate) fn thicker_slices_from(
    image: &Volume<f32>,
    gt: &Volume<u8>,
    first: usize,
) -> Option<(Volume<f32>, Volume<u8>)> {
    let axis = slice_axis(&image.affine);
    let pairs = image.data.len_of(Axis(axis)).saturating_sub(first) / 2;
    if pairs == 0 {
        return None;
    }
    let mut affine = image.affine;
    for row in affine.iter_mut().take(3) {
        // Slice k's centre is old slice first + 2k + 0.5, and each step is two old ones.
        row[3] += (first as f64 + 0.5) * row[axis];
        row[axis] *= 2.0;
    }
    let merged_image = merge_pairs(&image.data, axis, first, pairs, |a, b| {
        if a == 0.0 && b == 0.0 {
            0.0
        } else {
            (a + b) / 2.0
        }
    });
    let merged_gt = merge_pairs(&gt.data, axis, first, pairs, |a, b| {
        u8::from(a != 0 || b != 0)
    });
    Some((
        Volume::new(merged_image, affine),
        Volume::new(merged_gt, affine),
    ))
}

/// The index axis whose direction has the largest head-to-foot (world z) component.
pub(crate) fn slice_axis(affine: &mtsa_io::Affine) -> usize {
    (0..3)
        .max_by(|&a, &b| affine[2][a].abs().total_cmp(&affine[2][b].abs()))
        .unwrap_or(2)
}

/// `data`'s slices first + 2k and first + 2k + 1 along `axis` merged by `merge`, for k below
/// `pairs`.
fn merge_pairs<T: Copy + Default>(
    data: &Array3<T>,
    axis: usize,
    first: usize,
    pairs: usize,
    merge: impl Fn(T, T) -> T,
) -> Array3<T> {
    let mut shape = [data.shape()[0], data.shape()[1], data.shape()[2]];
    shape[axis] = pairs;
    let mut out = Array3::<T>::default(shape);
    for (k, mut slice) in out.axis_iter_mut(Axis(axis)).enumerate() {
        Zip::from(&mut slice)
            .and(data.index_axis(Axis(axis), first + 2 * k))
            .and(data.index_axis(Axis(axis), first + 2 * k + 1))
            .for_each(|o, &a, &b| *o = merge(a, b));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mtsa_io::diagonal_affine;

    /// Five 2 mm slices along k (values 1-5, the middle one's GTV at one voxel; a background
    /// voxel in slice 0 only): two 4 mm slices, the last one dropped, centred between the pairs.
    #[test]
    fn pairs_of_slices_are_averaged_and_their_gtv_joined() {
        let affine = diagonal_affine([0.9, 0.9, 2.0], [-10.0, -20.0, -30.0]);
        let mut img = Array3::from_shape_fn((2, 2, 5), |(_, _, k)| (k + 1) as f32);
        img[[0, 0, 0]] = 0.0;
        img[[1, 1, 0]] = 0.0;
        img[[1, 1, 1]] = 0.0;
        let mut gt = Array3::<u8>::zeros((2, 2, 5));
        gt[[1, 0, 2]] = 1;
        let (image, gtv) = thicker_slices(&Volume::new(img, affine), &Volume::new(gt, affine))
            .expect("five slices");
        assert_eq!(image.shape(), [2, 2, 2]);
        assert_eq!(image.spacing(), [0.9, 0.9, 4.0]);
        assert_eq!(image.world([0.0, 0.0, 0.0]), [-10.0, -20.0, -29.0]);
        assert_eq!(image.data[[0, 1, 0]], 1.5);
        assert_eq!(
            image.data[[0, 0, 0]],
            1.0,
            "one background voxel of the pair"
        );
        assert_eq!(image.data[[1, 1, 0]], 0.0, "both background");
        assert_eq!(image.data[[0, 1, 1]], 3.5);
        assert_eq!(gtv.data.iter().filter(|v| **v == 1).count(), 1);
        assert_eq!(gtv.data[[1, 0, 1]], 1);
        assert_eq!(gtv.affine, image.affine);
    }

    /// Pairs from the second slice: (1, 2) and (3, 4) of five, centred between them.
    #[test]
    fn the_second_phase_pairs_the_slices_one_later() {
        let affine = diagonal_affine([0.9, 0.9, 2.0], [-10.0, -20.0, -30.0]);
        let img = Array3::from_shape_fn((2, 2, 5), |(_, _, k)| (k + 1) as f32);
        let mut gt = Array3::<u8>::zeros((2, 2, 5));
        gt[[1, 0, 0]] = 1; // in the slice the second phase leaves out
        gt[[0, 1, 4]] = 1;
        let (image, gtv) =
            thicker_slices_from(&Volume::new(img, affine), &Volume::new(gt, affine), 1)
                .expect("five slices");
        assert_eq!(image.shape(), [2, 2, 2]);
        assert_eq!(image.world([0.0, 0.0, 0.0]), [-10.0, -20.0, -27.0]);
        assert_eq!(image.data[[0, 0, 0]], 2.5);
        assert_eq!(image.data[[0, 0, 1]], 4.5);
        assert_eq!(gtv.data.iter().filter(|v| **v == 1).count(), 1);
        assert_eq!(gtv.data[[0, 1, 1]], 1);
        let two = Volume::new(Array3::<f32>::ones((1, 1, 2)), affine);
        assert!(thicker_slices_from(&two, &two.map(|_| 0u8), 1).is_none());
    }

    /// A scan stored with the head-to-foot axis first is thickened along that axis; a single
    /// slice cannot be.
    #[test]
    fn the_slice_axis_is_the_one_that_runs_head_to_foot() {
        let mut affine = [[0.0; 4]; 4];
        affine[2][0] = 3.0; // i runs along z
        affine[0][1] = 1.0;
        affine[1][2] = 1.0;
        affine[3][3] = 1.0;
        let img = Array3::<f32>::ones((4, 3, 3));
        let gt = Array3::<u8>::zeros((4, 3, 3));
        let (image, _) = thicker_slices(&Volume::new(img, affine), &Volume::new(gt, affine))
            .expect("four slices");
        assert_eq!(image.shape(), [2, 3, 3]);
        assert_eq!(image.spacing(), [6.0, 1.0, 1.0]);
        let one = Volume::new(
            Array3::<f32>::ones((3, 3, 1)),
            diagonal_affine([1.0; 3], [0.0; 3]),
        );
        let one_gt = one.map(|_| 0u8);
        assert!(thicker_slices(&one, &one_gt).is_none());
    }
}
