//! The ViT encoder of TransUNet (Dosovitskiy et al. 2021, as Chen et al. 2021 use it): pre-norm
//! transformer layers of multi-head self-attention and an MLP over the patch tokens, each
//! residual, and a final LayerNorm. Also the token MLP Swin-UNet's blocks share.
use tch::nn::{self, Init, Module};
use tch::Tensor;

use super::blocks::attention_heads;
use crate::layers::{linear, self_attention};

/// LayerNorm with ViT's epsilon 1e-6 (PyTorch's default is 1e-5).
fn vit_layer_norm(p: nn::Path, d: i64) -> nn::LayerNorm {
    let cfg = nn::LayerNormConfig {
        eps: 1e-6,
        ..Default::default()
    };
    nn::layer_norm(p, vec![d], cfg)
}

/// Linear -> GELU -> Dropout -> Linear -> Dropout over tokens (N x T x D -> N x T x D); the
/// callers build the two layers, since ViT and Swin initialise them differently.
#[derive(Debug)]
pub(super) struct Mlp {
    fc1: nn::Linear,
    fc2: nn::Linear,
    drop: f64,
}

impl Mlp {
    pub(super) fn new(fc1: nn::Linear, fc2: nn::Linear, drop: f64) -> Self {
        Self { fc1, fc2, drop }
    }

    pub(super) fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let h = self.fc1.forward(x).gelu("none").dropout(self.drop, train);
        self.fc2.forward(&h).dropout(self.drop, train)
    }
}

/// Multi-head self-attention, softmax(Q K^T / sqrt(d_head)) V per head (ViT's attention dropout
/// is 0, so libtorch's fused `scaled_dot_product_attention` computes exactly this).
#[derive(Debug)]
struct Attention {
    heads: i64,
    query: nn::Linear,
    key: nn::Linear,
    value: nn::Linear,
    out: nn::Linear,
}

impl Attention {
    fn new(p: nn::Path, hidden: i64, heads: i64) -> Self {
        Self {
            heads,
            query: linear(&p / "query", hidden, hidden),
            key: linear(&p / "key", hidden, hidden),
            value: linear(&p / "value", hidden, hidden),
            out: linear(&p / "out", hidden, hidden),
        }
    }

    /// B x T x D -> B x T x D.
    fn forward(&self, x: &Tensor) -> Tensor {
        self_attention(
            x,
            self.heads,
            [&self.query, &self.key, &self.value, &self.out],
        )
    }
}

/// One transformer layer: x + MSA(LN(x)), then x + MLP(LN(x)).
#[derive(Debug)]
struct Layer {
    attention_norm: nn::LayerNorm,
    attn: Attention,
    ffn_norm: nn::LayerNorm,
    ffn: Mlp,
}

impl Layer {
    fn new(p: nn::Path, hidden: i64, mlp_dim: i64, heads: i64, drop: f64) -> Self {
        // ViT initialises its MLP Xavier-uniform with near-zero biases.
        let xavier = |p: nn::Path, i: i64, o: i64| {
            let a = (6.0 / (i + o) as f64).sqrt();
            let cfg = nn::LinearConfig {
                ws_init: Init::Uniform { lo: -a, up: a },
                bs_init: Some(Init::Randn {
                    mean: 0.0,
                    stdev: 1e-6,
                }),
                bias: true,
            };
            nn::linear(p, i, o, cfg)
        };
        let ffn = &p / "ffn";
        Self {
            attention_norm: vit_layer_norm(&p / "attention_norm", hidden),
            attn: Attention::new(&p / "attn", hidden, heads),
            ffn_norm: vit_layer_norm(&p / "ffn_norm", hidden),
            ffn: Mlp::new(
                xavier(&ffn / "fc1", hidden, mlp_dim),
                xavier(&ffn / "fc2", mlp_dim, hidden),
                drop,
            ),
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let x = x + self.attn.forward(&self.attention_norm.forward(x));
        let h = self.ffn.forward_t(&self.ffn_norm.forward(&x), train);
        x + h
    }
}

/// ViT-B's shape at `hidden` = 768: 12 layers, MLP 4 x hidden, 64-wide heads (12), dropout 0.1.
#[derive(Debug)]
pub(super) struct VitEncoder {
    layers: Vec<Layer>,
    encoder_norm: nn::LayerNorm,
}

impl VitEncoder {
    pub(super) const LAYERS: usize = 12;
    pub(super) const DROPOUT: f64 = 0.1;

    pub(super) fn new(p: nn::Path, hidden: i64) -> Self {
        let heads = attention_heads(hidden, 64);
        let layers = (0..Self::LAYERS)
            .map(|i| {
                Layer::new(
                    &p / format!("layer{i}"),
                    hidden,
                    4 * hidden,
                    heads,
                    Self::DROPOUT,
                )
            })
            .collect();
        Self {
            layers,
            encoder_norm: vit_layer_norm(&p / "encoder_norm", hidden),
        }
    }

    /// B x T x D embedded tokens -> B x T x D encoded tokens.
    pub(super) fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut x = x.shallow_clone();
        for layer in &self.layers {
            x = layer.forward_t(&x, train);
        }
        self.encoder_norm.forward(&x)
    }
}
