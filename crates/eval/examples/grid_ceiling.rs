//! The ceiling a network's grid puts on whole-scan scores: every test patient's true GTV taken
//! onto the network's grid as training sees it (`resample_mask`), restored onto the scan's own
//! grid as `predict` restores a prediction, and scored like a prediction. A network can at best
//! reproduce its training masks, so no model at this input size can beat these numbers.
//!
//! `cargo run --release -p mtsa-eval --example grid_ceiling -- DATASET SIZE...`
//! (for example `demo-out/dataset 128 192 256`; the field of view is the dataset's).

use mtsa_data::{preprocess_image, read_info, read_patient, resample_mask, restore_probabilities};
use mtsa_metrics::{segmentation_metrics_3d, SizeBin, SurfaceOptions};
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
            let (mut dice, mut n) = (0.0, 0usize);
            let mut bins = [(0usize, 0usize); 5];
            for p in info.patients.iter().filter(|p| p.split == split) {
                let (image, gt) = read_patient(&info, &p.id)?;
                let (_, geom) = preprocess_image(&image, None, &cfg)?;
                let on_grid = resample_mask(&gt, &geom).mapv(f32::from);
                let back = restore_probabilities(&on_grid, &geom);
                let pred = back.data.mapv(|v| v > 0.5);
                let truth = gt.data.mapv(|v| v != 0);
                let m = segmentation_metrics_3d(
                    pred.view(),
                    truth.view(),
                    gt.spacing(),
                    &SurfaceOptions::default(),
                )?;
                dice += m.dice;
                n += 1;
                for g in m.lesions.iter().flat_map(|l| &l.gt).filter(|g| g.counted) {
                    bins[g.size_bin.index()].0 += 1;
                    bins[g.size_bin.index()].1 += usize::from(g.detected);
                }
            }
            let sum = |sel: &dyn Fn(SizeBin) -> bool| {
                SizeBin::ALL
                    .iter()
                    .zip(&bins)
                    .filter(|(b, _)| sel(**b))
                    .fold((0, 0), |a, (_, c)| (a.0 + c.0, a.1 + c.1))
            };
            let ratio = |(t, d): (usize, usize)| d as f64 / t.max(1) as f64;
            let per_bin: Vec<String> = bins.iter().map(|&(t, d)| format!("{d}/{t}")).collect();
            println!(
                "{size:>4}  {:>5.2}  {split:<16} {n:>8}  {:>8.3}  {:>7}  {:.2}  {:>5.2}  {:>6.2}  {}",
                cfg.fov_mm / size as f64,
                dice / n.max(1) as f64,
                sum(&|_| true).0,
                ratio(sum(&|_| true)),
                ratio(sum(&|b| b.is_small())),
                ratio(sum(&|b| !b.is_small())),
                per_bin.join(" ")
            );
        }
    }
    Ok(())
}
