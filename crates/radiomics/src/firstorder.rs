//! First-order statistics (IBSI chapter 3.3 "Intensity-based statistical features";
//! PyRadiomics `firstorder.py`). As in PyRadiomics they use the ROI's original intensities,
//! except Entropy and Uniformity, which use the discretised grey levels; `voxelArrayShift` is 0,
//! moments are population moments, and percentiles use NumPy's linear interpolation.

use crate::binning::Levels;
use crate::grid::Grid;
use crate::stats::{entropy, percentile};

pub(crate) fn features(grid: &Grid, levels: &Levels) -> Vec<(&'static str, f64)> {
    let x = grid.roi_values();
    let n = x.len() as f64;
    let mut sorted = x.clone();
    sorted.sort_by(f64::total_cmp);
    let mean = x.iter().sum::<f64>() / n;
    let moment = |k: i32| x.iter().map(|v| (v - mean).powi(k)).sum::<f64>() / n;
    let (m2, m3, m4) = (moment(2), moment(3), moment(4));
    let energy: f64 = x.iter().map(|v| v * v).sum();
    let p10 = percentile(&sorted, 10.0);
    let p90 = percentile(&sorted, 90.0);
    let robust: Vec<f64> = x
        .iter()
        .copied()
        .filter(|v| *v >= p10 && *v <= p90)
        .collect();
    let robust_mean = robust.iter().sum::<f64>() / robust.len() as f64;
    let p = grey_level_probabilities(levels);
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    // PyRadiomics: a zero second moment gives Skewness and Kurtosis 0.
    let m2_safe = if m2 == 0.0 { 1.0 } else { m2 };
    vec![
        ("10Percentile", p10),
        ("90Percentile", p90),
        ("Energy", energy),
        ("Entropy", entropy(p.iter().copied())),
        (
            "InterquartileRange",
            percentile(&sorted, 75.0) - percentile(&sorted, 25.0),
        ),
        ("Kurtosis", m4 / m2_safe.powi(2)),
        ("Maximum", max),
        ("Mean", mean),
        (
            "MeanAbsoluteDeviation",
            x.iter().map(|v| (v - mean).abs()).sum::<f64>() / n,
        ),
        ("Median", percentile(&sorted, 50.0)),
        ("Minimum", min),
        ("Range", max - min),
        (
            "RobustMeanAbsoluteDeviation",
            robust.iter().map(|v| (v - robust_mean).abs()).sum::<f64>() / robust.len() as f64,
        ),
        ("RootMeanSquared", (energy / n).sqrt()),
        ("Skewness", m3 / m2_safe.powf(1.5)),
        ("TotalEnergy", energy * grid.spacing.iter().product::<f64>()),
        ("Uniformity", p.iter().map(|p| p * p).sum()),
        ("Variance", m2),
    ]
}

/// Fraction of ROI voxels in each occurring grey level.
fn grey_level_probabilities(levels: &Levels) -> Vec<f64> {
    let mut counts = vec![0usize; levels.ng as usize + 1];
    for l in levels.levels.iter().filter(|l| **l > 0) {
        counts[*l as usize] += 1;
    }
    let total: usize = counts.iter().sum();
    counts
        .into_iter()
        .filter(|c| *c > 0)
        .map(|c| c as f64 / total as f64)
        .collect()
}
