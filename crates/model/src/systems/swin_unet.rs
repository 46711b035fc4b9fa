//! Swin-UNet (Cao et al. 2021, "Swin-Unet: Unet-like Pure Transformer for Medical Image
//! Segmentation") as the authors' code builds it (github.com/HuCaoFighting/Swin-Unet,
//! `networks/swin_transformer_unet_skip_expand_decoder_sys.py`, configured by
//! `configs/swin_tiny_patch4_window7_224_lite.yaml`):
//!
//! - patch partition 4x4 and linear embedding (a 4x4/4 conv) to C = `width` channels (96 at the
//!   canonical width), LayerNorm;
//! - encoder: three stages of two Swin blocks ([`SwinBlock`], W-MSA then SW-MSA), each followed
//!   by patch merging (2x2 neighbours concatenated, LayerNorm, linear 4C -> 2C), then the
//!   bottleneck, two Swin blocks at 1/32 and 8C, and a LayerNorm;
//! - decoder: patch expanding (linear C -> 2C, rearranged to a 2x larger map of C/2, LayerNorm)
//!   back to 1/16, then per level: concat the encoder skip, linear 2C -> C, two Swin blocks,
//!   patch expanding (not after the last level); LayerNorm; the final patch expanding x4
//!   (linear C -> 16C, rearranged to the full side) and a 1x1 conv (no bias) to one GTV logit.
//!
//! The skips are what enters each encoder stage (the embedding, then each merging's output),
//! as the reference wires them. Heads are 3, 6, 12, 24 at C = 96: narrower builds keep 32-wide
//! heads (at least one, see [`attention_heads`]). Stochastic depth rises linearly from 0 to 0.2
//! over the eight encoder blocks (the reference config), each decoder level reusing its encoder
//! level's rates; other dropouts are 0, as there.
//!
//! Window size: the paper's 7 fits 224 px (stage sides 56, 28, 14, 7). Here it is the largest
//! w <= 8 such that every stage side s (S/4, S/8, S/16, S/32) is a multiple of w or at most w;
//! a stage no larger than the window is one window and is not shifted (as Swin does). So 8 at
//! 128 and 256 px (sides 32..4 and 64..8), 6 at 384 px (96..12) and 7 at 224 px; the window
//! changes only the relative-position tables' size. Parameter count at C = 96, 1 input channel:
//! 27,165,060 at 224 px (window 7), equal to the reference as
//! `tests/reference/transformer_param_counts.py` counts it (whose wrapper would repeat a grey
//! slice to three channels; here the embedding takes `in_channels` directly).
use tch::nn::{self, Module, ModuleT};
use tch::Tensor;

use super::blocks::{attention_heads, conv, patch_conv};
use super::swin_block::{swin_linear, SwinBlock};
use super::SystemSpec;
use crate::error::ModelError;
use crate::layers::layer_norm;

/// Swin blocks per stage, encoder and (mirrored) decoder.
const DEPTH: usize = 2;
/// Encoder stages with patch merging; the bottleneck is a fourth stage without.
const STAGES: usize = 3;
/// Stochastic-depth rate of the last encoder block.
const DROP_PATH: f64 = 0.2;

/// The window rule of the module documentation, for a patch grid of `tokens` per side.
fn window_size(tokens: i64) -> i64 {
    let sides: Vec<i64> = (0..=STAGES).map(|i| tokens >> i).collect();
    (1..=8)
        .rev()
        .find(|&w| sides.iter().all(|&s| s <= w || s % w == 0))
        .unwrap_or(1)
}

/// Two Swin blocks on a `side` x `side` map of `dim` channels; `level` picks heads and rates.
#[derive(Debug)]
struct SwinStage {
    blocks: Vec<SwinBlock>,
}

impl SwinStage {
    fn new(p: nn::Path, dim: i64, side: i64, window: i64, level: usize) -> Self {
        let heads = attention_heads(dim, 32);
        let last = (DEPTH * (STAGES + 1) - 1) as f64;
        let blocks = (0..DEPTH)
            .map(|i| {
                let rate = DROP_PATH * (level * DEPTH + i) as f64 / last;
                SwinBlock::new(
                    &p / format!("block{i}"),
                    dim,
                    side,
                    window,
                    heads,
                    i % 2 == 1,
                    rate,
                )
            })
            .collect();
        Self { blocks }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut x = x.shallow_clone();
        for b in &self.blocks {
            x = b.forward_t(&x, train);
        }
        x
    }
}

/// Patch merging: B x (H W) x C -> B x (H/2 W/2) x 2C.
#[derive(Debug)]
struct PatchMerging {
    side: i64,
    norm: nn::LayerNorm,
    reduction: nn::Linear,
}

