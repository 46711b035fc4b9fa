//! What every object mtsa derives from an image series shares (RT Structure Set, Segmentation):
//! the checked label, the mask on the series' own grid, references to its images, the patient,
//! study, series and frame-of-reference attributes copied from it, and the atomic write with
//! fresh (or seeded) UIDs.

use crate::dataset::{is_elem, item, str_elem, Obj};
use crate::error::with_causes;
use crate::geometry::{LatticeMap, Stack};
use crate::uid::{UidGenerator, UidKind, UidSource};
use crate::{DicomError, SeriesRef};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::meta::FileMetaTableBuilder;
use mtsa_io::{Affine, Volume};
use ndarray::Array3;
use std::path::Path;

/// `name` trimmed, as a DICOM LO value (1-64 characters, no backslash); `what` names it in the
/// error ("ROI name", "segment label").
pub(crate) fn checked_label<'a>(
    path: &Path,
    name: &'a str,
    what: &str,
) -> Result<&'a str, DicomError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 || name.contains('\\') {
        return Err(DicomError::invalid(
            path,
            format!("{what} must be 1-64 characters without a backslash"),
        ));
    }
    Ok(name)
}

/// How `grid` (the volume `read_series` returned for the series, or any axis permutation or
/// flip of it) lies against the images' own order, for reading a structure onto it.
pub(crate) fn grid_map(
    path: &Path,
    stack: &Stack,
    grid: &Affine,
) -> Result<LatticeMap, DicomError> {
    LatticeMap::between(&stack.affine(), grid).ok_or_else(|| {
        DicomError::geometry(
            path,
            "the target grid does not share the series' voxel centres (use the volume \
             read_series returned for this series)",
        )
    })
}

/// A mask read in the images' own order, `acquired`, on `grid` through `map` ([`grid_map`]).
pub(crate) fn onto_grid<T>(
    acquired: &Array3<u8>,
    map: &LatticeMap,
    grid: &Volume<T>,
) -> Volume<u8> {
    let (a, b, c) = acquired.dim();
    let s = grid.shape();
    let mask = Array3::from_shape_fn((s[0], s[1], s[2]), |(i, j, k)| {
        map.map([i, j, k], [a, b, c])
            .map_or(0, |[x, y, z]| acquired[[x, y, z]])
    });
    Volume::new(mask, grid.affine)
}

/// The mask in the images' own order (column, row from the last, slice), where each slice is
/// one image. The mask may be in any axis order of that grid (e.g. the model's RAS order).
pub(crate) fn to_acquisition_grid(
    path: &Path,
    mask: &Volume<u8>,
    stack: &Stack,
) -> Result<Array3<bool>, DicomError> {
    let shape = [stack.cols, stack.rows, stack.slices];
    let map = LatticeMap::between(&stack.affine(), &mask.affine).ok_or_else(|| {
        DicomError::geometry(
            path,
            "the mask's grid does not share the series' voxel centres (use the grid read_series \
             returned for this series, or a reorientation of it)",
        )
    })?;
    let mut out = Array3::from_elem((shape[0], shape[1], shape[2]), false);
    for ((i, j, k), v) in mask.data.indexed_iter() {
        if *v == 0 {
            continue;
        }
        let [a, b, c] = map.map([i, j, k], shape).ok_or_else(|| {
            DicomError::geometry(
                path,
                format!("mask voxel ({i}, {j}, {k}) is set but lies outside the series' images"),
            )
        })?;
        out[[a, b, c]] = true;
    }
    Ok(out)
}

/// A reference to image `k` of the series (Referenced SOP Class and Instance UID), with its
/// Referenced Frame Number where it is a frame of a multi-frame image.
pub(crate) fn image_ref(series: &SeriesRef, k: usize) -> Obj {
    let mut reference = instance_ref(series, &series.sop_instance_uids[k]);
    if let Some(frame) = series.frame_number(k) {
        reference.put(is_elem(tags::REFERENCED_FRAME_NUMBER, i64::from(frame)));
    }
    reference
}

