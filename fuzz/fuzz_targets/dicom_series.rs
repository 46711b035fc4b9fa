//! DICOM image series reader: the bytes as the only file of a folder, read as a series (header
//! scan, geometry, pixel decoding and rescale). Errors must name the file or the folder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtsa_dicom::read_series;
use mtsa_fuzz::{assert_names, scratch_dir};

fuzz_target!(|data: &[u8]| {
    let dir = scratch_dir("series");
    let file = dir.join("IM00001.dcm");
    std::fs::write(&file, data).expect("write the input file");
    if let Err(e) = read_series(&dir, None) {
        // Folder-level errors (no series) name the folder, whose name is in the file's path.
        assert_names(&e, &dir);
    }
});
