//! Radiomics features of an image inside a mask, computed as PyRadiomics 3.0.1/3.1.0 computes
//! them with its default settings (IBSI-defined features: 3-D shape, first order, GLCM, GLRLM,
//! GLSZM, GLDM, NGTDM; fixed bin width 25; distance 1; symmetric GLCM; texture features averaged
//! over directions), named as PyRadiomics names them (`original_glcm_Contrast`), plus the
//! radiomics EGFR classifier (standardisation, LASSO-logistic selection, logistic fit).
//! No libtorch; `docs/radiomics.md` lists the agreement with PyRadiomics and the exceptions.

mod angles;
mod binning;
mod bspline;
mod error;
mod extract;
mod firstorder;
mod glcm;
mod gldm;
mod glrlm;
mod glszm;
mod grid;
pub mod model;
mod ngtdm;
mod preprocess;
mod settings;
mod shape;
mod stats;
mod texture;

pub use error::RadiomicsError;
pub use extract::{extract, Features};
pub use settings::{Binning, Settings, MRI_BIN_WIDTH, MRI_NORMALIZE_SCALE};
