//! One encoder level: Conv3x3 -> BatchNorm -> ReLU -> MSA module (spec §2).
use tch::{nn, Tensor};

use crate::layers::{ConvBnRelu, Layout, PrepareOptions};
use crate::msa_module::MsaModule;

#[derive(Debug)]
pub struct MsaBlock {
    stem: ConvBnRelu,
    msa: MsaModule,
}

impl MsaBlock {
    pub fn new(p: nn::Path, cin: i64, cout: i64, square_kernel: i64, strips: &[i64]) -> Self {
        Self {
            stem: ConvBnRelu::new(&p / "stem", cin, cout),
            msa: MsaModule::new(&p / "msa", cout, square_kernel, strips),
        }
    }

    /// For inference: BN folded into the stem, strips merged, weights as `opts` says.
    pub fn prepare(&mut self, opts: PrepareOptions) {
        self.stem.prepare(opts);
        self.msa.prepare(opts);
    }

    /// The layout the block's weights are stored in.
    pub fn weight_layout(&self) -> Layout {
        self.msa.weight_layout()
    }

    /// B x Cin x H x W -> B x Cout x H x W.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.msa.forward(&self.stem.forward_t(x, train))
    }
}
