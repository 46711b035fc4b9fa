//! Spread over seeds: mean ± sd with a 95% t-interval, as a multi-seed table reports it.
use serde::Serialize;

/// One metric of one system over its seeds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SeedSummary {
    pub mean: f64,
    /// Sample standard deviation over seeds (0 for one seed).
    pub sd: f64,
    /// 95% interval of the mean over seeds, `mean ± t(0.975, n-1) · sd / sqrt(n)`; the mean
    /// itself for one seed, where no spread is known.
    pub lower: f64,
    pub upper: f64,
    /// Seeds that had the metric.
    pub n: usize,
}

impl SeedSummary {
    pub fn of(values: &[f64]) -> Option<SeedSummary> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let half = if n > 1 {
            t_975(n - 1) * sd / (n as f64).sqrt()
        } else {
            0.0
        };
        Some(SeedSummary {
            mean,
            sd,
            lower: mean - half,
            upper: mean + half,
            n,
        })
    }
}

/// The 97.5th percentile of Student's t with `df` degrees of freedom: the standard table to 3
/// decimals up to 30, then the Cornish-Fisher expansion about the normal quantile (error
/// < 1e-4 beyond 30).
pub fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    if (1..=TABLE.len()).contains(&df) {
        return TABLE[df - 1];
    }
    let z: f64 = 1.959_964;
    let d = df.max(1) as f64;
    z + (z.powi(3) + z) / (4.0 * d)
        + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * d * d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_seeds() {
        let s = SeedSummary::of(&[0.8, 0.9, 1.0]).unwrap();
        assert!((s.mean - 0.9).abs() < 1e-12);
        assert!((s.sd - 0.1).abs() < 1e-12);
        // 4.303 * 0.1 / sqrt(3)
        assert!((s.upper - (0.9 + 0.248_434)).abs() < 1e-5);
        assert_eq!(s.n, 3);
        let one = SeedSummary::of(&[0.5]).unwrap();
        assert_eq!((one.sd, one.lower, one.upper), (0.0, 0.5, 0.5));
        assert!(SeedSummary::of(&[]).is_none());
    }

    #[test]
    fn t_quantiles_match_tables() {
        // scipy.stats.t.ppf(0.975, df) for df = 11, 20, 30, 31, 120.
        for (df, t) in [
            (11, 2.200_985),
            (20, 2.085_963),
            (30, 2.042_272),
            (120, 1.979_930),
        ] {
            assert!((t_975(df) - t).abs() < 1e-3, "df {df}: {}", t_975(df));
        }
    }
}
