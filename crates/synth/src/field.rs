//! Smooth random fields, built as sums of a few random plane waves: cheap to evaluate anywhere,
//! smooth at a chosen scale, and fully described by a handful of numbers drawn from the
//! patient's stream. Used for lesion texture (heterogeneity), lesion outline irregularity,
//! oedema extent and the scanner's bias field.

use rand::Rng;

#[derive(Debug, Clone, Copy)]
struct Wave {
    k: [f64; 3],
    phase: f64,
}

/// `sum_m cos(k_m . x + phi_m)` scaled to unit variance; wavelengths within the given range and
/// directions uniform on the sphere.
#[derive(Debug, Clone)]
pub(crate) struct WaveField {
    waves: Vec<Wave>,
    norm: f64,
}

impl WaveField {
    pub(crate) fn draw(rng: &mut impl Rng, n: usize, wavelength: (f64, f64)) -> Self {
        let waves = (0..n)
            .map(|_| {
                let dir = unit_vector(rng);
                let lambda = rng.random_range(wavelength.0..=wavelength.1);
                let k = std::f64::consts::TAU / lambda;
                Wave {
                    k: dir.map(|d| d * k),
                    phase: rng.random_range(0.0..std::f64::consts::TAU),
                }
            })
            .collect();
        Self {
            waves,
            // Each cosine with a uniform phase has variance 1/2.
            norm: (2.0 / n.max(1) as f64).sqrt(),
        }
    }

    /// Unit-variance value at `x`.
    pub(crate) fn at(&self, x: [f64; 3]) -> f64 {
        self.raw(x) * self.norm
    }

    /// Value in [-1, 1] (mean of the cosines).
    pub(crate) fn bounded(&self, x: [f64; 3]) -> f64 {
        self.raw(x) / self.waves.len().max(1) as f64
    }

    fn raw(&self, x: [f64; 3]) -> f64 {
        self.waves
            .iter()
            .map(|w| (w.k[0] * x[0] + w.k[1] * x[1] + w.k[2] * x[2] + w.phase).cos())
            .sum()
    }
}

/// Uniform on the unit sphere.
pub(crate) fn unit_vector(rng: &mut impl Rng) -> [f64; 3] {
    let z: f64 = rng.random_range(-1.0..=1.0);
    let t = rng.random_range(0.0..std::f64::consts::TAU);
    let s = (1.0 - z * z).max(0.0).sqrt();
    [s * t.cos(), s * t.sin(), z]
}

/// A uniformly random rotation matrix (Shoemake's quaternion method).
pub(crate) fn random_rotation(rng: &mut impl Rng) -> [[f64; 3]; 3] {
    let (u1, u2, u3) = (
        rng.random::<f64>(),
        rng.random::<f64>(),
        rng.random::<f64>(),
    );
    let tau = std::f64::consts::TAU;
    let (a, b) = ((1.0 - u1).sqrt(), u1.sqrt());
    let (w, x, y, z) = (
        a * (tau * u2).sin(),
        a * (tau * u2).cos(),
        b * (tau * u3).sin(),
        b * (tau * u3).cos(),
    );
    [
        [
            1.0 - 2.0 * (y * y + z * z),
            2.0 * (x * y - z * w),
            2.0 * (x * z + y * w),
        ],
        [
            2.0 * (x * y + z * w),
            1.0 - 2.0 * (x * x + z * z),
            2.0 * (y * z - x * w),
        ],
        [
            2.0 * (x * z - y * w),
            2.0 * (y * z + x * w),
            1.0 - 2.0 * (x * x + y * y),
        ],
    ]
}

/// Directions spread evenly over the sphere (Fibonacci lattice), for numerical averages.
pub(crate) fn fibonacci_sphere(n: usize) -> Vec<[f64; 3]> {
    let golden = std::f64::consts::PI * (3.0 - 5.0f64.sqrt());
    (0..n)
        .map(|i| {
            let z = 1.0 - 2.0 * (i as f64 + 0.5) / n as f64;
            let r = (1.0 - z * z).sqrt();
            let t = golden * i as f64;
            [r * t.cos(), r * t.sin(), z]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn field_has_unit_variance_and_bounded_form_stays_in_range() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut var = 0.0;
        let trials = 400;
        for _ in 0..trials {
            let f = WaveField::draw(&mut rng, 6, (4.0, 8.0));
            let x = [rng.random::<f64>() * 50.0, 3.0, -7.0];
            var += f.at(x).powi(2);
            assert!(f.bounded(x).abs() <= 1.0);
        }
        var /= trials as f64;
        assert!((var - 1.0).abs() < 0.2, "variance {var}");
    }

    #[test]
    fn rotation_is_orthonormal() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let r = random_rotation(&mut rng);
        for a in 0..3 {
            for b in 0..3 {
                let dot: f64 = (0..3).map(|k| r[a][k] * r[b][k]).sum();
                assert!((dot - if a == b { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }
}
