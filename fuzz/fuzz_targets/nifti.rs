//! NIfTI-1 reader: the bytes as a `.nii` file (a gzip stream among them takes the `.nii.gz`
//! path, which is chosen by content), and the same bytes gzipped as a `.nii.gz` file.
//! Any result is fine; a panic, an abort, an allocation past the limit or an error that does
//! not name the file is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtsa_fuzz::{assert_names, gzip, put};
use mtsa_io::read_nifti_labels;

fuzz_target!(|data: &[u8]| {
    // read_nifti_labels reads through read_nifti, then checks the labels.
    let plain = put("input.nii", data);
    if let Err(e) = read_nifti_labels(&plain) {
        assert_names(&e, &plain);
    }
    let gz = put("input.nii.gz", &gzip(data));
    if let Err(e) = read_nifti_labels(&gz) {
        assert_names(&e, &gz);
    }
});
