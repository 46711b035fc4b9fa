/// Per-feature mean and (population) standard deviation of the training rows; a constant
/// feature gets scale 1, so it standardises to 0 and LASSO never selects it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Standardizer {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

impl Standardizer {
    pub fn fit(x: &[Vec<f64>]) -> Self {
        let n = x.len() as f64;
        let p = x.first().map_or(0, Vec::len);
        let mean: Vec<f64> = (0..p)
            .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n)
            .collect();
        let scale = (0..p)
            .map(|j| {
                let sd = (x.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n).sqrt();
                if sd > 0.0 {
                    sd
                } else {
                    1.0
                }
            })
            .collect();
        Self { mean, scale }
    }

    pub fn transform(&self, x: &[Vec<f64>]) -> Vec<Vec<f64>> {
        x.iter().map(|r| self.transform_row(r)).collect()
    }

    /// One row standardised (what [`Self::transform`] does to each), without copying it first.
    pub fn transform_row(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .zip(self.mean.iter().zip(&self.scale))
            .map(|(v, (m, s))| (v - m) / s)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_mean_unit_variance_and_constant_columns() {
        let x = vec![vec![1.0, 5.0], vec![3.0, 5.0]];
        let s = Standardizer::fit(&x);
        assert_eq!(s.transform(&x), vec![vec![-1.0, 0.0], vec![1.0, 0.0]]);
        assert_eq!(s.transform_row(&[2.0, 7.0]), vec![0.0, 2.0]);
    }
}
