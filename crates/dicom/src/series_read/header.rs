//! A slice's header: where a single-frame image, or each frame of a multi-frame (enhanced) image,
//! lies and how it is sampled, read from the image or from the frame's functional groups.

use crate::dataset::{frame_group, items, opt_f64, opt_str, req_f64s, req_str, req_usize, Obj};
use crate::geometry::V3;
use crate::{DicomError, PatientStudy};
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use mtsa_io::{spacing_problem, MAX_POSITION_MM};
use std::path::{Path, PathBuf};

/// The attributes of one slice needed to place it in the volume: a single-frame image file, or
/// one frame of a multi-frame image.
#[derive(Debug, Clone)]
pub(super) struct SliceHeader {
    pub(super) path: PathBuf,
    /// The frame's index (0-based) in a multi-frame image; `None` for a single-frame image.
    pub(super) frame: Option<usize>,
    /// Number of Frames of the file (1 for a single-frame image).
    pub(super) frames_in_file: usize,
    pub(super) series_uid: String,
    pub(super) series_number: Option<String>,
    pub(super) series_description: Option<String>,
    pub(super) study_uid: String,
    pub(super) frame_of_reference_uid: String,
    pub(super) sop_class_uid: String,
    pub(super) sop_instance_uid: String,
    pub(super) position: V3,
    pub(super) orientation: [f64; 6],
    /// (between rows, between columns), the DICOM order.
    pub(super) pixel_spacing: [f64; 2],
    pub(super) rows: usize,
    pub(super) cols: usize,
    /// 8, 16 or 32: with Rows, Columns and the frame count, the exact native Pixel Data length.
    pub(super) bits_allocated: usize,
    pub(super) slice_thickness: Option<f64>,
    pub(super) spacing_between_slices: Option<f64>,
    /// MR Acquisition Type "3D": dcm2niix reorients such volumes.
    pub(super) is_3d_acquisition: bool,
    pub(super) patient: PatientStudy,
}

impl SliceHeader {
    /// The file, and the frame for a frame of a multi-frame image, as an error names it.
    pub(super) fn name(&self) -> String {
        match self.frame {
            Some(f) => format!("{} (frame {})", self.path.display(), f + 1),
            None => self.path.display().to_string(),
        }
    }

    /// "frame n: " before a reason about a frame of a multi-frame image, else nothing.
    pub(super) fn frame_prefix(&self) -> String {
        self.frame
            .map(|f| format!("frame {}: ", f + 1))
            .unwrap_or_default()
    }
}

/// Where the attributes of one slice live: the image itself for a single-frame image; for a
/// frame of a multi-frame image, the item of a functional group macro (Plane Position, Pixel
/// Measures, ...) in that frame's Per-frame Functional Groups, else in the Shared Functional
/// Groups, else (a non-conformant file) the image itself.
#[derive(Clone, Copy)]
pub(super) struct FrameSource<'a> {
    pub(super) obj: &'a Obj,
    pub(super) frame: Option<usize>,
}

impl<'a> FrameSource<'a> {
    pub(super) fn group(&self, macro_tag: Tag) -> &'a Obj {
        match self.frame {
            Some(f) => frame_group(self.obj, f, macro_tag).unwrap_or(self.obj),
            None => self.obj,
        }
    }
}

/// Number of Frames: 1 when absent; a multi-frame image must describe every frame in its
/// Per-frame Functional Groups, as enhanced images do (a multi-frame image without them, such
/// as a cine loop, has no position per frame).
fn frame_count(path: &Path, obj: &Obj) -> Result<usize, DicomError> {
    let Some(frames) = opt_f64(obj, tags::NUMBER_OF_FRAMES, "Number of Frames", path)? else {
        return Ok(1);
    };
    if !(frames >= 1.0 && frames.fract() == 0.0 && frames <= u32::MAX as f64) {
        return Err(DicomError::attribute(
            path,
            "Number of Frames",
            format!("{frames} is not a frame count"),
        ));
    }
    let frames = frames as usize;
    let described = items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).len();
    if frames > 1 && described != frames {
        return Err(DicomError::invalid(
            path,
            format!(
                "a multi-frame image of {frames} frames with {described} Per-frame Functional \
                 Groups items: only enhanced images, which place every frame, are read"
            ),
        ));
    }
    Ok(frames)
}

