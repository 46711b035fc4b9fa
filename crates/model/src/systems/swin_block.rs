//! The Swin Transformer block (Liu et al. 2021) as Swin-UNet uses it: LayerNorm -> window
//! multi-head self-attention with a learned relative position bias (W-MSA, or SW-MSA on a map
//! cyclically shifted by half a window, masked so tokens attend only within their own region
//! of the unshifted map) -> residual, then LayerNorm -> MLP -> residual, both residual branches
//! under stochastic depth.
use tch::nn::{self, Init, Module};
use tch::{Kind, Tensor};

use super::vit::Mlp;

/// Linear layer with Swin's initialisation: N(0, 0.02) weights, zero bias (timm's
/// `trunc_normal_(std=.02)` truncates at +-2, i.e. 100 standard deviations).
pub(super) fn swin_linear(p: nn::Path, i: i64, o: i64, bias: bool) -> nn::Linear {
    let cfg = nn::LinearConfig {
        ws_init: Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        },
        bs_init: Some(Init::Const(0.0)),
        bias,
    };
    nn::linear(p, i, o, cfg)
}

/// B x H x W x C -> (B nW) x w^2 x C, windows in row-major order.
fn window_partition(x: &Tensor, w: i64) -> Tensor {
    let (_, h, wd, c) = x.size4().expect("map is B x H x W x C");
    x.view([-1, h / w, w, wd / w, w, c])
        .permute([0, 1, 3, 2, 4, 5])
        .reshape([-1, w * w, c])
}

/// Inverse of [`window_partition`]: (B nW) x w^2 x C -> B x H x W x C.
fn window_reverse(x: &Tensor, w: i64, h: i64, wd: i64) -> Tensor {
    let c = x.size()[2];
    x.view([-1, h / w, wd / w, w, w, c])
        .permute([0, 1, 3, 2, 4, 5])
        .reshape([-1, h, wd, c])
}

/// Per-sample stochastic depth (timm's `DropPath`): in training, zero the whole residual branch
/// of a sample with probability `rate` and scale the kept ones by 1 / (1 - rate).
fn drop_path(x: Tensor, rate: f64, train: bool) -> Tensor {
    if !train || rate == 0.0 {
        return x;
    }
    let keep = 1.0 - rate;
    let mut shape = vec![1i64; x.dim()];
    shape[0] = x.size()[0];
    let mask = Tensor::rand(shape.as_slice(), (x.kind(), x.device()))
        .lt(keep)
        .to_kind(x.kind());
    x * mask / keep
}

/// W-MSA: softmax(Q K^T / sqrt(d_head) + B (+ shift mask)) V inside each window, B gathered
/// from a (2w-1)^2 x heads table by relative offset.
#[derive(Debug)]
struct WindowAttention {
    heads: i64,
    qkv: nn::Linear,
    proj: nn::Linear,
    /// (2w-1)^2 x heads, learned.
    relative_position_bias_table: Tensor,
    /// w^2 x w^2 indices into the table (constant).
    relative_position_index: Tensor,
}

impl WindowAttention {
    fn new(p: nn::Path, dim: i64, window: i64, heads: i64) -> Self {
        let n = window * window;
        let side = 2 * window - 1;
        // Tokens t = r * w + c; offset (dr, dc) shifted to [0, 2w-2] and flattened row-major.
        let index: Vec<i64> = (0..n * n)
            .map(|ij| {
                let (i, j) = (ij / n, ij % n);
                let (dr, dc) = (i / window - j / window, i % window - j % window);
                (dr + window - 1) * side + (dc + window - 1)
            })
            .collect();
        let table_init = Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        Self {
            heads,
            qkv: swin_linear(&p / "qkv", dim, 3 * dim, true),
            proj: swin_linear(&p / "proj", dim, dim, true),
            relative_position_bias_table: p.var(
                "relative_position_bias_table",
                &[side * side, heads],
                table_init,
            ),
            relative_position_index: Tensor::from_slice(&index).to_device(p.device()),
        }
    }

