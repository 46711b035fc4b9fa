//! Dense binary masks on a 3-D voxel grid, and their bounding boxes.
//!
//! Every geometric metric in this crate works on a flat, C-ordered copy of the input
//! (axis 0 slowest). 2-D slices are stored as grids with a single plane on axis 0 and are
//! flagged `planar`, so that erosion never treats the missing neighbours along axis 0 as
//! background (which would turn every pixel into a boundary pixel).

use ndarray::{ArrayView2, ArrayView3};

use crate::error::{MetricsError, Result};

/// A binary mask in C order with its grid shape.
#[derive(Debug, Clone)]
pub(crate) struct Mask {
    pub dims: [usize; 3],
    pub data: Vec<bool>,
    /// True for 2-D slices: neighbourhoods ignore axis 0.
    pub planar: bool,
}

/// Half-open bounding box `[lo, hi)` per axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BBox {
    pub lo: [usize; 3],
    pub hi: [usize; 3],
}

impl BBox {
    /// Smallest box containing both.
    pub fn union(&self, other: &BBox) -> BBox {
        let mut out = *self;
        for ax in 0..3 {
            out.lo[ax] = out.lo[ax].min(other.lo[ax]);
            out.hi[ax] = out.hi[ax].max(other.hi[ax]);
        }
        out
    }

    /// Grows the box by `margin` voxels per side, clipped to the grid `dims`.
    pub fn expand(&self, margin: usize, dims: [usize; 3]) -> BBox {
        let mut out = *self;
        for ((lo, hi), &d) in out.lo.iter_mut().zip(out.hi.iter_mut()).zip(&dims) {
            *lo = lo.saturating_sub(margin);
            *hi = (*hi + margin).min(d);
        }
        out
    }

    /// Shape of the box.
    pub fn dims(&self) -> [usize; 3] {
        [
            self.hi[0] - self.lo[0],
            self.hi[1] - self.lo[1],
            self.hi[2] - self.lo[2],
        ]
    }

    /// Grows the box so that it contains voxel `p`.
    pub fn include(&mut self, p: [usize; 3]) {
        for (ax, &c) in p.iter().enumerate() {
            self.lo[ax] = self.lo[ax].min(c);
            self.hi[ax] = self.hi[ax].max(c + 1);
        }
    }

    /// A box holding the single voxel `p`.
    pub fn point(p: [usize; 3]) -> BBox {
        BBox {
            lo: p,
            hi: [p[0] + 1, p[1] + 1, p[2] + 1],
        }
    }
}

/// Flat index of `(z, y, x)` in a C-ordered grid.
#[inline]
pub(crate) fn flat(dims: [usize; 3], z: usize, y: usize, x: usize) -> usize {
    (z * dims[1] + y) * dims[2] + x
}

/// Inverse of [`flat`].
#[inline]
pub(crate) fn unflat(dims: [usize; 3], i: usize) -> [usize; 3] {
    let x = i % dims[2];
    let r = i / dims[2];
    [r / dims[1], r % dims[1], x]
}

impl Mask {
    /// Copies a 3-D view (any memory layout) into C order.
    pub fn from_view3(v: ArrayView3<bool>) -> Mask {
        let (a, b, c) = v.dim();
        Mask {
            dims: [a, b, c],
            data: v.iter().copied().collect(),
            planar: false,
        }
    }

    /// Copies a 2-D view into a single-plane planar grid.
    pub fn from_view2(v: ArrayView2<bool>) -> Mask {
        let (a, b) = v.dim();
        Mask {
            dims: [1, a, b],
            data: v.iter().copied().collect(),
            planar: true,
        }
    }

    /// Bounding box of the foreground, `None` when the mask is empty.
    pub fn bbox(&self) -> Option<BBox> {
        let mut out: Option<BBox> = None;
        for (i, &b) in self.data.iter().enumerate() {
            if b {
                let p = unflat(self.dims, i);
                match out.as_mut() {
                    Some(bb) => bb.include(p),
                    None => out = Some(BBox::point(p)),
                }
            }
        }
        out
    }

    /// Copies the voxels inside `bb` into a new mask.
    pub fn crop(&self, bb: &BBox) -> Mask {
        let d = bb.dims();
        let mut data = Vec::with_capacity(d[0] * d[1] * d[2]);
        for z in bb.lo[0]..bb.hi[0] {
            for y in bb.lo[1]..bb.hi[1] {
                let start = flat(self.dims, z, y, bb.lo[2]);
                data.extend_from_slice(&self.data[start..start + d[2]]);
            }
        }
        Mask {
            dims: d,
            data,
            planar: self.planar,
        }
    }
}

/// Rejects masks whose shapes differ.
pub(crate) fn check_same_shape(pred: &[usize], gt: &[usize]) -> Result<()> {
    if pred == gt {
        Ok(())
    } else {
        Err(MetricsError::ShapeMismatch {
            pred: pred.to_vec(),
            gt: gt.to_vec(),
        })
    }
}

/// Rejects spacings that are not finite and strictly positive.
pub(crate) fn check_spacing(spacing: &[f64]) -> Result<()> {
    if spacing.iter().all(|s| s.is_finite() && *s > 0.0) {
        Ok(())
    } else {
        Err(MetricsError::InvalidSpacing(spacing.to_vec()))
    }
}