/// The slices of one image object: itself, or each frame of a multi-frame image.
pub(super) fn slice_headers(path: &Path, obj: &Obj) -> Result<Vec<SliceHeader>, DicomError> {
    let frames_in_file = frame_count(path, obj)?;
    // An enhanced image of one frame still keeps its geometry in functional groups.
    let frames: Vec<Option<usize>> = if frames_in_file > 1
        || obj
            .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
            .is_some()
    {
        (0..frames_in_file).map(Some).collect()
    } else {
        vec![None]
    };
    let rows = req_usize(obj, tags::ROWS, "Rows", path)?;
    let cols = req_usize(obj, tags::COLUMNS, "Columns", path)?;
    if rows == 0 || cols == 0 {
        return Err(DicomError::attribute(path, "Rows/Columns", "zero"));
    }
    let bits_allocated = req_usize(obj, tags::BITS_ALLOCATED, "Bits Allocated", path)?;
    if ![8, 16, 32].contains(&bits_allocated) {
        return Err(DicomError::attribute(
            path,
            "Bits Allocated",
            format!("{bits_allocated} is not 8, 16 or 32"),
        ));
    }
    if let Some(stored) = opt_f64(obj, tags::BITS_STORED, "Bits Stored", path)? {
        if !(stored >= 1.0 && stored <= bits_allocated as f64) {
            return Err(DicomError::attribute(
                path,
                "Bits Stored",
                format!("{stored} is not between 1 and Bits Allocated ({bits_allocated})"),
            ));
        }
    }
    let patient = PatientStudy {
        patient_name: opt_str(obj, tags::PATIENT_NAME).unwrap_or_default(),
        patient_id: opt_str(obj, tags::PATIENT_ID).unwrap_or_default(),
        patient_birth_date: opt_str(obj, tags::PATIENT_BIRTH_DATE).unwrap_or_default(),
        patient_sex: opt_str(obj, tags::PATIENT_SEX).unwrap_or_default(),
        study_date: opt_str(obj, tags::STUDY_DATE).unwrap_or_default(),
        study_time: opt_str(obj, tags::STUDY_TIME).unwrap_or_default(),
        study_id: opt_str(obj, tags::STUDY_ID).unwrap_or_default(),
        accession_number: opt_str(obj, tags::ACCESSION_NUMBER).unwrap_or_default(),
        referring_physician_name: opt_str(obj, tags::REFERRING_PHYSICIAN_NAME).unwrap_or_default(),
    };
    // A legacy-converted enhanced image keeps MR Acquisition Type among its unassigned shared
    // attributes; an enhanced image and a single-frame one at the top level.
    let converted = items(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)
        .first()
        .and_then(|g| items(g, tags::UNASSIGNED_SHARED_CONVERTED_ATTRIBUTES_SEQUENCE).first());
    let acquisition_type = opt_str(obj, tags::MR_ACQUISITION_TYPE)
        .or_else(|| converted.and_then(|c| opt_str(c, tags::MR_ACQUISITION_TYPE)));
    // What every frame shares; `place` then sets each frame's own geometry.
    let shared = SliceHeader {
        path: path.to_path_buf(),
        frame: None,
        frames_in_file,
        series_uid: req_str(obj, tags::SERIES_INSTANCE_UID, "Series Instance UID", path)?,
        series_number: opt_str(obj, tags::SERIES_NUMBER),
        series_description: opt_str(obj, tags::SERIES_DESCRIPTION),
        study_uid: req_str(obj, tags::STUDY_INSTANCE_UID, "Study Instance UID", path)?,
        frame_of_reference_uid: req_str(
            obj,
            tags::FRAME_OF_REFERENCE_UID,
            "Frame of Reference UID",
            path,
        )?,
        sop_class_uid: req_str(obj, tags::SOP_CLASS_UID, "SOP Class UID", path)?,
        sop_instance_uid: req_str(obj, tags::SOP_INSTANCE_UID, "SOP Instance UID", path)?,
        position: [0.0; 3],
        orientation: [0.0; 6],
        pixel_spacing: [0.0; 2],
        rows,
        cols,
        bits_allocated,
        slice_thickness: None,
        spacing_between_slices: None,
        is_3d_acquisition: acquisition_type
            .is_some_and(|t| t.to_ascii_uppercase().starts_with("3D")),
        patient,
    };
    frames
        .into_iter()
        .map(|frame| {
            let mut h = shared.clone();
            h.frame = frame;
            place(&mut h, FrameSource { obj, frame }).map_err(|e| in_frame(e, frame))?;
            Ok(h)
        })
        .collect()
}

