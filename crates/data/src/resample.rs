//! In-plane resampling between a canonical (RAS) axial slice and the network's fixed square grid.
//!
//! The mapping is separable: an output column depends only on the canonical `i` (towards patient
//! Right) and an output row only on the canonical `j` (towards Anterior). So each direction is a
//! precomputed list of taps, and both the forward resampling and its inverse (used to put a
//! prediction back on the source grid) are the same two-tap loop. Positions outside the source
//! plane read as zero: the normalised background is zero and a probability outside the field of
//! view is "no tumour".

/// Where an output pixel reads from along one axis: linear interpolation between `i0` and
/// `i0 + 1` with weight `w` on the second; indices outside `0..n` contribute zero.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tap {
    i0: isize,
    w: f32,
}

impl Tap {
    /// Linear taps for fractional source positions.
    pub(crate) fn linear(pos: f64) -> Self {
        let f = pos.floor();
        Tap {
            i0: f as isize,
            w: (pos - f) as f32,
        }
    }

    /// Nearest-neighbour taps (round half up) expressed as a single full-weight tap.
    pub(crate) fn nearest(pos: f64) -> Self {
        Tap {
            i0: (pos + 0.5).floor() as isize,
            w: 0.0,
        }
    }
}

/// Reads `plane[y * nx + x]` with zero outside the plane.
#[inline]
fn at<T: Copy + Default>(plane: &[T], nx: usize, ny: usize, x: isize, y: isize) -> T {
    if x < 0 || y < 0 || x as usize >= nx || y as usize >= ny {
        T::default()
    } else {
        plane[y as usize * nx + x as usize]
    }
}

/// Bilinear resampling of a row-major `ny x nx` plane onto `rows.len() x cols.len()`.
pub(crate) fn bilinear(
    plane: &[f32],
    nx: usize,
    ny: usize,
    rows: &[Tap],
    cols: &[Tap],
    out: &mut [f32],
) {
    debug_assert_eq!(out.len(), rows.len() * cols.len());
    for (r, ty) in rows.iter().enumerate() {
        let line = &mut out[r * cols.len()..(r + 1) * cols.len()];
        // Rows entirely outside the plane stay zero without touching the taps.
        if ty.i0 + 1 < 0 || ty.i0 >= ny as isize {
            line.fill(0.0);
            continue;
        }
        for (o, tx) in line.iter_mut().zip(cols) {
            let v00 = at(plane, nx, ny, tx.i0, ty.i0);
            let v01 = at(plane, nx, ny, tx.i0 + 1, ty.i0);
            let v10 = at(plane, nx, ny, tx.i0, ty.i0 + 1);
            let v11 = at(plane, nx, ny, tx.i0 + 1, ty.i0 + 1);
            let top = v00 + (v01 - v00) * tx.w;
            let bottom = v10 + (v11 - v10) * tx.w;
            *o = top + (bottom - top) * ty.w;
        }
    }
}

/// Nearest-neighbour resampling (taps built with `Tap::nearest`), for label maps.
pub(crate) fn nearest<T: Copy + Default>(
    plane: &[T],
    nx: usize,
    ny: usize,
    rows: &[Tap],
    cols: &[Tap],
    out: &mut [T],
) {
    debug_assert_eq!(out.len(), rows.len() * cols.len());
    for (r, ty) in rows.iter().enumerate() {
        let line = &mut out[r * cols.len()..(r + 1) * cols.len()];
        for (o, tx) in line.iter_mut().zip(cols) {
            *o = at(plane, nx, ny, tx.i0, ty.i0);
        }
    }
}

/// The affine map between canonical voxel indices and output pixel indices of one volume:
/// `col = (i * sx - cu) / p + h`, `row = (cv - j * sy) / p + h`, with `h = (S - 1) / 2`.
/// Columns therefore run towards patient Right and rows towards Posterior (anterior at the top,
/// patient right on the image's right: the neurological display convention).
#[derive(Debug, Clone, Copy)]
pub(crate) struct InPlaneMap {
    pub size: usize,
    pub pixel_mm: f64,
    pub voxel_mm: [f64; 2],
    pub centre_mm: [f64; 2],
}

impl InPlaneMap {
    fn half(&self) -> f64 {
        (self.size as f64 - 1.0) / 2.0
    }

    /// Canonical `i` position sampled by each output column.
    pub fn source_i(&self, col: usize) -> f64 {
        (self.centre_mm[0] + (col as f64 - self.half()) * self.pixel_mm) / self.voxel_mm[0]
    }

    /// Canonical `j` position sampled by each output row.
    pub fn source_j(&self, row: usize) -> f64 {
        (self.centre_mm[1] - (row as f64 - self.half()) * self.pixel_mm) / self.voxel_mm[1]
    }

    /// Output column position of canonical index `i` (inverse of `source_i`).
    pub fn target_col(&self, i: usize) -> f64 {
        (i as f64 * self.voxel_mm[0] - self.centre_mm[0]) / self.pixel_mm + self.half()
    }

    /// Output row position of canonical index `j` (inverse of `source_j`).
    pub fn target_row(&self, j: usize) -> f64 {
        (self.centre_mm[1] - j as f64 * self.voxel_mm[1]) / self.pixel_mm + self.half()
    }

    pub fn forward_taps(&self, tap: fn(f64) -> Tap) -> (Vec<Tap>, Vec<Tap>) {
        let rows = (0..self.size).map(|r| tap(self.source_j(r))).collect();
        let cols = (0..self.size).map(|c| tap(self.source_i(c))).collect();
        (rows, cols)
    }

    /// Taps that read the output grid at every canonical voxel: rows over `j`, columns over `i`.
    pub fn inverse_taps(&self, nx: usize, ny: usize) -> (Vec<Tap>, Vec<Tap>) {
        let rows = (0..ny).map(|j| Tap::linear(self.target_row(j))).collect();
        let cols = (0..nx).map(|i| Tap::linear(self.target_col(i))).collect();
        (rows, cols)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_undoes_forward_positions() {
        let m = InPlaneMap {
            size: 128,
            pixel_mm: 1.875,
            voxel_mm: [0.9, 1.1],
            centre_mm: [100.0, 120.0],
        };
        for c in [0usize, 17, 127] {
            let i = m.source_i(c);
            let back = (i * m.voxel_mm[0] - m.centre_mm[0]) / m.pixel_mm + 63.5;
            assert!((back - c as f64).abs() < 1e-9);
        }
        assert!((m.target_col(0) - (-100.0 / 1.875 + 63.5)).abs() < 1e-9);
        assert!((m.target_row(0) - (120.0 / 1.875 + 63.5)).abs() < 1e-9);
    }

    #[test]
    fn bilinear_interpolates_and_pads_with_zero() {
        let plane = [0.0, 1.0, 2.0, 3.0]; // 2 x 2, row-major
        let rows = [Tap::linear(0.0), Tap::linear(0.5), Tap::linear(5.0)];
        let cols = [Tap::linear(0.5), Tap::linear(-3.0)];
        let mut out = [9.0f32; 6];
        bilinear(&plane, 2, 2, &rows, &cols, &mut out);
        assert_eq!(out, [0.5, 0.0, 1.5, 0.0, 0.0, 0.0]);
    }
}
