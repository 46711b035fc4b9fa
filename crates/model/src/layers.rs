//! Layer constructors with PyTorch's default initialisation, so a model built here starts from
//! the same distribution as the reference (tch's defaults differ: Kaiming-ReLU weights, zero
//! conv biases, U(0,1) BatchNorm scales).
use tch::nn::{self, Init};
use tch::{Kind, Tensor};

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

/// BatchNorm epsilon of every BN in the net: [`batch_norm`] builds with it and
/// [`ConvBnRelu::fold_bn`] folds with it (tch's `BatchNorm` does not expose its config).
pub(crate) const BN_EPS: f64 = 1e-5;

/// Running-statistics momentum of every BN in the net (PyTorch's default): [`batch_norm`]
/// builds with it and [`crate::precise_batch_norm`] undoes it to read one batch's statistics.
pub(crate) const BN_MOMENTUM: f64 = 0.1;

/// PyTorch BatchNorm2d defaults: weight 1, bias 0, momentum 0.1, eps 1e-5.
pub fn batch_norm(p: nn::Path, ch: i64) -> nn::BatchNorm {
    let cfg = nn::BatchNormConfig {
        ws_init: Init::Const(1.0),
        bs_init: Init::Const(0.0),
        momentum: BN_MOMENTUM,
        eps: BN_EPS,
        ..Default::default()
    };
    nn::batch_norm2d(p, ch, cfg)
}

pub fn layer_norm(p: nn::Path, d: i64) -> nn::LayerNorm {
    nn::layer_norm(p, vec![d], Default::default())
}

/// Multi-head self-attention of `x` (B x T x D), softmax(Q K^T / sqrt(D / heads)) V per head,
/// through libtorch's fused `scaled_dot_product_attention` (no dropout; it has a backward, so
/// training runs it too); `q`, `k`, `v` project the tokens, `out` projects the concatenated
/// heads. The batch stays -1 throughout, so a traced (TorchScript) graph takes any batch.
pub(crate) fn self_attention(x: &Tensor, heads: i64, [q, k, v, out]: [&nn::Linear; 4]) -> Tensor {
    use tch::nn::Module;
    let (_, t, d) = x.size3().expect("tokens are B x T x D");
    let split = |y: Tensor| y.view([-1, t, heads, d / heads]).transpose(1, 2); // B x h x T x dh
    let ctx = Tensor::scaled_dot_product_attention(
        &split(q.forward(x)),
        &split(k.forward(x)),
        &split(v.forward(x)),
        None::<Tensor>,
        0.0,
        false,
        None::<f64>,
        false,
    ); // B x h x T x dh
    out.forward(&ctx.transpose(1, 2).reshape([-1, t, d]))
}

/// How a net is prepared for inference (see `MtsaNet::prepare_for_inference`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrepareOptions {
    /// Layout of the 4-D weights and of the activations the forward pass runs in.
    pub layout: Layout,
    /// Number format of the weights and activations.
    pub precision: Precision,
}

impl PrepareOptions {
    /// `layout` at full (f32) precision.
    pub fn f32(layout: Layout) -> Self {
        Self {
            layout,
            precision: Precision::F32,
        }
    }
}

/// Number format a prepared net computes in. bfloat16 keeps f32's range with an 8-bit
/// mantissa: CPUs with native bf16 instructions (AVX512_BF16, AMX) and GPUs run it 1.5-2x
/// as fast, at a precision the user opts into (`--precision bf16`); inputs and outputs stay f32.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    Bf16,
}

impl Precision {
    pub fn kind(self) -> Kind {
        match self {
            Precision::F32 => Kind::Float,
            Precision::Bf16 => Kind::BFloat16,
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f32" => Ok(Precision::F32),
            "bf16" => Ok(Precision::Bf16),
            _ => Err(format!("precision {s:?}: expected f32 or bf16")),
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        })
    }
}

/// Memory layout of activations and 4-D weights for inference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Contiguous B x C x H x W.
    Nchw,
    /// Channels-last strides (PyTorch's `channels_last`): oneDNN skips its reorders, which pays
    /// where its NHWC depth-wise kernels are fast (AVX-512) and may not elsewhere.
    Nhwc,
}

impl Layout {
    /// The layout a full convolution's 4-D weight (Cout x Cin x k x k, Cin > 1) is stored in.
    /// PyTorch picks a convolution's output layout from its input's and its weight's strides,
    /// and cannot tell the layout of a one-channel tensor or of a depth-wise (C x 1 x k x k)
    /// weight, so a module that must run in the net's layout asks one of its full weights.
    pub fn of_weight(w: &Tensor) -> Layout {
        let (size, stride) = (w.size(), w.stride());
        if size.len() == 4 && size[1] > 1 && stride[1] == 1 {
            Layout::Nhwc
        } else {
            Layout::Nchw
        }
    }

    /// `t` (any rank) in this layout, as a new tensor when it is 4-D; other ranks contiguous.
    /// Free when `t` already is in it.
    pub fn apply(self, t: &Tensor) -> Tensor {
        match self {
            Layout::Nhwc if t.dim() == 4 => to_channels_last(t),
            _ => t.contiguous(),
        }
    }