/// Sets a slice's position, orientation and spacings from where its image keeps them.
fn place(h: &mut SliceHeader, source: FrameSource) -> Result<(), DicomError> {
    let path = h.path.clone();
    let path = path.as_path();
    let ipp = req_f64s(
        source.group(tags::PLANE_POSITION_SEQUENCE),
        tags::IMAGE_POSITION_PATIENT,
        "Image Position (Patient)",
        3,
        path,
    )?;
    let iop = req_f64s(
        source.group(tags::PLANE_ORIENTATION_SEQUENCE),
        tags::IMAGE_ORIENTATION_PATIENT,
        "Image Orientation (Patient)",
        6,
        path,
    )?;
    if let Some(far) = ipp.iter().find(|v| v.abs() > MAX_POSITION_MM) {
        return Err(DicomError::attribute(
            path,
            "Image Position (Patient)",
            format!("{far} mm is beyond {MAX_POSITION_MM} mm"),
        ));
    }
    let measures = source.group(tags::PIXEL_MEASURES_SEQUENCE);
    let ps = req_f64s(measures, tags::PIXEL_SPACING, "Pixel Spacing", 2, path)?;
    let slice_thickness = opt_f64(measures, tags::SLICE_THICKNESS, "Slice Thickness", path)?;
    let spacing_between_slices = opt_f64(
        measures,
        tags::SPACING_BETWEEN_SLICES,
        "Spacing Between Slices",
        path,
    )?;
    let spacings = ps.iter().map(|v| ("Pixel Spacing", *v)).chain(
        [
            ("Slice Thickness", slice_thickness),
            ("Spacing Between Slices", spacing_between_slices),
        ]
        .into_iter()
        .filter_map(|(name, v)| Some((name, v?))),
    );
    for (name, mm) in spacings {
        if let Some(problem) = spacing_problem(mm) {
            return Err(DicomError::attribute(path, name, problem));
        }
    }
    h.position = [ipp[0], ipp[1], ipp[2]];
    h.orientation = [iop[0], iop[1], iop[2], iop[3], iop[4], iop[5]];
    h.pixel_spacing = [ps[0], ps[1]];
    h.slice_thickness = slice_thickness;
    h.spacing_between_slices = spacing_between_slices;
    Ok(())
}

/// An attribute error about a frame of a multi-frame image names the frame.
pub(super) fn in_frame(e: DicomError, frame: Option<usize>) -> DicomError {
    match (e, frame) {
        (
            DicomError::Attribute {
                path,
                attribute,
                reason,
            },
            Some(f),
        ) => DicomError::Attribute {
            path,
            attribute,
            reason: format!("frame {}: {reason}", f + 1),
        },
        (e, _) => e,
    }
}
