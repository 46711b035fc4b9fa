//! Neighbouring Grey Tone Difference Matrix features (IBSI chapter 3.11; PyRadiomics
//! `ngtdm.py`). For each ROI voxel, `s` adds `|i - mean of its ROI neighbours|` (26-neighbourhood
//! at distance 1); as in PyRadiomics, a voxel without ROI neighbours still counts in `n_i` and
//! `Nvp` with a difference of 0 (IBSI excludes such voxels).

use crate::angles::directions;
use crate::binning::Levels;
use crate::glcm::step;

pub(crate) fn features(levels: &Levels) -> Vec<(&'static str, f64)> {
    let rank = levels.rank();
    let dims = levels.dims;
    let dirs = directions(dims, true);
    let n_levels = levels.present.len();
    let (mut count, mut s) = (vec![0.0; n_levels], vec![0.0; n_levels]);
    for z in 0..dims[0] {
        for y in 0..dims[1] {
            for x in 0..dims[2] {
                let gl = levels.levels[(z * dims[1] + y) * dims[2] + x];
                if gl == 0 {
                    continue;
                }
                let (mut n, mut sum) = (0.0, 0.0);
                for d in &dirs {
                    let (Some(a), Some(b), Some(c)) = (
                        step(z, d[0], dims[0]),
                        step(y, d[1], dims[1]),
                        step(x, d[2], dims[2]),
                    ) else {
                        continue;
                    };
                    let l = levels.levels[(a * dims[1] + b) * dims[2] + c];
                    if l > 0 {
                        n += 1.0;
                        sum += f64::from(l);
                    }
                }
                let diff = if n == 0.0 {
                    0.0
                } else {
                    (f64::from(gl) - sum / n).abs()
                };
                count[rank[gl as usize]] += 1.0;
                s[rank[gl as usize]] += diff;
            }
        }
    }
    let g: Vec<f64> = levels.present.iter().map(|l| f64::from(*l)).collect();
    let nvp: f64 = count.iter().sum();
    let p: Vec<f64> = count.iter().map(|c| c / nvp).collect();
    let ngp = n_levels as f64;
    let sum_s: f64 = s.iter().sum();
    let ps: f64 = p.iter().zip(&s).map(|(p, s)| p * s).sum();
    let pairs = |f: &dyn Fn(usize, usize) -> f64| -> f64 {
        (0..n_levels)
            .flat_map(|i| (0..n_levels).map(move |j| (i, j)))
            .map(|(i, j)| f(i, j))
            .sum()
    };
    let contrast_div = ngp * (ngp - 1.0);
    let contrast = if contrast_div == 0.0 {
        0.0
    } else {
        pairs(&|i, j| p[i] * p[j] * (g[i] - g[j]).powi(2)) * sum_s / nvp / contrast_div
    };
    let busy_div = pairs(&|i, j| (g[i] * p[i] - g[j] * p[j]).abs());
    let strength_num = pairs(&|i, j| (p[i] + p[j]) * (g[i] - g[j]).powi(2));
    vec![
        (
            "Busyness",
            if busy_div == 0.0 { 0.0 } else { ps / busy_div },
        ),
        ("Coarseness", if ps == 0.0 { 1e6 } else { 1.0 / ps }),
        (
            "Complexity",
            pairs(&|i, j| (g[i] - g[j]).abs() * (p[i] * s[i] + p[j] * s[j]) / (p[i] + p[j])) / nvp,
        ),
        ("Contrast", contrast),
        (
            "Strength",
            if sum_s == 0.0 {
                0.0
            } else {
                strength_num / sum_s
            },
        ),
    ]
}
