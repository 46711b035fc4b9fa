//! DICOM slice-stack geometry and its NIfTI affine.
//!
//! DICOM places each 2-D image in LPS patient space (Image Position/Orientation); the NIfTI path
//! uses an index-to-RAS affine. To make a DICOM series read here interchangeable with its
//! dcm2niix conversion read by `mtsa_io::read_nifti`, the voxel order follows dcm2niix exactly:
//! `i` = column, `j` = row counted from the *last* row (dcm2niix flips rows so the image is
//! stored bottom-up like other NIfTI files), `k` = slices in increasing order along the normal
//! `row_dir x col_dir`. The affine therefore always has a negative determinant (e.g. LAS for an
//! axial series), as dcm2niix's does.

// 3x3/4x4 matrix code reads best with explicit row/column indices.
#![allow(clippy::needless_range_loop)]

use mtsa_io::Affine;

pub(crate) type V3 = [f64; 3];

pub(crate) fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub(crate) fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}

pub(crate) fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub(crate) fn add_scaled(a: V3, b: V3, s: f64) -> V3 {
    [a[0] + s * b[0], a[1] + s * b[1], a[2] + s * b[2]]
}

pub(crate) fn scale(a: V3, s: f64) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}

/// LPS (DICOM) <-> RAS (NIfTI): both flip x and y, so the map is its own inverse.
pub(crate) fn lps_ras(v: V3) -> V3 {
    [-v[0], -v[1], v[2]]
}

/// Column `c` of the affine's 3x3 part.
pub(crate) fn column(a: &Affine, c: usize) -> V3 {
    [a[0][c], a[1][c], a[2][c]]
}

pub(crate) fn apply(a: &Affine, p: V3) -> V3 {
    std::array::from_fn(|r| a[r][0] * p[0] + a[r][1] * p[1] + a[r][2] * p[2] + a[r][3])
}

pub(crate) fn det3(a: &Affine) -> f64 {
    dot(column(a, 0), cross(column(a, 1), column(a, 2)))
}

/// Inverse of an affine (world to voxel index); `None` when singular.
pub(crate) fn invert(a: &Affine) -> Option<Affine> {
    let det = det3(a);
    if !det.is_finite() || det.abs() < 1e-12 {
        return None;
    }
    let m = |r: usize, c: usize| a[r][c];
    let mut inv = [[0.0; 4]; 4];
    for r in 0..3 {
        for c in 0..3 {
            // Cofactor of (c, r) over det: the adjugate is the transposed cofactor matrix.
            let (r1, r2) = ((c + 1) % 3, (c + 2) % 3);
            let (c1, c2) = ((r + 1) % 3, (r + 2) % 3);
            inv[r][c] = (m(r1, c1) * m(r2, c2) - m(r1, c2) * m(r2, c1)) / det;
        }
    }
    for r in 0..3 {
        inv[r][3] = -(0..3).map(|c| inv[r][c] * a[c][3]).sum::<f64>();
    }
    inv[3][3] = 1.0;
    Some(inv)
}

/// A stack of parallel, equally spaced slices as DICOM describes it (all vectors LPS).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stack {
    /// Direction of increasing column index (Image Orientation values 1-3).
    pub row_dir: V3,
    /// Direction of increasing row index (Image Orientation values 4-6).
    pub col_dir: V3,
    /// Distance between adjacent columns (Pixel Spacing value 2).
    pub col_spacing: f64,
    /// Distance between adjacent rows (Pixel Spacing value 1).
    pub row_spacing: f64,
    /// Distance between adjacent slices along the normal.
    pub slice_spacing: f64,
    pub rows: usize,
    pub cols: usize,
    pub slices: usize,
    /// Image Position of slice k = 0 (the one lowest along the normal).
    pub first_position: V3,
}

impl Stack {
    pub fn normal(&self) -> V3 {
        let n = cross(self.row_dir, self.col_dir);
        scale(n, 1.0 / norm(n))
    }

    /// Image Position of slice `k`.
    pub fn slice_position(&self, k: usize) -> V3 {
        add_scaled(
            self.first_position,
            self.normal(),
            k as f64 * self.slice_spacing,
        )
    }

    /// Volume index (i, j) of pixel (row, col): rows are flipped, as dcm2niix does.
    pub fn voxel_of_pixel(&self, row: usize, col: usize) -> (usize, usize) {
        (col, self.rows - 1 - row)
    }

