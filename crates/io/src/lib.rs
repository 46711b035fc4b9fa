//! Volumes on disk: the NIfTI path every cohort (ours, nnU-Net's, converted DICOM) goes
//! through, the canonical orientation all later stages rely on, and atomic file writes so that a
//! failed run never leaves a half-written output behind.

mod atomic;
mod error;
mod nifti_data;
mod nifti_header;
mod nifti_io;
mod orientation;
mod output;
mod quiet_panic;
mod temp;
mod volume;

pub use atomic::{write_atomic, AtomicDir};
pub use error::IoError;
pub use nifti_io::{read_nifti, read_nifti_labels, write_nifti, NiftiElement};
pub use orientation::Reorientation;
pub use output::{check_output, claim_output_dir, probe_writable, Existing, OUTPUT_MARKER};
pub use quiet_panic::catch_panic;
pub use temp::{public_names, remove_stale_temporaries, remove_temporaries_on_signal};
pub use volume::{
    affine_problem, diagonal_affine, spacing_problem, Affine, Volume, MAX_POSITION_MM,
    MAX_VOLUME_BYTES, SPACING_RANGE_MM,
};
