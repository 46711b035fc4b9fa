//! U-Net style decoder: each stage doubles the side with a transposed conv, concatenates the
//! encoder skip of that level and fuses with Conv3x3-BN-ReLU; a final Conv1x1 gives one logit
//! map (sigmoid = GTV probability, which is what the focal loss is written on).
use tch::nn::{self, Module};
use tch::Tensor;

use crate::config::{MtsaConfig, LEVELS};
use crate::layers::{conv2d, snapshot, snapshot_conv, up2, ConvBnRelu, PrepareOptions};

/// Initial bias of the logit head: every pixel starts at p = 0.01, the focal-loss paper's prior
/// (Lin et al. 2017, section 4.1). From PyTorch's default (p ~ 0.5 everywhere) the per-image Dice
/// loss sits near 1 for the first ~10 epochs while the net learns to say "background"; from the
/// prior it starts learning the GTV at once.
const PRIOR_LOGIT: f64 = -4.59511985013459; // ln(0.01 / 0.99)

#[derive(Debug)]
pub struct GtvDecoder {
    /// Deepest stage first: (up from level i+1, fuse at level i) for i = LEVELS-2 .. 0.
    stages: Vec<(nn::ConvTranspose2D, ConvBnRelu)>,
    head: nn::Conv2D,
}

impl GtvDecoder {
    pub fn new(p: nn::Path, cfg: &MtsaConfig) -> Self {
        let stages = (0..LEVELS - 1)
            .rev()
            .map(|i| {
                let (deep, ch) = (cfg.level_channels(i + 1), cfg.level_channels(i));
                let q = &p / format!("stage{i}");
                (
                    up2(&q / "up", deep, ch),
                    ConvBnRelu::new(&q / "fuse", 2 * ch, ch),
                )
            })
            .collect();
        let mut head = conv2d(&p / "head", cfg.base_channels, 1, [1, 1], 1);
        if let Some(b) = head.bs.as_mut() {
            tch::no_grad(|| {
                let _ = b.fill_(PRIOR_LOGIT);
            });
        }
        Self { stages, head }
    }

    /// For inference: BN folded into every fuse block, weights as detached copies as `opts`
    /// says.
    pub fn prepare(&mut self, opts: PrepareOptions) {
        let _guard = tch::no_grad_guard();
        for (up, fuse) in &mut self.stages {
            up.ws = snapshot(&up.ws, opts);
            up.bs = up.bs.as_ref().map(|b| snapshot(b, opts));
            fuse.prepare(opts);
        }
        snapshot_conv(&mut self.head, opts);
    }

    /// A parameter whose dtype and device stand for the whole net's.
    pub(crate) fn probe(&self) -> &Tensor {
        &self.head.ws
    }

    /// `feats` from [`crate::Encoder::forward_t`] -> B x 1 x S x S logits.
    pub fn forward_t(&self, feats: &[Tensor], train: bool) -> Tensor {
        let mut x = feats[feats.len() - 1].shallow_clone(); // B x 16c x S/16 x S/16
        for ((up, fuse), skip) in self.stages.iter().zip(feats.iter().rev().skip(1)) {
            let u = up.forward(&x); // B x C x 2H x 2W, C = skip channels
            x = fuse.forward_t(&Tensor::cat(&[u, skip.shallow_clone()], 1), train);
            // 2C -> C
        }
        self.head.forward(&x) // B x c x S x S -> B x 1 x S x S
    }
}
