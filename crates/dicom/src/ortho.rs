//! dcm2niix's reorientation of 3-D acquisitions (`nii_setOrtho`), reproduced so that a series
//! read here matches its dcm2niix NIfTI. For MR Acquisition Type "3D", dcm2niix does not keep
//! the DICOM row/slice order: it permutes and flips the axes losslessly to the orthogonal
//! orientation nearest RAS, with voxel (0, 0, 0) at the left-posterior-inferior-most corner.

use mtsa_io::{Affine, Reorientation};

/// The permutation/flip dcm2niix applies to a grid with this affine and shape, or `None` when
/// it leaves the grid as it is (already in its best orientation).
pub(crate) fn dcm2niix_ortho(affine: &Affine, shape: [usize; 3]) -> Option<Reorientation> {
    let exactly_canonical = (0..3).all(|r| {
        (0..3).all(|c| {
            if r == c {
                affine[r][c] > 0.0
            } else {
                affine[r][c] == 0.0
            }
        })
    });
    if exactly_canonical {
        return None;
    }
    let flip = min_corner_flip(affine, shape);
    let sign = flip.map(|f| if f { -1.0 } else { 1.0 });
    // The permutation maximising the summed alignment of each output axis w with world axis w,
    // on the raw (spacing-weighted) affine as dcm2niix scores it; first maximum wins.
    const PERMS: [[usize; 3]; 6] = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [2, 0, 1],
        [1, 2, 0],
        [2, 1, 0],
    ];
    let mut best = (0.0, None);
    for perm in PERMS {
        // perm[w] = source axis feeding output axis w.
        let score: f64 = (0..3).map(|w| affine[w][perm[w]] * sign[perm[w]]).sum();
        if score > best.0 {
            best = (score, Some(perm));
        }
    }
    let perm = best.1?;
    let out_flip: [bool; 3] = std::array::from_fn(|w| flip[perm[w]]);
    if perm == [0, 1, 2] && out_flip == [false; 3] {
        return None;
    }
    Some(Reorientation {
        perm,
        flip: out_flip,
        source_shape: shape,
        source_affine: *affine,
    })
}

/// Which source axes to flip: those whose far end is at the corner nearest the component-wise
/// minimum of all eight corners (the left-posterior-inferior-most corner).
fn min_corner_flip(affine: &Affine, shape: [usize; 3]) -> [bool; 3] {
    let corner = |c: usize| -> [f64; 3] {
        let idx: [f64; 3] = std::array::from_fn(|a| {
            if c & (1 << a) != 0 {
                (shape[a] - 1) as f64
            } else {
                0.0
            }
        });
        std::array::from_fn(|r| (0..3).map(|a| affine[r][a] * idx[a]).sum::<f64>() + affine[r][3])
    };
    let corners: Vec<[f64; 3]> = (0..8).map(corner).collect();
    let min: [f64; 3] =
        std::array::from_fn(|r| corners.iter().map(|p| p[r]).fold(f64::INFINITY, f64::min));
    let dist = |p: &[f64; 3]| (0..3).map(|r| (p[r] - min[r]).powi(2)).sum::<f64>();
    let mut best = 0;
    for c in 1..8 {
        if dist(&corners[c]) < dist(&corners[best]) {
            best = c;
        }
    }
    std::array::from_fn(|a| best & (1 << a) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn las_axial_becomes_ras() {
        let a = mtsa_io::diagonal_affine([-0.9, 0.9, 3.0], [40.0, -60.0, -30.0]);
        let r = dcm2niix_ortho(&a, [48, 40, 12]).expect("reoriented");
        assert_eq!(r.perm, [0, 1, 2]);
        assert_eq!(r.flip, [true, false, false]);
        let c = r.canonical_affine();
        assert!((c[0][0] - 0.9).abs() < 1e-12 && (c[0][3] - (40.0 - 47.0 * 0.9)).abs() < 1e-9);
    }

    #[test]
    fn canonical_is_left_alone() {
        let a = mtsa_io::diagonal_affine([0.9, 0.9, 3.0], [40.0, -60.0, -30.0]);
        assert!(dcm2niix_ortho(&a, [4, 4, 4]).is_none());
    }
}
