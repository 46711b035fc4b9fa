//! Writing masks as a binary DICOM Segmentation (SEG) that references the image series they were
//! predicted on: the object viewers, PACS and MONAI Deploy / highdicom users expect next to (or
//! instead of) an RT Structure Set. One segment per mask, 1 bit per pixel. The first segment has
//! a frame for every source image (empty frames included, so a reader gets the whole mask back
//! even where it is empty); each further segment (a lesion) has frames only for the images it
//! is on, as highdicom omits empty frames.
//!
//! Built after DICOM PS3.3 A.51 (Segmentation IOD) and C.8.20 (Segmentation Image module), in the
//! layout highdicom writes: a shared Pixel Measures and Plane Orientation, per frame a Derivation
//! Image (the source image), a Plane Position and a Segment Identification, and the dimension
//! index (segment number, image position).

use crate::colour::{cielab, colour};
use crate::dataset::{ds_elem, is_elem, item, seq_elem, str_elem, strs_elem, us_elem, Obj};
use crate::derived::{
    checked_label, derived_header, image_ref, instance_refs, to_acquisition_grid, write_derived,
};
use crate::uid::{UidGenerator, UidKind, UidSource};
use crate::{DicomError, Roi, SeriesRef};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use mtsa_io::Volume;
use std::path::Path;

/// The algorithm that produced the segments (Segment Algorithm Name and Software Versions).
#[derive(Debug, Clone)]
pub struct SegAlgorithm {
    pub name: String,
    pub version: String,
}

/// One frame of the Segmentation: segment `segment` (from 1) on source image `image`.
#[derive(Debug, Clone, Copy)]
struct Frame {
    segment: u16,
    image: usize,
}

/// Writes `mask` (non-zero = inside) as segment 1, labelled `label`, of a new Segmentation at
/// `path`, on the grid of `series` (the mask may be in any axis order of that grid, as for
/// [`crate::write_rtstruct`]). UIDs follow `uid_source` as for structure sets.
pub fn write_seg(
    path: &Path,
    mask: &Volume<u8>,
    series: &SeriesRef,
    label: &str,
    algorithm: &SegAlgorithm,
    uid_source: UidSource,
) -> Result<(), DicomError> {
    let segment = Roi { name: label, mask };
    write_seg_segments(path, &[segment], series, algorithm, uid_source)
}

/// Writes several masks as segments numbered 1, 2, ... in the order given, each labelled by its
/// name, into one new Segmentation at `path`, as [`write_seg`] writes one (e.g. the whole GTV,
/// then each lesion, as [`crate::write_rtstruct_rois`] writes them as ROIs).
pub fn write_seg_segments(
    path: &Path,
    segments: &[Roi],
    series: &SeriesRef,
    algorithm: &SegAlgorithm,
    uid_source: UidSource,
) -> Result<(), DicomError> {
    if segments.is_empty() || segments.len() > usize::from(u16::MAX) {
        return Err(DicomError::invalid(
            path,
            format!(
                "{} segments; a Segmentation holds 1 to 65535",
                segments.len()
            ),
        ));
    }
    let stack = series.stack().map_err(|r| DicomError::invalid(path, r))?;
    let (rows, cols) = (stack.rows, stack.cols);
    let mut labels = Vec::with_capacity(segments.len());
    let mut frames = Vec::new();
    // Pixel (row, col) of image k is voxel (col, rows - 1 - row) of the acquisition grid
    // (`Stack::voxel_of_pixel`). 1-bit pixels are packed across frame boundaries, first pixel
    // in the lowest bit (PS3.5 8.1.1).
    let mut bits = Vec::new();
    let mut n = 0usize;
    for (number, segment) in (1u16..).zip(segments) {
        labels.push(checked_label(path, segment.name, "segment label")?);
        let acquired = to_acquisition_grid(path, segment.mask, &stack)?;
        for image in 0..stack.slices {
            let pixel = |r: usize, c: usize| {
                let (i, j) = stack.voxel_of_pixel(r, c);
                acquired[[i, j, image]]
            };
            let on_image = (0..rows).any(|r| (0..cols).any(|c| pixel(r, c)));
            if number > 1 && !on_image {
                continue;
            }
            frames.push(Frame {
                segment: number,
                image,
            });
            bits.resize((n + rows * cols).div_ceil(8), 0);
            for r in 0..rows {
                for c in 0..cols {
                    if pixel(r, c) {
                        bits[n / 8] |= 1 << (n % 8);
                    }
                    n += 1;
                }
            }
        }
    }
    if bits.len() % 2 == 1 {
        bits.push(0); // OB values have even length
    }

    write_derived(path, series, uid_source, "mtsa-seg", |uids| {
        segmentation(series, &labels, algorithm, uids, &frames, bits)
    })
}

