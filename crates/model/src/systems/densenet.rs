//! DenseNet-121 (Huang et al. 2017), one of the paper's single-task EGFR classifiers (Table 3),
//! built as torchvision's `densenet121`: a 7x7/2 stem and 3x3/2 max-pool, four dense blocks of
//! [6, 12, 24, 16] layers, each layer seeing the concatenation of every earlier feature map in
//! its block (feature reuse, so each layer adds only `growth` channels), transitions that halve
//! the channels (compression 0.5) and the side between blocks, a final BatchNorm and ReLU,
//! global average pooling and one linear layer to the two EGFR classes. Layers are
//! pre-activation (BN -> ReLU -> conv), as the paper's. Variable names are torchvision's
//! (`features.denseblock1.denselayer1.norm1`, `features.transition1.conv`, `classifier`).
//!
//! `spec.width` is the stem's channels (64 canonical) and the growth rate is half of it (32
//! canonical), so narrower builds keep torchvision's proportions.
use tch::nn::{self, ModuleT};
use tch::Tensor;

use super::blocks::conv;
use super::{check_spec, SystemSpec};
use crate::error::ModelError;
use crate::layers::{batch_norm, linear};

/// Dense layers per block of DenseNet-121.
const DENSENET121_DEPTHS: [usize; 4] = [6, 12, 24, 16];
/// A layer's 1x1 bottleneck has `BN_SIZE * growth` channels (the paper's DenseNet-B).
const BN_SIZE: i64 = 4;

/// BN -> ReLU -> 1x1 conv (to 4*growth) -> BN -> ReLU -> 3x3 conv (to growth).
#[derive(Debug)]
struct DenseLayer {
    norm1: nn::BatchNorm,
    conv1: nn::Conv2D,
    norm2: nn::BatchNorm,
    conv2: nn::Conv2D,
}

impl DenseLayer {
    fn new(p: nn::Path, cin: i64, growth: i64) -> Self {
        let hidden = BN_SIZE * growth;
        Self {
            norm1: batch_norm(&p / "norm1", cin),
            conv1: conv(&p / "conv1", cin, hidden, 1, 1, false),
            norm2: batch_norm(&p / "norm2", hidden),
            conv2: conv(&p / "conv2", hidden, growth, 3, 1, false),
        }
    }
}

impl ModuleT for DenseLayer {
    /// B x Cin x H x W -> B x growth x H x W (the new features only).
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        x.apply_t(&self.norm1, train)
            .relu()
            .apply(&self.conv1) // B x 4*growth x H x W
            .apply_t(&self.norm2, train)
            .relu()
            .apply(&self.conv2)
    }
}

/// Dense layers whose outputs are concatenated onto their input, one after another.
#[derive(Debug)]
struct DenseBlock {
    layers: Vec<DenseLayer>,
}

impl DenseBlock {
    /// torchvision numbers the layers from 1 (`denselayer1`).
    fn new(p: nn::Path, cin: i64, depth: usize, growth: i64) -> Self {
        let layers = (0..depth)
            .map(|i| {
                DenseLayer::new(
                    &p / format!("denselayer{}", i + 1),
                    cin + i as i64 * growth,
                    growth,
                )
            })
            .collect();
        Self { layers }
    }
}

impl ModuleT for DenseBlock {
    /// B x Cin x H x W -> B x (Cin + depth * growth) x H x W.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut features = x.shallow_clone();
        for layer in &self.layers {
            let new = features.apply_t(layer, train);
            features = Tensor::cat(&[features, new], 1);
        }
        features
    }
}

/// BN -> ReLU -> 1x1 conv (compression) -> 2x2/2 average pool, between dense blocks.
#[derive(Debug)]
struct Transition {
    norm: nn::BatchNorm,
    conv: nn::Conv2D,
}

impl Transition {
    fn new(p: nn::Path, cin: i64, cout: i64) -> Self {
        Self {
            norm: batch_norm(&p / "norm", cin),
            conv: conv(&p / "conv", cin, cout, 1, 1, false),
        }
    }
}

impl ModuleT for Transition {
    /// B x Cin x H x W -> B x Cout x H/2 x W/2.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        x.apply_t(&self.norm, train)
            .relu()
            .apply(&self.conv)
            .avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None)
    }
}

/// B x in_channels x S x S -> B x 2 EGFR logits.
#[derive(Debug)]
pub struct DenseNet121 {
    conv0: nn::Conv2D,
    norm0: nn::BatchNorm,
    /// Dense block `i`, then (for all but the last) transition `i`.
    stages: Vec<(DenseBlock, Option<Transition>)>,
    norm5: nn::BatchNorm,
    classifier: nn::Linear,
}

impl DenseNet121 {
    pub fn new(p: &nn::Path, spec: &SystemSpec) -> Result<Self, ModelError> {
        check_spec(spec, "DenseNet-121", 32)?;
        let init = spec.width;
        let growth = init / 2;
        if growth < 1 {
            return Err(ModelError::InvalidConfig(format!(
                "DenseNet-121: width {init} leaves no growth rate (width / 2); use width >= 2"
            )));
        }
        let f = p / "features";
        let conv0 = conv(&f / "conv0", spec.in_channels, init, 7, 2, false);
        let norm0 = batch_norm(&f / "norm0", init);
        let mut stages = Vec::with_capacity(DENSENET121_DEPTHS.len());
        let mut ch = init;
        for (i, &depth) in DENSENET121_DEPTHS.iter().enumerate() {
            let block = DenseBlock::new(&f / format!("denseblock{}", i + 1), ch, depth, growth);
            ch += depth as i64 * growth;
            let transition = (i + 1 < DENSENET121_DEPTHS.len()).then(|| {
                let t = Transition::new(&f / format!("transition{}", i + 1), ch, ch / 2);
                ch /= 2;
                t
            });
            stages.push((block, transition));
        }
        let norm5 = batch_norm(&f / "norm5", ch);
        let classifier = linear(p / "classifier", ch, 2);
        Ok(Self {
            conv0,
            norm0,
            stages,
            norm5,
            classifier,
        })
    }
}

impl ModuleT for DenseNet121 {
    /// B x Cin x S x S -> B x 2.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut y = x
            .apply(&self.conv0) // B x w x S/2 x S/2
            .apply_t(&self.norm0, train)
            .relu()
            .max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false); // B x w x S/4 x S/4
        for (block, transition) in &self.stages {
            y = y.apply_t(block, train);
            if let Some(t) = transition {
                y = y.apply_t(t, train);
            }
        } // B x 16w x S/32 x S/32 (1024 at w = 64)
        y.apply_t(&self.norm5, train)
            .relu()
            .adaptive_avg_pool2d([1, 1])
            .flatten(1, -1)
            .apply(&self.classifier)
    }
}
