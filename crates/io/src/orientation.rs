//! One canonical voxel order for every volume: index axes i, j, k running towards patient Right,
//! Anterior and Superior (RAS, the NIfTI world frame). BRATS files are stored LPS and MNI RAS;
//! after this step an axial slice `data[.., .., k]` shows the same anatomy the same way round
//! whichever file it came from, and the step can be undone exactly for outputs.

// 3x3/4x4 matrix code reads best with explicit row/column indices.
#![allow(clippy::needless_range_loop)]

use crate::{Affine, Volume};

/// The axis permutation and flips that take a volume to RAS index order, and back.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reorientation {
    /// Canonical axis `w` is source axis `perm[w]`.
    pub perm: [usize; 3],
    /// Canonical axis `w` runs opposite to its source axis.
    pub flip: [bool; 3],
    pub source_shape: [usize; 3],
    pub source_affine: Affine,
}

impl Reorientation {
    /// Assigns each world axis the voxel axis most aligned with it, strongest alignment first,
    /// so oblique acquisitions get the nearest orthogonal orientation.
    pub fn to_ras(affine: &Affine, shape: [usize; 3]) -> Self {
        let mut pairs: Vec<(f64, usize, usize)> = Vec::with_capacity(9);
        for v in 0..3 {
            let norm = (0..3)
                .map(|w| affine[w][v].powi(2))
                .sum::<f64>()
                .sqrt()
                .max(1e-12);
            for w in 0..3 {
                pairs.push((affine[w][v].abs() / norm, w, v));
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let (mut perm, mut flip) = ([usize::MAX; 3], [false; 3]);
        let mut used_voxel = [false; 3];
        for (_, w, v) in pairs {
            if perm[w] == usize::MAX && !used_voxel[v] {
                perm[w] = v;
                flip[w] = affine[w][v] < 0.0;
                used_voxel[v] = true;
            }
        }
        Self {
            perm,
            flip,
            source_shape: shape,
            source_affine: *affine,
        }
    }

    pub fn for_volume<T>(vol: &Volume<T>) -> Self {
        Self::to_ras(&vol.affine, vol.shape())
    }

    pub fn canonical_shape(&self) -> [usize; 3] {
        std::array::from_fn(|w| self.source_shape[self.perm[w]])
    }

    /// Source-order volume to canonical (RAS) order, with the affine that keeps every voxel at
    /// the same world position.
    pub fn apply<T: Clone>(&self, vol: &Volume<T>) -> Volume<T> {
        let mut data = vol.data.clone().permuted_axes(self.perm);
        for w in 0..3 {
            if self.flip[w] {
                data.invert_axis(ndarray::Axis(w));
            }
        }
        Volume::new(
            data.as_standard_layout().into_owned(),
            self.canonical_affine(),
        )
    }

    /// Canonical-order data back to the source's index order and affine.
    pub fn invert<T: Clone>(&self, data: &ndarray::Array3<T>) -> Volume<T> {
        let mut data = data.clone();
        for w in 0..3 {
            if self.flip[w] {
                data.invert_axis(ndarray::Axis(w));
            }
        }
        let mut inverse = [0; 3];
        for w in 0..3 {
            inverse[self.perm[w]] = w;
        }
        let data = data
            .permuted_axes(inverse)
            .as_standard_layout()
            .into_owned();
        Volume::new(data, self.source_affine)
    }

    pub fn canonical_affine(&self) -> Affine {
        let src = &self.source_affine;
        let mut a = [[0.0; 4]; 4];
        a[3][3] = 1.0;
        for r in 0..3 {
            a[r][3] = src[r][3];
        }
        for w in 0..3 {
            let v = self.perm[w];
            let sign = if self.flip[w] { -1.0 } else { 1.0 };
            for r in 0..3 {
                a[r][w] = sign * src[r][v];
                if self.flip[w] {
                    a[r][3] += src[r][v] * (self.source_shape[v] as f64 - 1.0);
                }
            }
        }
        a
    }
}
