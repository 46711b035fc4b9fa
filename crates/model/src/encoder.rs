//! Five MSA blocks with 2x2 max-pooling between them; every level's output is kept because the
//! decoder needs them as skips.
use tch::{nn, Tensor};

use crate::config::{MtsaConfig, LEVELS};
use crate::layers::{Layout, PrepareOptions};
use crate::msa_block::MsaBlock;

#[derive(Debug)]
pub struct Encoder {
    levels: Vec<MsaBlock>,
}

impl Encoder {
    pub fn new(p: nn::Path, cfg: &MtsaConfig) -> Self {
        let mut cin = cfg.in_channels;
        let levels = (0..LEVELS)
            .map(|i| {
                let ch = cfg.level_channels(i);
                let b = MsaBlock::new(
                    &p / format!("level{i}"),
                    cin,
                    ch,
                    cfg.square_kernel,
                    &cfg.strip_kernels,
                );
                cin = ch;
                b
            })
            .collect();
        Self { levels }
    }

    /// For inference: see [`MsaBlock::prepare`].
    pub fn prepare(&mut self, opts: PrepareOptions) {
        for block in &mut self.levels {
            block.prepare(opts);
        }
    }

    /// The layout the first level's weights are stored in.
    pub fn weight_layout(&self) -> Layout {
        self.levels[0].weight_layout()
    }

    /// B x in_channels x S x S -> [B x c x S x S, B x 2c x S/2 x S/2, ..., B x 16c x S/16 x S/16].
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Vec<Tensor> {
        let mut feats: Vec<Tensor> = Vec::with_capacity(self.levels.len());
        for block in &self.levels {
            let out = match feats.last() {
                None => block.forward_t(x, train),
                Some(prev) => {
                    // B x C x H x W -> B x C x H/2 x W/2
                    let pooled = prev.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false);
                    block.forward_t(&pooled, train)
                }
            };
            feats.push(out);
        }
        feats
    }
}
