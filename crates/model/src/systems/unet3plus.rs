//! UNet 3+ (Huang et al. 2020, "UNet 3+: a full-scale connected UNet for medical image
//! segmentation") as the authors' code builds `UNet_3Plus` (ZJUGiveLab/UNet-Version): a
//! five-stage encoder of double Conv3x3-BN-ReLU blocks (channels width x 1, 2, 4, 8, 16) and
//! four decoder nodes, each fed by *all* five scales. Every decoder node resamples the
//! shallower encoder maps down by max-pooling, takes the same-scale encoder map as is and the
//! deeper decoder nodes (the bottleneck counting as the deepest) up by bilinear interpolation,
//! brings each through Conv3x3-BN-ReLU to CatChannels = width, concatenates the five (UpChannels
//! = 5 x width) and fuses them with one more Conv3x3-BN-ReLU.
//!
//! Implemented: the plain `UNet_3Plus` variant, one output head (Conv3x3, UpChannels -> 1) on
//! the top decoder node. Not implemented, as both are optional in the paper: full-scale deep
//! supervision (side outputs on every decoder node, which the project's GTV loss on the final
//! logits would ignore) and the classification-guided module (an organ-presence classifier
//! on the bottleneck that zeroes the side outputs of empty images). Convolutions keep the
//! reference's biases before each BatchNorm, so at the canonical width the count is the
//! reference's.
use tch::nn::{self, ModuleT};
use tch::Tensor;

use super::blocks::{conv, max_pool, upsample_bilinear};
use super::SystemSpec;
use crate::error::ModelError;
use crate::layers::ConvBnRelu;

/// Encoder stages (the fifth is the bottleneck, hd5).
const STAGES: usize = 5;

/// (Conv3x3 -> BN -> ReLU) x 2, the reference's `unetConv2` with batch norm.
#[derive(Debug)]
struct UnetConv2 {
    conv1: ConvBnRelu,
    conv2: ConvBnRelu,
}

impl UnetConv2 {
    fn new(p: nn::Path, cin: i64, cout: i64) -> Self {
        Self {
            conv1: ConvBnRelu::new(&p / "conv1", cin, cout),
            conv2: ConvBnRelu::new(&p / "conv2", cout, cout),
        }
    }

    /// B x Cin x H x W -> B x Cout x H x W.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.conv2.forward_t(&self.conv1.forward_t(x, train), train)
    }
}

/// Decoder node X_De^i (i = 1..4): fuses encoder levels 1..i and decoder nodes i+1..5.
#[derive(Debug)]
struct FullScaleNode {
    /// 1-based level i: the node's side is S / 2^(i-1).
    level: usize,
    /// One Conv3x3-BN-ReLU to CatChannels per source level j = 1..5.
    inputs: Vec<ConvBnRelu>,
    /// Conv3x3-BN-ReLU, UpChannels -> UpChannels.
    fuse: ConvBnRelu,
}

impl FullScaleNode {
    fn new(p: nn::Path, level: usize, width: i64) -> Self {
        let up_channels = width * STAGES as i64;
        let inputs = (1..=STAGES)
            .map(|j| {
                // Names as the reference's: h1_PT_hd4 (pooled), h4_Cat_hd4, hd5_UT_hd4 (up).
                let (name, cin) = match j {
                    j if j < level => (format!("h{j}_PT"), width << (j - 1)),
                    j if j == level => (format!("h{j}_Cat"), width << (j - 1)),
                    j if j == STAGES => (format!("hd{j}_UT"), width << (j - 1)),
                    j => (format!("hd{j}_UT"), up_channels),
                };
                ConvBnRelu::new(&p / name, cin, width)
            })
            .collect();
        Self {
            level,
            inputs,
            fuse: ConvBnRelu::new(&p / "fuse", up_channels, up_channels),
        }
    }

    /// `encoder[j-1]` = h_j (B x w·2^(j-1) x S/2^(j-1)), `deeper[k]` = hd_(5-k) for the decoder
    /// nodes below this one (deeper[0] = hd5 = h5) -> hd_i, B x 5w x S/2^(i-1).
    fn forward_t(&self, encoder: &[Tensor], deeper: &[Tensor], train: bool) -> Tensor {
        let i = self.level;
        let parts: Vec<Tensor> = (1..=STAGES)
            .zip(&self.inputs)
            .map(|(j, unit)| {
                let src = if j < i {
                    max_pool(&encoder[j - 1], 1 << (i - j))
                } else if j == i {
                    encoder[j - 1].shallow_clone()
                } else {
                    upsample_bilinear(&deeper[STAGES - j], 1 << (j - i))
                };
                unit.forward_t(&src, train) // B x w x S/2^(i-1)
            })
            .collect();
        self.fuse.forward_t(&Tensor::cat(&parts, 1), train) // B x 5w x S/2^(i-1)
    }
}

/// UNet 3+: B x in_channels x S x S -> B x 1 x S x S GTV logits.
#[derive(Debug)]
pub struct UNet3Plus {
    encoder: Vec<UnetConv2>,
    /// hd4, hd3, hd2, hd1: deepest first, the order they are computed in.
    decoder: Vec<FullScaleNode>,
    outconv: nn::Conv2D,
}

impl UNet3Plus {
    pub fn new(p: &nn::Path, spec: &SystemSpec) -> Result<Self, ModelError> {
        super::check_spec(spec, "UNet 3+", 1 << (STAGES - 1))?;
        let w = spec.width;
        let encoder = (1..=STAGES)
            .map(|j| {
                let cin = if j == 1 {
                    spec.in_channels
                } else {
                    w << (j - 2)
                };
                UnetConv2::new(p / format!("conv{j}"), cin, w << (j - 1))
            })
            .collect();
        let decoder = (1..STAGES)
            .rev()
            .map(|i| FullScaleNode::new(p / format!("hd{i}"), i, w))
            .collect();
        Ok(Self {
            encoder,
            decoder,
            outconv: conv(p / "outconv1", w * STAGES as i64, 1, 3, 1, true),
        })
    }
}

impl ModuleT for UNet3Plus {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut h: Vec<Tensor> = Vec::with_capacity(STAGES);
        for stage in &self.encoder {
            let input = match h.last() {
                Some(prev) => max_pool(prev, 2), // B x C x H/2 x W/2
                None => x.shallow_clone(),
            };
            h.push(stage.forward_t(&input, train)); // h_j: B x w·2^(j-1) x S/2^(j-1)
        }
        // deeper[0] = hd5 = h5; each node appends itself.
        let mut deeper = vec![h[STAGES - 1].shallow_clone()];
        for node in &self.decoder {
            let hd = node.forward_t(&h, &deeper, train);
            deeper.push(hd);
        }
        deeper[STAGES - 1].apply(&self.outconv) // hd1: B x 5w x S -> B x 1 x S x S
    }
}
