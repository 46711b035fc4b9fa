//! Seeding. Each patient draws from its own ChaCha8 streams keyed by the cohort seed, the site and
//! the patient's index within the site, one stream per purpose: a patient is then the same
//! whatever the cohort size or worker count, and drawing more noise (a finer site grid) never
//! shifts the phenotype, and so never the EGFR label.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What a stream is used for; the discriminant is the ChaCha stream number.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose {
    Phenotype = 1,
    Anatomy = 2,
    Lesions = 3,
    Clinical = 4,
    Acquisition = 5,
    Vessels = 6,
    /// UIDs of the DICOM files (`--format dicom`); never touches the voxels.
    Dicom = 7,
}

pub(crate) fn patient_rng(seed: u64, site: &str, index: usize, purpose: Purpose) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&fnv1a(site.as_bytes()).to_le_bytes());
    key[16..24].copy_from_slice(&(index as u64).to_le_bytes());
    key[24..32].copy_from_slice(b"mtsasyn1");
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(purpose as u64);
    rng
}

/// A fixed, platform-independent hash (std's hasher is randomly keyed per process).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A standard normal pair by Box-Muller (kept here rather than pulling in a distributions crate
/// for one formula).
pub(crate) fn normal_pair(rng: &mut impl rand::Rng) -> (f64, f64) {
    let u1 = 1.0 - rng.random::<f64>(); // (0, 1]: ln is finite
    let u2 = rng.random::<f64>();
    let r = (-2.0 * u1.ln()).sqrt();
    let t = std::f64::consts::TAU * u2;
    (r * t.cos(), r * t.sin())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_differ_by_every_key_part() {
        let draw = |s, site, i, p| patient_rng(s, site, i, p).random::<u64>();
        let base = draw(1, "internal", 0, Purpose::Phenotype);
        assert_eq!(base, draw(1, "internal", 0, Purpose::Phenotype));
        assert_ne!(base, draw(2, "internal", 0, Purpose::Phenotype));
        assert_ne!(base, draw(1, "site-b", 0, Purpose::Phenotype));
        assert_ne!(base, draw(1, "internal", 1, Purpose::Phenotype));
        assert_ne!(base, draw(1, "internal", 0, Purpose::Lesions));
    }

    #[test]
    fn normal_pair_has_unit_moments() {
        let mut rng = patient_rng(7, "x", 0, Purpose::Acquisition);
        let n = 20_000;
        let v: Vec<f64> = (0..n)
            .flat_map(|_| {
                let (a, b) = normal_pair(&mut rng);
                [a, b]
            })
            .collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.04, "var {var}");
    }
}
