//! The ceiling a network's grid puts on whole-scan scores: every test patient's true GTV taken
//! onto the network's grid as training sees it (`resample_mask`), restored onto the scan's own
//! grid as `predict` restores a prediction, and scored like a prediction. A network can at best
//! reproduce its training masks, so no model at this input size can beat these numbers.
//!
//! `cargo run --release -p mtsa-eval --example grid_ceiling -- DATASET SIZE...`
//! (for example `demo-out/dataset 128 192 256`; the field of view is the dataset's).

use mtsa_data::{preprocess_image, read_info, read_patient, resample_mask, restore_probabilities};
use mtsa_eval::{score_case, DetectionSummary};
use mtsa_metrics::SurfaceOptions;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let data = PathBuf::from(args.next().ok_or("usage: grid_ceiling DATASET SIZE...")?);
    let sizes: Vec<usize> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    let info = read_info(&data)?;
    println!(
        "size  px mm  split            patients  3-D Dice  lesions  sens  <6 mm  >=6 mm  \
         detected per bin (<3, 3-6, 6-10, 10-20, >=20 mm)"
    );
    for &size in &sizes {
        let mut cfg = info.preprocess.clone();
        cfg.size = size;
        for split in ["test", "external-site-b", "external-site-c"] {
            let mut cases = Vec::new();
            for p in info.patients.iter().filter(|p| p.split == split) {
                let (image, gt) = read_patient(&info, &p.id)?;
                let (_, geom) = preprocess_image(&image, None, &cfg)?;
                let on_grid = resample_mask(&gt, &geom).mapv(f32::from);
                let back = restore_probabilities(&on_grid, &geom);
                let pred = back.data.mapv(|v| v > 0.5);
                let truth = gt.data.mapv(|v| v != 0);
                cases.push(score_case(
                    pred.view(),
                    truth.view(),
                    gt.spacing(),
                    &SurfaceOptions::default(),
                    split,
                    &p.id,
                )?);
            }
            // Scored and summarised as `evaluate` scores a prediction.
            let d = DetectionSummary::of(&cases);
            let per_bin: Vec<String> = d
                .by_size
                .iter()
                .map(|b| format!("{}/{}", b.detected, b.lesions))
                .collect();
            println!(
                "{size:>4}  {:>5.2}  {split:<16} {:>8}  {:>8.3}  {:>7}  {:.2}  {:>5.2}  {:>6.2}  {}",
                cfg.fov_mm / size as f64,
                cases.len(),
                d.dice.map_or(0.0, |m| m.mean),
                d.lesions,
                d.lesion_sensitivity.unwrap_or(0.0),
                d.sensitivity_under_6mm.unwrap_or(0.0),
                d.sensitivity_6mm_and_over.unwrap_or(0.0),
                per_bin.join(" ")
            );
        }
    }
    Ok(())
}
