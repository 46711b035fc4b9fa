//! The voxel grid every feature class works on: image values and the ROI mask in NumPy/SimpleITK
//! index order (z, y, x), the order PyRadiomics iterates in, so that sums and the marching-cubes
//! mesh are formed exactly as there.

use mtsa_io::Volume;

/// The pixel type PyRadiomics would hold this image in, which decides the arithmetic of its
/// bin edges (float32 images in float32; integer images are promoted to float64) and the cast
/// after resampling. Volumes arrive as f32, so integer-valued images are taken as integer
/// images; SimpleITK's `Normalize` returns float64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PixelType {
    Integer,
    Float32,
    Float64,
}

#[derive(Debug, Clone)]
pub(crate) struct Grid {
    /// Sizes along z, y, x (the image's k, j, i axes).
    pub dims: [usize; 3],
    /// Spacing in mm along z, y, x.
    pub spacing: [f64; 3],
    pub values: Vec<f64>,
    pub mask: Vec<bool>,
    pub pixel: PixelType,
}

impl Grid {
    /// Image and mask (`mask == label`) of `Volume`s indexed [i, j, k], reordered to z, y, x.
    pub fn from_volumes(image: &Volume<f32>, mask: &Volume<u16>, label: u16) -> Self {
        let [ni, nj, nk] = image.shape();
        let [si, sj, sk] = image.spacing();
        let n = ni * nj * nk;
        let (mut values, mut roi) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let mut integer = true;
        for k in 0..nk {
            for j in 0..nj {
                for i in 0..ni {
                    let v = image.data[[i, j, k]];
                    integer &= v.fract() == 0.0;
                    values.push(f64::from(v));
                    roi.push(mask.data[[i, j, k]] == label);
                }
            }
        }
        Self {
            dims: [nk, nj, ni],
            spacing: [sk, sj, si],
            values,
            mask: roi,
            pixel: if integer {
                PixelType::Integer
            } else {
                PixelType::Float32
            },
        }
    }

    pub fn index(&self, p: [usize; 3]) -> usize {
        (p[0] * self.dims[1] + p[1]) * self.dims[2] + p[2]
    }

    pub fn coords(&self, idx: usize) -> [usize; 3] {
        let x = idx % self.dims[2];
        let y = (idx / self.dims[2]) % self.dims[1];
        [idx / (self.dims[1] * self.dims[2]), y, x]
    }

    /// Inclusive lower and upper corners of the mask's bounding box, if the mask is not empty.
    pub fn bounding_box(&self) -> Option<([usize; 3], [usize; 3])> {
        let mut lo = [usize::MAX; 3];
        let mut hi = [0; 3];
        for (idx, _) in self.mask.iter().enumerate().filter(|(_, m)| **m) {
            let p = self.coords(idx);
            for a in 0..3 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        (lo[0] != usize::MAX).then_some((lo, hi))
    }

    /// The sub-grid between two inclusive corners.
    pub fn crop(&self, lo: [usize; 3], hi: [usize; 3]) -> Self {
        let dims = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
        let n = dims.iter().product();
        let (mut values, mut mask) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for z in lo[0]..=hi[0] {
            for y in lo[1]..=hi[1] {
                let start = self.index([z, y, lo[2]]);
                values.extend_from_slice(&self.values[start..start + dims[2]]);
                mask.extend_from_slice(&self.mask[start..start + dims[2]]);
            }
        }
        Self {
            dims,
            spacing: self.spacing,
            values,
            mask,
            pixel: self.pixel,
        }
    }

    /// Image values inside the mask, in z, y, x order.
    pub fn roi_values(&self) -> Vec<f64> {
        self.values
            .iter()
            .zip(&self.mask)
            .filter_map(|(v, m)| m.then_some(*v))
            .collect()
    }
}
