//! Layer constructors with PyTorch's default initialisation, so a model built here starts from
//! the same distribution as the reference (tch's defaults differ: Kaiming-ReLU weights, zero
//! conv biases, U(0,1) BatchNorm scales).
use tch::nn::{self, Init};

/// PyTorch's `kaiming_uniform_(a = sqrt(5))` and its bias rule both reduce to U(-b, b),
/// b = 1/sqrt(fan_in).
fn uniform(fan_in: i64) -> Init {
    let b = 1.0 / (fan_in.max(1) as f64).sqrt();
    Init::Uniform { lo: -b, up: b }
}

/// 2-D convolution with a possibly non-square kernel and "same" padding (odd kernels).
pub fn conv2d(p: nn::Path, cin: i64, cout: i64, k: [i64; 2], groups: i64) -> nn::Conv2D {
    let fan_in = cin / groups * k[0] * k[1];
    let cfg = nn::ConvConfigND::<[i64; 2]> {
        padding: [k[0] / 2, k[1] / 2],
        groups,
        ws_init: uniform(fan_in),
        bs_init: uniform(fan_in),
        ..Default::default()
    };
    nn::conv(p, cin, cout, k, cfg)
}

/// 2x2 stride-2 transposed convolution: doubles the side exactly.
pub fn up2(p: nn::Path, cin: i64, cout: i64) -> nn::ConvTranspose2D {
    // PyTorch computes fan_in from weight dim 1, which for a transposed conv is `cout`.
    let fan_in = cout * 4;
    let cfg = nn::ConvTransposeConfig {
        stride: 2,
        ws_init: uniform(fan_in),
        bs_init: uniform(fan_in),
        ..Default::default()
    };
    nn::conv_transpose2d(p, cin, cout, 2, cfg)
}

pub fn linear(p: nn::Path, i: i64, o: i64) -> nn::Linear {
    let cfg = nn::LinearConfig {
        ws_init: uniform(i),
        bs_init: Some(uniform(i)),
        bias: true,
    };
    nn::linear(p, i, o, cfg)
}

/// PyTorch BatchNorm2d defaults: weight 1, bias 0, momentum 0.1, eps 1e-5.
pub fn batch_norm(p: nn::Path, ch: i64) -> nn::BatchNorm {
    let cfg = nn::BatchNormConfig {
        ws_init: Init::Const(1.0),
        bs_init: Init::Const(0.0),
        momentum: 0.1,
        eps: 1e-5,
        ..Default::default()
    };
    nn::batch_norm2d(p, ch, cfg)
}

pub fn layer_norm(p: nn::Path, d: i64) -> nn::LayerNorm {
    nn::layer_norm(p, vec![d], Default::default())
}

/// Conv3x3 -> BatchNorm -> ReLU, the unit both the encoder blocks and the decoder stages use.
#[derive(Debug)]
pub struct ConvBnRelu {
    conv: nn::Conv2D,
    bn: nn::BatchNorm,
}

impl ConvBnRelu {
    pub fn new(p: nn::Path, cin: i64, cout: i64) -> Self {
        Self {
            conv: conv2d(&p / "conv", cin, cout, [3, 3], 1),
            bn: batch_norm(&p / "bn", cout),
        }
    }

    pub fn forward_t(&self, x: &tch::Tensor, train: bool) -> tch::Tensor {
        use tch::nn::{Module, ModuleT};
        self.bn.forward_t(&self.conv.forward(x), train).relu()
    }
}
