//! ResNet-50 (He et al. 2016) and SE-ResNet-50 (Hu et al. 2018), two of the paper's
//! single-task EGFR classifiers (Table 3), built as torchvision's `resnet50` and timm's
//! `seresnet50`: a 7x7/2 stem and 3x3/2 max-pool, four stages of [3, 4, 6, 3] bottlenecks
//! (expansion 4, stride on the 3x3 convolution as torchvision's "v1.5"), a 1x1 conv + BN
//! shortcut where a block changes shape, global average pooling and one linear layer to the two
//! EGFR classes. Variable names are torchvision's (`conv1`, `bn1`, `layer1.0.conv2`,
//! `layer1.0.downsample.0`, `fc`), so its state dicts map one to one.
//!
//! timm's `seresnet50` is this network with a [`SqueezeExcite`] after each bottleneck's last
//! BatchNorm (`layer1.0.se.fc1` ...); timm's `legacy_seresnet50` (the Caffe port of the SENet
//! release) has the same parameter count but strides the first 1x1 convolution instead, so
//! `seresnet50` is the one this build matches.
use tch::nn::{self, ModuleT};
use tch::Tensor;

use super::blocks::conv;
use super::se_module::{SqueezeExcite, SE_REDUCTION};
use super::{check_spec, SystemSpec};
use crate::error::ModelError;
use crate::layers::{batch_norm, linear};

/// Bottleneck blocks per stage of ResNet-50.
const RESNET50_DEPTHS: [usize; 4] = [3, 4, 6, 3];
/// A bottleneck's output has 4x the channels of its 3x3 convolution.
const EXPANSION: i64 = 4;

/// The ResNet stem: conv 7x7/2 -> BN -> ReLU -> max-pool 3x3/2, which brings the slice to a
/// quarter of its side before the first stage.
#[derive(Debug)]
struct ResNetStem {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
}

impl ResNetStem {
    /// Built directly under `p` (torchvision keeps `conv1` and `bn1` at the top level).
    fn new(p: &nn::Path, cin: i64, cout: i64) -> Self {
        Self {
            conv1: conv(p / "conv1", cin, cout, 7, 2, false),
            bn1: batch_norm(p / "bn1", cout),
        }
    }
}

impl ModuleT for ResNetStem {
    /// B x Cin x S x S -> B x Cout x S/4 x S/4.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        x.apply(&self.conv1) // B x Cout x S/2 x S/2
            .apply_t(&self.bn1, train)
            .relu()
            .max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false)
    }
}

/// The projection shortcut: 1x1 conv (stride of the block) -> BN, used where a block changes
/// the number of channels or the side, so the residual sum has matching shapes.
#[derive(Debug)]
pub(super) struct Downsample {
    conv: nn::Conv2D,
    bn: nn::BatchNorm,
}

impl Downsample {
    /// torchvision's `downsample` is a Sequential, so its layers are named `0` and `1`.
    pub(super) fn new(p: nn::Path, cin: i64, cout: i64, stride: i64) -> Self {
        Self {
            conv: conv(&p / "0", cin, cout, 1, stride, false),
            bn: batch_norm(&p / "1", cout),
        }
    }
}

impl ModuleT for Downsample {
    /// B x Cin x H x W -> B x Cout x H/stride x W/stride.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        x.apply(&self.conv).apply_t(&self.bn, train)
    }
}

/// 1x1 (reduce) -> 3x3 (stride) -> 1x1 (expand x4), each followed by BN, ReLU after the first
/// two and after the residual sum: the bottleneck that lets ResNet-50 be deep at the cost of a
/// ResNet-34.
#[derive(Debug)]
struct Bottleneck {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    conv2: nn::Conv2D,
    bn2: nn::BatchNorm,
    conv3: nn::Conv2D,
    bn3: nn::BatchNorm,
    /// SE-ResNet only: re-weights the residual branch before it joins the shortcut.
    se: Option<SqueezeExcite>,
    downsample: Option<Downsample>,
}

