//! Reading one case's image and binary GTV mask, whatever the layout: shared by `prepare` and by
//! the whole-volume read-back that `evaluate` does, so both see exactly the same voxels.

use crate::background::zero_background;
use crate::layout::{Case, LayoutKind};
use crate::DataError;
use mtsa_io::{read_nifti, read_nifti_labels, Volume};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Which labels of a case's mask make up the GTV: what `prepare` was told, kept in
/// `dataset.json` so that whole volumes are read back exactly as `prepare` read them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelRules {
    /// Mask labels that make up the GTV (BRATS tumour core: 1, 3, 4). NIfTI label maps only: a
    /// DICOM structure set's ROI is the GTV as a whole.
    pub gtv_labels: Vec<u16>,
    /// Mask labels treated as background without complaint (BRATS oedema: 2).
    pub ignore_labels: Vec<u16>,
    /// DICOM layout: name of the GTV ROI in each structure set or segment in each Segmentation
    /// (case-insensitive). Clinical exports name it by local convention ("GTV", "GTV_1",
    /// "Tumour"), hence an option; several names (comma-separated) or a `*` pattern ("GTV*", a
    /// plan with one ROI per metastasis) take the union of every ROI that matches.
    pub roi: String,
}

/// A binary mask whose label 1 is the GTV, or a structure set's ROI "GTV".
impl Default for LabelRules {
    fn default() -> Self {
        Self {
            gtv_labels: vec![1],
            ignore_labels: Vec::new(),
            roi: "GTV".into(),
        }
    }
}

/// Builds a lookup of which label values are GTV (1), ignored (0) or invalid (None).
fn label_table(rules: &LabelRules) -> HashMap<u16, u8> {
    let mut t: HashMap<u16, u8> = HashMap::new();
    t.insert(0, 0);
    for &l in &rules.ignore_labels {
        t.insert(l, 0);
    }
    for &l in &rules.gtv_labels {
        t.insert(l, 1);
    }
    t
}

/// Reduces a label map to the binary GTV, refusing labels the user did not name.
fn gtv_mask(
    labels: &Volume<u16>,
    rules: &LabelRules,
    path: &Path,
) -> Result<Volume<u8>, DataError> {
    let table = label_table(rules);
    // A dense lookup keeps the per-voxel cost to one index; labels are < 65536.
    let mut dense = vec![u8::MAX; 65536];
    for (&l, &v) in &table {
        dense[l as usize] = v;
    }
    let mut bad: Vec<u16> = Vec::new();
    let mask = labels.map(|&v| {
        let m = dense[v as usize];
        if m == u8::MAX {
            if bad.len() < 5 && !bad.contains(&v) {
                bad.push(v);
            }
            0
        } else {
            m
        }
    });
    if !bad.is_empty() {
        bad.sort_unstable();
        return Err(DataError::invalid(
            path,
            format!(
                "mask holds label(s) {bad:?} outside the GTV labels {:?} and ignored labels {:?} \
                 (set --gtv-labels / --ignore-labels)",
                rules.gtv_labels, rules.ignore_labels
            ),
        ));
    }
    Ok(mask)
}

/// Geometry tolerance between an image and its mask/brain mask, mm per affine entry: headers
/// store floats, so exact equality would reject files written by different tools.
const GEOMETRY_TOL_MM: f64 = 1e-3;

pub(crate) fn check_geometry<T, U>(
    img: &Volume<T>,
    img_path: &Path,
    other: &Volume<U>,
    other_path: &Path,
) -> Result<(), DataError> {
    if img.shape() != other.shape() {
        return Err(DataError::invalid(
            other_path,
            format!(
                "shape {:?} differs from the image's {:?} ({})",
                other.shape(),
                img.shape(),
                img_path.display()
            ),
        ));
    }
    if !img.same_geometry(other, GEOMETRY_TOL_MM) {
        return Err(DataError::invalid(
            other_path,
            format!(
                "affine differs from the image's ({}); the two do not cover the same space",
                img_path.display()
            ),
        ));
    }
    Ok(())
}

/// A case as the pipeline reads it: its image with the background at zero
/// ([`zero_background`]: outside its brain mask when it has one), its binary GTV mask and its
/// brain mask, all on the image's grid, whatever the layout.
pub(crate) struct CaseScan {
    pub image: Volume<f32>,
    pub gtv: Volume<u8>,
    pub brain: Option<Volume<u8>>,
    /// DICOM: the ROIs or segments whose union is the GTV (`LabelRules::roi` may select several).
    pub gtv_names: Vec<String>,
    /// DICOM: the series read (a study folder may hold several).
    pub series: Option<mtsa_dicom::SeriesRef>,
}

pub(crate) fn read_case(
    kind: LayoutKind,
    case: &Case,
    rules: &LabelRules,
) -> Result<CaseScan, DataError> {
    let (image, gtv, gtv_names, series) = if kind == LayoutKind::Dicom {
        // `read_series` gives the voxels and affine dcm2niix + read_nifti would, and the ROI (or
        // segment) is rasterised on exactly that grid (1 inside), so from here on the case is a
        // NIfTI case whose label map holds the GTV as label 1. The series is the folder's only
        // one, or the one the object references among several (a whole study exported).
        let (img, series, gtv) = mtsa_dicom::read_drawn_case(&case.image, &case.label, &rules.roi)?;
        check_geometry(&img, &case.image, &gtv.mask, &case.label)?;
        (img, gtv.mask, gtv.names, Some(series))
    } else {
        let img = read_nifti(&case.image)?;
        let labels = read_nifti_labels(&case.label)?;
        check_geometry(&img, &case.image, &labels, &case.label)?;
        let mask = gtv_mask(&labels, rules, &case.label)?;
        (img, mask, Vec::new(), None)
    };
    let (image, brain) = scan_as_read(image, &case.image, case.brain.as_deref())?;
    Ok(CaseScan {
        image,
        gtv,
        brain,
        gtv_names,
        series,
    })
}

/// `image`, decoded from `image_path`, as every reader (`prepare`, the whole-scan read-back,
/// `predict`) hands a scan on ([`zero_background`]), with the binary brain mask read from
/// `brain_path` (nonzero inside, checked to lie on the image's grid) when there is one.
pub fn scan_as_read(
    image: Volume<f32>,
    image_path: &Path,
    brain_path: Option<&Path>,
) -> Result<(Volume<f32>, Option<Volume<u8>>), DataError> {
    let brain = match brain_path {
        Some(path) => {
            let b = read_nifti_labels(path)?;
            check_geometry(&image, image_path, &b, path)?;
            Some(b.map(|&v| u8::from(v != 0)))
        }
        None => None,
    };
    Ok((zero_background(image, brain.as_ref(), image_path), brain))
}
