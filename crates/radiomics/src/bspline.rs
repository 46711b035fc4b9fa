//! Cubic B-spline interpolation as ITK's `BSplineInterpolateImageFunction` (order 3) does it,
//! which is what SimpleITK's `sitkBSpline` resampling in PyRadiomics uses: coefficients from a
//! recursive prefilter with mirror boundaries (`BSplineDecompositionImageFilter`, tolerance
//! 1e-10), then the 4 x 4 x 4 weighted sum with mirrored indices.

pub(crate) struct BSpline {
    dims: [usize; 3],
    coef: Vec<f64>,
}

const POLE: f64 = -0.267_949_192_431_122_7; // sqrt(3) - 2

impl BSpline {
    /// Prefilters `values` (z, y, x order, size `dims`) along x, then y, then z (ITK's order).
    pub fn new(values: &[f64], dims: [usize; 3]) -> Self {
        let mut coef = values.to_vec();
        let stride = [dims[1] * dims[2], dims[2], 1];
        let mut line = Vec::new();
        for axis in [2, 1, 0] {
            let n = dims[axis];
            if n == 1 {
                continue;
            }
            let others: Vec<usize> = (0..3).filter(|a| *a != axis).collect();
            for u in 0..dims[others[0]] {
                for v in 0..dims[others[1]] {
                    let base = u * stride[others[0]] + v * stride[others[1]];
                    line.clear();
                    line.extend((0..n).map(|k| coef[base + k * stride[axis]]));
                    prefilter(&mut line);
                    for (k, c) in line.iter().enumerate() {
                        coef[base + k * stride[axis]] = *c;
                    }
                }
            }
        }
        Self { dims, coef }
    }

    /// Value at continuous index `c` (z, y, x); 0 outside `[-0.5, size - 0.5)` on any axis.
    pub fn eval(&self, c: [f64; 3]) -> f64 {
        if (0..3).any(|a| !(c[a] >= -0.5 && c[a] < self.dims[a] as f64 - 0.5)) {
            return 0.0;
        }
        let mut idx = [[0usize; 4]; 3];
        let mut w = [[0.0; 4]; 3];
        for a in 0..3 {
            let first = c[a].floor() as i64 - 1;
            let t = c[a] - (first + 1) as f64;
            w[a][3] = t * t * t / 6.0;
            w[a][0] = 1.0 / 6.0 + 0.5 * t * (t - 1.0) - w[a][3];
            w[a][2] = t + w[a][0] - 2.0 * w[a][3];
            w[a][1] = 1.0 - w[a][0] - w[a][2] - w[a][3];
            for (k, slot) in idx[a].iter_mut().enumerate() {
                *slot = mirror(first + k as i64, self.dims[a]);
            }
        }
        let mut sum = 0.0;
        for (kz, iz) in idx[0].iter().enumerate() {
            for (ky, iy) in idx[1].iter().enumerate() {
                for (kx, ix) in idx[2].iter().enumerate() {
                    let weight = w[2][kx] * w[1][ky] * w[0][kz];
                    sum += weight * self.coef[(iz * self.dims[1] + iy) * self.dims[2] + ix];
                }
            }
        }
        sum
    }
}

fn mirror(k: i64, n: usize) -> usize {
    let last = n as i64 - 1;
    if last == 0 {
        return 0;
    }
    let k = if k < 0 { -k } else { k };
    (if k > last { 2 * last - k } else { k }) as usize
}

/// One line of ITK's `DataToCoefficients1D` for the single cubic pole.
fn prefilter(c: &mut [f64]) {
    let z = POLE;
    let n = c.len();
    let gain = (1.0 - z) * (1.0 - 1.0 / z);
    c.iter_mut().for_each(|v| *v *= gain);
    // Initial causal coefficient.
    let horizon = (1e-10f64.ln() / z.abs().ln()).ceil() as usize;
    if horizon < n {
        let (mut sum, mut zn) = (c[0], z);
        for v in c.iter().take(horizon).skip(1) {
            sum += zn * v;
            zn *= z;
        }
        c[0] = sum;
    } else {
        let iz = 1.0 / z;
        let mut zn = z;
        let mut z2n = z.powi(n as i32 - 1);
        let mut sum = c[0] + z2n * c[n - 1];
        z2n = z2n * (z2n * iz); // ITK: `z2n *= z2n * iz`
        for v in c.iter().take(n - 1).skip(1) {
            sum += (zn + z2n) * v;
            zn *= z;
            z2n *= iz;
        }
        c[0] = sum / (1.0 - zn * zn);
    }
    for k in 1..n {
        c[k] += z * c[k - 1];
    }
    c[n - 1] = (z / (z * z - 1.0)) * (z * c[n - 2] + c[n - 1]);
    for k in (0..n - 1).rev() {
        c[k] = z * (c[k + 1] - c[k]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_samples_exactly() {
        let dims = [3, 4, 5];
        let values: Vec<f64> = (0..60).map(|v| ((v * 37) % 11) as f64).collect();
        let s = BSpline::new(&values, dims);
        for z in 0..3 {
            for y in 0..4 {
                for x in 0..5 {
                    let v = s.eval([z as f64, y as f64, x as f64]);
                    assert!((v - values[(z * 4 + y) * 5 + x]).abs() < 1e-8, "{v}");
                }
            }
        }
        assert_eq!(s.eval([-0.6, 0.0, 0.0]), 0.0);
    }

    #[test]
    fn reproduces_a_constant() {
        let dims = [2, 3, 8];
        let s = BSpline::new(&[5.0; 48], dims);
        assert!((s.eval([0.7, 1.2, 3.25]) - 5.0).abs() < 1e-8);
    }
}
