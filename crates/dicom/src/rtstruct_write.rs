//! Writing masks as an RT Structure Set that references the image series they were predicted
//! on, so a planning system or viewer shows them on those images: one ROI per mask, one
//! CLOSED_PLANAR contour per slice and per traced boundary (outer boundaries and holes), points
//! in LPS millimetres.

use crate::colour::colour;
use crate::contour::trace_loops;
use crate::dataset::{ds_elem, is_elem, item, seq_elem, str_elem, strs_elem, Obj};
use crate::derived::{
    checked_label, derived_header, image_ref, to_acquisition_grid, write_derived,
};
use crate::geometry::{add_scaled, apply, dot, lps_ras, sub, Stack};
use crate::uid::{UidGenerator, UidSource};
use crate::{DicomError, SeriesRef};
use dicom_core::VR;
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use mtsa_io::Volume;
use ndarray::Array3;
use std::path::Path;

/// Study Component Management SOP Class, the conventional Referenced SOP Class of an RT
/// Referenced Study item.
const STUDY_COMPONENT_SOP_CLASS: &str = "1.2.840.10008.3.1.2.3.1";

/// One ROI of a structure set, or one segment of a Segmentation: its name and its mask
/// (non-zero = inside).
#[derive(Debug, Clone, Copy)]
pub struct Roi<'a> {
    pub name: &'a str,
    pub mask: &'a Volume<u8>,
}

/// Writes `mask` (non-zero = inside) as the ROI `roi_name` of a new structure set at `path`.
///
/// The mask must be on the series' voxel grid in any axis order: the grid `read_series` returned
/// for it, or a permutation/flip of that (e.g. the model's RAS canonical order).
/// UIDs are fresh for every call with `UidSource::Random` (two predictions on one series are two
/// structure sets); with `UidSource::Seeded` they derive from the seed and the referenced
/// series, so the same inputs give the same file.
/// An empty mask gives a structure set whose ROI has no contours.
pub fn write_rtstruct(
    path: &Path,
    mask: &Volume<u8>,
    series: &SeriesRef,
    roi_name: &str,
    uid_source: UidSource,
) -> Result<(), DicomError> {
    write_rtstruct_rois(
        path,
        &[Roi {
            name: roi_name,
            mask,
        }],
        series,
        uid_source,
    )
}

/// Writes several ROIs, numbered 1, 2, ... in the order given, into one new structure set at
/// `path`, as [`write_rtstruct`] writes one (e.g. the whole GTV, then each lesion as its own
/// target for a radiosurgery plan).
pub fn write_rtstruct_rois(
    path: &Path,
    rois: &[Roi],
    series: &SeriesRef,
    uid_source: UidSource,
) -> Result<(), DicomError> {
    let stack = series.stack().map_err(|r| DicomError::invalid(path, r))?;
    let mut named = Vec::with_capacity(rois.len());
    for roi in rois {
        let name = checked_label(path, roi.name, "ROI name")?;
        let acquired = to_acquisition_grid(path, roi.mask, &stack)?;
        named.push((name, contours(series, &stack, &acquired)));
    }
    write_derived(path, series, uid_source, "mtsa-rtstruct", |uids| {
        structure_set(series, named, uids)
    })
}

/// The CLOSED_PLANAR contours of a mask on the acquisition grid, numbered from 1.
fn contours(series: &SeriesRef, stack: &Stack, acquired: &Array3<bool>) -> Vec<Obj> {
    let affine = stack.affine();
    let normal = stack.normal();
    let mut contours = Vec::new();
    for k in 0..stack.slices {
        let loops = trace_loops(stack.cols, stack.rows, |i, j| acquired[[i, j, k]]);
        for poly in loops {
            let mut data = Vec::with_capacity(poly.len() * 3);
            for [x, y] in poly {
                let p = lps_ras(apply(&affine, [x, y, k as f64]));
                // Snap onto the image's own plane (the grid uses the mean spacing) so readers
                // that match contours to images by position find it exactly.
                let off = dot(sub(series.image_positions[k], p), normal);
                data.extend_from_slice(&add_scaled(p, normal, off));
            }
            contours.push(contour_item(series, k, contours.len() + 1, &data));
        }
    }
    contours
}

