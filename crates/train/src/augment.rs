//! Per-sample augmentation drawn from the run's seeded ChaCha stream, so an epoch's batches are
//! the same whether the run was interrupted or not.

use crate::AugmentConfig;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use tch::{Kind, Tensor};

/// `images`, `masks`: B x 1 x S x S. Returns augmented copies; the mask is resampled with the
/// same geometry and re-binarised so it stays a valid target.
pub fn augment(
    images: &Tensor,
    masks: &Tensor,
    cfg: &AugmentConfig,
    rng: &mut ChaCha8Rng,
) -> (Tensor, Tensor) {
    let b = images.size()[0];
    let mut thetas = Vec::with_capacity(b as usize * 6);
    let mut scales = Vec::with_capacity(b as usize);
    let mut gammas = Vec::with_capacity(b as usize);
    let mut noise_sds = Vec::with_capacity(b as usize);
    for _ in 0..b {
        let flip = if rng.random::<f64>() < cfg.flip_lr {
            -1.0
        } else {
            1.0
        };
        let angle = (rng.random::<f64>() * 2.0 - 1.0) * cfg.rotate_deg.to_radians();
        let scale = 1.0 + (rng.random::<f64>() * 2.0 - 1.0) * cfg.intensity_scale;
        let zoom = log_uniform(cfg.zoom, rng);
        gammas.push(log_uniform(cfg.gamma, rng) as f32);
        noise_sds.push(if cfg.noise_sd > 0.0 {
            (rng.random::<f64>() * cfg.noise_sd) as f32
        } else {
            0.0
        });
        let (s, c) = angle.sin_cos();
        let (s, c) = (s / zoom, c / zoom);
        // Output pixel (x, y) samples input at theta @ (x, y, 1): rotation, then the x-flip;
        // dividing by the zoom samples a smaller part of the input, which enlarges it.
        thetas.extend_from_slice(&[
            (c * flip) as f32,
            (-s) as f32,
            0.0,
            (s * flip) as f32,
            c as f32,
            0.0,
        ]);
        scales.push(scale as f32);
    }
    let theta = Tensor::from_slice(&thetas)
        .view([b, 2, 3])
        .to_device(images.device());
    let grid = Tensor::affine_grid_generator(&theta, images.size(), false);
    // interpolation 0 = bilinear, padding 0 = zeros (background is 0 after normalisation)
    let mut img = images.grid_sampler(&grid, 0, 0, false);
    let mask = masks
        .grid_sampler(&grid, 0, 0, false)
        .ge(0.5)
        .to_kind(Kind::Float);
    let per_slice = |v: &[f32]| {
        Tensor::from_slice(v)
            .view([b, 1, 1, 1])
            .to_device(images.device())
    };
    if gammas.iter().any(|&g| g != 1.0) {
        // The bilinear samples of a non-negative slice are non-negative up to rounding; a
        // negative base would give NaN.
        img = img.clamp_min(0.0).pow(&per_slice(&gammas));
    }
    img *= per_slice(&scales);
    if noise_sds.iter().any(|&s| s > 0.0) {
        // Inside the brain only: the normalised background is exactly 0 at inference too.
        let brain = img.gt(0.0).to_kind(Kind::Float);
        let n = images.numel();
        let draws: Vec<f32> = (0..n)
            .map(|_| rng.sample::<f32, _>(StandardNormal))
            .collect();
        let noise = Tensor::from_slice(&draws)
            .view(images.size().as_slice())
            .to_device(images.device());
        img += noise * per_slice(&noise_sds) * brain;
    }
    (img.clamp(0.0, 1.5), mask)
}

/// A factor drawn log-uniformly in `[lo, hi]`; nothing is drawn when `lo == hi`, so a run
/// without that augmentation keeps the random stream it always had.
fn log_uniform([lo, hi]: [f64; 2], rng: &mut ChaCha8Rng) -> f64 {
    if lo < hi {
        (lo.ln() + rng.random::<f64>() * (hi / lo).ln()).exp()
    } else {
        lo
    }
}

/// `images` (B x 1 x S x S, slices `idx` of the split) with each slice replaced, at
/// probability `p`, by the same slice twice as thick (`thick`: N x 1 x S x S). The mask stays:
/// a thick slice's GTV is its centre's.
pub fn thicken(
    images: &Tensor,
    thick: &Tensor,
    idx: &[i64],
    p: f64,
    rng: &mut ChaCha8Rng,
) -> Tensor {
    let chosen: Vec<bool> = idx.iter().map(|_| rng.random::<f64>() < p).collect();
    if !chosen.contains(&true) {
        return images.shallow_clone();
    }
    let pick = Tensor::from_slice(&chosen)
        .view([-1, 1, 1, 1])
        .to_device(images.device());
    let thick = thick
        .index_select(0, &Tensor::from_slice(idx))
        .to_device(images.device());
    thick.where_self(&pick, images)
}

