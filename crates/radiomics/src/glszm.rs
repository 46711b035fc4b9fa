//! Grey Level Size Zone Matrix features (IBSI chapter 3.8; PyRadiomics `glszm.py`). A zone is a
//! 26-connected set of ROI voxels of one grey level (connectivity along the axes in which the ROI
//! is more than one voxel thick, as PyRadiomics' angles); one matrix for the whole ROI.

use std::collections::BTreeMap;

use crate::angles::directions;
use crate::binning::Levels;
use crate::glcm::step;
use crate::stats::EPS;
use crate::texture::Emphasis;

pub(crate) fn features(levels: &Levels) -> Vec<(&'static str, f64)> {
    let g: Vec<f64> = levels.present.iter().map(|l| f64::from(*l)).collect();
    let zones = zones(levels);
    let largest = zones.keys().map(|(_, s)| *s).max().unwrap_or(1);
    let e = Emphasis::from_entries(zones.into_iter().map(|((r, s), c)| (r, s, c)), &g, largest);
    let np = e
        .by_size
        .iter()
        .enumerate()
        .map(|(j, c)| (j + 1) as f64 * c)
        .sum::<f64>();
    vec![
        ("GrayLevelNonUniformity", e.grey_nonuniformity()),
        (
            "GrayLevelNonUniformityNormalized",
            e.grey_nonuniformity() / e.total,
        ),
        ("GrayLevelVariance", e.grey_variance()),
        ("HighGrayLevelZoneEmphasis", e.weighted(|i, _| i * i)),
        ("LargeAreaEmphasis", e.weighted(|_, j| j * j)),
        (
            "LargeAreaHighGrayLevelEmphasis",
            e.weighted(|i, j| i * i * j * j),
        ),
        (
            "LargeAreaLowGrayLevelEmphasis",
            e.weighted(|i, j| j * j / (i * i)),
        ),
        ("LowGrayLevelZoneEmphasis", e.weighted(|i, _| 1.0 / (i * i))),
        ("SizeZoneNonUniformity", e.size_nonuniformity()),
        (
            "SizeZoneNonUniformityNormalized",
            e.size_nonuniformity() / e.total,
        ),
        ("SmallAreaEmphasis", e.weighted(|_, j| 1.0 / (j * j))),
        (
            "SmallAreaHighGrayLevelEmphasis",
            e.weighted(|i, j| i * i / (j * j)),
        ),
        (
            "SmallAreaLowGrayLevelEmphasis",
            e.weighted(|i, j| 1.0 / (i * i * j * j)),
        ),
        ("ZoneEntropy", e.entropy(EPS)),
        ("ZonePercentage", e.total / np),
        ("ZoneVariance", e.size_variance()),
    ]
}

/// Number of zones per (grey-level rank, zone size), found by flood fill.
fn zones(levels: &Levels) -> BTreeMap<(usize, usize), f64> {
    let rank = levels.rank();
    let dims = levels.dims;
    let dirs = directions(dims, true);
    let mut done = vec![false; levels.levels.len()];
    let mut counts = BTreeMap::new();
    let mut stack = Vec::new();
    for seed in 0..levels.levels.len() {
        let gl = levels.levels[seed];
        if gl == 0 || done[seed] {
            continue;
        }
        done[seed] = true;
        stack.push(seed);
        let mut size = 0;
        while let Some(v) = stack.pop() {
            size += 1;
            let p = [
                v / (dims[1] * dims[2]),
                (v / dims[2]) % dims[1],
                v % dims[2],
            ];
            for d in &dirs {
                let (Some(z), Some(y), Some(x)) = (
                    step(p[0], d[0], dims[0]),
                    step(p[1], d[1], dims[1]),
                    step(p[2], d[2], dims[2]),
                ) else {
                    continue;
                };
                let w = (z * dims[1] + y) * dims[2] + x;
                if !done[w] && levels.levels[w] == gl {
                    done[w] = true;
                    stack.push(w);
                }
            }
        }
        *counts.entry((rank[gl as usize], size)).or_insert(0.0) += 1.0;
    }
    counts
}
