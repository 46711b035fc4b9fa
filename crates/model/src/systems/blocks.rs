//! Building blocks the comparison systems share: convolutions with any stride and PyTorch's
//! default initialisation, and Conv -> BatchNorm (-> ReLU).
use tch::nn::{self, Init, ModuleT};
use tch::Tensor;

use crate::layers::batch_norm;

/// A k x k convolution, padding k/2 ("same" at stride 1, halving at stride 2), PyTorch's default
/// initialisation (U(-b, b), b = 1/sqrt(fan_in)); `bias` false where a BatchNorm follows, as
/// torchvision builds ResNet and DenseNet.
pub fn conv(p: nn::Path, cin: i64, cout: i64, k: i64, stride: i64, bias: bool) -> nn::Conv2D {
    let b = 1.0 / ((cin * k * k) as f64).sqrt();
    let cfg = nn::ConvConfig {
        stride,
        padding: k / 2,
        bias,
        ws_init: Init::Uniform { lo: -b, up: b },
        bs_init: Init::Uniform { lo: -b, up: b },
        ..Default::default()
    };
    nn::conv2d(p, cin, cout, k, cfg)
}

/// Conv (no bias) -> BatchNorm (weight 1, bias 0), optionally -> ReLU.
#[derive(Debug)]
pub struct ConvBn {
    conv: nn::Conv2D,
    bn: nn::BatchNorm,
    relu: bool,
}

impl ConvBn {
    pub fn new(p: nn::Path, cin: i64, cout: i64, k: i64, stride: i64, relu: bool) -> Self {
        Self {
            conv: conv(&p / "conv", cin, cout, k, stride, false),
            bn: batch_norm(&p / "bn", cout),
            relu,
        }
    }
}

impl ModuleT for ConvBn {
    /// B x Cin x H x W -> B x Cout x H/stride x W/stride.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = x.apply(&self.conv).apply_t(&self.bn, train);
        if self.relu {
            y.relu()
        } else {
            y
        }
    }
}

/// A k x k transposed convolution with stride and padding as given and PyTorch's default
/// initialisation (its fan_in is weight dim 1 x k x k, i.e. `cout` x k x k); bias on.
pub fn deconv(
    p: nn::Path,
    cin: i64,
    cout: i64,
    k: i64,
    stride: i64,
    padding: i64,
) -> nn::ConvTranspose2D {
    let b = 1.0 / ((cout * k * k) as f64).sqrt();
    let cfg = nn::ConvTransposeConfig {
        stride,
        padding,
        ws_init: Init::Uniform { lo: -b, up: b },
        bs_init: Init::Uniform { lo: -b, up: b },
        ..Default::default()
    };
    nn::conv_transpose2d(p, cin, cout, k, cfg)
}

/// k x k max-pooling at stride k: B x C x H x W -> B x C x H/k x W/k (sides rounded up, as
/// PyTorch's `ceil_mode = True`; equal to floor on the sides the systems accept).
pub fn max_pool(x: &Tensor, k: i64) -> Tensor {
    x.max_pool2d([k, k], [k, k], [0, 0], [1, 1], true)
}

/// Bilinear resize by an integer factor, PyTorch's `nn.Upsample(scale_factor, mode =
/// "bilinear")` (align_corners false): B x C x H x W -> B x C x fH x fW.
pub fn upsample_bilinear(x: &Tensor, factor: i64) -> Tensor {
    let (h, w) = (x.size()[2], x.size()[3]);
    let f = factor as f64;
    x.upsample_bilinear2d([h * factor, w * factor], false, f, f)
}

/// Attention heads for a `dim`-wide token at a target head width: `dim / head_dim` heads as the
/// paper sets them at its canonical width (ViT-B: 768 / 64 = 12; Swin-T: 96 / 32 = 3), at least
/// one, and lowered until the heads divide `dim` so narrow builds keep whole heads.
pub fn attention_heads(dim: i64, head_dim: i64) -> i64 {
    let mut heads = (dim / head_dim).max(1);
    while dim % heads != 0 {
        heads -= 1;
    }
    heads
}

/// Patch embedding of a vision transformer: a k x k convolution at stride k, unpadded, so each
/// output pixel is one non-overlapping k x k patch (B x Cin x H x W -> B x Cout x H/k x W/k);
/// bias on, PyTorch's default initialisation.
pub fn patch_conv(p: nn::Path, cin: i64, cout: i64, k: i64) -> nn::Conv2D {
    let b = 1.0 / ((cin * k * k) as f64).sqrt();
    let cfg = nn::ConvConfig {
        stride: k,
        ws_init: Init::Uniform { lo: -b, up: b },
        bs_init: Init::Uniform { lo: -b, up: b },
        ..Default::default()
    };
    nn::conv2d(p, cin, cout, k, cfg)
}
