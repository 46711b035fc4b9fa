//! Small numeric helpers with NumPy's semantics.

/// `numpy.spacing(1)`, the epsilon PyRadiomics adds inside logarithms and divisions.
pub(crate) const EPS: f64 = f64::EPSILON;

/// `numpy.nanmean`: mean of the non-NaN values (NaN if there are none). PyRadiomics averages
/// per-direction texture features this way, so directions where a feature is undefined are
/// skipped.
pub(crate) fn nan_mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = values
        .into_iter()
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

/// `numpy.percentile(sorted, q)` with the default 'linear' method, including NumPy's two-sided
/// interpolation formula. `sorted` must be ascending and not empty.
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let virtual_index = (1.0 + q / 100.0 * (n as f64 - 1.0)) - 1.0;
    let below = virtual_index.floor().clamp(0.0, (n - 1) as f64);
    let gamma = virtual_index - below;
    let lo = below as usize;
    let (a, b) = (sorted[lo], sorted[(lo + 1).min(n - 1)]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// `-sum p log2(p + eps)`, PyRadiomics' entropy.
pub(crate) fn entropy(p: impl IntoIterator<Item = f64>) -> f64 {
    -p.into_iter().map(|p| p * (p + EPS).log2()).sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 50.0), 2.5);
        assert!((percentile(&v, 10.0) - 1.3).abs() < 1e-12);
        assert!((percentile(&v, 90.0) - 3.7).abs() < 1e-12);
        assert_eq!(percentile(&[5.0], 25.0), 5.0);
    }

    #[test]
    fn nan_mean_skips_nan() {
        assert_eq!(nan_mean([1.0, f64::NAN, 3.0]), 2.0);
        assert!(nan_mean([f64::NAN]).is_nan());
    }
}
