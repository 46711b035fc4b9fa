//! mtsa-data: from a cohort folder of NIfTI volumes (or DICOM series with RT Structure Sets) to
//! the compact, patient-split dataset the
//! trainer and evaluator read, and the preprocessing that `predict` repeats (and undoes) on a
//! new patient.
//!
//! - `layout`: which files belong to which patient (ours, nnU-Net raw, one folder per case,
//!   DICOM).
//! - `clinical`: `clinical.csv` (EGFR, diagnosis date, site).
//! - `background`: a skull-stripped scan's constant background set to zero.
//! - `preprocess` / `resample`: RAS reorientation, brain intensity normalisation, fixed
//!   field-of-view in-plane resampling, and its inverse.
//! - `split`: patient-level train / val / test / external split.
//! - `dataset`: the on-disk format (safetensors + JSON) and its loader.
//! - `prepare`: the whole pipeline, atomic on disk.
//! - `source`: reading a prepared patient's whole scan back from its cohort (hash-checked).

mod background;
mod case_volumes;
mod clinical;
mod dataset;
mod egfr;
mod error;
mod layout;
mod prepare;
mod preprocess;
mod resample;
mod source;
mod split;

pub use background::{not_skull_stripped, MAX_BRAIN_ML};
pub use case_volumes::{scan_as_read, LabelRules};
pub use clinical::{parse_date, parse_egfr, read_clinical, Clinical, ClinicalRecord};
pub use dataset::{
    compute_data_hash, load_split, read_info, verify, write_split, DatasetInfo, PatientInfo,
    SliceRecord, SourceFiles, SplitCount, SplitData, FORMAT_VERSION,
};
pub use egfr::Egfr;
pub use error::DataError;
pub use layout::{brain_masks_by_id, discover, nifti_stem, Case, CohortFiles, LayoutKind};
pub use prepare::{prepare, PrepareConfig, PrepareSummary};
pub use preprocess::{
    brain_slices, neighbour_slices, network_input, preprocess_image, resample_mask,
    restore_probabilities, PreprocessConfig, SliceGeometry, MAX_SIDE,
};
pub use source::read_patient;
pub use split::{assign_from_file, external_split_name, internal_site, SplitInput};
