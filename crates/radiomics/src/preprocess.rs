//! Image preprocessing before feature extraction, as PyRadiomics' `imageoperations` does it:
//! `normalizeImage` (z-score over the whole image, then `normalizeScale`) and `resampleImage`
//! (a new grid at the requested spacing over the mask's bounding box padded by 5 voxels, image
//! by cubic B-spline, mask by nearest neighbour).

use crate::bspline::BSpline;
use crate::grid::{Grid, PixelType};
use crate::RadiomicsError;

/// SimpleITK `Normalize` (mean and the n - 1 standard deviation of the whole image) times
/// `scale`; the image becomes float64.
pub(crate) fn normalise(grid: &mut Grid, scale: f64) -> Result<(), RadiomicsError> {
    let n = grid.values.len() as f64;
    let sum: f64 = grid.values.iter().sum();
    let sum_sq: f64 = grid.values.iter().map(|v| v * v).sum();
    let variance = (sum_sq - sum * sum / n) / (n - 1.0);
    if variance.is_nan() || variance <= 0.0 {
        return Err(RadiomicsError::ConstantImage);
    }
    let (mean, inv_sigma) = (sum / n, 1.0 / variance.sqrt());
    grid.values
        .iter_mut()
        .for_each(|v| *v = (*v - mean) * inv_sigma * scale);
    grid.pixel = PixelType::Float64;
    Ok(())
}

/// Voxels PyRadiomics pads the resampled grid by around the mask's bounding box.
const PAD: f64 = 5.0;

/// PyRadiomics `resampleImage` for spacing `target` (z, y, x; 0 keeps the mask's spacing, and so
/// does an axis along which the ROI is one voxel thick). The mask must not be empty.
pub(crate) fn resample(grid: &Grid, target: [f64; 3]) -> Grid {
    let Some((lo, hi)) = grid.bounding_box() else {
        return grid.clone();
    };
    let old = grid.spacing;
    let spacing: [f64; 3] = std::array::from_fn(|a| {
        if target[a] == 0.0 || hi[a] == lo[a] {
            old[a]
        } else {
            target[a]
        }
    });
    if (0..3).all(|a| (old[a] - spacing[a]).abs() <= 1e-8 + 1e-5 * spacing[a].abs()) {
        return grid.clone();
    }
    let mut start = [0.0; 3];
    let mut dims = [0usize; 3];
    for a in 0..3 {
        let ratio = old[a] / spacing[a];
        let low = ((lo[a] as f64 - 0.5) * ratio - PAD).floor().max(0.0);
        let max_upper = (grid.dims[a] as f64 * ratio).ceil() - 1.0;
        let up = ((hi[a] as f64 + 0.5) * ratio + PAD).ceil().min(max_upper);
        dims[a] = (up - low + 1.0) as usize;
        start[a] = 0.5 * (spacing[a] - old[a]) / old[a] + low / ratio;
    }
    let spline = BSpline::new(&grid.values, grid.dims);
    let n: usize = dims.iter().product();
    let (mut values, mut mask) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for z in 0..dims[0] {
        for y in 0..dims[1] {
            for x in 0..dims[2] {
                let p = [z, y, x];
                let c: [f64; 3] =
                    std::array::from_fn(|a| start[a] + p[a] as f64 * spacing[a] / old[a]);
                values.push(cast(spline.eval(c), grid.pixel));
                mask.push(nearest(grid, c));
            }
        }
    }
    Grid {
        dims,
        spacing,
        values,
        mask,
        pixel: grid.pixel,
    }
}

/// The cast back to the input pixel type that SimpleITK's resampling ends with.
fn cast(v: f64, pixel: PixelType) -> f64 {
    match pixel {
        PixelType::Integer => v.trunc(),
        PixelType::Float32 => f64::from(v as f32),
        PixelType::Float64 => v,
    }
}

/// ITK's nearest-neighbour interpolation (half-integers round up; outside the image: 0).
fn nearest(grid: &Grid, c: [f64; 3]) -> bool {
    let mut p = [0usize; 3];
    for a in 0..3 {
        if !(c[a] >= -0.5 && c[a] < grid.dims[a] as f64 - 0.5) {
            return false;
        }
        p[a] = ((c[a] + 0.5).floor() as usize).min(grid.dims[a] - 1);
    }
    grid.mask[grid.index(p)]
}
