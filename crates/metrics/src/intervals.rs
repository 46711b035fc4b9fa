//! Confidence intervals: Wald and Wilson for proportions, a seeded patient bootstrap for
//! any statistic, and the standard-normal quantile and distribution function they rely on.
//!
//! The paper's 95% CIs look like normal-approximation (Wald) intervals, which misbehave
//! near 0 and 1 on small test sets; Wilson and the patient bootstrap are offered beside
//! them so reports can show all three.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{check_level, MetricsError, Result};
use crate::surface::percentile_linear;

/// A closed interval `[lower, upper]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
}

/// Quantile of the standard normal distribution (inverse CDF) for `p` in (0, 1).
///
/// Acklam's rational approximation (relative error < 1.2e-9), ample for interval
/// half-widths; `z(0.975) = 1.959963985`.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.02425;
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    }
}

/// Standard normal distribution function `Φ(x) = ½·erfc(-x/√2)`.
///
/// Computed through Cody's erfc rather than `1 - erf`, so the lower tail keeps its
/// relative accuracy far out (about 1e-15, growing like `x²·eps` in the far tail from
/// the rounding of `x/√2`; checked against SciPy to 1e-12 down to `Φ(-30)`). The p-values
/// of the paired tests are `2·Φ(-|z|)` and the chi-square(1) tail `2·Φ(-√x)`.
/// `Φ(-1.96) = 0.0249979`, `Φ(-8) = 6.22e-16`.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

// Cody's coefficients, kept at their published 18 digits (the compiler rounds them).
#[allow(clippy::excessive_precision)]
const ERF_A: [f64; 5] = [
    3.16112374387056560e0,
    1.13864154151050156e2,
    3.77485237685302021e2,
    3.20937758913846947e3,
    1.85777706184603153e-1,
];
#[allow(clippy::excessive_precision)]
const ERF_B: [f64; 4] = [
    2.36012909523441209e1,
    2.44024637934444173e2,
    1.28261652607737228e3,
    2.84423683343917062e3,
];
#[allow(clippy::excessive_precision)]
const ERFC_C: [f64; 9] = [
    5.64188496988670089e-1,
    8.88314979438837594e0,
    6.61191906371416295e1,
    2.98635138197400131e2,
    8.81952221241769090e2,
    1.71204761263407058e3,
    2.05107837782607147e3,
    1.23033935479799725e3,
    2.15311535474403846e-8,
];
#[allow(clippy::excessive_precision)]
const ERFC_D: [f64; 8] = [
    1.57449261107098347e1,
    1.17693950891312499e2,
    5.37181101862009858e2,
    1.62138957456669019e3,
    3.29079923573345963e3,
    4.36261909014324716e3,
    3.43936767414372164e3,
    1.23033935480374942e3,
];
#[allow(clippy::excessive_precision)]
const ERFC_P: [f64; 6] = [
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
    1.63153871373020978e-2,
];
#[allow(clippy::excessive_precision)]
const ERFC_Q: [f64; 5] = [
    2.56852019228982242e0,
    1.87295284992346047e0,
    5.27905102951428412e-1,
    6.05183413124413191e-2,
    2.33520497626869185e-3,
];

/// Complementary error function, W. J. Cody's rational Chebyshev approximations
/// ("Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969)
/// 631-637; netlib SPECFUN `CALERF`, as in SciPy's `ndtr` ancestry): three intervals
/// `|x| ≤ 0.46875`, `≤ 4`, `> 4`, relative error near machine precision.
fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let y = x.abs();
    if y <= 0.46875 {
        return 1.0 - x * erf_over_x(y * y);
    }
    let upper = if y <= 4.0 {
        erfc_middle(y)
    } else {
        erfc_tail(y)
    };
    if x < 0.0 {
        2.0 - upper
    } else {
        upper
    }
}

/// `erf(y)/y` for `|y| ≤ 0.46875`, as a rational function of `y²`.
fn erf_over_x(ysq: f64) -> f64 {
    let (mut num, mut den) = (ERF_A[4] * ysq, ysq);
    for i in 0..3 {
        num = (num + ERF_A[i]) * ysq;
        den = (den + ERF_B[i]) * ysq;
    }
    (num + ERF_A[3]) / (den + ERF_B[3])
}

/// `erfc(y)` for `0.46875 < y ≤ 4`.
fn erfc_middle(y: f64) -> f64 {
    let (mut num, mut den) = (ERFC_C[8] * y, y);
    for i in 0..7 {
        num = (num + ERFC_C[i]) * y;
        den = (den + ERFC_D[i]) * y;
    }
    exp_minus_square(y) * (num + ERFC_C[7]) / (den + ERFC_D[7])
}

/// `erfc(y)` for `y > 4` (asymptotic form); 0 once it underflows (y ≥ 26.543).
fn erfc_tail(y: f64) -> f64 {
    const ONE_OVER_SQRT_PI: f64 = 0.564_189_583_547_756_3;
    if y >= 26.543 {
        return 0.0;
    }
    let ysq = 1.0 / (y * y);
    let (mut num, mut den) = (ERFC_P[5] * ysq, ysq);
    for i in 0..4 {
        num = (num + ERFC_P[i]) * ysq;
        den = (den + ERFC_Q[i]) * ysq;
    }
    let r = ysq * (num + ERFC_P[4]) / (den + ERFC_Q[4]);
    exp_minus_square(y) * (ONE_OVER_SQRT_PI - r) / y
}

