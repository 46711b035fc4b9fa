//! The extraction pipeline, in PyRadiomics' order: check the inputs, normalise and resample the
//! image (if asked), check the ROI, crop to its bounding box, then compute every feature class.

use mtsa_io::Volume;

use crate::binning::discretise;
use crate::grid::Grid;
use crate::preprocess::{normalise, resample};
use crate::{firstorder, glcm, gldm, glrlm, glszm, ngtdm, shape, RadiomicsError, Settings};

/// Feature values in PyRadiomics' order and with its names (`original_<class>_<Feature>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Features(pub Vec<(String, f64)>);

impl Features {
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }
}

/// Affines of image and mask may differ by this much (mm) per entry.
const GEOMETRY_TOLERANCE_MM: f64 = 1e-3;

/// All features of `image` inside the voxels of `mask` that carry `settings.label`.
pub fn extract(
    image: &Volume<f32>,
    mask: &Volume<u16>,
    settings: &Settings,
) -> Result<Features, RadiomicsError> {
    settings.validate()?;
    if image.shape() != mask.shape() {
        return Err(RadiomicsError::ShapeMismatch {
            image: image.shape(),
            mask: mask.shape(),
        });
    }
    if !image.same_geometry(mask, GEOMETRY_TOLERANCE_MM) {
        return Err(RadiomicsError::GeometryMismatch {
            tol_mm: GEOMETRY_TOLERANCE_MM,
        });
    }
    if let Some(bad) = image.data.iter().find(|v| !v.is_finite()) {
        return Err(RadiomicsError::NonFinite { value: *bad });
    }
    let label = settings.label;
    let mut grid = Grid::from_volumes(image, mask, label);
    if !grid.mask.iter().any(|m| *m) {
        return Err(RadiomicsError::EmptyMask { label });
    }
    if let Some(scale) = settings.normalize_scale {
        normalise(&mut grid, scale)?;
    }
    if let Some(spacing) = settings.resampled_spacing {
        // Settings are along i, j, k; the grid is z, y, x (k, j, i).
        grid = resample(&grid, [spacing[2], spacing[1], spacing[0]]);
    }
    let roi = crop_to_roi(&grid, label)?;
    let levels = discretise(&roi, settings.binning);
    let classes: [(&str, Vec<(&str, f64)>); 7] = [
        ("shape", shape::features(&roi)),
        ("firstorder", firstorder::features(&roi, &levels)),
        ("glcm", glcm::features(&levels)),
        ("glrlm", glrlm::features(&levels)),
        ("glszm", glszm::features(&levels)),
        ("gldm", gldm::features(&levels)),
        ("ngtdm", ngtdm::features(&levels)),
    ];
    Ok(Features(
        classes
            .into_iter()
            .flat_map(|(class, values)| {
                values
                    .into_iter()
                    .map(move |(name, v)| (format!("original_{class}_{name}"), v))
            })
            .collect(),
    ))
}

/// PyRadiomics `checkMask` (`minimumROIDimensions` 2) and `cropToTumorMask`.
fn crop_to_roi(grid: &Grid, label: u16) -> Result<Grid, RadiomicsError> {
    let (lo, hi) = grid
        .bounding_box()
        .ok_or(RadiomicsError::EmptyMask { label })?;
    let dims = (0..3).filter(|a| hi[*a] > lo[*a]).count();
    match dims {
        0 => Err(RadiomicsError::SingleVoxel { label }),
        1 => Err(RadiomicsError::TooFewDimensions { label, dims }),
        _ => Ok(grid.crop(lo, hi)),
    }
}
