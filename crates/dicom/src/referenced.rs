//! Which image series a structure set or Segmentation says it was drawn on, so that the right
//! one is read from a folder holding a whole study (localisers, T2, FLAIR and the T1-CE
//! exported together).

use crate::bounded::{open_checked, require_class};
use crate::dataset::{items, opt_str, Obj};
use crate::rtstruct_read::STRUCTURE_SET;
use crate::DicomError;
use dicom_dictionary_std::{tags, uids};
use std::path::Path;

/// The Series Instance UIDs the RT Structure Set or Segmentation at `path` references (its
/// Referenced Frame of Reference tree, or its Referenced Series Sequence), in file order without
/// repeats.
pub fn referenced_series(path: &Path) -> Result<Vec<String>, DicomError> {
    let obj = open_checked(path)?;
    referenced_in(&obj, path)
}

/// [`referenced_series`] of the object `obj`, opened from `path`.
pub(crate) fn referenced_in(obj: &Obj, path: &Path) -> Result<Vec<String>, DicomError> {
    let series: Vec<&Obj> = if is_segmentation(obj, path)? {
        items(obj, tags::REFERENCED_SERIES_SEQUENCE)
            .iter()
            .collect()
    } else {
        items(obj, tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE)
            .iter()
            .flat_map(|f| items(f, tags::RT_REFERENCED_STUDY_SEQUENCE))
            .flat_map(|s| items(s, tags::RT_REFERENCED_SERIES_SEQUENCE))
            .collect()
    };
    let mut out: Vec<String> = Vec::new();
    for uid in series
        .into_iter()
        .filter_map(|s| opt_str(s, tags::SERIES_INSTANCE_UID))
    {
        if !out.contains(&uid) {
            out.push(uid);
        }
    }
    Ok(out)
}

/// Whether the GTV object `obj` (opened from `path`) is a Segmentation; otherwise it must be an
/// RT Structure Set.
pub(crate) fn is_segmentation(obj: &Obj, path: &Path) -> Result<bool, DicomError> {
    if opt_str(obj, tags::SOP_CLASS_UID).as_deref() == Some(uids::SEGMENTATION_STORAGE) {
        return Ok(true);
    }
    require_class(obj, uids::RT_STRUCTURE_SET_STORAGE, STRUCTURE_SET, path)?;
    Ok(false)
}
