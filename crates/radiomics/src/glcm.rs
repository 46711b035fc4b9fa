//! Grey Level Co-occurrence Matrix features (IBSI chapter 3.6; PyRadiomics `glcm.py`).
//! One symmetric matrix per direction (13 in 3-D, distance 1, only pairs with both voxels in the
//! ROI), empty grey levels and directions without pairs removed, each matrix normalised, every
//! feature computed per direction and averaged with `nanmean`, as PyRadiomics does. Grey-level
//! indices `i, j` are the grey level values themselves; IDMN and IDN divide by `Ng`, the highest
//! grey level.

use nalgebra::{DMatrix, SymmetricEigen};

use crate::angles::directions;
use crate::binning::Levels;
use crate::stats::{entropy, nan_mean, EPS};

pub(crate) fn features(levels: &Levels) -> Vec<(&'static str, f64)> {
    let n = levels.present.len();
    let g: Vec<f64> = levels.present.iter().map(|l| f64::from(*l)).collect();
    let per_direction: Vec<Vec<f64>> = matrices(levels)
        .iter()
        .map(|p| direction_features(p, n, &g, f64::from(levels.ng)))
        .collect();
    NAMES
        .iter()
        .enumerate()
        .map(|(f, name)| (*name, nan_mean(per_direction.iter().map(|v| v[f]))))
        .collect()
}

const NAMES: [&str; 24] = [
    "Autocorrelation",
    "ClusterProminence",
    "ClusterShade",
    "ClusterTendency",
    "Contrast",
    "Correlation",
    "DifferenceAverage",
    "DifferenceEntropy",
    "DifferenceVariance",
    "Id",
    "Idm",
    "Idmn",
    "Idn",
    "Imc1",
    "Imc2",
    "InverseVariance",
    "JointAverage",
    "JointEnergy",
    "JointEntropy",
    "MCC",
    "MaximumProbability",
    "SumAverage",
    "SumEntropy",
    "SumSquares",
];

/// Normalised symmetric co-occurrence matrices (n x n over the occurring grey levels, row-major),
/// one per direction that has at least one pair.
fn matrices(levels: &Levels) -> Vec<Vec<f64>> {
    let n = levels.present.len();
    let rank = levels.rank();
    let [dz, dy, dx] = levels.dims;
    let dirs = directions(levels.dims, false);
    let mut out = Vec::with_capacity(dirs.len());
    for d in dirs {
        let mut p = vec![0.0; n * n];
        for z in 0..dz {
            for y in 0..dy {
                for x in 0..dx {
                    let i = levels.levels[(z * dy + y) * dx + x];
                    if i == 0 {
                        continue;
                    }
                    let (Some(nz), Some(ny), Some(nx)) =
                        (step(z, d[0], dz), step(y, d[1], dy), step(x, d[2], dx))
                    else {
                        continue;
                    };
                    let j = levels.levels[(nz * dy + ny) * dx + nx];
                    if j > 0 {
                        let (ri, rj) = (rank[i as usize], rank[j as usize]);
                        p[ri * n + rj] += 1.0;
                        p[rj * n + ri] += 1.0;
                    }
                }
            }
        }
        let total: f64 = p.iter().sum();
        if total > 0.0 {
            p.iter_mut().for_each(|v| *v /= total);
            out.push(p);
        }
    }
    out
}

/// `v + d` if it stays inside `0..len`.
pub(crate) fn step(v: usize, d: isize, len: usize) -> Option<usize> {
    v.checked_add_signed(d).filter(|w| *w < len)
}

