//! L1-penalised logistic regression by coordinate descent on a quadratic approximation of the
//! log-likelihood (the glmnet algorithm, Friedman, Hastie & Tibshirani 2010): minimises
//! `mean(log(1 + e^eta) - y eta) + lambda * |beta|_1` with an unpenalised intercept.

use super::logistic::sigmoid;

const OUTER: usize = 100;
const INNER: usize = 1000;
const TOL: f64 = 1e-7;

/// Coefficients `[intercept, beta...]`, started from `start` (a warm start along a path).
pub(crate) fn fit(x: &[Vec<f64>], y: &[bool], lambda: f64, start: &[f64]) -> Vec<f64> {
    let n = x.len();
    let nf = n as f64;
    let mut b = start.to_vec();
    for _ in 0..OUTER {
        let old = b.clone();
        let eta: Vec<f64> = x.iter().map(|r| linear(&b, r)).collect();
        let mu: Vec<f64> = eta.iter().map(|e| sigmoid(*e)).collect();
        let w: Vec<f64> = mu.iter().map(|m| (m * (1.0 - m)).max(1e-5)).collect();
        let target = |i: usize| eta[i] + (f64::from(u8::from(y[i])) - mu[i]) / w[i];
        let mut r: Vec<f64> = (0..n).map(|i| target(i) - eta[i]).collect();
        for _ in 0..INNER {
            let mut change = 0.0f64;
            let delta = (0..n).map(|i| w[i] * r[i]).sum::<f64>() / w.iter().sum::<f64>();
            b[0] += delta;
            r.iter_mut().for_each(|v| *v -= delta);
            change = change.max(delta.abs());
            for j in 1..b.len() {
                let denom = (0..n).map(|i| w[i] * x[i][j - 1].powi(2)).sum::<f64>() / nf;
                if denom == 0.0 {
                    continue;
                }
                let g = (0..n).map(|i| w[i] * x[i][j - 1] * r[i]).sum::<f64>() / nf + b[j] * denom;
                let new = soft_threshold(g, lambda) / denom;
                let d = new - b[j];
                if d != 0.0 {
                    for i in 0..n {
                        r[i] -= x[i][j - 1] * d;
                    }
                    b[j] = new;
                    change = change.max(d.abs());
                }
            }
            if change < TOL {
                break;
            }
        }
        if b.iter().zip(&old).all(|(a, o)| (a - o).abs() < TOL * 10.0) {
            break;
        }
    }
    b
}

pub(crate) fn linear(b: &[f64], row: &[f64]) -> f64 {
    b[0] + b[1..].iter().zip(row).map(|(c, v)| c * v).sum::<f64>()
}

fn soft_threshold(g: f64, lambda: f64) -> f64 {
    g.signum() * (g.abs() - lambda).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_penalty_keeps_only_the_intercept() {
        let x = vec![vec![1.0], vec![-1.0], vec![0.5], vec![-0.5]];
        let y = [true, false, true, true];
        let b = fit(&x, &y, 10.0, &[0.0, 0.0]);
        assert_eq!(b[1], 0.0);
        assert!((sigmoid(b[0]) - 0.75).abs() < 1e-6);
    }
}