fn code(value: &str, scheme: &str, meaning: &str) -> Obj {
    item(vec![
        str_elem(tags::CODE_VALUE, VR::SH, value),
        str_elem(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        str_elem(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

fn at_elem(tag: Tag, pointer: Tag) -> DataElement<Obj> {
    DataElement::new(tag, VR::AT, PrimitiveValue::Tags(vec![pointer].into()))
}

/// The per-frame functional groups of `frame`.
fn frame_groups(series: &SeriesRef, frame: Frame) -> Obj {
    let k = frame.image;
    let mut source = image_ref(series, k);
    // The mask is on the source image's own pixel grid.
    source.put(str_elem(tags::SPATIAL_LOCATIONS_PRESERVED, VR::CS, "YES"));
    source.put(seq_elem(
        tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE,
        vec![code(
            "121322",
            "DCM",
            "Source image for image processing operation",
        )],
    ));
    item(vec![
        seq_elem(
            tags::DERIVATION_IMAGE_SEQUENCE,
            vec![item(vec![
                seq_elem(tags::SOURCE_IMAGE_SEQUENCE, vec![source]),
                seq_elem(
                    tags::DERIVATION_CODE_SEQUENCE,
                    vec![code("113076", "DCM", "Segmentation")],
                ),
            ])],
        ),
        seq_elem(
            tags::FRAME_CONTENT_SEQUENCE,
            vec![item(vec![DataElement::new(
                tags::DIMENSION_INDEX_VALUES,
                VR::UL,
                PrimitiveValue::U32(vec![u32::from(frame.segment), k as u32 + 1].into()),
            )])],
        ),
        seq_elem(
            tags::PLANE_POSITION_SEQUENCE,
            vec![item(vec![ds_elem(
                tags::IMAGE_POSITION_PATIENT,
                &series.image_positions[k],
            )])],
        ),
        seq_elem(
            tags::SEGMENT_IDENTIFICATION_SEQUENCE,
            vec![item(vec![us_elem(
                tags::REFERENCED_SEGMENT_NUMBER,
                frame.segment,
            )])],
        ),
    ])
}

fn segmentation(
    series: &SeriesRef,
    labels: &[&str],
    algorithm: &SegAlgorithm,
    uids: &UidGenerator,
    frames: &[Frame],
    bits: Vec<u8>,
) -> Obj {
    // Content Date/Time are Type 1 here: the creation time, or a fixed epoch for seeded
    // (reproducible) output.
    let (date, time) = uids.created().unwrap_or(("19700101", "000000"));
    let dimension_uid = uids.uid(UidKind::DimensionOrganization, 0);
    let dimension = |pointer: Tag, group: Tag, name: &str| {
        item(vec![
            str_elem(tags::DIMENSION_ORGANIZATION_UID, VR::UI, &dimension_uid),
            at_elem(tags::DIMENSION_INDEX_POINTER, pointer),
            at_elem(tags::FUNCTIONAL_GROUP_POINTER, group),
            str_elem(tags::DIMENSION_DESCRIPTION_LABEL, VR::LO, name),
        ])
    };
    let segment = |number: u16, label: &str| {
        item(vec![
            us_elem(tags::SEGMENT_NUMBER, number),
            str_elem(tags::SEGMENT_LABEL, VR::LO, label),
            // The colour ROI `number` has in our structure sets.
            DataElement::new(
                tags::RECOMMENDED_DISPLAY_CIE_LAB_VALUE,
                VR::US,
                PrimitiveValue::U16(cielab(colour(usize::from(number) - 1)).to_vec().into()),
            ),
            str_elem(tags::SEGMENT_ALGORITHM_TYPE, VR::CS, "AUTOMATIC"),
            str_elem(tags::SEGMENT_ALGORITHM_NAME, VR::LO, &algorithm.name),
            seq_elem(
                tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE,
                vec![code("49755003", "SCT", "Morphologically Altered Structure")],
            ),
            seq_elem(
                tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE,
                vec![code("108369006", "SCT", "Neoplasm")],
            ),
        ])
    };
    let shared = item(vec![
        seq_elem(
            tags::PIXEL_MEASURES_SEQUENCE,
            vec![item(vec![
                ds_elem(tags::PIXEL_SPACING, &series.pixel_spacing),
                ds_elem(tags::SLICE_THICKNESS, &[series.slice_spacing]),
                ds_elem(tags::SPACING_BETWEEN_SLICES, &[series.slice_spacing]),
            ])],
        ),
        seq_elem(
            tags::PLANE_ORIENTATION_SEQUENCE,
            vec![item(vec![ds_elem(
                tags::IMAGE_ORIENTATION_PATIENT,
                &series.image_orientation,
            )])],
        ),
    ]);
    let referenced = item(vec![
        str_elem(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            &series.series_instance_uid,
        ),
        seq_elem(tags::REFERENCED_INSTANCE_SEQUENCE, instance_refs(series)),
    ]);
    let mut elements = derived_header(series, uids, uids::SEGMENTATION_STORAGE, "SEG", 901);
    elements.extend([
        strs_elem(tags::IMAGE_TYPE, VR::CS, &["DERIVED", "PRIMARY"]),
        str_elem(tags::CONTENT_DATE, VR::DA, date),
        str_elem(tags::CONTENT_TIME, VR::TM, time),
        seq_elem(tags::REFERENCED_SERIES_SEQUENCE, vec![referenced]),
        str_elem(tags::MANUFACTURER_MODEL_NAME, VR::LO, &algorithm.name),
        str_elem(tags::DEVICE_SERIAL_NUMBER, VR::LO, "none"),
        str_elem(tags::SOFTWARE_VERSIONS, VR::LO, &algorithm.version),
        seq_elem(
            tags::DIMENSION_ORGANIZATION_SEQUENCE,
            vec![item(vec![str_elem(
                tags::DIMENSION_ORGANIZATION_UID,
                VR::UI,
                &dimension_uid,
            )])],
        ),
        seq_elem(
            tags::DIMENSION_INDEX_SEQUENCE,
            vec![
                dimension(
                    tags::REFERENCED_SEGMENT_NUMBER,
                    tags::SEGMENT_IDENTIFICATION_SEQUENCE,
                    "ReferencedSegmentNumber",
                ),
                dimension(
                    tags::IMAGE_POSITION_PATIENT,
                    tags::PLANE_POSITION_SEQUENCE,
                    "ImagePositionPatient",
                ),
            ],
        ),
        us_elem(tags::SAMPLES_PER_PIXEL, 1),
        str_elem(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        is_elem(tags::NUMBER_OF_FRAMES, frames.len() as i64),
        us_elem(tags::ROWS, series.rows as u16),
        us_elem(tags::COLUMNS, series.columns as u16),
        us_elem(tags::BITS_ALLOCATED, 1),
        us_elem(tags::BITS_STORED, 1),
        us_elem(tags::HIGH_BIT, 0),
        us_elem(tags::PIXEL_REPRESENTATION, 0),
        str_elem(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00"),
        seq_elem(
            tags::SEGMENT_SEQUENCE,
            (1u16..).zip(labels).map(|(n, l)| segment(n, l)).collect(),
        ),
        str_elem(tags::SEGMENTATION_TYPE, VR::CS, "BINARY"),
        str_elem(tags::CONTENT_LABEL, VR::CS, "GTV"),
        str_elem(
            tags::CONTENT_DESCRIPTION,
            VR::LO,
            "automatic GTV, to be reviewed before clinical use",
        ),
        str_elem(tags::CONTENT_CREATOR_NAME, VR::PN, ""),
        seq_elem(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared]),
        seq_elem(
            tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
            frames.iter().map(|&f| frame_groups(series, f)).collect(),
        ),
        DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(bits.into())),
    ]);
    item(elements)
}