fn contour_item(series: &SeriesRef, s: usize, number: usize, data: &[f64]) -> Obj {
    item(vec![
        seq_elem(tags::CONTOUR_IMAGE_SEQUENCE, vec![image_ref(series, s)]),
        str_elem(tags::CONTOUR_GEOMETRIC_TYPE, VR::CS, "CLOSED_PLANAR"),
        is_elem(tags::NUMBER_OF_CONTOUR_POINTS, (data.len() / 3) as i64),
        is_elem(tags::CONTOUR_NUMBER, number as i64),
        ds_elem(tags::CONTOUR_DATA, data),
    ])
}

fn structure_set(series: &SeriesRef, rois: Vec<(&str, Vec<Obj>)>, uids: &UidGenerator) -> Obj {
    let (date, time) = uids.created().unwrap_or_default();
    let images = (0..series.sop_instance_uids.len())
        .map(|s| image_ref(series, s))
        .collect();
    let referenced_frame = item(vec![
        str_elem(
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            &series.frame_of_reference_uid,
        ),
        seq_elem(
            tags::RT_REFERENCED_STUDY_SEQUENCE,
            vec![item(vec![
                str_elem(
                    tags::REFERENCED_SOP_CLASS_UID,
                    VR::UI,
                    STUDY_COMPONENT_SOP_CLASS,
                ),
                str_elem(
                    tags::REFERENCED_SOP_INSTANCE_UID,
                    VR::UI,
                    &series.study_instance_uid,
                ),
                seq_elem(
                    tags::RT_REFERENCED_SERIES_SEQUENCE,
                    vec![item(vec![
                        str_elem(
                            tags::SERIES_INSTANCE_UID,
                            VR::UI,
                            &series.series_instance_uid,
                        ),
                        seq_elem(tags::CONTOUR_IMAGE_SEQUENCE, images),
                    ])],
                ),
            ])],
        ),
    ]);
    let (mut roi_items, mut roi_contours, mut observations) = (Vec::new(), Vec::new(), Vec::new());
    for (n, (name, contours)) in rois.into_iter().enumerate() {
        let number = n as i64 + 1;
        roi_items.push(item(vec![
            is_elem(tags::ROI_NUMBER, number),
            str_elem(
                tags::REFERENCED_FRAME_OF_REFERENCE_UID,
                VR::UI,
                &series.frame_of_reference_uid,
            ),
            str_elem(tags::ROI_NAME, VR::LO, name),
            str_elem(tags::ROI_GENERATION_ALGORITHM, VR::CS, "AUTOMATIC"),
            str_elem(tags::ROI_GENERATION_DESCRIPTION, VR::LO, "MTSA-Net"),
        ]));
        let mut roi_contour = vec![
            strs_elem(
                tags::ROI_DISPLAY_COLOR,
                VR::IS,
                &colour(n)
                    .map(|c| c.to_string())
                    .each_ref()
                    .map(String::as_str),
            ),
            is_elem(tags::REFERENCED_ROI_NUMBER, number),
        ];
        if !contours.is_empty() {
            roi_contour.push(seq_elem(tags::CONTOUR_SEQUENCE, contours));
        }
        roi_contours.push(item(roi_contour));
        observations.push(item(vec![
            is_elem(tags::OBSERVATION_NUMBER, number),
            is_elem(tags::REFERENCED_ROI_NUMBER, number),
            str_elem(tags::RTROI_INTERPRETED_TYPE, VR::CS, "GTV"),
            str_elem(tags::ROI_INTERPRETER, VR::PN, ""),
        ]));
    }
    let mut elements = derived_header(
        series,
        uids,
        uids::RT_STRUCTURE_SET_STORAGE,
        "RTSTRUCT",
        900,
    );
    elements.extend([
        str_elem(tags::OPERATORS_NAME, VR::PN, ""),
        str_elem(tags::MANUFACTURER_MODEL_NAME, VR::LO, "mtsa-dicom"),
        str_elem(tags::STRUCTURE_SET_LABEL, VR::SH, "MTSA-Net"),
        str_elem(tags::STRUCTURE_SET_DATE, VR::DA, date),
        str_elem(tags::STRUCTURE_SET_TIME, VR::TM, time),
        seq_elem(
            tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE,
            vec![referenced_frame],
        ),
        seq_elem(tags::STRUCTURE_SET_ROI_SEQUENCE, roi_items),
        seq_elem(tags::ROI_CONTOUR_SEQUENCE, roi_contours),
        seq_elem(tags::RTROI_OBSERVATIONS_SEQUENCE, observations),
        // Automatic output must be reviewed before clinical use.
        str_elem(tags::APPROVAL_STATUS, VR::CS, "UNAPPROVED"),
    ]);
    InMemDicomObject::from_element_iter(elements)
}