impl Bottleneck {
    fn new(p: nn::Path, cin: i64, planes: i64, stride: i64, squeeze_excite: bool) -> Self {
        let cout = planes * EXPANSION;
        let downsample = (stride != 1 || cin != cout)
            .then(|| Downsample::new(&p / "downsample", cin, cout, stride));
        Self {
            conv1: conv(&p / "conv1", cin, planes, 1, 1, false),
            bn1: batch_norm(&p / "bn1", planes),
            conv2: conv(&p / "conv2", planes, planes, 3, stride, false),
            bn2: batch_norm(&p / "bn2", planes),
            conv3: conv(&p / "conv3", planes, cout, 1, 1, false),
            bn3: batch_norm(&p / "bn3", cout),
            se: squeeze_excite.then(|| SqueezeExcite::new(&p / "se", cout, SE_REDUCTION)),
            downsample,
        }
    }
}

impl ModuleT for Bottleneck {
    /// B x Cin x H x W -> B x 4*planes x H/stride x W/stride.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = x
            .apply(&self.conv1) // B x planes x H x W
            .apply_t(&self.bn1, train)
            .relu()
            .apply(&self.conv2) // B x planes x H/stride x W/stride
            .apply_t(&self.bn2, train)
            .relu()
            .apply(&self.conv3) // B x 4*planes x H/stride x W/stride
            .apply_t(&self.bn3, train);
        let y = match &self.se {
            Some(se) => y.apply_t(se, train),
            None => y,
        };
        let shortcut = match &self.downsample {
            Some(d) => x.apply_t(d, train),
            None => x.shallow_clone(),
        };
        (y + shortcut).relu()
    }
}

/// The ResNet skeleton both depths share (with [`super::RnGap`]): the stem, four stages of
/// residual blocks (the first block of stages 2-4 halves the side; stage `i` is `width * 2^i`
/// wide), global average pooling and one linear layer to the two EGFR classes.
#[derive(Debug)]
pub(super) struct ResNet<B> {
    stem: ResNetStem,
    /// The blocks of `layer1` ... `layer4`, in order.
    blocks: Vec<B>,
    fc: nn::Linear,
}

impl<B> ResNet<B> {
    /// `depths[i]` blocks in stage `i`; `block(path, cin, stage_width, stride)` builds one and
    /// says its output channels.
    pub(super) fn new(
        p: &nn::Path,
        spec: &SystemSpec,
        depths: &[usize],
        mut block: impl FnMut(nn::Path, i64, i64, i64) -> (B, i64),
    ) -> Self {
        let width = spec.width;
        let stem = ResNetStem::new(p, spec.in_channels, width);
        let mut blocks = Vec::with_capacity(depths.iter().sum());
        let mut cin = width;
        for (stage, &depth) in depths.iter().enumerate() {
            let layer = p / format!("layer{}", stage + 1);
            for i in 0..depth {
                // Only the first block of stages 2-4 halves the side.
                let stride = if i == 0 && stage > 0 { 2 } else { 1 };
                let (b, cout) = block(&layer / i, cin, width << stage, stride);
                blocks.push(b);
                cin = cout;
            }
        }
        let fc = linear(p / "fc", cin, 2);
        Self { stem, blocks, fc }
    }
}

impl<B: ModuleT> ModuleT for ResNet<B> {
    /// B x Cin x S x S -> B x 2.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut y = x.apply_t(&self.stem, train); // B x w x S/4 x S/4
        for block in &self.blocks {
            y = y.apply_t(block, train);
        } // B x C x S/32 x S/32
        y.adaptive_avg_pool2d([1, 1]) // B x C x 1 x 1
            .flatten(1, -1)
            .apply(&self.fc)
    }
}

/// ResNet-50, or SE-ResNet-50 with `squeeze_excite`: B x in_channels x S x S -> B x 2 EGFR
/// logits. `spec.width` is the stem's channels (64 canonical); stage `i` has `width * 2^i`
/// bottleneck channels and four times that at its output.
#[derive(Debug)]
pub struct ResNet50(ResNet<Bottleneck>);

impl ResNet50 {
    pub fn new(p: &nn::Path, spec: &SystemSpec, squeeze_excite: bool) -> Result<Self, ModelError> {
        let name = if squeeze_excite {
            "SE-ResNet-50"
        } else {
            "ResNet-50"
        };
        check_spec(spec, name, 32)?;
        Ok(Self(ResNet::new(
            p,
            spec,
            &RESNET50_DEPTHS,
            |path, cin, planes, stride| {
                let block = Bottleneck::new(path, cin, planes, stride, squeeze_excite);
                (block, planes * EXPANSION)
            },
        )))
    }
}

impl ModuleT for ResNet50 {
    /// B x Cin x S x S -> B x 2 (the last stage is 32 x width wide).
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.0.forward_t(x, train)
    }
}
