//! DICOM input and output for MTSA-Net: MR image series in and out, and the GTV as an RT
//! Structure Set or a binary Segmentation (SEG) on the images it was predicted from.
//!
//! A series read here is the same `Volume` (voxels and affine) that dcm2niix's NIfTI of it gives
//! through `mtsa_io::read_nifti`, so models, metrics and masks never need to know which path an
//! image came by: `geometry` holds dcm2niix's index order for 2-D acquisitions and `ortho` its
//! reorientation of 3-D ones. Structure sets are drawn on the images' own grid and moved to or
//! from any axis order of it exactly, so a mask in the model's RAS order can be written as is.
//!
//! Checked against dcm2niix v1.0.20220720 and pydicom by `tests/dicom_interop/run.sh`.

mod bounded;
mod colour;
mod contour;
mod dataset;
mod derived;
mod error;
mod folder;
mod geometry;
mod names;
mod ortho;
mod raster;
mod referenced;
mod rescale;
mod rtstruct_read;
mod rtstruct_write;
mod seg_read;
mod seg_write;
mod series_read;
mod series_ref;
mod series_write;
mod uid;

pub use error::DicomError;
pub use folder::{folder_files, folder_of, MAX_FOLDER_DEPTH};
pub use names::GtvMask;
pub use referenced::referenced_series;
pub use rtstruct_read::{list_rois, read_rtstruct};
pub use rtstruct_write::{write_rtstruct, write_rtstruct_rois, Roi};
pub use seg_read::{list_segments, read_drawn_case, read_gtv_object, read_seg};
pub use seg_write::{write_seg, write_seg_segments, SegAlgorithm};
pub use series_read::{
    is_dicom_file, is_dicomdir, read_series, read_series_containing, read_series_described,
    read_series_ref,
};
pub use series_ref::{PatientStudy, SeriesRef};
pub use series_write::{write_series, SeriesMeta, SeriesVoxel};
pub use uid::{UidSource, UID_ROOT};

/// The ROI name `mtsa predict --rtstruct` writes.
pub const DEFAULT_ROI_NAME: &str = "GTV_mtsa";
