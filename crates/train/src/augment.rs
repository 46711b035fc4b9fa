//! Per-sample augmentation drawn from the run's seeded ChaCha stream, so an epoch's batches are
//! the same whether the run was interrupted or not.

use crate::AugmentConfig;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
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
    for _ in 0..b {
        let flip = if rng.random::<f64>() < cfg.flip_lr {
            -1.0
        } else {
            1.0
        };
        let angle = (rng.random::<f64>() * 2.0 - 1.0) * cfg.rotate_deg.to_radians();
        let scale = 1.0 + (rng.random::<f64>() * 2.0 - 1.0) * cfg.intensity_scale;
        // Drawn only when asked, so a run without zoom keeps the stream it always had.
        let [lo, hi] = cfg.zoom;
        let zoom = if lo < hi {
            (lo.ln() + rng.random::<f64>() * (hi / lo).ln()).exp()
        } else {
            lo
        };
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
    let img = images.grid_sampler(&grid, 0, 0, false);
    let mask = masks
        .grid_sampler(&grid, 0, 0, false)
        .ge(0.5)
        .to_kind(Kind::Float);
    let scale = Tensor::from_slice(&scales)
        .view([b, 1, 1, 1])
        .to_device(images.device());
    ((img * scale).clamp(0.0, 1.5), mask)
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