    /// (B nW) x N x C windows, optional nW x N x N additive mask -> (B nW) x N x C.
    fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Tensor {
        let (_, n, c) = x.size3().expect("windows are (B nW) x N x C");
        let (h, dh) = (self.heads, c / self.heads);
        let qkv = self
            .qkv
            .forward(x)
            .view([-1, n, 3, h, dh])
            .permute([2, 0, 3, 1, 4]); // 3 x (B nW) x h x N x dh
        let (q, k, v) = (qkv.get(0), qkv.get(1), qkv.get(2));
        let bias = self
            .relative_position_bias_table
            .index_select(0, &self.relative_position_index)
            .view([n, n, h])
            .permute([2, 0, 1]); // h x N x N
        let mut attn = (q * (dh as f64).powf(-0.5)).matmul(&k.transpose(-2, -1)) + bias; // (B nW) x h x N x N
        if let Some(mask) = mask {
            let nw = mask.size()[0];
            attn = (attn.view([-1, nw, h, n, n]) + mask.unsqueeze(1)).view([-1, h, n, n]);
        }
        let out = attn.softmax(-1, attn.kind()).matmul(&v); // (B nW) x h x N x dh
        self.proj.forward(&out.transpose(1, 2).reshape([-1, n, c]))
    }

    /// nW x N x N mask of a `side` x `side` map shifted by `shift`: 0 within a region of the
    /// unshifted map, -100 across regions (Swin's value: exp(-100) is 0 in f32 and f16).
    fn shift_mask(side: i64, window: i64, shift: i64, p: &nn::Path) -> Tensor {
        let region = |r: i64| {
            if r < side - window {
                0
            } else if r < side - shift {
                1
            } else {
                2
            }
        };
        let ids: Vec<f32> = (0..side * side)
            .map(|rc| (3 * region(rc / side) + region(rc % side)) as f32)
            .collect();
        let ids = Tensor::from_slice(&ids).view([1, side, side, 1]);
        let windows = window_partition(&ids, window).squeeze_dim(-1); // nW x N
        let diff = windows.unsqueeze(1) - windows.unsqueeze(2); // nW x N x N
        (diff.ne(0.0).to_kind(Kind::Float) * -100.0)
            .to_kind(p.kind())
            .to_device(p.device())
    }
}

/// One Swin Transformer block on a `side` x `side` token map.
#[derive(Debug)]
pub(super) struct SwinBlock {
    side: i64,
    window: i64,
    shift: i64,
    norm1: nn::LayerNorm,
    attn: WindowAttention,
    norm2: nn::LayerNorm,
    mlp: Mlp,
    /// nW x N x N, for a shifted block only.
    attn_mask: Option<Tensor>,
    drop_path: f64,
}

impl SwinBlock {
    /// `shifted` selects SW-MSA; a map no larger than the window is one window, never shifted.
    pub(super) fn new(
        p: nn::Path,
        dim: i64,
        side: i64,
        window: i64,
        heads: i64,
        shifted: bool,
        drop_path: f64,
    ) -> Self {
        let (window, shift) = if side <= window {
            (side, 0)
        } else {
            (window, if shifted { window / 2 } else { 0 })
        };
        let mlp = &p / "mlp";
        Self {
            side,
            window,
            shift,
            norm1: crate::layers::layer_norm(&p / "norm1", dim),
            attn: WindowAttention::new(&p / "attn", dim, window, heads),
            norm2: crate::layers::layer_norm(&p / "norm2", dim),
            mlp: Mlp::new(
                swin_linear(&mlp / "fc1", dim, 4 * dim, true),
                swin_linear(&mlp / "fc2", 4 * dim, dim, true),
                0.0,
            ),
            attn_mask: (shift > 0).then(|| WindowAttention::shift_mask(side, window, shift, &p)),
            drop_path,
        }
    }

    /// B x L x C tokens (L = side^2) -> B x L x C.
    pub(super) fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let (s, w, sh) = (self.side, self.window, self.shift);
        let c = x.size()[2];
        let mut y = self.norm1.forward(x).view([-1, s, s, c]); // B x H x W x C
        if sh > 0 {
            y = y.roll([-sh, -sh], [1, 2]);
        }
        let windows = self
            .attn
            .forward(&window_partition(&y, w), self.attn_mask.as_ref());
        let mut y = window_reverse(&windows, w, s, s); // B x H x W x C
        if sh > 0 {
            y = y.roll([sh, sh], [1, 2]);
        }
        let x = x + drop_path(y.view([-1, s * s, c]), self.drop_path, train);
        let m = self.mlp.forward_t(&self.norm2.forward(&x), train);
        &x + drop_path(m, self.drop_path, train)
    }
}