impl PatchMerging {
    fn new(p: nn::Path, dim: i64, side: i64) -> Self {
        Self {
            side,
            norm: layer_norm(&p / "norm", 4 * dim),
            reduction: swin_linear(&p / "reduction", 4 * dim, 2 * dim, false),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let (s, c) = (self.side, x.size()[2]);
        // B x H/2 x (dr) x W/2 x (dc) x C -> B x H/2 x W/2 x (dc dr) x C: the reference's order
        // [x0, x1, x2, x3] = offsets (0,0), (1,0), (0,1), (1,1).
        let y = x
            .view([-1, s / 2, 2, s / 2, 2, c])
            .permute([0, 1, 3, 4, 2, 5])
            .reshape([-1, s * s / 4, 4 * c]);
        self.reduction.forward(&self.norm.forward(&y))
    }
}

/// Patch expanding by `scale`: linear C -> scale^2 x `out`, each token's channels rearranged
/// into a scale x scale patch of `out` channels, LayerNorm. B x (H W) x C ->
/// B x (sH sW) x out.
#[derive(Debug)]
struct PatchExpand {
    side: i64,
    scale: i64,
    out: i64,
    expand: nn::Linear,
    norm: nn::LayerNorm,
}

impl PatchExpand {
    fn new(p: nn::Path, dim: i64, side: i64, scale: i64, out: i64) -> Self {
        Self {
            side,
            scale,
            out,
            expand: swin_linear(&p / "expand", dim, scale * scale * out, false),
            norm: layer_norm(&p / "norm", out),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let (s, k, o) = (self.side, self.scale, self.out);
        // 'b h w (p1 p2 c) -> b (h p1) (w p2) c'
        let y = self
            .expand
            .forward(x)
            .view([-1, s, s, k, k, o])
            .permute([0, 1, 3, 2, 4, 5])
            .reshape([-1, s * s * k * k, o]);
        self.norm.forward(&y)
    }
}

/// One decoder level: concat skip, linear 2C -> C, two Swin blocks, optional 2x expanding.
#[derive(Debug)]
struct DecoderLevel {
    concat_back_dim: nn::Linear,
    stage: SwinStage,
    up: Option<PatchExpand>,
}

/// See the module documentation.
#[derive(Debug)]
pub struct SwinUNet {
    patch_embed: nn::Conv2D,
    embed_norm: nn::LayerNorm,
    encoder: Vec<(SwinStage, PatchMerging)>,
    bottleneck: SwinStage,
    norm: nn::LayerNorm,
    first_up: PatchExpand,
    decoder: Vec<DecoderLevel>,
    norm_up: nn::LayerNorm,
    final_up: PatchExpand,
    output: nn::Conv2D,
    size: i64,
}

impl SwinUNet {
    pub fn new(p: &nn::Path, spec: &SystemSpec) -> Result<Self, ModelError> {
        // Patch 4, then three mergings of 2.
        super::check_spec(spec, "SwinUNet", 32)?;
        let c = spec.width;
        let tokens = spec.size / 4;
        let window = window_size(tokens);
        let dim = |l: usize| c << l;
        let side = |l: usize| tokens >> l;
        let e = p / "encoder";
        let encoder = (0..STAGES)
            .map(|l| {
                let s = &e / format!("stage{l}");
                let stage = SwinStage::new(&s / "blocks", dim(l), side(l), window, l);
                (stage, PatchMerging::new(&s / "merge", dim(l), side(l)))
            })
            .collect();
        let d = p / "decoder";
        let decoder = (0..STAGES)
            .rev()
            .map(|l| {
                let lp = &d / format!("level{l}");
                DecoderLevel {
                    concat_back_dim: swin_linear(&lp / "concat_back_dim", 2 * dim(l), dim(l), true),
                    stage: SwinStage::new(&lp / "blocks", dim(l), side(l), window, l),
                    up: (l > 0)
                        .then(|| PatchExpand::new(&lp / "up", dim(l), side(l), 2, dim(l) / 2)),
                }
            })
            .collect();
        Ok(Self {
            patch_embed: patch_conv(p / "patch_embed", spec.in_channels, c, 4),
            embed_norm: layer_norm(p / "embed_norm", c),
            encoder,
            bottleneck: SwinStage::new(p / "bottleneck", dim(STAGES), side(STAGES), window, STAGES),
            norm: layer_norm(p / "norm", dim(STAGES)),
            first_up: PatchExpand::new(&d / "up", dim(STAGES), side(STAGES), 2, dim(STAGES) / 2),
            decoder,
            norm_up: layer_norm(p / "norm_up", c),
            final_up: PatchExpand::new(p / "final_up", c, tokens, 4, c),
            output: conv(p / "output", c, 1, 1, 1, false),
            size: spec.size,
        })
    }
}

impl ModuleT for SwinUNet {
    /// B x Cin x S x S -> B x 1 x S x S GTV logits.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let e = self.patch_embed.forward(x); // B x C x S/4 x S/4
        let mut y = self.embed_norm.forward(&e.flatten(2, -1).transpose(1, 2)); // B x L x C
        let mut skips = Vec::with_capacity(STAGES);
        for (stage, merge) in &self.encoder {
            skips.push(y.shallow_clone());
            y = merge.forward(&stage.forward_t(&y, train));
        } // B x L/64 x 8C
        y = self.norm.forward(&self.bottleneck.forward_t(&y, train));
        y = self.first_up.forward(&y); // B x L/16 x 4C
        for (level, skip) in self.decoder.iter().zip(skips.iter().rev()) {
            let cat = Tensor::cat(&[&y, skip], -1); // B x L' x 2C'
            y = level
                .stage
                .forward_t(&level.concat_back_dim.forward(&cat), train);
            if let Some(up) = &level.up {
                y = up.forward(&y);
            }
        } // B x L x C
        let y = self.final_up.forward(&self.norm_up.forward(&y)); // B x S^2 x C
        let c = y.size()[2];
        let map = y.view([-1, self.size, self.size, c]).permute([0, 3, 1, 2]);
        self.output.forward(&map)
    }
}

#[cfg(test)]
mod tests {
    use super::window_size;

    #[test]
    fn window_divides_every_stage_or_covers_it() {
        // Patch grids of 128, 224, 256 and 384 px.
        assert_eq!(window_size(32), 8);
        assert_eq!(window_size(56), 7);
        assert_eq!(window_size(64), 8);
        assert_eq!(window_size(96), 6);
    }
}
