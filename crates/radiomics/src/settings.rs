use serde::{Deserialize, Serialize};

use crate::RadiomicsError;

/// How intensities are discretised for the texture classes and first-order Entropy/Uniformity
/// (PyRadiomics `binWidth` / `binCount`, IBSI "fixed bin size" / "fixed bin number").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Binning {
    /// Fixed bin width in intensity units; PyRadiomics' default is 25.
    Width(f64),
    /// Fixed number of bins between the ROI minimum and maximum.
    Count(usize),
}

/// Extraction settings, PyRadiomics' defaults unless changed: label 1, bin width 25, 3-D,
/// distance 1, symmetric GLCM, no resampling, no normalisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Mask label that forms the region of interest (PyRadiomics `label`).
    pub label: u16,
    pub binning: Binning,
    /// Resample image (cubic B-spline) and mask (nearest neighbour) to this spacing in mm along
    /// the image's i, j, k axes (PyRadiomics `resampledPixelSpacing`; 0 keeps an axis' spacing).
    pub resampled_spacing: Option<[f64; 3]>,
    /// Z-score the whole image and multiply by this scale before anything else (PyRadiomics
    /// `normalize: true` with `normalizeScale`).
    pub normalize_scale: Option<f64>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            label: 1,
            binning: Binning::Width(25.0),
            resampled_spacing: None,
            normalize_scale: None,
        }
    }
}

/// Bin width of `mtsa radiomics` (and the study's radiomics row): MR intensities have no fixed
/// scale, so each scan is z-scored and scaled by [`MRI_NORMALIZE_SCALE`] first, and 5 units of
/// that scale give ~30-60 bins over a lesion, as PyRadiomics' documentation advises.
pub const MRI_BIN_WIDTH: f64 = 5.0;
/// Scale of the z-scored intensities (PyRadiomics `normalizeScale`) for MR scans.
pub const MRI_NORMALIZE_SCALE: f64 = 100.0;

impl Settings {
    /// The MR settings `mtsa radiomics` uses by default: z-scored intensities scaled by
    /// [`MRI_NORMALIZE_SCALE`], bin width [`MRI_BIN_WIDTH`], each scan's own spacing.
    pub fn for_mri() -> Self {
        Self {
            binning: Binning::Width(MRI_BIN_WIDTH),
            normalize_scale: Some(MRI_NORMALIZE_SCALE),
            ..Self::default()
        }
    }

    /// Checked by [`crate::extract`], and by callers before a long extraction starts.
    pub fn validate(&self) -> Result<(), RadiomicsError> {
        let bad = |m: String| Err(RadiomicsError::InvalidSetting(m));
        match self.binning {
            Binning::Width(w) if !(w.is_finite() && w > 0.0) => {
                return bad(format!("bin width {w} must be a positive number"))
            }
            Binning::Count(0) => return bad("bin count must be at least 1".into()),
            _ => {}
        }
        if let Some(s) = self.resampled_spacing {
            if s.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
                return bad(format!("resampled spacing {s:?} must be non-negative mm"));
            }
        }
        if let Some(s) = self.normalize_scale {
            if !(s.is_finite() && s > 0.0) {
                return bad(format!("normalize scale {s} must be a positive number"));
            }
        }
        Ok(())
    }
}
