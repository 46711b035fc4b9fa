//! Small synthetic cohorts for the tests: an ellipsoidal "brain" with a smooth intensity
//! pattern and a cube lesion, written with mtsa_io so every test exercises the real NIfTI path.
#![allow(dead_code)]

use mtsa_data::{prepare, PrepareConfig};
use mtsa_io::{diagonal_affine, write_nifti, Affine, Volume};
use ndarray::Array3;
use std::path::{Path, PathBuf};

pub const SHAPE: [usize; 3] = [32, 32, 8];

/// Brain image and lesion mask on a RAS diagonal grid. `lesion` = (centre, half-width) in voxels.
pub fn phantom(
    shape: [usize; 3],
    spacing: [f64; 3],
    lesion: ([usize; 3], usize),
    seed: u64,
) -> (Volume<f32>, Volume<u8>) {
    let affine = diagonal_affine(spacing, [-(shape[0] as f64) / 2.0, -20.0, -10.0]);
    let (c, h) = lesion;
    let mut img = Array3::<f32>::zeros(shape);
    let mut mask = Array3::<u8>::zeros(shape);
    let centre = shape.map(|n| (n as f64 - 1.0) / 2.0);
    for ((i, j, k), v) in img.indexed_iter_mut() {
        let d: f64 = [i, j, k]
            .iter()
            .zip(centre)
            .zip(shape)
            .map(|((&x, c), n)| ((x as f64 - c) / (n as f64 * 0.45)).powi(2))
            .sum();
        if d <= 1.0 {
            *v = 100.0 + ((i * 7 + j * 3 + k * 5 + seed as usize) % 17) as f32;
        }
    }
    for ((i, j, k), m) in mask.indexed_iter_mut() {
        if i.abs_diff(c[0]) <= h && j.abs_diff(c[1]) <= h && k.abs_diff(c[2]) <= h {
            *m = 1;
            img[[i, j, k]] = 200.0;
        }
    }
    (Volume::new(img, affine), Volume::new(mask, affine))
}

pub fn small_case(seed: u64) -> (Volume<f32>, Volume<u8>) {
    let c = [10 + (seed as usize % 10), 12, 4];
    phantom(SHAPE, [1.0, 1.0, 3.0], (c, 3), seed)
}

/// Writes a cohort in our layout with `n` patients `p000..`; returns the cohort path.
/// `rows` gives each patient's (egfr, date, site) clinical cells.
pub fn our_cohort(
    root: &Path,
    n: usize,
    row: impl Fn(usize) -> (String, String, String),
) -> PathBuf {
    let dir = root.join("cohort");
    let mut csv = String::from("patient_id,egfr,diagnosis_date,site,age\n");
    for i in 0..n {
        let id = format!("p{i:03}");
        let (img, mask) = small_case(i as u64);
        write_nifti(&dir.join("images").join(format!("{id}.nii.gz")), &img).unwrap();
        write_nifti(&dir.join("labels").join(format!("{id}.nii.gz")), &mask).unwrap();
        let (egfr, date, site) = row(i);
        csv.push_str(&format!("{id},{egfr},{date},{site},{}\n", 50 + i));
    }
    std::fs::write(dir.join("clinical.csv"), csv).unwrap();
    dir
}

/// Clinical cells for a simple all-internal cohort: alternating EGFR, dates before the cutoff
/// except every fourth patient.
pub fn default_row(i: usize) -> (String, String, String) {
    let egfr = if i & 1 == 0 { "mutant" } else { "wild" };
    let date = if i % 4 == 3 {
        "2021-09-01"
    } else {
        "2020-03-15"
    };
    (egfr.into(), date.into(), "internal".into())
}

/// The affine of the same grid stored LPS (i and j reversed): what BRATS files look like.
pub fn to_lps<T: Clone>(vol: &Volume<T>) -> Volume<T> {
    let [nx, ny, _] = vol.shape();
    let mut data = vol.data.clone();
    data.invert_axis(ndarray::Axis(0));
    data.invert_axis(ndarray::Axis(1));
    let a = vol.affine;
    let mut b: Affine = a;
    for r in 0..3 {
        b[r][0] = -a[r][0];
        b[r][1] = -a[r][1];
        b[r][3] = a[r][3] + a[r][0] * (nx as f64 - 1.0) + a[r][1] * (ny as f64 - 1.0);
    }
    Volume::new(data.as_standard_layout().into_owned(), b)
}

/// Dice of two masks; two empty masks agree perfectly (the metrics crate's policy).
pub fn dice(a: impl Iterator<Item = bool>, b: impl Iterator<Item = bool>) -> f64 {
    let (mut inter, mut na, mut nb) = (0usize, 0usize, 0usize);
    for (x, y) in a.zip(b) {
        inter += (x && y) as usize;
        na += x as usize;
        nb += y as usize;
    }
    if na + nb == 0 {
        return 1.0;
    }
    2.0 * inter as f64 / (na + nb) as f64
}

/// Path of the shared BRATS cases, relative to this crate; None (with a note) when absent.
pub fn brats_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/brats2013-glioma");
    if dir.join("brats_2013_pat0001_1").is_dir() {
        Some(dir)
    } else {
        eprintln!("note: {} not found; BRATS test skipped", dir.display());
        None
    }
}

/// The small prepare config the error tests share.
pub fn cfg() -> PrepareConfig {
    PrepareConfig {
        size: 32,
        val_patients: 1,
        ..Default::default()
    }
}

/// Runs prepare expecting failure; checks the message and that nothing was left in `root`
/// except the cohort itself.
pub fn expect_err(root: &Path, cohort: &Path, cfg: &PrepareConfig, needles: &[&str]) -> String {
    let out = root.join("dataset");
    let err = prepare(cohort, &out, cfg, &|_, _| {}).expect_err("prepare should fail");
    let msg = err.to_string();
    eprintln!("error: {msg}");
    assert!(!msg.contains('\n'), "multi-line error: {msg}");
    for n in needles {
        assert!(msg.contains(n), "error {msg:?} lacks {n:?}");
    }
    assert!(!out.exists(), "dataset left behind after: {msg}");
    let leftovers: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "cohort" && n != "splits.json")
        .collect();
    assert!(
        leftovers.is_empty(),
        "left behind {leftovers:?} after: {msg}"
    );
    msg
}
