//! The data half of the shared test fixtures: a tiny hand-written cohort (NIfTI volumes +
//! clinical.csv), its prepared dataset and the micro model config. Nothing here trains, so the
//! eval tests include this file alone (`#[path = "../../train/tests/common/cohort.rs"]`) and need
//! no dependency on mtsa-train; `mod.rs` re-exports it for the train and cli tests.
#![allow(dead_code)]

use mtsa_data::PrepareConfig;
use mtsa_io::{diagonal_affine, write_nifti, Volume};
use mtsa_model::MtsaConfig;
use ndarray::Array3;
use std::path::{Path, PathBuf};

/// Slice side of the prepared fixture (the smallest the 5-level network accepts).
pub const SIZE: usize = 64;
/// In-plane field of view of the fixture: the 64 x 64 x 2 mm volumes fill most of it.
pub const FOV_MM: f64 = 140.0;
/// Voxels of each fixture volume.
pub const SHAPE: [usize; 3] = [64, 64, 6];
pub const SPACING: [f64; 3] = [2.0, 2.0, 2.0];

/// One patient: an ellipsoidal textured "brain" and a bright disc lesion on axial slices 1..=4,
/// placed by `i`; RAS, diagonal affine.
pub fn patient(i: usize) -> (Volume<f32>, Volume<u8>) {
    let affine = diagonal_affine(SPACING, [-64.0, -64.0, -6.0]);
    let mut img = Array3::<f32>::zeros(SHAPE);
    let mut mask = Array3::<u8>::zeros(SHAPE);
    let (cx, cy) = (24.0 + 3.0 * (i % 5) as f64, 28.0 + 2.0 * (i % 3) as f64);
    let bright = if i & 1 == 0 { 260.0 } else { 200.0 };
    for ((x, y, z), v) in img.indexed_iter_mut() {
        let d = ((x as f64 - 31.5) / 27.0).powi(2) + ((y as f64 - 31.5) / 23.0).powi(2);
        if d <= 1.0 {
            *v = 90.0 + ((x * 7 + y * 3 + z * 5 + i) % 17) as f32;
        }
        let r = match z {
            1 | 4 => 3.0,
            2 | 3 => 5.0,
            _ => continue,
        };
        if (x as f64 - cx).powi(2) + (y as f64 - cy).powi(2) <= r * r {
            *v = bright;
            mask[[x, y, z]] = 1;
        }
    }
    (Volume::new(img, affine), Volume::new(mask, affine))
}

/// Writes `n` patients `p000..` in our layout (images/, labels/, clinical.csv) under
/// `root/cohort`: alternating EGFR, every diagnosis before the default cutoff.
pub fn write_cohort(root: &Path, n: usize) -> PathBuf {
    let dir = root.join("cohort");
    let mut csv = String::from("patient_id,egfr,diagnosis_date,site\n");
    for i in 0..n {
        let id = format!("p{i:03}");
        let (img, mask) = patient(i);
        write_nifti(&dir.join("images").join(format!("{id}.nii.gz")), &img).unwrap();
        write_nifti(&dir.join("labels").join(format!("{id}.nii.gz")), &mask).unwrap();
        let egfr = if i & 1 == 0 { "mutant" } else { "wild" };
        csv.push_str(&format!("{id},{egfr},2020-0{}-15,internal\n", 1 + i % 9));
    }
    std::fs::write(dir.join("clinical.csv"), csv).unwrap();
    dir
}

/// Preparation settings of the fixture: 64 px slices, two validation patients, no test split.
pub fn prepare_config() -> PrepareConfig {
    PrepareConfig {
        size: SIZE,
        fov_mm: FOV_MM,
        val_patients: 2,
        ..PrepareConfig::default()
    }
}

/// Writes a 6-patient cohort under `root` and prepares it into `root/data`; returns the dataset.
/// Also limits libtorch to one thread: the test harness already runs tests side by side, and
/// oversubscribed intra-op threads make the tiny networks several times slower.
pub fn prepared_dataset(root: &Path) -> PathBuf {
    tch::set_num_threads(1);
    let cohort = write_cohort(root, 6);
    let out = root.join("data");
    mtsa_data::prepare(&cohort, &out, &prepare_config(), &|_, _| {}).unwrap();
    out
}

/// The tiny preset shrunk to 64 px and 4 base channels: same architecture, a few seconds per
/// run on a CPU.
pub fn micro_model() -> MtsaConfig {
    let mut m = MtsaConfig::preset("tiny").unwrap();
    m.size = SIZE as i64;
    m.base_channels = 4;
    m.mlp_hidden = 16;
    m.preset = "micro".into();
    m.validate().unwrap();
    m
}