    /// The index-to-RAS affine of the volume built from this stack (dcm2niix convention).
    pub fn affine(&self) -> Affine {
        let ci = scale(self.row_dir, self.col_spacing);
        let cj = scale(self.col_dir, -self.row_spacing);
        let ck = scale(self.normal(), self.slice_spacing);
        // Voxel (0, 0, 0) is the last row of the first slice.
        let origin = add_scaled(
            self.first_position,
            self.col_dir,
            (self.rows - 1) as f64 * self.row_spacing,
        );
        let cols = [ci, cj, ck, origin].map(lps_ras);
        let mut a = [[0.0; 4]; 4];
        for (c, v) in cols.iter().enumerate() {
            for r in 0..3 {
                a[r][c] = v[r];
            }
        }
        a[3][3] = 1.0;
        a
    }
}

/// How a volume is cut into DICOM images by the writer: the stack, and whether the volume's `i`
/// axis runs against the image columns.
#[derive(Debug, Clone)]
pub(crate) struct WriteLayout {
    pub stack: Stack,
    /// True when the affine has a positive determinant (e.g. RAS): dcm2niix's 2-D order cannot
    /// express such a grid, so columns run along -i (the image stays the same in world space)
    /// and the series is marked as a 3-D acquisition, whose reading reorients to nearest RAS.
    pub flip_i: bool,
}

impl WriteLayout {
    /// Volume index of pixel (row, col) of any slice.
    pub fn voxel_of_pixel(&self, row: usize, col: usize) -> (usize, usize) {
        let i = if self.flip_i {
            self.stack.cols - 1 - col
        } else {
            col
        };
        (i, self.stack.rows - 1 - row)
    }
}

/// Plans the DICOM images for a volume with this affine and shape. Fails for sheared or
/// degenerate affines, which no set of DICOM Image Position/Orientation values can express.
pub(crate) fn layout_for(affine: &Affine, shape: [usize; 3]) -> Result<WriteLayout, String> {
    if affine.iter().flatten().any(|v| !v.is_finite()) {
        return Err("the affine is not finite".into());
    }
    if shape.contains(&0) {
        return Err(format!("the volume is empty (shape {shape:?})"));
    }
    if shape[0] > u16::MAX as usize || shape[1] > u16::MAX as usize {
        return Err(format!(
            "slices of {}x{} exceed DICOM's 65535 rows/columns",
            shape[0], shape[1]
        ));
    }
    let u: [V3; 3] = std::array::from_fn(|c| lps_ras(column(affine, c)));
    let len: [f64; 3] = u.map(norm);
    if len.iter().any(|&l| l < 1e-6) {
        return Err("the affine has a zero-length axis".into());
    }
    let unit: [V3; 3] = std::array::from_fn(|c| scale(u[c], 1.0 / len[c]));
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let cos = dot(unit[a], unit[b]);
        if cos.abs() > 1e-4 {
            return Err(format!(
                "the affine's axes {a} and {b} are not orthogonal (cos {cos:.2e}); DICOM slices need a sheer-free grid"
            ));
        }
    }
    let flip_i = det3(affine) > 0.0;
    let row_dir = if flip_i {
        scale(unit[0], -1.0)
    } else {
        unit[0]
    };
    let col_dir = scale(unit[1], -1.0);
    let origin = lps_ras(column(affine, 3));
    let i0 = if flip_i { (shape[0] - 1) as f64 } else { 0.0 };
    // Image Position of the first slice: top-left pixel = voxel (i0, nj - 1, 0).
    let first_position = add_scaled(add_scaled(origin, u[0], i0), u[1], (shape[1] - 1) as f64);
    let stack = Stack {
        row_dir,
        col_dir,
        col_spacing: len[0],
        row_spacing: len[1],
        slice_spacing: len[2],
        rows: shape[1],
        cols: shape[0],
        slices: shape[2],
        first_position,
    };
    debug_assert!(dot(stack.normal(), unit[2]) > 0.99);
    Ok(WriteLayout { stack, flip_i })
}

/// `a * b` for affines.
pub(crate) fn compose(a: &Affine, b: &Affine) -> Affine {
    let mut m = [[0.0; 4]; 4];
    for r in 0..4 {
        for c in 0..4 {
            m[r][c] = (0..4).map(|t| a[r][t] * b[t][c]).sum();
        }
    }
    m
}

/// Exact voxel correspondence between two grids whose voxel centres coincide (one is an axis
/// permutation/flip of the other, as `read_series`' reorientation or the model's RAS canonical
/// order produce): `from` index axis `a` = `sign[a] * to_index[axis[a]] + offset[a]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LatticeMap {
    axis: [usize; 3],
    sign: [i64; 3],
    offset: [i64; 3],
}

