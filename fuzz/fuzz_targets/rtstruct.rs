//! RT Structure Set reader: the bytes as a structure set drawn on a fixed tiny series (written
//! once with the crate's own writer, the series every seed in corpus/rtstruct references), read
//! as ROI list and as a mask on the series' grid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtsa_dicom::{list_rois, read_rtstruct, SeriesRef};
use mtsa_fuzz::fixtures::{write_tiny_series, ROI};
use mtsa_fuzz::{assert_names, put, scratch_dir};
use mtsa_io::Volume;
use std::sync::OnceLock;

fn series() -> &'static (Volume<f32>, SeriesRef) {
    static SERIES: OnceLock<(Volume<f32>, SeriesRef)> = OnceLock::new();
    SERIES.get_or_init(|| write_tiny_series(&scratch_dir("series")).expect("fixture series"))
}

fuzz_target!(|data: &[u8]| {
    let (grid, series) = series();
    let path = put("RS.dcm", data);
    if let Err(e) = list_rois(&path) {
        assert_names(&e, &path);
    }
    match read_rtstruct(&path, ROI, series, grid) {
        Ok(mask) => assert_eq!(mask.shape(), grid.shape()),
        Err(e) => assert_names(&e, &path),
    }
});
