//! RAUNet, the residual attention U-Net of Ni et al. 2019 ("RAUNet: Residual Attention U-Net
//! for semantic segmentation of cataract surgical instruments"), as the authors' code builds it
//! (nizhenliang/RAUNet): the paper's RA-Unet.
//!
//! - Residual encoder: a ResNet-34 (7x7 stride-2 stem, 3x3 stride-2 max-pool, then 3, 4, 6 and 3
//!   basic residual blocks at width x 1, 2, 4, 8), built from scratch here (the reference starts
//!   from ImageNet weights; this project has none and a 1-channel input).
//! - Decoder: four LinkNet decoder blocks (1x1 conv to C/4, 4x4 stride-2 transposed conv,
//!   1x1 conv to the next stage's channels, each with BN and ReLU), each doubling the side.
//! - Attention in the skips: the augmented attention module (AAM) between every decoder block
//!   and the encoder stage of its side. It pools both inputs globally, adds their 1x1-conv
//!   embeddings, turns the sum into channel weights with a 1x1 conv and a softmax over
//!   channels, and adds the weighted (1x1-conv embedded) encoder features to the decoder's. The
//!   skips are added, not concatenated, so the decoder stays narrow.
//! - Head: a 3x3 stride-2 transposed conv to width/2 channels (32 at the canonical width), a 3x3
//!   valid conv and a 2x2 conv with padding 1, which together land exactly on the input side.
//!
//! The AAM's BatchNorms see one value per channel and sample (globally pooled maps), so in
//! training they need a batch of more than one slice to normalise anything (a batch of one
//! gives their bias, as in PyTorch without its batch-size check).
use tch::nn::{self, ModuleT};
use tch::Tensor;

use super::blocks::{conv, deconv, ConvBn};
use super::SystemSpec;
use crate::error::ModelError;
use crate::layers::batch_norm;

/// Basic residual blocks per encoder stage (ResNet-34).
const BLOCKS: [usize; 4] = [3, 4, 6, 3];

/// Total down-sampling: stem 2 x max-pool 2 x three strided stages.
const DOWNSAMPLING: i64 = 32;

/// ResNet's basic block: Conv3x3-BN-ReLU, Conv3x3-BN, plus the identity (or a strided 1x1
/// Conv-BN projection where the shape changes), then ReLU.
#[derive(Debug)]
struct BasicBlock {
    conv1: ConvBn,
    conv2: ConvBn,
    downsample: Option<ConvBn>,
}

impl BasicBlock {
    fn new(p: nn::Path, cin: i64, cout: i64, stride: i64) -> Self {
        let downsample = (stride != 1 || cin != cout)
            .then(|| ConvBn::new(&p / "downsample", cin, cout, 1, stride, false));
        Self {
            conv1: ConvBn::new(&p / "conv1", cin, cout, 3, stride, true),
            conv2: ConvBn::new(&p / "conv2", cout, cout, 3, 1, false),
            downsample,
        }
    }
}

impl ModuleT for BasicBlock {
    /// B x Cin x H x W -> B x Cout x H/stride x W/stride.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let identity = match &self.downsample {
            Some(d) => x.apply_t(d, train),
            None => x.shallow_clone(),
        };
        (x.apply_t(&self.conv1, train).apply_t(&self.conv2, train) + identity).relu()
    }
}

/// 1x1 Conv (with bias, as the reference) -> BN -> ReLU.
#[derive(Debug)]
struct PointwiseBnRelu {
    conv: nn::Conv2D,
    bn: nn::BatchNorm,
}

impl PointwiseBnRelu {
    fn new(p: nn::Path, cin: i64, cout: i64) -> Self {
        Self {
            conv: conv(&p / "conv", cin, cout, 1, 1, true),
            bn: batch_norm(&p / "bn", cout),
        }
    }
}

impl ModuleT for PointwiseBnRelu {
    /// B x Cin x H x W -> B x Cout x H x W.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        x.apply(&self.conv).apply_t(&self.bn, train).relu()
    }
}

/// LinkNet's decoder block: squeeze to C/4, up-sample x2 by a transposed conv, expand to `cout`.
#[derive(Debug)]
struct DecoderBlock {
    conv1: PointwiseBnRelu,
    deconv2: nn::ConvTranspose2D,
    norm2: nn::BatchNorm,
    conv3: PointwiseBnRelu,
}

impl DecoderBlock {
    fn new(p: nn::Path, cin: i64, cout: i64) -> Self {
        let mid = cin / 4;
        Self {
            conv1: PointwiseBnRelu::new(&p / "conv1", cin, mid),
            deconv2: deconv(&p / "deconv2", mid, mid, 4, 2, 1),
            norm2: batch_norm(&p / "norm2", mid),
            conv3: PointwiseBnRelu::new(&p / "conv3", mid, cout),
        }
    }
}

impl ModuleT for DecoderBlock {
    /// B x Cin x H x W -> B x Cout x 2H x 2W.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = x.apply_t(&self.conv1, train); // B x Cin/4 x H x W
        let y = y.apply(&self.deconv2).apply_t(&self.norm2, train).relu(); // B x Cin/4 x 2H x 2W
        y.apply_t(&self.conv3, train)
    }
}

/// Augmented attention module: global context of both inputs picks which channels of the
/// encoder's (low-level) features to add to the decoder's (high-level) ones.
#[derive(Debug)]
struct Aam {
    /// Embeds the pooled decoder features.
    conv1: PointwiseBnRelu,
    /// Embeds the pooled encoder features.
    conv2: PointwiseBnRelu,
    /// Channel weights from the summed embeddings (softmax over channels follows).
    conv3: nn::Conv2D,
    /// Embeds the encoder features that get weighted.
    conv4: PointwiseBnRelu,
}

