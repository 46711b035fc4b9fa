//! TransUNet (Chen et al. 2021, "TransUNet: Transformers Make Strong Encoders for Medical Image
//! Segmentation"), the R50-ViT-B/16 hybrid as the authors' code builds it
//! (github.com/Beckschen/TransUNet, `networks/vit_seg_modeling.py`, config `R50-ViT-B_16`,
//! `n_skip` 3):
//!
//! - a CNN encoder, ResNet-50's root (7x7/2 conv, 3x3/2 max-pool) and its first three stages
//!   of bottleneck units (3, 4 and 9 units: the "block units" of the R50 hybrid, whose fourth
//!   stage the ViT replaces), giving a 1/16 map of 16 x `width` channels and skips at 1/2, 1/4
//!   and 1/8;
//! - a 1x1 patch embedding of that map into `hidden` = 12 x `width` tokens (768 at the
//!   canonical 64), learned position embeddings for the (S/16)^2 tokens and the 12-layer ViT
//!   encoder ([`VitEncoder`]);
//! - the cascaded upsampler (CUP): the tokens back to a 1/16 map, a 3x3 conv to 8 x `width`
//!   (512), then four 2x bilinear up-samplings each followed by two 3x3 conv-BN-ReLU, the first
//!   three after concatenating a CNN skip, to 4, 2, 1 and 1/4 x `width` channels (256, 128, 64,
//!   16), and a 3x3 segmentation head to one GTV logit.
//!
//! Deviations from the reference, none of which changes the parameter count (1 input channel:
//! 105,269,649 at 224 px, as `tests/reference/transformer_param_counts.py` counts the reference):
//! BatchNorm where the R50 has GroupNorm(32) and plain convolutions where it has weight-
//! standardised ones (GroupNorm(32) cannot split the 8 channels of the narrow builds, and
//! both normalisations carry one scale and shift per channel); a padded max-pool (torchvision's
//! ResNet) where the reference pools unpadded and zero-pads the skips back to S/4 and S/8; the
//! first convolution takes `in_channels` directly where the reference repeats a grey slice to
//! three channels; position embeddings start N(0, 0.02) (ViT from scratch) where the reference
//! starts them at zero and loads ImageNet-21k weights, which this project does not.
use tch::nn::{self, Module, ModuleT};
use tch::Tensor;

use super::blocks::{conv, ConvBn};
use super::vit::VitEncoder;
use super::SystemSpec;
use crate::error::ModelError;

/// ResNet bottleneck unit: 1x1 -> 3x3 (stride) -> 1x1, each conv-BN, ReLU between and after the
/// residual sum; a 1x1 conv-BN projection on the shortcut when the shape changes.
#[derive(Debug)]
struct Bottleneck {
    conv1: ConvBn,
    conv2: ConvBn,
    conv3: ConvBn,
    proj: Option<ConvBn>,
}

impl Bottleneck {
    fn new(p: nn::Path, cin: i64, cmid: i64, cout: i64, stride: i64) -> Self {
        let proj = (stride != 1 || cin != cout)
            .then(|| ConvBn::new(&p / "proj", cin, cout, 1, stride, false));
        Self {
            conv1: ConvBn::new(&p / "conv1", cin, cmid, 1, 1, true),
            conv2: ConvBn::new(&p / "conv2", cmid, cmid, 3, stride, true),
            conv3: ConvBn::new(&p / "conv3", cmid, cout, 1, 1, false),
            proj,
        }
    }

    /// B x Cin x H x W -> B x Cout x H/stride x W/stride.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let shortcut = match &self.proj {
            Some(proj) => proj.forward_t(x, train),
            None => x.shallow_clone(),
        };
        let y = self.conv1.forward_t(x, train);
        let y = self.conv2.forward_t(&y, train);
        (self.conv3.forward_t(&y, train) + shortcut).relu()
    }
}

/// The R50 part of the hybrid encoder: root and three stages of bottleneck units.
#[derive(Debug)]
struct R50 {
    root: ConvBn,
    stages: Vec<Vec<Bottleneck>>,
}

impl R50 {
    /// Units per stage in the R50-ViT hybrid (ResNet-50's fourth stage is left out).
    const UNITS: [usize; 3] = [3, 4, 9];

    fn new(p: nn::Path, cin: i64, w: i64) -> Self {
        let mut stages = Vec::new();
        let mut ch = w;
        for (s, &units) in Self::UNITS.iter().enumerate() {
            let cmid = w << s; // w, 2w, 4w
            let cout = 4 * cmid; // 4w, 8w, 16w
            let stride = if s == 0 { 1 } else { 2 };
            let stage = &p / format!("block{}", s + 1);
            let blocks = (0..units)
                .map(|u| {
                    let (c, st) = if u == 0 { (ch, stride) } else { (cout, 1) };
                    Bottleneck::new(&stage / format!("unit{}", u + 1), c, cmid, cout, st)
                })
                .collect();
            stages.push(blocks);
            ch = cout;
        }
        Self {
            root: ConvBn::new(&p / "root", cin, w, 7, 2, true),
            stages,
        }
    }

