//! RN-GAP, the paper's ref. 35 in Table 3: a residual network whose last feature map goes
//! through global average pooling straight into the EGFR layer.
//!
//! Reading: the paper names the system only by its reference, and its architecture could not be
//! pinned down from the sources at hand, so this builds the reading its name gives: a ResNet-18
//! (He et al. 2016; torchvision's `resnet18`: the ResNet stem, basic blocks [2, 2, 2, 2], 1x1
//! conv + BN shortcuts where a block changes shape) followed by global average pooling and a
//! single linear layer to the two classes, with no hidden fully connected layer. That is the
//! class-activation-map architecture of Zhou et al. 2016: because pooling is the last spatial
//! step, the linear layer's weights applied to the last feature map give where the evidence for
//! each class lies. Names are torchvision's (`layer1.0.conv1`, `fc`), and at width 64 the count
//! is `resnet18`'s.
use tch::nn::{self, ModuleT};
use tch::Tensor;

use super::blocks::conv;
use super::resnet::{Downsample, ResNet};
use super::{check_spec, SystemSpec};
use crate::error::ModelError;
use crate::layers::batch_norm;

/// Basic blocks per stage of ResNet-18.
const RESNET18_DEPTHS: [usize; 4] = [2, 2, 2, 2];

/// 3x3 (stride) -> BN -> ReLU -> 3x3 -> BN, plus the shortcut, then ReLU: ResNet's block for its
/// shallow variants.
#[derive(Debug)]
struct BasicBlock {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    conv2: nn::Conv2D,
    bn2: nn::BatchNorm,
    downsample: Option<Downsample>,
}

impl BasicBlock {
    fn new(p: nn::Path, cin: i64, cout: i64, stride: i64) -> Self {
        let downsample = (stride != 1 || cin != cout)
            .then(|| Downsample::new(&p / "downsample", cin, cout, stride));
        Self {
            conv1: conv(&p / "conv1", cin, cout, 3, stride, false),
            bn1: batch_norm(&p / "bn1", cout),
            conv2: conv(&p / "conv2", cout, cout, 3, 1, false),
            bn2: batch_norm(&p / "bn2", cout),
            downsample,
        }
    }
}

impl ModuleT for BasicBlock {
    /// B x Cin x H x W -> B x Cout x H/stride x W/stride.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = x
            .apply(&self.conv1)
            .apply_t(&self.bn1, train)
            .relu()
            .apply(&self.conv2)
            .apply_t(&self.bn2, train);
        let shortcut = match &self.downsample {
            Some(d) => x.apply_t(d, train),
            None => x.shallow_clone(),
        };
        (y + shortcut).relu()
    }
}

/// B x in_channels x S x S -> B x 2 EGFR logits. `spec.width` is the stem's channels (64
/// canonical); stage `i` has `width * 2^i`.
#[derive(Debug)]
pub struct RnGap(ResNet<BasicBlock>);

impl RnGap {
    pub fn new(p: &nn::Path, spec: &SystemSpec) -> Result<Self, ModelError> {
        check_spec(spec, "RN-GAP", 32)?;
        Ok(Self(ResNet::new(
            p,
            spec,
            &RESNET18_DEPTHS,
            |path, cin, cout, stride| (BasicBlock::new(path, cin, cout, stride), cout),
        )))
    }
}

impl ModuleT for RnGap {
    /// B x Cin x S x S -> B x 2 (the last stage is 8 x width wide).
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.0.forward_t(x, train)
    }
}
