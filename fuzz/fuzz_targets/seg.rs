//! Segmentation reader: the bytes as a DICOM SEG drawn on the fixed tiny series the structure-set
//! target uses (every seed in corpus/seg references it), read as segment list and as the GTV
//! segment's mask on the series' grid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtsa_dicom::{list_segments, read_seg, SeriesRef};
use mtsa_fuzz::fixtures::write_tiny_series;
use mtsa_fuzz::{assert_names, put, scratch_dir};
use mtsa_io::Volume;
use std::sync::OnceLock;

fn series() -> &'static (Volume<f32>, SeriesRef) {
    static SERIES: OnceLock<(Volume<f32>, SeriesRef)> = OnceLock::new();
    SERIES.get_or_init(|| write_tiny_series(&scratch_dir("series")).expect("fixture series"))
}

fuzz_target!(|data: &[u8]| {
    let (grid, series) = series();
    let path = put("SEG.dcm", data);
    if let Err(e) = list_segments(&path) {
        assert_names(&e, &path);
    }
    match read_seg(&path, "GTV", series, grid) {
        Ok(mask) => assert_eq!(mask.shape(), grid.shape()),
        Err(e) => assert_names(&e, &path),
    }
});