    /// B x Cin x S x S -> (B x 16w x S/16 x S/16, skips [B x 8w x S/8, B x 4w x S/4, B x w x S/2],
    /// deepest first as the decoder consumes them).
    fn forward_t(&self, x: &Tensor, train: bool) -> (Tensor, Vec<Tensor>) {
        let root = self.root.forward_t(x, train); // B x w x S/2
        let mut x = root.max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false); // B x w x S/4
        let mut skips = vec![root];
        for (s, stage) in self.stages.iter().enumerate() {
            for unit in stage {
                x = unit.forward_t(&x, train);
            }
            if s + 1 < self.stages.len() {
                skips.push(x.shallow_clone()); // 4w at S/4, 8w at S/8
            }
        }
        skips.reverse();
        (x, skips)
    }
}

/// CUP stage: 2x bilinear up-sampling (align_corners, as `nn.UpsamplingBilinear2d`), concat
/// the skip if any, two 3x3 conv-BN-ReLU.
#[derive(Debug)]
struct DecoderBlock {
    conv1: ConvBn,
    conv2: ConvBn,
}

impl DecoderBlock {
    fn new(p: nn::Path, cin: i64, skip: i64, cout: i64) -> Self {
        Self {
            conv1: ConvBn::new(&p / "conv1", cin + skip, cout, 3, 1, true),
            conv2: ConvBn::new(&p / "conv2", cout, cout, 3, 1, true),
        }
    }

    /// B x Cin x H x W (+ B x Cskip x 2H x 2W) -> B x Cout x 2H x 2W.
    fn forward_t(&self, x: &Tensor, skip: Option<&Tensor>, train: bool) -> Tensor {
        let (h, w) = (x.size()[2], x.size()[3]);
        let up = x.upsample_bilinear2d([2 * h, 2 * w], true, 2.0, 2.0);
        let y = match skip {
            Some(s) => Tensor::cat(&[up, s.shallow_clone()], 1),
            None => up,
        };
        self.conv2
            .forward_t(&self.conv1.forward_t(&y, train), train)
    }
}

/// See the module documentation.
#[derive(Debug)]
pub struct TransUNet {
    r50: R50,
    patch_embed: nn::Conv2D,
    /// 1 x (S/16)^2 x hidden.
    pos_embed: Tensor,
    encoder: VitEncoder,
    conv_more: ConvBn,
    decoder: Vec<DecoderBlock>,
    seg_head: nn::Conv2D,
    /// Tokens per side, S/16.
    grid: i64,
}

impl TransUNet {
    pub fn new(p: &nn::Path, spec: &SystemSpec) -> Result<Self, ModelError> {
        // Down-sampling is 16 (root 2, pool 2, stages 2 and 3 2 each).
        super::check_spec(spec, "TransUNet", 16)?;
        let w = spec.width;
        let hidden = 12 * w;
        let grid = spec.size / 16;
        let head = 8 * w;
        // (in, skip, out) per CUP stage: 256, 128, 64, 16 out and 512, 256, 64, 0 skip at w = 64.
        let stages = [
            (head, 8 * w, 4 * w),
            (4 * w, 4 * w, 2 * w),
            (2 * w, w, w),
            (w, 0, (w / 4).max(1)),
        ];
        let d = p / "decoder";
        let decoder = stages
            .iter()
            .enumerate()
            .map(|(i, &(cin, skip, cout))| {
                DecoderBlock::new(&d / format!("block{i}"), cin, skip, cout)
            })
            .collect();
        let pos = nn::Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        Ok(Self {
            r50: R50::new(p / "r50", spec.in_channels, w),
            patch_embed: conv(p / "patch_embed", 16 * w, hidden, 1, 1, true),
            pos_embed: p.var("pos_embed", &[1, grid * grid, hidden], pos),
            encoder: VitEncoder::new(p / "encoder", hidden),
            conv_more: ConvBn::new(&d / "conv_more", hidden, head, 3, 1, true),
            decoder,
            seg_head: conv(p / "seg_head", stages[3].2, 1, 3, 1, true),
            grid,
        })
    }
}

impl ModuleT for TransUNet {
    /// B x Cin x S x S -> B x 1 x S x S GTV logits.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let (feat, skips) = self.r50.forward_t(x, train); // B x 16w x S/16 x S/16
        let tokens = self
            .patch_embed
            .forward(&feat)
            .flatten(2, -1)
            .transpose(1, 2); // B x T x D
        let tokens = (tokens + &self.pos_embed).dropout(VitEncoder::DROPOUT, train);
        let encoded = self.encoder.forward_t(&tokens, train); // B x T x D
        let d = encoded.size()[2];
        let map = encoded
            .transpose(1, 2)
            .reshape([-1, d, self.grid, self.grid]); // B x D x S/16
        let mut y = self.conv_more.forward_t(&map, train); // B x 8w x S/16
        for (i, block) in self.decoder.iter().enumerate() {
            y = block.forward_t(&y, skips.get(i), train);
        } // B x w/4 x S x S
        self.seg_head.forward(&y)
    }
}
