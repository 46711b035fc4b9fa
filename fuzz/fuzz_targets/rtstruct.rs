//! RT Structure Set reader: the bytes as a structure set drawn on a fixed tiny series (written
//! once with the crate's own writer, the series every seed in corpus/rtstruct references), read
//! as ROI list and as a mask on the series' grid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtsa_dicom::{list_rois, read_rtstruct};
use mtsa_fuzz::fixtures::ROI;
use mtsa_fuzz::{assert_names, put, tiny_series};

fuzz_target!(|data: &[u8]| {
    let (grid, series) = tiny_series();
    let path = put("RS.dcm", data);
    if let Err(e) = list_rois(&path) {
        assert_names(&e, &path);
    }
    match read_rtstruct(&path, ROI, series, grid) {
        Ok(mask) => assert_eq!(mask.shape(), grid.shape()),
        Err(e) => assert_names(&e, &path),
    }
});
