//! HD95 timing on 240 x 240 x 155 volume pairs (the BraTS grid).
//!
//! Run with `cargo bench -p mtsa-metrics --bench hd95`. A plain `main` (no harness):
//! each case runs a few iterations and prints the median wall time.

use std::time::{Duration, Instant};

use mtsa_metrics::{segmentation_metrics_3d, surface_distances_3d, Hd95Convention, SurfaceOptions};
use ndarray::Array3;

const DIMS: (usize, usize, usize) = (240, 240, 155);
const SPACING: [f64; 3] = [0.9, 0.9, 1.5];

/// Union of ellipsoids `(centre, radii)` in voxel units.
fn ellipsoids(shapes: &[([f64; 3], [f64; 3])]) -> Array3<bool> {
    Array3::from_shape_fn(DIMS, |(a, b, c)| {
        shapes.iter().any(|(ctr, r)| {
            let d = ((a as f64 - ctr[0]) / r[0]).powi(2)
                + ((b as f64 - ctr[1]) / r[1]).powi(2)
                + ((c as f64 - ctr[2]) / r[2]).powi(2);
            d <= 1.0
        })
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<F: FnMut() -> f64>(label: &str, iters: usize, mut f: F) {
    let mut times = Vec::with_capacity(iters);
    let mut last = 0.0;
    for _ in 0..iters {
        let t = Instant::now();
        last = f();
        times.push(t.elapsed());
    }
    println!(
        "{label:<48} median {:>9.1} ms over {iters} runs (value {last:.3})",
        median(times).as_secs_f64() * 1e3
    );
}

fn main() {
    let opts = SurfaceOptions::default();
    let cases = [
        (
            "large (brain-sized ellipsoids)",
            ellipsoids(&[([120.0, 120.0, 77.0], [95.0, 80.0, 60.0])]),
            ellipsoids(&[([123.0, 118.0, 79.0], [90.0, 84.0, 58.0])]),
        ),
        (
            "metastases (5 small lesions, 1 FP)",
            ellipsoids(&[
                ([60.0, 70.0, 40.0], [8.0, 7.0, 5.0]),
                ([150.0, 90.0, 100.0], [4.0, 4.0, 3.0]),
                ([180.0, 180.0, 60.0], [12.0, 10.0, 8.0]),
                ([100.0, 200.0, 120.0], [2.0, 2.0, 2.0]),
                ([30.0, 40.0, 140.0], [6.0, 6.0, 4.0]),
            ]),
            ellipsoids(&[
                ([61.0, 70.0, 41.0], [8.0, 8.0, 5.0]),
                ([150.0, 91.0, 100.0], [3.0, 4.0, 3.0]),
                ([179.0, 181.0, 60.0], [11.0, 10.0, 9.0]),
                ([30.0, 40.0, 140.0], [6.0, 5.0, 4.0]),
                ([200.0, 30.0, 20.0], [3.0, 3.0, 2.0]),
            ]),
        ),
    ];
    for (name, pred, gt) in &cases {
        time(&format!("HD95 {name}"), 7, || {
            surface_distances_3d(pred.view(), gt.view(), SPACING)
                .ok()
                .and_then(|sd| sd.percentile_distance(95.0, Hd95Convention::MaxOfDirected))
                .unwrap_or(f64::NAN)
        });
        time(&format!("all metrics {name}"), 5, || {
            segmentation_metrics_3d(pred.view(), gt.view(), SPACING, &opts)
                .map(|m| m.hd95_mm)
                .unwrap_or(f64::NAN)
        });
    }
}
