//! Logistic regression by Newton's method (IRLS), with a ridge penalty `ridge / 2 * |b|²` on the
//! coefficients (not the intercept) added to the summed log-likelihood, as scikit-learn's
//! `LogisticRegression(C = 1 / ridge)`. The radiomics model's final fit uses a tiny ridge
//! (1e-4) that only keeps the Newton step defined when the training patients are perfectly
//! separable; the lesion classifier a real one (1), since its validation candidates often are.

use nalgebra::{DMatrix, DVector};

pub fn sigmoid(eta: f64) -> f64 {
    1.0 / (1.0 + (-eta).exp())
}

const MAX_ITER: usize = 100;

/// (intercept, coefficients) for rows `x` and labels `y`.
pub fn fit_logistic(x: &[Vec<f64>], y: &[bool], ridge: f64) -> (f64, Vec<f64>) {
    let n = x.len();
    let p = x.first().map_or(0, Vec::len) + 1;
    let design = DMatrix::from_fn(n, p, |i, j| if j == 0 { 1.0 } else { x[i][j - 1] });
    let target = DVector::from_fn(n, |i, _| f64::from(u8::from(y[i])));
    let mut beta = DVector::zeros(p);
    for _ in 0..MAX_ITER {
        let mu = (&design * &beta).map(sigmoid);
        let w = mu.map(|m| (m * (1.0 - m)).max(1e-10));
        let weighted = DMatrix::from_fn(n, p, |i, j| w[i] * design[(i, j)]);
        let mut hessian = design.transpose() * weighted;
        let mut gradient = design.transpose() * (&target - &mu);
        for j in 1..p {
            hessian[(j, j)] += ridge;
            gradient[j] -= ridge * beta[j];
        }
        let Some(step) = hessian.lu().solve(&gradient) else {
            break;
        };
        beta += &step;
        if step.amax() < 1e-10 {
            break;
        }
    }
    (beta[0], beta.iter().skip(1).copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_model() {
        // Deterministic covariate grid with outcome frequencies equal to sigmoid(0.5 + 1.5 x).
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for k in -20..=20 {
            let v = k as f64 / 10.0;
            let p = sigmoid(0.5 + 1.5 * v);
            let positives = (p * 200.0).round() as usize;
            for r in 0..200 {
                x.push(vec![v]);
                y.push(r < positives);
            }
        }
        let (b0, b) = fit_logistic(&x, &y, 1e-4);
        assert!((b0 - 0.5).abs() < 0.02, "{b0}");
        assert!((b[0] - 1.5).abs() < 0.02, "{}", b[0]);
    }
}
