//! Grey Level Dependence Matrix features (IBSI chapter 3.10 "NGLDM" with coarseness 0;
//! PyRadiomics `gldm.py`, `gldm_a = 0`). For each ROI voxel, `j - 1` is the number of its
//! 26 neighbours (along the ROI's non-flat axes) that are in the ROI and have the same grey level.

use crate::angles::directions;
use crate::binning::Levels;
use crate::glcm::step;
use crate::stats::EPS;
use crate::texture::Emphasis;

pub(crate) fn features(levels: &Levels) -> Vec<(&'static str, f64)> {
    let g: Vec<f64> = levels.present.iter().map(|l| f64::from(*l)).collect();
    let rank = levels.rank();
    let dims = levels.dims;
    let dirs = directions(dims, true);
    let mut m = vec![vec![0.0; dirs.len() + 1]; g.len()];
    for z in 0..dims[0] {
        for y in 0..dims[1] {
            for x in 0..dims[2] {
                let gl = levels.levels[(z * dims[1] + y) * dims[2] + x];
                if gl == 0 {
                    continue;
                }
                let dependent = dirs
                    .iter()
                    .filter_map(|d| {
                        Some((
                            step(z, d[0], dims[0])?,
                            step(y, d[1], dims[1])?,
                            step(x, d[2], dims[2])?,
                        ))
                    })
                    .filter(|(a, b, c)| levels.levels[(a * dims[1] + b) * dims[2] + c] == gl)
                    .count();
                m[rank[gl as usize]][dependent] += 1.0;
            }
        }
    }
    let e = Emphasis::new(&m, &g);
    vec![
        ("DependenceEntropy", e.entropy(EPS)),
        ("DependenceNonUniformity", e.size_nonuniformity()),
        (
            "DependenceNonUniformityNormalized",
            e.size_nonuniformity() / e.total,
        ),
        ("DependenceVariance", e.size_variance()),
        ("GrayLevelNonUniformity", e.grey_nonuniformity()),
        ("GrayLevelVariance", e.grey_variance()),
        ("HighGrayLevelEmphasis", e.weighted(|i, _| i * i)),
        ("LargeDependenceEmphasis", e.weighted(|_, j| j * j)),
        (
            "LargeDependenceHighGrayLevelEmphasis",
            e.weighted(|i, j| i * i * j * j),
        ),
        (
            "LargeDependenceLowGrayLevelEmphasis",
            e.weighted(|i, j| j * j / (i * i)),
        ),
        ("LowGrayLevelEmphasis", e.weighted(|i, _| 1.0 / (i * i))),
        ("SmallDependenceEmphasis", e.weighted(|_, j| 1.0 / (j * j))),
        (
            "SmallDependenceHighGrayLevelEmphasis",
            e.weighted(|i, j| i * i / (j * j)),
        ),
        (
            "SmallDependenceLowGrayLevelEmphasis",
            e.weighted(|i, j| 1.0 / (i * i * j * j)),
        ),
    ]
}