impl LatticeMap {
    /// `None` when the grids do not share voxel centres (different spacing, shift, rotation).
    pub fn between(from: &Affine, to: &Affine) -> Option<Self> {
        let m = compose(&invert(from)?, to);
        let mut axis = [usize::MAX; 3];
        let mut sign = [0; 3];
        let mut offset = [0; 3];
        for a in 0..3 {
            let b = (0..3).max_by(|&x, &y| m[a][x].abs().total_cmp(&m[a][y].abs()))?;
            for c in 0..3 {
                let want = if c == b { 1.0 } else { 0.0 };
                if (m[a][c].abs() - want).abs() > 1e-3 {
                    return None;
                }
            }
            if axis.contains(&b) {
                return None;
            }
            axis[a] = b;
            sign[a] = if m[a][b] > 0.0 { 1 } else { -1 };
            let t = m[a][3].round();
            if (m[a][3] - t).abs() > 1e-2 {
                return None;
            }
            offset[a] = t as i64;
        }
        Some(Self { axis, sign, offset })
    }

    /// The `from` index of `to` index `ijk`, when inside `from_shape`.
    pub fn map(&self, ijk: [usize; 3], from_shape: [usize; 3]) -> Option<[usize; 3]> {
        let mut out = [0; 3];
        for a in 0..3 {
            let v = self.sign[a] * ijk[self.axis[a]] as i64 + self.offset[a];
            if v < 0 || v >= from_shape[a] as i64 {
                return None;
            }
            out[a] = v as usize;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lattice_map_follows_reorientation() {
        let a = mtsa_io::diagonal_affine([-0.9, 0.8, 3.0], [50.0, -60.0, -20.0]);
        let vol = mtsa_io::Volume::new(ndarray::Array3::<u8>::zeros((4, 5, 6)), a);
        let r = mtsa_io::Reorientation::for_volume(&vol);
        let b = r.canonical_affine();
        let m = LatticeMap::between(&a, &b).expect("same lattice");
        // Canonical voxel (0, 0, 0) is source voxel (3, 0, 0): i was flipped.
        assert_eq!(m.map([0, 0, 0], [4, 5, 6]), Some([3, 0, 0]));
        let mut shifted = b;
        shifted[0][3] += 0.3;
        assert!(LatticeMap::between(&a, &shifted).is_none());
    }

    #[test]
    fn invert_round_trips() {
        let mut a = mtsa_io::diagonal_affine([0.9, -1.1, 3.0], [10.0, -20.0, 5.0]);
        a[0][1] = 0.2;
        let inv = invert(&a).expect("invertible");
        let p = [1.5, -2.0, 7.0];
        let q = apply(&inv, apply(&a, p));
        for r in 0..3 {
            assert!((p[r] - q[r]).abs() < 1e-12);
        }
    }

    #[test]
    fn axial_stack_is_las_like_dcm2niix() {
        let s = Stack {
            row_dir: [1.0, 0.0, 0.0],
            col_dir: [0.0, 1.0, 0.0],
            col_spacing: 0.5,
            row_spacing: 0.6,
            slice_spacing: 2.0,
            rows: 10,
            cols: 8,
            slices: 3,
            first_position: [-100.0, -120.0, 30.0],
        };
        let a = s.affine();
        assert_eq!(a[0][0], -0.5);
        assert_eq!(a[1][1], 0.6);
        assert_eq!(a[2][2], 2.0);
        assert!(det3(&a) < 0.0);
        // Voxel (0, 9, 0) is the top-left pixel of slice 0, whose LPS position is the IPP.
        let w = apply(&a, [0.0, 9.0, 0.0]);
        let lps = lps_ras(w);
        for r in 0..3 {
            assert!((lps[r] - s.first_position[r]).abs() < 1e-9);
        }
    }

    #[test]
    fn layout_reproduces_negative_determinant_affines() {
        let a = mtsa_io::diagonal_affine([-0.9, 0.8, 3.0], [50.0, -60.0, -20.0]);
        let l = layout_for(&a, [7, 6, 5]).expect("layout");
        assert!(!l.flip_i);
        let b = l.stack.affine();
        for r in 0..4 {
            for c in 0..4 {
                assert!((a[r][c] - b[r][c]).abs() < 1e-9, "{a:?} vs {b:?}");
            }
        }
    }
}
