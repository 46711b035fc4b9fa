//! Hybrid CNN-Transformer head on the bottleneck: conv block narrows 16c -> 4c, the windowed
//! transformer mixes context inside each window, a 4x4 average pool and an MLP give 2 logits
//! (class 1 = EGFR mutant).
use tch::nn::{self, Module};
use tch::Tensor;

use crate::config::{MtsaConfig, CLS_POOL, LEVELS};
use crate::layers::{linear, snapshot_linear, ConvBnRelu, PrepareOptions};
use crate::transformer::WindowTransformer;

#[derive(Debug)]
pub struct EgfrClassifier {
    conv: ConvBnRelu,
    transformer: WindowTransformer,
    fc1: nn::Linear,
    fc2: nn::Linear,
    dropout: f64,
}

impl EgfrClassifier {
    pub fn new(p: nn::Path, cfg: &MtsaConfig) -> Self {
        let d = cfg.token_dim();
        let flat = cfg.pooled_side() * cfg.pooled_side() * d;
        Self {
            conv: ConvBnRelu::new(&p / "conv", cfg.level_channels(LEVELS - 1), d),
            transformer: WindowTransformer::new(
                &p / "transformer",
                d,
                cfg.window_side(),
                cfg.window_grid,
                cfg.heads,
            ),
            fc1: linear(&p / "fc1", flat, cfg.mlp_hidden),
            fc2: linear(&p / "fc2", cfg.mlp_hidden, 2),
            dropout: cfg.dropout,
        }
    }

    /// For inference: BN folded into the conv block, every weight a detached copy as `opts`
    /// says.
    pub fn prepare(&mut self, opts: PrepareOptions) {
        let _guard = tch::no_grad_guard();
        self.conv.prepare(opts);
        self.transformer.prepare(opts);
        snapshot_linear(&mut self.fc1, opts);
        snapshot_linear(&mut self.fc2, opts);
    }

    /// B x 16c x S/16 x S/16 bottleneck -> B x 2 logits.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let x = self.conv.forward_t(x, train); // B x 4c x S/16 x S/16
        let x = self.transformer.forward(&x);
        // Explicit arguments: tch's avg_pool2d_default would sum (divisor_override = 1).
        let x = x.avg_pool2d(
            [CLS_POOL, CLS_POOL],
            [CLS_POOL, CLS_POOL],
            [0, 0],
            false,
            true,
            None::<i64>,
        ); // B x 4c x S/64 x S/64
        let x = x.flatten(1, -1); // B x (S/64)^2 * 4c
        let x = self.fc1.forward(&x).relu().dropout(self.dropout, train);
        self.fc2.forward(&x) // B x 2
    }
}
