//! Segmentation reader: the bytes as a DICOM SEG drawn on the fixed tiny series the structure-set
//! target uses (every seed in corpus/seg references it), read as segment list and as the GTV
//! segment's mask on the series' grid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtsa_dicom::{list_segments, read_seg};
use mtsa_fuzz::{assert_names, put, tiny_series};

fuzz_target!(|data: &[u8]| {
    let (grid, series) = tiny_series();
    let path = put("SEG.dcm", data);
    if let Err(e) = list_segments(&path) {
        assert_names(&e, &path);
    }
    match read_seg(&path, "GTV", series, grid) {
        Ok(mask) => assert_eq!(mask.shape(), grid.shape()),
        Err(e) => assert_names(&e, &path),
    }
});
