//! Neighbour directions at distance 1 (Chebyshev norm), generated in PyRadiomics' order
//! (`cmatrices.c: build_angles`): offsets run from +1 to -1 with the last axis fastest, and an
//! axis along which the ROI is one voxel thick gets no offsets. GLCM and GLRLM use one direction
//! of each opposite pair (13 in 3-D), GLSZM, GLDM and NGTDM both (26).

/// Offsets (dz, dy, dx) for a cropped ROI of size `dims` (z, y, x).
pub(crate) fn directions(dims: [usize; 3], bidirectional: bool) -> Vec<[isize; 3]> {
    let all: Vec<[isize; 3]> = (0..27)
        .map(|n: isize| [1 - (n / 9) % 3, 1 - (n / 3) % 3, 1 - n % 3])
        .filter(|d| *d != [0, 0, 0])
        .filter(|d| (0..3).all(|a| d[a] == 0 || dims[a] > 1))
        .collect();
    let keep = if bidirectional {
        all.len()
    } else {
        all.len() / 2
    };
    all.into_iter().take(keep).collect()
}

#[cfg(test)]
mod tests {
    use super::directions;

    #[test]
    fn three_d_has_13_and_26() {
        let one = directions([3, 3, 3], false);
        assert_eq!(one.len(), 13);
        assert_eq!(one[0], [1, 1, 1]);
        assert_eq!(one[12], [0, 0, 1]);
        assert_eq!(directions([3, 3, 3], true).len(), 26);
    }

    #[test]
    fn flat_axis_gets_no_offsets() {
        let d = directions([1, 4, 4], false);
        assert_eq!(d, vec![[0, 1, 1], [0, 1, 0], [0, 1, -1], [0, 0, 1]]);
        assert_eq!(directions([1, 4, 4], true).len(), 8);
    }
}
