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
        let (s, c) = angle.sin_cos();
        // Output pixel (x, y) samples input at theta @ (x, y, 1): rotation, then the x-flip.
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
