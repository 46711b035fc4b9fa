use ndarray::Array3;

/// Voxel index (i, j, k, 1) to world millimetres, NIfTI convention (world axes RAS+).
pub type Affine = [[f64; 4]; 4];

/// A 3-D image or mask with its geometry. `data[[i, j, k]]` is the voxel the affine maps from
/// (i, j, k); keeping the file's own index order lets a prediction be written back with exactly
/// the input's shape and affine.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume<T> {
    pub data: Array3<T>,
    pub affine: Affine,
}

impl<T> Volume<T> {
    pub fn new(data: Array3<T>, affine: Affine) -> Self {
        Self { data, affine }
    }

    pub fn shape(&self) -> [usize; 3] {
        let s = self.data.shape();
        [s[0], s[1], s[2]]
    }

    /// Voxel size in mm along i, j, k: the lengths of the affine's columns, which stay right for
    /// oblique acquisitions where the diagonal alone would not.
    pub fn spacing(&self) -> [f64; 3] {
        let a = &self.affine;
        std::array::from_fn(|c| (0..3).map(|r| a[r][c] * a[r][c]).sum::<f64>().sqrt())
    }

    /// Same shape and an affine equal within `tol_mm` (per entry), the test an image and its
    /// mask must pass before they are used together.
    pub fn same_geometry<U>(&self, other: &Volume<U>, tol_mm: f64) -> bool {
        self.shape() == other.shape()
            && self
                .affine
                .iter()
                .flatten()
                .zip(other.affine.iter().flatten())
                .all(|(a, b)| (a - b).abs() <= tol_mm)
    }

    /// World coordinates (mm) of a voxel index.
    pub fn world(&self, ijk: [f64; 3]) -> [f64; 3] {
        let a = &self.affine;
        std::array::from_fn(|r| a[r][0] * ijk[0] + a[r][1] * ijk[1] + a[r][2] * ijk[2] + a[r][3])
    }

    pub fn map<U>(&self, f: impl FnMut(&T) -> U) -> Volume<U> {
        Volume {
            data: self.data.map(f),
            affine: self.affine,
        }
    }
}

/// Diagonal affine with the given spacing and origin, for tests and generated data.
pub fn diagonal_affine(spacing: [f64; 3], origin: [f64; 3]) -> Affine {
    let mut a = [[0.0; 4]; 4];
    for r in 0..3 {
        a[r][r] = spacing[r];
        a[r][3] = origin[r];
    }
    a[3][3] = 1.0;
    a
}