/// The 24 features (in `NAMES` order) of one normalised matrix `p` over grey levels `g`.
fn direction_features(p: &[f64], n: usize, g: &[f64], ng: f64) -> Vec<f64> {
    let at = |i: usize, j: usize| p[i * n + j];
    let px: Vec<f64> = (0..n).map(|i| (0..n).map(|j| at(i, j)).sum()).collect();
    let py: Vec<f64> = (0..n).map(|j| (0..n).map(|i| at(i, j)).sum()).collect();
    let ux: f64 = (0..n).map(|i| g[i] * px[i]).sum();
    let uy: f64 = (0..n).map(|j| g[j] * py[j]).sum();
    let max_level = ng as usize;
    let mut sum_p = vec![0.0; 2 * max_level + 1]; // index k = i + j
    let mut diff_p = vec![0.0; max_level]; // index k = |i - j|
    let (mut auto, mut contrast, mut energy, mut maxprob) = (0.0, 0.0, 0.0, 0.0f64);
    let (mut cp, mut cs, mut ct) = (0.0, 0.0, 0.0);
    let (mut varx, mut vary, mut cov, mut hxy1, mut hxy2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for i in 0..n {
        for j in 0..n {
            let v = at(i, j);
            let (gi, gj) = (g[i], g[j]);
            sum_p[(gi + gj) as usize] += v;
            diff_p[(gi - gj).abs() as usize] += v;
            auto += v * gi * gj;
            contrast += v * (gi - gj).powi(2);
            energy += v * v;
            maxprob = maxprob.max(v);
            let c = gi + gj - ux - uy;
            cp += v * c.powi(4);
            cs += v * c.powi(3);
            ct += v * c * c;
            varx += v * (gi - ux).powi(2);
            vary += v * (gj - uy).powi(2);
            cov += v * (gi - ux) * (gj - uy);
            let pxy = px[i] * py[j];
            hxy1 -= v * (pxy + EPS).log2();
            hxy2 -= pxy * (pxy + EPS).log2();
        }
    }
    let hxy = entropy(p.iter().copied());
    let (sigx, sigy) = (varx.sqrt(), vary.sqrt());
    let correlation = if sigx * sigy == 0.0 {
        1.0
    } else {
        cov / (sigx * sigy + EPS)
    };
    let diff_avg: f64 = diff_p.iter().enumerate().map(|(k, v)| k as f64 * v).sum();
    let by_diff = |f: &dyn Fn(f64) -> f64| -> f64 {
        diff_p
            .iter()
            .enumerate()
            .map(|(k, v)| v * f(k as f64))
            .sum()
    };
    let (hx, hy) = (entropy(px.iter().copied()), entropy(py.iter().copied()));
    let div = hx.max(hy);
    let imc1 = if div != 0.0 { (hxy - hxy1) / div } else { 0.0 };
    // A negative argument gives NaN, which nanmean then skips, as in PyRadiomics.
    let imc2 = if hxy2 == hxy {
        0.0
    } else {
        (1.0 - (-2.0 * (hxy2 - hxy)).exp()).sqrt()
    };
    vec![
        auto,
        cp,
        cs,
        ct,
        contrast,
        correlation,
        diff_avg,
        entropy(diff_p.iter().copied()),
        by_diff(&|k| (k - diff_avg).powi(2)),
        by_diff(&|k| 1.0 / (1.0 + k)),
        by_diff(&|k| 1.0 / (1.0 + k * k)),
        by_diff(&|k| 1.0 / (1.0 + k * k / (ng * ng))),
        by_diff(&|k| 1.0 / (1.0 + k / ng)),
        imc1,
        imc2,
        diff_p
            .iter()
            .enumerate()
            .skip(1)
            .map(|(k, v)| v / (k * k) as f64)
            .sum(),
        ux,
        energy,
        hxy,
        mcc(p, n, &px),
        maxprob,
        sum_p.iter().enumerate().map(|(k, v)| k as f64 * v).sum(),
        entropy(sum_p.iter().copied()),
        varx,
    ]
}

/// Maximal Correlation Coefficient: square root of the second-largest eigenvalue of
/// `Q(i, j) = sum_k p(i, k) p(j, k) / (px(i) py(k))`; 1 when fewer than two grey levels.
/// For a symmetric `p` (so `px = py`), `Q` is similar to `B B` with the symmetric
/// `B = D^-1/2 p D^-1/2`, `D = diag(px)`, whose eigenvalues a symmetric solver finds reliably;
/// grey levels without pairs in this direction contribute eigenvalues 0. PyRadiomics adds
/// `eps` to the denominator, a relative change below 1e-6 for any realistic ROI.
fn mcc(p: &[f64], n: usize, px: &[f64]) -> f64 {
    if n < 2 {
        return 1.0;
    }
    let support: Vec<usize> = (0..n).filter(|i| px[*i] > 0.0).collect();
    let m = support.len();
    let b = DMatrix::from_fn(m, m, |r, c| {
        let (i, j) = (support[r], support[c]);
        p[i * n + j] / (px[i] * px[j]).sqrt()
    });
    let Some(eigen) = SymmetricEigen::try_new(&b * &b, f64::EPSILON, 10_000) else {
        return f64::NAN;
    };
    let mut eig: Vec<f64> = eigen.eigenvalues.iter().copied().collect();
    eig.resize(n, 0.0);
    eig.sort_by(f64::total_cmp);
    eig[n - 2].max(0.0).sqrt()
}
