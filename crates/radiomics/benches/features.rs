//! Time to compute all 107 features of one patient: the BRATS tumour cores at 1 mm (from
//! `../shared/data`, skipped if absent) and a synthetic lesion.
//!
//! Run with `cargo bench -p mtsa-radiomics --bench features` on a quiet machine. A plain `main`
//! (no harness, as the other benches here): each case runs 5 times and prints the median.
//! PyRadiomics on the same masks: `bench/radiomics_vs_pyradiomics.py`.

use std::path::Path;
use std::time::{Duration, Instant};

use mtsa_io::{read_nifti, read_nifti_labels, Volume};
use mtsa_radiomics::{extract, Binning, Settings};

const RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(name: &str, image: &Volume<f32>, mask: &Volume<u16>, settings: &Settings) {
    let runs: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let f = extract(image, mask, settings).expect("features");
            assert_eq!(f.0.len(), 107);
            start.elapsed()
        })
        .collect();
    let voxels = mask.data.iter().filter(|v| **v == 1).count();
    println!("{name:<24} {voxels:>7} voxels  median {:?}", median(runs));
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let syn = root.join("fixtures/synthetic");
    let image = read_nifti(&syn.join("ellipsoid_image.nii.gz")).expect("fixture");
    let mask = read_nifti_labels(&syn.join("ellipsoid_mask.nii.gz")).expect("fixture");
    time("synthetic ellipsoid", &image, &mask, &Settings::default());
    let brats = root.join("../../../shared/data/brats2013-glioma");
    if !brats.is_dir() {
        println!("{} not found: BRATS cases skipped", brats.display());
        return;
    }
    let settings = Settings {
        binning: Binning::Width(0.25),
        ..Settings::default()
    };
    for case in 1..=6 {
        let dir = brats.join(format!("brats_2013_pat000{case}_1"));
        let image = read_nifti(&dir.join("T1c_subtrMeanDivStd.nii.gz")).expect("BRATS image");
        let mask = read_nifti_labels(&dir.join("OTMultiClass.nii.gz"))
            .expect("BRATS labels")
            .map(|l| u16::from([1, 3, 4].contains(l)));
        time(
            &format!("brats pat000{case} core"),
            &image,
            &mask,
            &settings,
        );
    }
}
