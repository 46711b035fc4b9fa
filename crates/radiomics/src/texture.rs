//! The sums shared by the run-length, size-zone and dependence matrices (GLRLM, GLSZM, GLDM):
//! a matrix `P(i, j)` of counts over grey levels `i` and run lengths / zone sizes / dependence
//! counts `j` (1-based), normalised by its total, as PyRadiomics' `Nr`, `Nz`.

pub(crate) struct Emphasis {
    /// Non-zero entries: (grey level value, j, count).
    entries: Vec<(f64, f64, f64)>,
    /// Counts summed over j, per occurring grey level (PyRadiomics `pg`).
    by_grey: Vec<f64>,
    grey: Vec<f64>,
    /// Counts summed over grey levels, per j - 1 (PyRadiomics `pr`, `ps`, `pd`).
    pub by_size: Vec<f64>,
    pub total: f64,
}

impl Emphasis {
    /// From a dense matrix `m[grey-level rank][j - 1]` over grey levels `grey`.
    pub fn new(m: &[Vec<f64>], grey: &[f64]) -> Self {
        let sizes = m.first().map_or(0, Vec::len);
        Self::from_entries(
            m.iter().enumerate().flat_map(|(r, row)| {
                row.iter()
                    .enumerate()
                    .filter(|(_, c)| **c != 0.0)
                    .map(move |(j, c)| (r, j + 1, *c))
            }),
            grey,
            sizes,
        )
    }

    /// From sparse entries (grey-level rank, j, count), with j at most `sizes`.
    pub fn from_entries(
        entries: impl Iterator<Item = (usize, usize, f64)>,
        grey: &[f64],
        sizes: usize,
    ) -> Self {
        let mut by_grey = vec![0.0; grey.len()];
        let mut by_size = vec![0.0; sizes];
        let entries: Vec<(f64, f64, f64)> = entries
            .map(|(r, j, c)| {
                by_grey[r] += c;
                by_size[j - 1] += c;
                (grey[r], j as f64, c)
            })
            .collect();
        Self {
            total: by_grey.iter().sum(),
            entries,
            by_grey,
            grey: grey.to_vec(),
            by_size,
        }
    }

    /// `sum P(i, j) f(i, j) / total`, the emphasis features.
    pub fn weighted(&self, f: impl Fn(f64, f64) -> f64) -> f64 {
        self.entries
            .iter()
            .map(|(i, j, c)| c * f(*i, *j))
            .sum::<f64>()
            / self.total
    }

    pub fn grey_nonuniformity(&self) -> f64 {
        self.by_grey.iter().map(|c| c * c).sum::<f64>() / self.total
    }

    pub fn size_nonuniformity(&self) -> f64 {
        self.by_size.iter().map(|c| c * c).sum::<f64>() / self.total
    }

    pub fn grey_variance(&self) -> f64 {
        variance(
            self.grey
                .iter()
                .copied()
                .zip(self.by_grey.iter().map(|c| c / self.total)),
        )
    }

    pub fn size_variance(&self) -> f64 {
        variance(
            self.by_size
                .iter()
                .enumerate()
                .map(|(j, c)| ((j + 1) as f64, c / self.total)),
        )
    }

    /// `-sum p log2(p + eps)` with `p = P / total`.
    pub fn entropy(&self, eps: f64) -> f64 {
        -self
            .entries
            .iter()
            .map(|(_, _, c)| {
                let p = c / self.total;
                p * (p + eps).log2()
            })
            .sum::<f64>()
    }
}

/// Variance of values `v` with probabilities `p`.
fn variance(vp: impl Iterator<Item = (f64, f64)> + Clone) -> f64 {
    let mean: f64 = vp.clone().map(|(v, p)| v * p).sum();
    vp.map(|(v, p)| p * (v - mean).powi(2)).sum()
}
