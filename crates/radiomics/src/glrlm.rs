//! Grey Level Run Length Matrix features (IBSI chapter 3.7; PyRadiomics `glrlm.py`).
//! One matrix per direction (13 in 3-D); a run is a maximal set of consecutive ROI voxels of one
//! grey level along a line, broken by voxels outside the ROI. As in PyRadiomics a direction in
//! which no line holds more than one ROI voxel is dropped, as are directions without runs, and
//! features are averaged over directions with `nanmean`.

use crate::angles::directions;
use crate::binning::Levels;
use crate::glcm::step;
use crate::stats::{nan_mean, EPS};
use crate::texture::Emphasis;

const NAMES: [&str; 16] = [
    "GrayLevelNonUniformity",
    "GrayLevelNonUniformityNormalized",
    "GrayLevelVariance",
    "HighGrayLevelRunEmphasis",
    "LongRunEmphasis",
    "LongRunHighGrayLevelEmphasis",
    "LongRunLowGrayLevelEmphasis",
    "LowGrayLevelRunEmphasis",
    "RunEntropy",
    "RunLengthNonUniformity",
    "RunLengthNonUniformityNormalized",
    "RunPercentage",
    "RunVariance",
    "ShortRunEmphasis",
    "ShortRunHighGrayLevelEmphasis",
    "ShortRunLowGrayLevelEmphasis",
];

pub(crate) fn features(levels: &Levels) -> Vec<(&'static str, f64)> {
    let g: Vec<f64> = levels.present.iter().map(|l| f64::from(*l)).collect();
    let per_direction: Vec<[f64; 16]> = directions(levels.dims, false)
        .into_iter()
        .filter_map(|d| run_matrix(levels, d))
        .map(|m| direction_features(&Emphasis::new(&m, &g)))
        .collect();
    NAMES
        .iter()
        .enumerate()
        .map(|(f, name)| (*name, nan_mean(per_direction.iter().map(|v| v[f]))))
        .collect()
}

/// Run counts `[grey-level rank][run length - 1]` along direction `d`, or `None` if PyRadiomics
/// drops the direction.
fn run_matrix(levels: &Levels, d: [isize; 3]) -> Option<Vec<Vec<f64>>> {
    let rank = levels.rank();
    let dims = levels.dims;
    let longest = *dims.iter().max().unwrap_or(&1);
    let mut m = vec![vec![0.0; longest]; levels.present.len()];
    let mut multi_element = false;
    let back = [-d[0], -d[1], -d[2]];
    for z in 0..dims[0] {
        for y in 0..dims[1] {
            for x in 0..dims[2] {
                let is_start = step(z, back[0], dims[0]).is_none()
                    || step(y, back[1], dims[1]).is_none()
                    || step(x, back[2], dims[2]).is_none();
                if !is_start {
                    continue;
                }
                let (mut p, mut run, mut elements) = ([z, y, x], (0u32, 0usize), 0);
                loop {
                    let l = levels.levels[(p[0] * dims[1] + p[1]) * dims[2] + p[2]];
                    if l > 0 {
                        elements += 1;
                    }
                    if l != run.0 {
                        if run.0 > 0 {
                            m[rank[run.0 as usize]][run.1 - 1] += 1.0;
                        }
                        run = (l, 0);
                    }
                    run.1 += 1;
                    let next = (
                        step(p[0], d[0], dims[0]),
                        step(p[1], d[1], dims[1]),
                        step(p[2], d[2], dims[2]),
                    );
                    match next {
                        (Some(a), Some(b), Some(c)) => p = [a, b, c],
                        _ => break,
                    }
                }
                if run.0 > 0 {
                    m[rank[run.0 as usize]][run.1 - 1] += 1.0;
                }
                multi_element |= elements > 1;
            }
        }
    }
    let total: f64 = m.iter().flatten().sum();
    (multi_element && total > 0.0).then_some(m)
}

fn direction_features(e: &Emphasis) -> [f64; 16] {
    // Voxels covered by runs in this direction (PyRadiomics `Np` per angle).
    let np: f64 = e
        .by_size
        .iter()
        .enumerate()
        .map(|(j, c)| (j + 1) as f64 * c)
        .sum();
    [
        e.grey_nonuniformity(),
        e.grey_nonuniformity() / e.total,
        e.grey_variance(),
        e.weighted(|i, _| i * i),
        e.weighted(|_, j| j * j),
        e.weighted(|i, j| i * i * j * j),
        e.weighted(|i, j| j * j / (i * i)),
        e.weighted(|i, _| 1.0 / (i * i)),
        e.entropy(EPS),
        e.size_nonuniformity(),
        e.size_nonuniformity() / e.total,
        e.total / np,
        e.size_variance(),
        e.weighted(|_, j| 1.0 / (j * j)),
        e.weighted(|i, j| i * i / (j * j)),
        e.weighted(|i, j| 1.0 / (i * i * j * j)),
    ]
}
