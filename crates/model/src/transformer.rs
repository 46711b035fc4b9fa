//! Windowed transformer block of the classifier: the bottleneck map is cut into a fixed grid of
//! non-overlapping windows, each window is one token sequence (pre-LN MHSA + pre-LN FFN, both
//! residual), and the tokens are folded back into the map.
use tch::nn::{self, Module};
use tch::Tensor;

use crate::layers::{
    layer_norm, linear, self_attention, snapshot, snapshot_linear, PrepareOptions,
};

#[derive(Debug)]
pub struct WindowTransformer {
    grid: i64,
    heads: i64,
    /// Shared by all windows: 1 x T x D, T = window side^2.
    pos: Tensor,
    ln1: nn::LayerNorm,
    q: nn::Linear,
    k: nn::Linear,
    v: nn::Linear,
    proj: nn::Linear,
    ln2: nn::LayerNorm,
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl WindowTransformer {
    /// `dim` = token width, `window` = window side in pixels, `grid` = windows per side.
    pub fn new(p: nn::Path, dim: i64, window: i64, grid: i64, heads: i64) -> Self {
        let pos = p.var(
            "pos_embed",
            &[1, window * window, dim],
            nn::Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
        );
        Self {
            grid,
            heads,
            pos,
            ln1: layer_norm(&p / "ln1", dim),
            q: linear(&p / "q", dim, dim),
            k: linear(&p / "k", dim, dim),
            v: linear(&p / "v", dim, dim),
            proj: linear(&p / "proj", dim, dim),
            ln2: layer_norm(&p / "ln2", dim),
            fc1: linear(&p / "fc1", dim, 4 * dim),
            fc2: linear(&p / "fc2", 4 * dim, dim),
        }
    }

    /// For inference: every parameter becomes a detached copy in `opts`' precision (see
    /// `layers::snapshot`; none is 4-D, so the layout does not apply).
    pub fn prepare(&mut self, opts: PrepareOptions) {
        let _guard = tch::no_grad_guard();
        self.pos = snapshot(&self.pos, opts);
        for l in [
            &mut self.q,
            &mut self.k,
            &mut self.v,
            &mut self.proj,
            &mut self.fc1,
            &mut self.fc2,
        ] {
            snapshot_linear(l, opts);
        }
        for n in [&mut self.ln1, &mut self.ln2] {
            n.ws = n.ws.as_ref().map(|w| snapshot(w, opts));
            n.bs = n.bs.as_ref().map(|b| snapshot(b, opts));
        }
    }

    /// Equations (2)-(4): softmax(Q K^T / sqrt(d_head)) V per head, through libtorch's fused
    /// `scaled_dot_product_attention` (same function, default scale 1/sqrt(d_head); it has a
    /// backward, so training runs it too). N x T x D -> N x T x D.
    fn attention(&self, x: &Tensor) -> Tensor {
        self_attention(x, self.heads, [&self.q, &self.k, &self.v, &self.proj])
    }

    /// B x D x H x W (H = W = grid * window) -> B x D x H x W.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let (_, d, h, w) = x.size4().expect("feature map is B x D x H x W");
        let g = self.grid;
        let (wh, ww) = (h / g, w / g);
        // B x D x g x wh x g x ww -> (B g g) x (wh ww) x D
        let tokens = x
            .view([-1, d, g, wh, g, ww])
            .permute([0, 2, 4, 3, 5, 1])
            .reshape([-1, wh * ww, d]);
        let t = tokens + &self.pos;
        let t = &t + self.attention(&self.ln1.forward(&t));
        let ffn = self
            .fc2
            .forward(&self.fc1.forward(&self.ln2.forward(&t)).gelu("none"));
        let t = t + ffn;
        // (B g g) x (wh ww) x D -> B x D x H x W
        t.view([-1, g, g, wh, ww, d])
            .permute([0, 5, 1, 3, 2, 4])
            .reshape([-1, d, h, w])
    }
}
