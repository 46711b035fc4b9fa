//! What a structure set needs to know about the image series it annotates.

use crate::geometry::{norm, Stack};
use serde::{Deserialize, Serialize};

/// Identity and slice layout of an image series, in the volume's `k` order. Returned by
/// `read_series`, `read_series_ref` and `write_series`; consumed by `write_rtstruct` (to
/// reference the images a contour lies on) and `read_rtstruct` (to check the frame of
/// reference). `Debug` leaves out the patient/study attributes so the value can be logged.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesRef {
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    /// Series Description, as the scanner or PACS named the series ("T1 MPRAGE post Gd"); empty
    /// when it has none, and in records written before it was kept.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub series_description: String,
    pub frame_of_reference_uid: String,
    /// SOP Class UID of the images (MR Image Storage for ours).
    pub sop_class_uid: String,
    /// SOP Instance UID of slice k, for k = 0..n.
    pub sop_instance_uids: Vec<String>,
    /// Where slice k is frame `f` (1-based) of a multi-frame (enhanced) image, `Some(f)`: a
    /// reference to it must name the frame (Referenced Frame Number). Empty when every image
    /// is single-frame, as in records written before multi-frame input was read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frame_numbers: Vec<Option<u32>>,
    /// Image Position (Patient) of slice k in LPS millimetres.
    pub image_positions: Vec<[f64; 3]>,
    /// Image Orientation (Patient): row direction then column direction, LPS.
    pub image_orientation: [f64; 6],
    pub rows: usize,
    pub columns: usize,
    /// Pixel Spacing as DICOM orders it: between rows, then between columns (mm).
    pub pixel_spacing: [f64; 2],
    /// Distance between adjacent slices along the normal (mm), from the image positions.
    pub slice_spacing: f64,
    /// Copied into a structure set so that it files under the same patient and study.
    pub patient: PatientStudy,
}

impl std::fmt::Debug for SeriesRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesRef")
            .field("study_instance_uid", &self.study_instance_uid)
            .field("series_instance_uid", &self.series_instance_uid)
            .field("series_description", &self.series_description)
            .field("frame_of_reference_uid", &self.frame_of_reference_uid)
            .field("sop_class_uid", &self.sop_class_uid)
            .field("slices", &self.sop_instance_uids.len())
            .field(
                "multi_frame",
                &self.frame_numbers.iter().any(Option::is_some),
            )
            .field("image_orientation", &self.image_orientation)
            .field("rows", &self.rows)
            .field("columns", &self.columns)
            .field("pixel_spacing", &self.pixel_spacing)
            .field("slice_spacing", &self.slice_spacing)
            .field("patient", &"<not shown>")
            .finish()
    }
}

/// Patient and study attributes of a series (DICOM type 2: empty strings when unknown).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PatientStudy {
    pub patient_name: String,
    pub patient_id: String,
    pub patient_birth_date: String,
    pub patient_sex: String,
    pub study_date: String,
    pub study_time: String,
    pub study_id: String,
    pub accession_number: String,
    pub referring_physician_name: String,
}

impl std::fmt::Debug for PatientStudy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PatientStudy { <not shown> }")
    }
}

impl SeriesRef {
    /// The frame of its multi-frame image that slice `k` is, if it is one.
    pub fn frame_number(&self, k: usize) -> Option<u32> {
        self.frame_numbers.get(k).copied().flatten()
    }

    /// The images as a slice stack in acquisition order: the grid contours are drawn on.
    pub(crate) fn stack(&self) -> Result<Stack, String> {
        let n = self.sop_instance_uids.len();
        let o = self.image_orientation;
        let row_dir = [o[0], o[1], o[2]];
        let col_dir = [o[3], o[4], o[5]];
        let ok = n > 0
            && self.image_positions.len() == n
            && self.rows > 0
            && self.columns > 0
            && self.pixel_spacing.iter().all(|v| *v > 0.0)
            && self.slice_spacing > 0.0
            && (norm(row_dir) - 1.0).abs() < 1e-3
            && (norm(col_dir) - 1.0).abs() < 1e-3;
        if !ok {
            return Err("the series reference is incomplete or inconsistent".into());
        }
        Ok(Stack {
            row_dir,
            col_dir,
            col_spacing: self.pixel_spacing[1],
            row_spacing: self.pixel_spacing[0],
            slice_spacing: self.slice_spacing,
            rows: self.rows,
            cols: self.columns,
            slices: n,
            first_position: self.image_positions[0],
        })
    }
}
