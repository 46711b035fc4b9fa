//! `prepare` timing on 40 patients of 160 x 180 x 100 voxels (uncompressed NIfTI, 256^2 slices).
//!
//! Run with `cargo bench -p mtsa-data --bench prepare`. A plain `main` (no harness): the cohort
//! is written once (about 0.9 GB in a temporary folder), then prepared a few times into fresh
//! folders; the median wall time is printed. Quote it with the CPU (`lscpu`) beside it.

#[path = "../tests/common/mod.rs"]
mod common;

use common::phantom;
use mtsa_data::{prepare, PrepareConfig};
use mtsa_io::write_nifti;
use std::time::{Duration, Instant};

const PATIENTS: usize = 40;
const RUNS: usize = 3;

fn main() {
    let t = tempfile::tempdir().expect("temporary folder");
    let cohort = t.path().join("cohort");
    let mut csv = String::from("patient_id,egfr,diagnosis_date,site\n");
    for i in 0..PATIENTS {
        let lesion = ([60 + i % 40, 90, 50], 8);
        let (img, mask) = phantom([160, 180, 100], [1.2, 1.2, 1.5], lesion, i as u64);
        write_nifti(&cohort.join(format!("images/p{i:02}.nii")), &img).expect("image");
        write_nifti(&cohort.join(format!("labels/p{i:02}.nii")), &mask).expect("label");
        let date = if i % 5 == 0 {
            "2022-01-01"
        } else {
            "2019-06-30"
        };
        csv.push_str(&format!("p{i:02},{},{date},internal\n", i % 2));
    }
    std::fs::write(cohort.join("clinical.csv"), csv).expect("clinical table");
    let cfg = PrepareConfig {
        size: 256,
        fov_mm: 240.0,
        val_patients: 10,
        ..Default::default()
    };
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|run| {
            let out = t.path().join(format!("ds{run}"));
            let start = Instant::now();
            prepare(&cohort, &out, &cfg, &|_, _| {}).expect("prepare");
            let took = start.elapsed();
            std::fs::remove_dir_all(&out).expect("clean up");
            took
        })
        .collect();
    times.sort();
    println!(
        "prepare: {PATIENTS} patients x 100 slices -> 256^2: median {:.2} s over {RUNS} runs",
        times[RUNS / 2].as_secs_f64()
    );
}
