//! Shared fixtures for the integration tests: synthetic volumes and lesion masks, in-place
//! edits of written DICOM files, and overlap scores.
#![allow(dead_code)]

pub mod halves;
pub mod rle;

use dicom_object::InMemDicomObject;
use mtsa_io::{Affine, Volume};
use ndarray::Array3;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

pub fn affine(ci: [f64; 3], cj: [f64; 3], ck: [f64; 3], origin: [f64; 3]) -> Affine {
    let mut a = [[0.0; 4]; 4];
    for r in 0..3 {
        a[r] = [ci[r], cj[r], ck[r], origin[r]];
    }
    a[3][3] = 1.0;
    a
}

/// 0.9 x 0.9 x 3 mm, dcm2niix's order for a 2-D axial series (negative determinant).
pub fn las() -> Affine {
    affine(
        [-0.9, 0.0, 0.0],
        [0.0, 0.9, 0.0],
        [0.0, 0.0, 3.0],
        [43.1, -58.7, -31.5],
    )
}

/// 0.9 x 0.9 x 3 mm, the canonical orientation of the model pipeline.
pub fn ras() -> Affine {
    affine(
        [0.9, 0.0, 0.0],
        [0.0, 0.9, 0.0],
        [0.0, 0.0, 3.0],
        [-43.1, -58.7, -31.5],
    )
}

/// 0.9 x 0.9 x 3 mm stored as DICOM stores axial images (positive determinant).
pub fn lps() -> Affine {
    affine(
        [-0.9, 0.0, 0.0],
        [0.0, -0.9, 0.0],
        [0.0, 0.0, 3.0],
        [43.1, 58.7, -31.5],
    )
}

/// An oblique grid (rotated 17 degrees about S, 9 about R) with a negative determinant.
pub fn oblique() -> Affine {
    let (a, b) = (17f64.to_radians(), 9f64.to_radians());
    let rz = |v: [f64; 3]| {
        [
            a.cos() * v[0] - a.sin() * v[1],
            a.sin() * v[0] + a.cos() * v[1],
            v[2],
        ]
    };
    let rx = |v: [f64; 3]| {
        [
            v[0],
            b.cos() * v[1] - b.sin() * v[2],
            b.sin() * v[1] + b.cos() * v[2],
        ]
    };
    let r = |v: [f64; 3]| rx(rz(v));
    affine(
        r([-0.9, 0.0, 0.0]),
        r([0.0, 0.9, 0.0]),
        r([0.0, 0.0, 3.0]),
        [12.0, -7.5, 20.25],
    )
}

/// Smooth asymmetric float intensities (any axis flip shows) with a little noise.
pub fn volume(shape: [usize; 3], affine: Affine, seed: u64) -> Volume<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let data = Array3::from_shape_fn((shape[0], shape[1], shape[2]), |(i, j, k)| {
        let (x, y, z) = (i as f32, j as f32, k as f32);
        120.0 + 2.3 * x - 0.7 * y + 0.05 * y * y + 9.1 * z + rng.random_range(-1.0..1.0)
    });
    Volume::new(data, affine)
}

/// Lesions a few mm across on `grid`: two ellipsoids and a ring (a disc with a hole).
pub fn lesions<T>(grid: &Volume<T>) -> Volume<u8> {
    let s = grid.shape();
    let c = |v: usize, n: usize, f: f64| v as f64 - f * (n as f64 - 1.0);
    let data = Array3::from_shape_fn((s[0], s[1], s[2]), |(i, j, k)| {
        let e1 = {
            let (x, y, z) = (c(i, s[0], 0.25), c(j, s[1], 0.3), c(k, s[2], 0.5));
            (x / 3.2).powi(2) + (y / 2.4).powi(2) + (z / 1.2).powi(2) <= 1.0
        };
        let e2 = {
            let (x, y, z) = (c(i, s[0], 0.7), c(j, s[1], 0.25), c(k, s[2], 0.3));
            (x / 1.6).powi(2) + (y / 2.1).powi(2) + (z / 0.8).powi(2) <= 1.0
        };
        let ring = {
            let (x, y, z) = (c(i, s[0], 0.55), c(j, s[1], 0.7), c(k, s[2], 0.65));
            let r2 = x * x + y * y;
            z.abs() <= 1.0 && (3.0..=16.0).contains(&r2)
        };
        u8::from(e1 || e2 || ring)
    });
    Volume::new(data, grid.affine)
}

pub fn dice(a: &Volume<u8>, b: &Volume<u8>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let (mut inter, mut sa, mut sb) = (0usize, 0usize, 0usize);
    for (x, y) in a.data.iter().zip(b.data.iter()) {
        let (x, y) = (*x != 0, *y != 0);
        inter += usize::from(x && y);
        sa += usize::from(x);
        sb += usize::from(y);
    }
    if sa + sb == 0 {
        1.0
    } else {
        2.0 * inter as f64 / (sa + sb) as f64
    }
}

pub fn max_affine_diff(a: &Affine, b: &Affine) -> f64 {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

pub fn max_voxel_diff(a: &Volume<f32>, b: &Volume<f32>) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.data
        .iter()
        .zip(b.data.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The quantisation bound of our writer for float data: half a step of the uint16 range.
pub fn rescale_tolerance(v: &Volume<f32>) -> f32 {
    let (lo, hi) = v
        .data
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), x| {
            (l.min(*x), h.max(*x))
        });
    (hi - lo) / 65534.0 / 2.0 * 1.001 + 1e-4 * hi.abs().max(lo.abs())
}

pub fn dcm_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    v.sort();
    v
}

/// Opens a DICOM file, lets `f` change its data set, and writes it back with the same meta.
pub fn edit(path: &Path, f: impl FnOnce(&mut InMemDicomObject)) {
    let mut obj = dicom_object::open_file(path).expect("open");
    f(&mut obj);
    obj.write_to_file(path).expect("write");
}

/// A 40 x 36 x 11 series on `affine` written to `dir` with fixed UIDs, read back: its grid and
/// reference.
pub fn series_on(affine: Affine, dir: &Path) -> (Volume<f32>, mtsa_dicom::SeriesRef) {
    let vol = volume([40, 36, 11], affine, 1);
    let meta = mtsa_dicom::SeriesMeta {
        uids: mtsa_dicom::UidSource::Seeded(5),
        ..mtsa_dicom::SeriesMeta::default()
    };
    mtsa_dicom::write_series(dir, &vol, &meta).expect("write");
    mtsa_dicom::read_series(dir, None).expect("read")
}

/// Writes `mask` as the Segmentation `path` of `series`, segment "GTV", with fixed UIDs.
pub fn write_test_seg(path: &Path, mask: &Volume<u8>, series: &mtsa_dicom::SeriesRef) {
    let algorithm = mtsa_dicom::SegAlgorithm {
        name: "test".into(),
        version: "1".into(),
    };
    mtsa_dicom::write_seg(
        path,
        mask,
        series,
        "GTV",
        &algorithm,
        mtsa_dicom::UidSource::Seeded(4),
    )
    .expect("write seg");
}
