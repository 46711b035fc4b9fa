use serde::{Deserialize, Serialize};

/// A mean with its 95% normal-approximation interval, for per-slice and per-patient averages
/// of continuous metrics (the paper reports Dice and HD95 this way).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanCi {
    pub mean: f64,
    pub lower: f64,
    pub upper: f64,
    pub n: usize,
}

impl MeanCi {
    /// `None` values (undefined ratios) are left out and the count says how many remained.
    pub fn of(values: impl IntoIterator<Item = Option<f64>>) -> Option<MeanCi> {
        let v: Vec<f64> = values
            .into_iter()
            .flatten()
            .filter(|x| x.is_finite())
            .collect();
        if v.is_empty() {
            return None;
        }
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = if v.len() > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        let half = 1.959_964 * sd / n.sqrt();
        Some(MeanCi {
            mean,
            lower: mean - half,
            upper: mean + half,
            n: v.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_interval_of_known_values() {
        let m = MeanCi::of([Some(1.0), Some(3.0), None]).unwrap();
        assert_eq!(m.n, 2);
        assert_eq!(m.mean, 2.0);
        // sd = sqrt(2), half = 1.96 * sqrt(2) / sqrt(2)
        assert!((m.upper - 3.959964).abs() < 1e-6);
        assert!(MeanCi::of([None]).is_none());
    }
}