#[cfg(test)]
mod tests {
    use super::{augment, thicken};
    use crate::AugmentConfig;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use tch::{Kind, Tensor};

    /// A 16 x 16 slice with a centred 4 x 4 square in image and mask.
    fn square() -> Tensor {
        let t = Tensor::zeros([1, 1, 16, 16], (Kind::Float, tch::Device::Cpu));
        let _ = t.narrow(2, 6, 4).narrow(3, 6, 4).fill_(1.0);
        t
    }

    fn fixed(zoom: [f64; 2]) -> AugmentConfig {
        AugmentConfig {
            enabled: true,
            flip_lr: 0.0,
            rotate_deg: 0.0,
            intensity_scale: 0.0,
            zoom,
            thick_slices: 0.0,
            gamma: [1.0, 1.0],
            noise_sd: 0.0,
        }
    }

    #[test]
    fn thicken_swaps_in_the_chosen_slices_thick_planes() {
        // Slice i's thick plane is filled with i + 1; the batch holds slices 2 and 0.
        let thick = Tensor::from_slice(&[1.0f32, 2.0, 3.0])
            .view([3, 1, 1, 1])
            .expand([3, 1, 4, 4], false)
            .contiguous();
        let x = Tensor::zeros([2, 1, 4, 4], (Kind::Float, tch::Device::Cpu));
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert_eq!(thicken(&x, &thick, &[2, 0], 0.0, &mut rng), x);
        let all = thicken(&x, &thick, &[2, 0], 1.0, &mut rng);
        assert_eq!(all.double_value(&[0, 0, 1, 2]), 3.0);
        assert_eq!(all.double_value(&[1, 0, 3, 3]), 1.0);
        let some: Vec<f64> = (0..200)
            .map(|_| thicken(&x, &thick, &[1], 0.25, &mut rng).double_value(&[0, 0, 0, 0]))
            .collect();
        let swapped = some.iter().filter(|&&v| v == 2.0).count();
        assert!((30..=70).contains(&swapped), "{swapped} of 200 at p = 0.25");
        assert!(some.iter().all(|&v| v == 0.0 || v == 2.0));
    }

    #[test]
    fn zoom_enlarges_the_slice_and_its_mask_alike() {
        let x = square();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (img, mask) = augment(&x, &x, &fixed([1.0, 1.0]), &mut rng);
        assert_eq!(
            img, x,
            "no zoom, flip, rotation or scaling leaves the slice as it was"
        );
        assert_eq!(mask, x);
        let (img, mask) = augment(&x, &x, &fixed([2.0, 2.0]), &mut rng);
        // Twice the side: the 4 x 4 square covers 8 x 8 pixels of the mask.
        assert_eq!(mask.sum(Kind::Float).double_value(&[]), 64.0);
        assert_eq!(img.gt(0.5).sum(Kind::Float).double_value(&[]), 64.0);
        assert_eq!(mask.double_value(&[0, 0, 4, 4]), 1.0);
        assert_eq!(mask.double_value(&[0, 0, 3, 3]), 0.0);
    }

    #[test]
    fn gamma_bends_the_intensities_and_noise_stays_inside_the_brain() {
        let half = square() * 0.5;
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let cfg = AugmentConfig {
            gamma: [2.0, 2.0],
            ..fixed([1.0, 1.0])
        };
        let (img, mask) = augment(&half, &square(), &cfg, &mut rng);
        assert_eq!(img, square() * 0.25, "0.5 squared inside, 0 outside");
        assert_eq!(mask, square());
        let cfg = AugmentConfig {
            noise_sd: 0.2,
            ..fixed([1.0, 1.0])
        };
        let noisy: Vec<Tensor> = (0..20)
            .map(|_| augment(&half, &square(), &cfg, &mut rng).0)
            .collect();
        let outside = square().eq(0.0);
        for img in &noisy {
            assert_eq!(
                img.masked_select(&outside)
                    .abs()
                    .sum(Kind::Float)
                    .double_value(&[]),
                0.0,
                "the background stays 0"
            );
        }
        let sds: Vec<f64> = noisy
            .iter()
            .map(|img| {
                img.masked_select(&outside.logical_not())
                    .std(true)
                    .double_value(&[])
            })
            .collect();
        assert!(sds.iter().all(|&s| s < 0.3), "{sds:?}");
        assert!(sds.iter().any(|&s| s > 0.05), "{sds:?}");
    }

    #[test]
    fn a_zoom_range_draws_sizes_inside_it() {
        let x = square();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let cfg = fixed([1.0, 2.0]);
        let areas: Vec<f64> = (0..20)
            .map(|_| {
                let (_, m) = augment(&x, &x, &cfg, &mut rng);
                m.sum(Kind::Float).double_value(&[])
            })
            .collect();
        assert!(
            areas.iter().all(|&a| (16.0..=64.0).contains(&a)),
            "{areas:?}"
        );
        assert!(areas.iter().any(|&a| a > 16.0), "{areas:?}");
    }
}
