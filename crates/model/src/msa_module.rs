//! Multi-scale attention (paper eq. 1, after SegNeXt's MSCA): depth-wise strip convolutions
//! give large receptive fields at O(k) cost, and the result gates the input element-wise.
use tch::nn::{self, Module};
use tch::Tensor;

use crate::layers::conv2d;

#[derive(Debug)]
pub struct MsaModule {
    /// `d` = depth-wise k x k.
    square: nn::Conv2D,
    /// One (1 x k, k x 1) depth-wise pair per strip kernel, applied to `d`.
    strips: Vec<(nn::Conv2D, nn::Conv2D)>,
    /// Full Conv3x3 on F.
    local: nn::Conv2D,
    /// Conv1x1 mixing channels into the attention map.
    mix: nn::Conv2D,
}

impl MsaModule {
    pub fn new(p: nn::Path, ch: i64, square_kernel: i64, strip_kernels: &[i64]) -> Self {
        let k = square_kernel;
        let strips = strip_kernels
            .iter()
            .map(|&s| {
                let q = &p / format!("strip{s}");
                (
                    conv2d(&q / "h", ch, ch, [1, s], ch),
                    conv2d(&q / "v", ch, ch, [s, 1], ch),
                )
            })
            .collect();
        Self {
            square: conv2d(&p / "square", ch, ch, [k, k], ch),
            strips,
            local: conv2d(&p / "local", ch, ch, [3, 3], 1),
            mix: conv2d(&p / "mix", ch, ch, [1, 1], 1),
        }
    }

    /// B x C x H x W -> B x C x H x W.
    pub fn forward(&self, f: &Tensor) -> Tensor {
        let d = self.square.forward(f);
        let mut sum = self.local.forward(f) + &d;
        for (h, v) in &self.strips {
            sum += v.forward(&h.forward(&d));
        }
        self.mix.forward(&sum) * f
    }
}
