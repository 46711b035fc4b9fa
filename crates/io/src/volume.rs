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

/// The most bytes a volume read from a file may take, raw or as f32 (2 GiB: a 512 x 512 x 2048
/// float volume). Headers are checked against it before anything is allocated, so a small
/// hostile file that declares or expands to terabytes fails with an error instead of aborting.
pub const MAX_VOLUME_BYTES: u64 = 1 << 31;

/// Voxel spacings outside this open range (mm) are taken as corrupt headers: no MR scanner
/// resolves a micrometre or leaves 10 cm between samples, and such values make affines singular
/// or overflow 32-bit header fields.
pub const SPACING_RANGE_MM: (f64, f64) = (1e-3, 100.0);

/// Positions (affine translations, DICOM Image Position) beyond this many mm from the origin
/// (1 km) are corrupt, and would lose all precision in NIfTI's 32-bit fields.
pub const MAX_POSITION_MM: f64 = 1e6;

/// Why a voxel spacing is not physical, if it is not.
pub fn spacing_problem(mm: f64) -> Option<String> {
    let (lo, hi) = SPACING_RANGE_MM;
    (!(mm > lo && mm < hi)).then(|| format!("spacing {mm} mm is outside the range ({lo}, {hi}) mm"))
}

/// Why an affine cannot describe a scan, if it cannot: non-finite entries, spacings outside
/// [`SPACING_RANGE_MM`], an absurd origin, or (nearly) parallel axes.
pub fn affine_problem(a: &Affine) -> Option<String> {
    if a.iter().flatten().any(|v| !v.is_finite()) {
        return Some("affine has non-finite entries".into());
    }
    if let Some(t) = (0..3).map(|r| a[r][3]).find(|t| t.abs() > MAX_POSITION_MM) {
        return Some(format!(
            "affine origin {t} mm is beyond {MAX_POSITION_MM} mm"
        ));
    }
    let spacing: [f64; 3] =
        std::array::from_fn(|c| (0..3).map(|r| a[r][c] * a[r][c]).sum::<f64>().sqrt());
    if let Some(p) = spacing.iter().find_map(|s| spacing_problem(*s)) {
        return Some(format!("affine {p}"));
    }
    let det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
        - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
        + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
    // |det| / product of column lengths is the sine-like volume factor: 0 for parallel axes.
    (det.abs() / (spacing[0] * spacing[1] * spacing[2]) < 1e-6)
        .then(|| "affine is singular (voxel axes are parallel)".into())
}