/// `exp(-y²)` with `y²` split as Cody does, so the rounding of `y²` does not cost
/// relative accuracy for large `y`.
fn exp_minus_square(y: f64) -> f64 {
    let head = (y * 16.0).trunc() / 16.0;
    let del = (y - head) * (y + head);
    (-head * head).exp() * (-del).exp()
}

/// Two-sided critical value for a confidence `level` (0.95 → 1.96).
pub fn z_for_level(level: f64) -> Result<f64> {
    check_level(level)?;
    Ok(normal_quantile(0.5 + level / 2.0))
}

fn check_counts(successes: usize, n: usize, z: f64) -> Result<()> {
    if n == 0 {
        return Err(MetricsError::EmptyInput);
    }
    if successes > n {
        return Err(MetricsError::InvalidArgument(format!(
            "successes ({successes}) exceed trials ({n})"
        )));
    }
    if !(z.is_finite() && z > 0.0) {
        return Err(MetricsError::InvalidArgument(format!(
            "z must be finite and > 0, got {z}"
        )));
    }
    Ok(())
}

/// Wald (normal-approximation) interval `p̂ ± z·sqrt(p̂(1-p̂)/n)`, clipped to [0, 1].
/// This is what the paper appears to report; it collapses to a point at p̂ = 0 or 1.
pub fn wald_ci(successes: usize, n: usize, z: f64) -> Result<Interval> {
    check_counts(successes, n, z)?;
    let p = successes as f64 / n as f64;
    let half = z * (p * (1.0 - p) / n as f64).sqrt();
    Ok(Interval {
        lower: (p - half).max(0.0),
        upper: (p + half).min(1.0),
    })
}

/// Wilson score interval; stays inside [0, 1] and keeps its coverage near 0 and 1.
pub fn wilson_ci(successes: usize, n: usize, z: f64) -> Result<Interval> {
    check_counts(successes, n, z)?;
    let nf = n as f64;
    let p = successes as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    Ok(Interval {
        lower: (centre - half).max(0.0),
        upper: (centre + half).min(1.0),
    })
}

/// Settings of the percentile bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapOptions {
    /// Number of resamples (default 2000).
    pub replicates: usize,
    /// Seed of the ChaCha8 generator; the same seed gives the same interval.
    pub seed: u64,
    /// Confidence level (default 0.95).
    pub level: f64,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        BootstrapOptions {
            replicates: 2000,
            seed: 0,
            level: 0.95,
        }
    }
}

/// Outcome of a bootstrap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapCi {
    /// The statistic on the original sample (`None` if undefined there).
    pub estimate: Option<f64>,
    /// Percentile interval over the valid replicates; `None` when none was valid.
    pub interval: Option<Interval>,
    /// Replicates on which the statistic was defined (e.g. a resample holding both
    /// classes for AUC); the others are skipped, not counted as zero.
    pub valid_replicates: usize,
    /// Replicates drawn.
    pub replicates: usize,
}

/// Percentile bootstrap of `statistic` over `items`, resampling items (patients) with
/// replacement from a `ChaCha8Rng` seeded with `opts.seed`.
///
/// The statistic returns `None` where it is undefined on a resample; such replicates are
/// skipped and reported through `valid_replicates`. The interval bounds are the
/// `(1-level)/2` and `(1+level)/2` quantiles of the valid replicates (linear interpolation).
pub fn bootstrap_ci<T, F>(
    items: &[T],
    mut statistic: F,
    opts: &BootstrapOptions,
) -> Result<BootstrapCi>
where
    T: Clone,
    F: FnMut(&[T]) -> Option<f64>,
{
    check_level(opts.level)?;
    if items.is_empty() {
        return Err(MetricsError::EmptyInput);
    }
    if opts.replicates == 0 {
        return Err(MetricsError::InvalidArgument(
            "replicates must be > 0".into(),
        ));
    }
    let estimate = statistic(items);
    let values = bootstrap_replicates(items, statistic, opts.replicates, opts.seed);
    let alpha = 1.0 - opts.level;
    let interval = match (
        percentile_linear(&values, 100.0 * alpha / 2.0),
        percentile_linear(&values, 100.0 * (1.0 - alpha / 2.0)),
    ) {
        (Some(lower), Some(upper)) => Some(Interval { lower, upper }),
        _ => None,
    };
    Ok(BootstrapCi {
        estimate,
        interval,
        valid_replicates: values.len(),
        replicates: opts.replicates,
    })
}

/// The statistic on `replicates` resamples of `items` drawn with replacement from a
/// `ChaCha8Rng` seeded with `seed`, in draw order; resamples where it is undefined or not
/// finite are left out. Shared by [`bootstrap_ci`] and the paired bootstrap so both
/// follow one resampling convention.
pub(crate) fn bootstrap_replicates<T, F>(
    items: &[T],
    mut statistic: F,
    replicates: usize,
    seed: u64,
) -> Vec<f64>
where
    T: Clone,
    F: FnMut(&[T]) -> Option<f64>,
{
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sample: Vec<T> = Vec::with_capacity(items.len());
    let mut values = Vec::with_capacity(replicates);
    for _ in 0..replicates {
        sample.clear();
        for _ in 0..items.len() {
            sample.push(items[rng.random_range(0..items.len())].clone());
        }
        if let Some(v) = statistic(&sample).filter(|v| v.is_finite()) {
            values.push(v);
        }
    }
    values
}
