//! Confidence intervals: Wald and Wilson for proportions, a seeded patient bootstrap for
//! any statistic, and the standard-normal quantile they rely on.
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
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut sample: Vec<T> = Vec::with_capacity(items.len());
    let mut values = Vec::with_capacity(opts.replicates);
    for _ in 0..opts.replicates {
        sample.clear();
        for _ in 0..items.len() {
            sample.push(items[rng.random_range(0..items.len())].clone());
        }
        if let Some(v) = statistic(&sample).filter(|v| v.is_finite()) {
            values.push(v);
        }
    }
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
