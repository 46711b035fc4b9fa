//! Per-patient pose and head size: a similarity transform from template to patient space (spec:
//! rotation about the vertical axis within ±12°, about the other two within ±5°, isotropic scale
//! 0.92-1.08, shift within ±5 mm), about the brain's centre so a rotation does not swing the
//! brain out of the field of view.

use rand::Rng;
use serde::Serialize;

const MAX_TILT_DEG: f64 = 5.0;
const MAX_YAW_DEG: f64 = 12.0;
const SCALE: (f64, f64) = (0.92, 1.08);
const MAX_SHIFT_MM: f64 = 5.0;

/// `p = centre + shift + scale * R (q - centre)`, q in template, p in patient world (mm).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Similarity {
    /// Rotations about the x (left-right), y (front-back) and z (vertical) axes, applied x first.
    pub rotation_deg: [f64; 3],
    pub scale: f64,
    pub shift_mm: [f64; 3],
    pub centre_mm: [f64; 3],
    #[serde(skip)]
    r: [[f64; 3]; 3],
}

impl Similarity {
    pub fn new(
        rotation_deg: [f64; 3],
        scale: f64,
        shift_mm: [f64; 3],
        centre_mm: [f64; 3],
    ) -> Self {
        let [a, b, c] = rotation_deg.map(f64::to_radians);
        let rx = [
            [1.0, 0.0, 0.0],
            [0.0, a.cos(), -a.sin()],
            [0.0, a.sin(), a.cos()],
        ];
        let ry = [
            [b.cos(), 0.0, b.sin()],
            [0.0, 1.0, 0.0],
            [-b.sin(), 0.0, b.cos()],
        ];
        let rz = [
            [c.cos(), -c.sin(), 0.0],
            [c.sin(), c.cos(), 0.0],
            [0.0, 0.0, 1.0],
        ];
        Self {
            rotation_deg,
            scale,
            shift_mm,
            centre_mm,
            r: matmul(&rz, &matmul(&ry, &rx)),
        }
    }

    pub fn identity(centre_mm: [f64; 3]) -> Self {
        Self::new([0.0; 3], 1.0, [0.0; 3], centre_mm)
    }

    pub fn draw(rng: &mut impl Rng, centre_mm: [f64; 3]) -> Self {
        let rotation = [
            rng.random_range(-MAX_TILT_DEG..=MAX_TILT_DEG),
            rng.random_range(-MAX_TILT_DEG..=MAX_TILT_DEG),
            rng.random_range(-MAX_YAW_DEG..=MAX_YAW_DEG),
        ];
        let scale = rng.random_range(SCALE.0..=SCALE.1);
        let shift = std::array::from_fn(|_| rng.random_range(-MAX_SHIFT_MM..=MAX_SHIFT_MM));
        Self::new(rotation, scale, shift, centre_mm)
    }

    /// Template point to patient world.
    pub fn forward(&self, q: [f64; 3]) -> [f64; 3] {
        let c = self.centre_mm;
        let d = [q[0] - c[0], q[1] - c[1], q[2] - c[2]];
        std::array::from_fn(|r| {
            c[r] + self.shift_mm[r]
                + self.scale * (self.r[r][0] * d[0] + self.r[r][1] * d[1] + self.r[r][2] * d[2])
        })
    }

    /// Patient world to template point (R is orthonormal, so its inverse is its transpose).
    pub fn inverse(&self, p: [f64; 3]) -> [f64; 3] {
        let c = self.centre_mm;
        let d: [f64; 3] = std::array::from_fn(|r| (p[r] - c[r] - self.shift_mm[r]) / self.scale);
        std::array::from_fn(|r| {
            c[r] + self.r[0][r] * d[0] + self.r[1][r] * d[1] + self.r[2][r] * d[2]
        })
    }
}

pub(crate) fn matmul(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    std::array::from_fn(|r| std::array::from_fn(|c| (0..3).map(|k| a[r][k] * b[k][c]).sum()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn inverse_undoes_forward_and_distances_scale() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for _ in 0..50 {
            let t = Similarity::draw(&mut rng, [1.0, -17.0, 9.0]);
            assert!(t.rotation_deg[2].abs() <= 12.0 && t.rotation_deg[0].abs() <= 5.0);
            let q = [10.0, 20.0, -30.0];
            let back = t.inverse(t.forward(q));
            assert!((0..3).all(|d| (back[d] - q[d]).abs() < 1e-9));
            let (p0, p1) = (t.forward([0.0; 3]), t.forward([10.0, 0.0, 0.0]));
            let dist = (0..3).map(|d| (p1[d] - p0[d]).powi(2)).sum::<f64>().sqrt();
            assert!((dist - 10.0 * t.scale).abs() < 1e-9);
        }
    }

    #[test]
    fn yaw_turns_about_the_vertical_axis() {
        let t = Similarity::new([0.0, 0.0, 90.0], 1.0, [0.0; 3], [0.0; 3]);
        let p = t.forward([1.0, 0.0, 5.0]);
        assert!((p[0]).abs() < 1e-12 && (p[1] - 1.0).abs() < 1e-12 && (p[2] - 5.0).abs() < 1e-12);
    }
}