/// A reference to the image object `uid` of the series as a whole, whatever frames it holds.
fn instance_ref(series: &SeriesRef, uid: &str) -> Obj {
    item(vec![
        str_elem(
            tags::REFERENCED_SOP_CLASS_UID,
            VR::UI,
            &series.sop_class_uid,
        ),
        str_elem(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, uid),
    ])
}

/// One reference per image object of the series, in slice order: the frames of a multi-frame
/// image are one object.
pub(crate) fn instance_refs(series: &SeriesRef) -> Vec<Obj> {
    let mut seen = std::collections::HashSet::new();
    series
        .sop_instance_uids
        .iter()
        .filter(|uid| seen.insert(uid.as_str()))
        .map(|uid| instance_ref(series, uid))
        .collect()
}

/// The attributes a derived object takes from its series or its UIDs: SOP Common (class, fresh
/// instance UID, character set), Patient and General Study copied from the series, a new series
/// of `modality` numbered `series_number`, the series' Frame of Reference, and the equipment.
pub(crate) fn derived_header(
    series: &SeriesRef,
    uids: &UidGenerator,
    sop_class: &str,
    modality: &str,
    series_number: i64,
) -> Vec<DataElement<Obj>> {
    let p = &series.patient;
    vec![
        str_elem(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"),
        str_elem(tags::SOP_CLASS_UID, VR::UI, sop_class),
        str_elem(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            &uids.uid(UidKind::SopInstance, 0),
        ),
        str_elem(tags::STUDY_DATE, VR::DA, &p.study_date),
        str_elem(tags::STUDY_TIME, VR::TM, &p.study_time),
        str_elem(tags::ACCESSION_NUMBER, VR::SH, &p.accession_number),
        str_elem(tags::MODALITY, VR::CS, modality),
        str_elem(tags::MANUFACTURER, VR::LO, "mtsa"),
        str_elem(
            tags::REFERRING_PHYSICIAN_NAME,
            VR::PN,
            &p.referring_physician_name,
        ),
        str_elem(tags::SERIES_DESCRIPTION, VR::LO, "MTSA-Net GTV"),
        str_elem(tags::PATIENT_NAME, VR::PN, &p.patient_name),
        str_elem(tags::PATIENT_ID, VR::LO, &p.patient_id),
        str_elem(tags::PATIENT_BIRTH_DATE, VR::DA, &p.patient_birth_date),
        str_elem(tags::PATIENT_SEX, VR::CS, &p.patient_sex),
        str_elem(tags::STUDY_INSTANCE_UID, VR::UI, &series.study_instance_uid),
        str_elem(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            &uids.uid(UidKind::Series, 0),
        ),
        str_elem(tags::STUDY_ID, VR::SH, &p.study_id),
        // Frame of Reference module at the top level, as both IODs require (dciodvfy): the
        // image series' frame, so planning systems and viewers register the two.
        str_elem(
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            &series.frame_of_reference_uid,
        ),
        str_elem(tags::POSITION_REFERENCE_INDICATOR, VR::LO, ""),
        is_elem(tags::SERIES_NUMBER, series_number),
        is_elem(tags::INSTANCE_NUMBER, 1),
    ]
}

/// Builds the object with UIDs from `uid_source` (seeded ones derive from `context` and the
/// referenced series), stamps its creation time and writes it to `path` atomically.
pub(crate) fn write_derived(
    path: &Path,
    series: &SeriesRef,
    uid_source: UidSource,
    context: &str,
    build: impl FnOnce(&UidGenerator) -> Obj,
) -> Result<(), DicomError> {
    let uids = UidGenerator::new(
        uid_source,
        &format!("{context}/{}", series.series_instance_uid),
    )
    .map_err(|r| DicomError::write(path, r))?;
    let mut obj = build(&uids);
    uids.stamp(&mut obj);
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .map_err(|e| DicomError::write(path, e))?;
    mtsa_io::write_atomic(path, |tmp| {
        file.write_to_file(tmp)
            .map_err(|e| DicomError::write(path, with_causes(&e)))
    })
}
