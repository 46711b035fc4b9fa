//! Inputs the fuzz targets and the crates' replay tests (`crates/*/tests/fuzz_replay.rs`, which
//! include this file by path) must agree on: the tiny image series every RT Structure Set in
//! `corpus/rtstruct` was drawn on, and the cohort `corpus/splits` files are checked against.
//! Uses only `mtsa_io`, `mtsa_dicom` and `ndarray`, which every including crate depends on.
#![allow(dead_code)]

use mtsa_dicom::{read_series, write_series, DicomError, SeriesMeta, SeriesRef, UidSource};
use mtsa_io::{diagonal_affine, Volume};
use ndarray::Array3;
use std::path::Path;

/// Seed of the series' UIDs: the structure sets in the corpus reference these exact UIDs.
pub const SERIES_SEED: u64 = 20_261_130;
/// Seed of the seed structure sets' own UIDs.
pub const RTSTRUCT_SEED: u64 = 7;
/// The ROI the rtstruct target reads (the one `mtsa predict --rtstruct` writes).
pub const ROI: &str = mtsa_dicom::DEFAULT_ROI_NAME;
/// The cohort a fuzzed splits.json is checked against.
pub const SPLIT_PATIENTS: [&str; 5] = ["p01", "p02", "p03", "p04", "ext-1"];

/// A 6 x 5 x 4 float volume, 0.9 x 0.9 x 3 mm, in dcm2niix's 2-D order (negative determinant,
/// so the series reads back with exactly this grid).
pub fn tiny_volume() -> Volume<f32> {
    let data = Array3::from_shape_fn((6, 5, 4), |(i, j, k)| {
        (10 * i + 3 * j + 50 * k) as f32 + 0.25
    });
    Volume::new(
        data,
        diagonal_affine([-0.9, 0.9, 3.0], [43.1, -58.7, -31.5]),
    )
}

pub fn tiny_meta() -> SeriesMeta {
    SeriesMeta {
        patient_id: "FUZZ".into(),
        series_description: "fuzz fixture".into(),
        uids: UidSource::Seeded(SERIES_SEED),
        ..SeriesMeta::default()
    }
}

/// Writes the tiny series into the empty folder `dir` and reads it back: the grid and series
/// reference a structure set is rasterised with.
pub fn write_tiny_series(dir: &Path) -> Result<(Volume<f32>, SeriesRef), DicomError> {
    write_series(dir, &tiny_volume(), &tiny_meta())?;
    read_series(dir, None)
}

/// A lesion with a hole on slices 1 and 2, and a single voxel on slice 3.
pub fn tiny_mask(grid: &Volume<f32>) -> Volume<u8> {
    let s = grid.shape();
    let data = Array3::from_shape_fn((s[0], s[1], s[2]), |(i, j, k)| {
        let ring = (1..=4).contains(&i) && (1..=3).contains(&j) && !(i == 2 && j == 2);
        u8::from(((k == 1 || k == 2) && ring) || (k == 3 && i == 0 && j == 4))
    });
    Volume::new(data, grid.affine)
}