impl Aam {
    fn new(p: nn::Path, ch: i64) -> Self {
        Self {
            conv1: PointwiseBnRelu::new(&p / "conv1", ch, ch),
            conv2: PointwiseBnRelu::new(&p / "conv2", ch, ch),
            conv3: conv(&p / "conv3", ch, ch, 1, 1, true),
            conv4: PointwiseBnRelu::new(&p / "conv4", ch, ch),
        }
    }

    /// high (decoder), low (encoder): both B x C x H x W -> B x C x H x W.
    fn forward_t(&self, high: &Tensor, low: &Tensor, train: bool) -> Tensor {
        let gap = |t: &Tensor| t.adaptive_avg_pool2d([1, 1]); // B x C x 1 x 1
        let w_high = gap(high).apply_t(&self.conv1, train);
        let w_low = gap(low).apply_t(&self.conv2, train);
        let weight = (w_low + w_high).apply(&self.conv3).softmax(1, high.kind()); // B x C x 1 x 1
        high + low.apply_t(&self.conv4, train) * weight
    }
}

/// RAUNet: B x in_channels x S x S -> B x 1 x S x S GTV logits.
#[derive(Debug)]
pub struct RaUNet {
    firstconv: ConvBn,
    /// encoder1..encoder4: ResNet-34's layer1..layer4.
    encoders: Vec<Vec<BasicBlock>>,
    /// decoder4 (deepest) .. decoder1.
    decoders: Vec<DecoderBlock>,
    /// gau3 .. gau1, after decoder4 .. decoder2.
    attention: Vec<Aam>,
    finaldeconv1: nn::ConvTranspose2D,
    finalconv2: nn::Conv2D,
    finalconv3: nn::Conv2D,
}

impl RaUNet {
    pub fn new(p: &nn::Path, spec: &SystemSpec) -> Result<Self, ModelError> {
        super::check_spec(spec, "RAUNet", DOWNSAMPLING)?;
        let w = spec.width;
        if w < 4 {
            return Err(ModelError::InvalidConfig(format!(
                "RAUNet: width {w} must be at least 4 (its decoder squeezes to width / 4)"
            )));
        }
        let filters = [w, 2 * w, 4 * w, 8 * w];
        let mut encoders = Vec::with_capacity(BLOCKS.len());
        let mut cin = w;
        for (s, (&n, &cout)) in BLOCKS.iter().zip(&filters).enumerate() {
            let stage = p / format!("encoder{}", s + 1);
            let blocks = (0..n)
                .map(|b| {
                    let stride = if s > 0 && b == 0 { 2 } else { 1 };
                    let block = BasicBlock::new(&stage / b, cin, cout, stride);
                    cin = cout;
                    block
                })
                .collect();
            encoders.push(blocks);
        }
        // decoder4: 8w -> 4w, decoder3: 4w -> 2w, decoder2: 2w -> w, decoder1: w -> w.
        let decoders = [
            (4, 8 * w, 4 * w),
            (3, 4 * w, 2 * w),
            (2, 2 * w, w),
            (1, w, w),
        ]
        .into_iter()
        .map(|(d, cin, cout)| DecoderBlock::new(p / format!("decoder{d}"), cin, cout))
        .collect();
        let attention = (1..=3)
            .rev()
            .map(|g| Aam::new(p / format!("gau{g}"), filters[g - 1]))
            .collect();
        let head = w / 2;
        Ok(Self {
            firstconv: ConvBn::new(p / "firstconv", spec.in_channels, w, 7, 2, true),
            encoders,
            decoders,
            attention,
            finaldeconv1: deconv(p / "finaldeconv1", w, head, 3, 2, 0),
            finalconv2: conv(p / "finalconv2", head, head, 3, 1, true),
            finalconv3: conv(p / "finalconv3", head, 1, 2, 1, true),
        })
    }
}

impl ModuleT for RaUNet {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let stem = x.apply_t(&self.firstconv, train); // B x w x S/2
        let mut y = stem.max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false); // B x w x S/4
        let mut skips = Vec::with_capacity(self.encoders.len());
        for stage in &self.encoders {
            for block in stage {
                y = y.apply_t(block, train);
            }
            skips.push(y.shallow_clone()); // e1 .. e4: B x w·2^k x S/2^(k+2)
        }
        // y = e4: B x 8w x S/32. Each decoder block doubles the side; the AAM adds e3, e2, e1.
        let mut lows = skips.iter().rev().skip(1); // e3, e2, e1
        for (k, dec) in self.decoders.iter().enumerate() {
            y = y.apply_t(dec, train);
            if let (Some(aam), Some(low)) = (self.attention.get(k), lows.next()) {
                y = aam.forward_t(&y, low, train);
            }
        }
        // y = d1: B x w x S/2.
        let f = y.apply(&self.finaldeconv1).relu(); // B x w/2 x S+1 (3x3, stride 2, no padding)
        let f = f.apply(&self.finalconv2); // "same": B x w/2 x S+1
        let (h, w) = (f.size()[2], f.size()[3]);
        // Dropping the border of the padded conv leaves exactly the reference's valid conv.
        let f = f.narrow(2, 1, h - 2).narrow(3, 1, w - 2).relu(); // B x w/2 x S-1
        f.apply(&self.finalconv3) // 2x2, padding 1: B x 1 x S x S
    }
}
