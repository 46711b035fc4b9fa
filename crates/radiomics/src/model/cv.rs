//! Choosing the LASSO penalty by stratified k-fold cross-validation on the training patients.
//! Grid: `n_lambda` values log-spaced from `lambda_max` (the smallest penalty that keeps every
//! coefficient at 0) down to `lambda_min_ratio * lambda_max`; each fold fits the whole path with
//! warm starts and scores held-out mean binomial deviance. The chosen penalty is the largest
//! one whose mean deviance is within one standard error of the minimum (the "1-SE rule"), or the
//! minimum itself with `one_se: false`.

use super::lasso::{self, linear};
use super::logistic::sigmoid;
use super::ModelError;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CvConfig {
    pub folds: usize,
    pub n_lambda: usize,
    pub lambda_min_ratio: f64,
    pub one_se: bool,
    /// Seed of the (stratified) assignment of patients to folds.
    pub seed: u64,
}

impl Default for CvConfig {
    fn default() -> Self {
        Self {
            folds: 5,
            n_lambda: 30,
            lambda_min_ratio: 1e-3,
            one_se: true,
            seed: 0,
        }
    }
}

impl CvConfig {
    /// Checked before any feature is extracted: one fold holds nothing out, and the penalty
    /// grid needs at least one value between `lambda_max` and a smaller positive one.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::InvalidCv(m));
        if self.folds < 2 {
            return bad(format!(
                "{} folds: cross-validation needs at least 2",
                self.folds
            ));
        }
        if self.n_lambda == 0 {
            return bad("the penalty grid needs at least one value".into());
        }
        if !(self.lambda_min_ratio > 0.0 && self.lambda_min_ratio < 1.0) {
            return bad(format!(
                "lambda_min_ratio {} must lie strictly between 0 and 1",
                self.lambda_min_ratio
            ));
        }
        Ok(())
    }
}

/// The penalty grid for standardised rows `z`, largest first.
pub fn lambda_grid(z: &[Vec<f64>], y: &[bool], config: &CvConfig) -> Vec<f64> {
    let n = z.len() as f64;
    let ybar = y.iter().filter(|v| **v).count() as f64 / n;
    let p = z.first().map_or(0, Vec::len);
    let lambda_max = (0..p)
        .map(|j| {
            (z.iter()
                .zip(y)
                .map(|(r, t)| r[j] * (f64::from(u8::from(*t)) - ybar))
                .sum::<f64>()
                / n)
                .abs()
        })
        .fold(0.0, f64::max)
        .max(1e-12);
    let steps = config.n_lambda.max(2) - 1;
    (0..=steps)
        .map(|k| lambda_max * config.lambda_min_ratio.powf(k as f64 / steps as f64))
        .collect()
}

/// (chosen penalty, coefficients without intercept at that penalty on all of `z`).
pub(crate) fn select(
    z: &[Vec<f64>],
    y: &[bool],
    config: &CvConfig,
) -> Result<(f64, Vec<f64>), ModelError> {
    config.validate()?;
    let grid = lambda_grid(z, y, config);
    let k = config.folds;
    let fold_of = folds(y, k, config.seed)?;
    let mut losses = vec![Vec::with_capacity(k); grid.len()];
    for f in 0..k {
        let (train, test): (Vec<usize>, Vec<usize>) = (0..z.len()).partition(|i| fold_of[*i] != f);
        let xt: Vec<Vec<f64>> = train.iter().map(|i| z[*i].clone()).collect();
        let yt: Vec<bool> = train.iter().map(|i| y[*i]).collect();
        for (g, b) in path(&xt, &yt, &grid).iter().enumerate() {
            let loss =
                test.iter().map(|i| deviance(b, &z[*i], y[*i])).sum::<f64>() / test.len() as f64;
            losses[g].push(loss);
        }
    }
    let stats: Vec<(f64, f64)> = losses.iter().map(|l| mean_se(l)).collect();
    let best = (0..grid.len())
        .min_by(|a, b| stats[*a].0.total_cmp(&stats[*b].0))
        .unwrap_or(0);
    let chosen = if config.one_se {
        let limit = stats[best].0 + stats[best].1;
        (0..=best).find(|k| stats[*k].0 <= limit).unwrap_or(best)
    } else {
        best
    };
    let b = path(z, y, &grid[..=chosen])
        .pop()
        .unwrap_or_else(|| vec![0.0; z[0].len() + 1]);
    Ok((grid[chosen], b[1..].to_vec()))
}

/// Coefficients along the grid, each fit warm-started from the previous one.
fn path(x: &[Vec<f64>], y: &[bool], grid: &[f64]) -> Vec<Vec<f64>> {
    let mut b = vec![0.0; x.first().map_or(0, Vec::len) + 1];
    grid.iter()
        .map(|l| {
            b = lasso::fit(x, y, *l, &b);
            b.clone()
        })
        .collect()
}

fn deviance(b: &[f64], row: &[f64], y: bool) -> f64 {
    let p = sigmoid(linear(b, row)).clamp(1e-15, 1.0 - 1e-15);
    -2.0 * if y { p.ln() } else { (1.0 - p).ln() }
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, (var / n).sqrt())
}

/// Fold of each patient: each class shuffled (seeded) and dealt round-robin.
fn folds(y: &[bool], k: usize, seed: u64) -> Result<Vec<usize>, ModelError> {
    let mut fold_of = vec![0; y.len()];
    let mut state = seed;
    for class in [true, false] {
        let mut members: Vec<usize> = (0..y.len()).filter(|i| y[*i] == class).collect();
        if members.len() < k {
            return Err(ModelError::TooFewForFolds { folds: k });
        }
        for i in (1..members.len()).rev() {
            let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
            members.swap(i, j);
        }
        for (r, m) in members.iter().enumerate() {
            fold_of[*m] = r % k;
        }
    }
    Ok(fold_of)
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
