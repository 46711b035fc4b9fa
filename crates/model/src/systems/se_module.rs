//! Squeeze-and-Excitation (Hu et al. 2018): a block re-weights its own channels from their
//! global context, so a convolution's local features are scaled by what the whole slice holds.
//! Built as timm's `SEModule`, which its `seresnet50` puts in every bottleneck: two 1x1
//! convolutions with bias (the paper's two fully connected layers on the squeezed vector).
use tch::nn::{self, ModuleT};
use tch::Tensor;

use super::blocks::conv;

/// The paper's reduction ratio r: the excitation's bottleneck has C / r channels.
pub const SE_REDUCTION: i64 = 16;

/// Squeeze (global average pool) -> excite (fc1 -> ReLU -> fc2 -> sigmoid) -> scale.
#[derive(Debug)]
pub struct SqueezeExcite {
    fc1: nn::Conv2D,
    fc2: nn::Conv2D,
}

impl SqueezeExcite {
    /// `channels / reduction` hidden channels, at least 1. timm rounds them up to a multiple of
    /// 8 (at least 8); at torchvision's stage widths (256 ... 2048) that is the same number, and
    /// at narrower widths the plain ratio keeps the block's proportions.
    pub fn new(p: nn::Path, channels: i64, reduction: i64) -> Self {
        let hidden = (channels / reduction.max(1)).max(1);
        Self {
            fc1: conv(&p / "fc1", channels, hidden, 1, 1, true),
            fc2: conv(&p / "fc2", hidden, channels, 1, 1, true),
        }
    }
}

impl ModuleT for SqueezeExcite {
    /// B x C x H x W -> B x C x H x W, each channel scaled by a gate in (0, 1).
    fn forward_t(&self, x: &Tensor, _train: bool) -> Tensor {
        let gate = x
            .adaptive_avg_pool2d([1, 1]) // B x C x 1 x 1
            .apply(&self.fc1) // B x C/r x 1 x 1
            .relu()
            .apply(&self.fc2) // B x C x 1 x 1
            .sigmoid();
        x * gate
    }
}