    /// A net's input (B x C x H x W) in this layout. As [`Layout::apply`], except that a
    /// one-channel input (the paper's 2-D protocol) gets the strides PyTorch's
    /// `channels_last` gives it, (HW, 1, W, 1): permuting leaves it with NCHW strides, since
    /// `contiguous` ignores size-1 dimensions, and the first convolution, whose weight
    /// (c x 1 x 3 x 3) cannot show a layout either, would write NCHW and the next one copy it
    /// back to NHWC (a bf16 `paper` forward's copies fell from 9% to 3% of its time on an
    /// Intel Xeon with this). The data is the same: one channel is laid out alike in both.
    /// Weights keep `apply`'s strides: giving the depth-wise (C x 1 x k x k) ones these strides
    /// too changes oneDNN's results in the last bits (the demo's EGFR probabilities in the 8th
    /// decimal), and the input alone removes the copies `perf` showed.
    pub fn apply_input(self, t: &Tensor) -> Tensor {
        match self {
            Layout::Nhwc if t.dim() == 4 && t.size()[1] == 1 => {
                let (h, w) = (t.size()[2], t.size()[3]);
                t.contiguous().as_strided(t.size(), [h * w, 1, w, 1], None)
            }
            _ => self.apply(t),
        }
    }
}

impl std::str::FromStr for Layout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "nchw" => Ok(Layout::Nchw),
            "nhwc" => Ok(Layout::Nhwc),
            _ => Err(format!("layout {s:?}: expected nchw or nhwc")),
        }
    }
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Layout::Nchw => "nchw",
            Layout::Nhwc => "nhwc",
        })
    }
}

/// NCHW-shaped view with NHWC strides (PyTorch's channels_last) of a 4-D tensor (tch 0.24 has
/// no `MemoryFormat`, so the strides are made by permute -> contiguous -> permute back).
pub fn to_channels_last(t: &Tensor) -> Tensor {
    t.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// Stores every 4-D variable of `vs` (the convolution weights) in `layout`, in place: the
/// layout a net trains in. Same function, same results up to float summation order.
pub fn use_layout(vs: &tch::nn::VarStore, layout: Layout) {
    tch::no_grad(|| {
        for (_, mut v) in vs.variables() {
            if v.dim() == 4 {
                let moved = layout.apply(&v);
                v.set_data(&moved);
            }
        }
    });
}

/// A detached copy of a parameter in the layout (4-D tensors) and precision of `opts`: what a
/// prepared module holds instead of the VarStore's variable, so later changes to the VarStore
/// (training, loading) cannot reach a prepared net, and a prepared net cannot write into the
/// VarStore.
pub(crate) fn snapshot(t: &Tensor, opts: PrepareOptions) -> Tensor {
    let t = t.detach();
    let out = opts.layout.apply(&t.to_kind(opts.precision.kind()));
    if out.data_ptr() == t.data_ptr() {
        out.copy()
    } else {
        out
    }
}

/// Replaces a convolution's weight and bias by detached copies as `opts` says.
pub(crate) fn snapshot_conv<ND>(c: &mut nn::Conv<ND>, opts: PrepareOptions) {
    c.ws = snapshot(&c.ws, opts);
    c.bs = c.bs.as_ref().map(|b| snapshot(b, opts));
}

/// Replaces a linear layer's weight and bias by detached copies as `opts` says.
pub(crate) fn snapshot_linear(l: &mut nn::Linear, opts: PrepareOptions) {
    l.ws = snapshot(&l.ws, opts);
    l.bs = l.bs.as_ref().map(|b| snapshot(b, opts));
}

/// Conv3x3 -> BatchNorm -> ReLU, the unit both the encoder blocks and the decoder stages use.
#[derive(Debug)]
pub struct ConvBnRelu {
    conv: nn::Conv2D,
    /// `None` once [`Self::prepare`] has folded it into `conv`.
    bn: Option<nn::BatchNorm>,
}

impl ConvBnRelu {
    pub fn new(p: nn::Path, cin: i64, cout: i64) -> Self {
        Self {
            conv: conv2d(&p / "conv", cin, cout, [3, 3], 1),
            bn: Some(batch_norm(&p / "bn", cout)),
        }
    }

    /// For inference: folds the eval-mode BatchNorm into the convolution (candle's
    /// `Conv2d::absorb_bn`) and stores the result as `opts` says. With s = g / sqrt(var + eps),
    /// `w' = w * s` (per output channel) and `b' = (b - mean) * s + beta`, computed in f64 and
    /// stored in the weights' dtype. The block then no longer tracks batch statistics, so it
    /// must not be trained again.
    pub fn prepare(&mut self, opts: PrepareOptions) {
        let _guard = tch::no_grad_guard();
        let Some(bn) = self.bn.take() else {
            // Already folded: only the layout and precision may change.
            snapshot_conv(&mut self.conv, opts);
            return;
        };
        let kind = opts.precision.kind();
        let f64_of = |t: &Tensor| t.detach().to_kind(Kind::Double);
        let var = f64_of(&bn.running_var); // Cout
        let gamma = bn.ws.as_ref().map_or_else(|| var.ones_like(), f64_of);
        let scale = gamma / (var + BN_EPS).sqrt(); // Cout
        let w = f64_of(&self.conv.ws) * scale.view([-1, 1, 1, 1]); // Cout x Cin x 3 x 3
        let b = self
            .conv
            .bs
            .as_ref()
            .map_or_else(|| scale.zeros_like(), f64_of);
        let mut b = (b - f64_of(&bn.running_mean)) * &scale; // Cout
        if let Some(beta) = &bn.bs {
            b += f64_of(beta);
        }
        self.conv.ws = opts.layout.apply(&w.to_kind(kind));
        self.conv.bs = Some(b.to_kind(kind));
    }

    /// B x Cin x H x W -> B x Cout x H x W. `train` selects batch statistics; a prepared block
    /// has none and is eval-only.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        use tch::nn::{Module, ModuleT};
        let mut y = self.conv.forward(x);
        match &self.bn {
            Some(bn) => bn.forward_t(&y, train).relu_(),
            None => {
                debug_assert!(!train, "a prepared ConvBnRelu cannot be trained");
                y.relu_()
            }
        }
    }
}
