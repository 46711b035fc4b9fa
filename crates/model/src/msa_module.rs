//! Multi-scale attention (paper eq. 1, after SegNeXt's MSCA): depth-wise strip convolutions
//! give large receptive fields at O(k) cost, and the result gates the input element-wise.
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::layers::{conv2d, snapshot, snapshot_conv, Layout, PrepareOptions};

#[derive(Debug)]
pub struct MsaModule {
    /// `d` = depth-wise k x k.
    square: nn::Conv2D,
    /// `d + sum_k DW(k x 1)(DW(1 x k)(d))`, as trained or merged.
    strips: Strips,
    /// Full Conv3x3 on F.
    local: nn::Conv2D,
    /// Conv1x1 mixing channels into the attention map.
    mix: nn::Conv2D,
}

/// The identity-plus-strips branch applied to `d`. It is linear in `d` and summed before the
/// only nonlinearity (the gate), so one depth-wise convolution computes it exactly (RepVGG-style
/// re-parameterisation), up to float summation order.
#[derive(Debug)]
enum Strips {
    /// As built and trained: one (1 x k, k x 1) depth-wise pair per strip kernel.
    Pairs(Vec<(nn::Conv2D, nn::Conv2D)>),
    /// After [`MsaModule::prepare`].
    Merged {
        /// C x 1 x K x K, K = largest strip kernel: 1 at the centre (the identity) plus, per
        /// strip pair, the outer product of its vertical and horizontal taps, centred.
        kernel: Tensor,
        /// C x 1 x K x 1: per pair, the vertical taps scaled by the horizontal bias. The
        /// horizontal bias is a constant map, but the vertical convolution zero-pads it, so its
        /// contribution shrinks in the top and bottom K/2 rows: it is applied to a ones column
        /// of the input's height at run time.
        bias_taps: Tensor,
        /// C: the sum of the vertical biases.
        bias: Tensor,
    },
}

impl MsaModule {
    pub fn new(p: nn::Path, ch: i64, square_kernel: i64, strip_kernels: &[i64]) -> Self {
        let k = square_kernel;
        let strips = strip_kernels
            .iter()
            .map(|&s| {
                let q = &p / format!("strip{s}");
                (
                    conv2d(&q / "h", ch, ch, [1, s], ch),
                    conv2d(&q / "v", ch, ch, [s, 1], ch),
                )
            })
            .collect();
        Self {
            square: conv2d(&p / "square", ch, ch, [k, k], ch),
            strips: Strips::Pairs(strips),
            local: conv2d(&p / "local", ch, ch, [3, 3], 1),
            mix: conv2d(&p / "mix", ch, ch, [1, 1], 1),
        }
    }

    /// For inference: merges the strip pairs and the identity into one depth-wise kernel (see
    /// [`Strips`]), folded in f64, and stores every weight as a detached copy as `opts` says.
    pub fn prepare(&mut self, opts: PrepareOptions) {
        let _guard = tch::no_grad_guard();
        for c in [&mut self.square, &mut self.local, &mut self.mix] {
            snapshot_conv(c, opts);
        }
        let pairs = match &mut self.strips {
            Strips::Pairs(pairs) => pairs,
            Strips::Merged {
                kernel,
                bias_taps,
                bias,
            } => {
                *kernel = snapshot(kernel, opts);
                *bias_taps = snapshot(bias_taps, opts);
                *bias = snapshot(bias, opts);
                return;
            }
        };
        let probe = &self.square.ws; // C x 1 x k x k
        let (kind, device, ch) = (opts.precision.kind(), probe.device(), probe.size()[0]);
        let f64_of = |t: &Tensor| t.detach().to_kind(Kind::Double);
        let km = pairs.iter().map(|(h, _)| h.ws.size()[3]).max().unwrap_or(1);
        let c = km / 2;
        let in_f64 = (Kind::Double, device);
        let kernel = Tensor::zeros([ch, 1, km, km], in_f64);
        let bias_taps = Tensor::zeros([ch, 1, km, 1], in_f64);
        let mut bias = Tensor::zeros([ch], in_f64);
        let _ = kernel.narrow(2, c, 1).narrow(3, c, 1).fill_(1.0);
        for (h, v) in pairs.iter() {
            let k = h.ws.size()[3];
            let o = (km - k) / 2;
            let hw = f64_of(&h.ws); // C x 1 x 1 x k
            let vw = f64_of(&v.ws); // C x 1 x k x 1
            let mut win = kernel.narrow(2, o, k).narrow(3, o, k);
            win += vw.matmul(&hw); // C x 1 x k x k
            if let Some(hb) = &h.bs {
                let mut taps = bias_taps.narrow(2, o, k);
                taps += &vw * f64_of(hb).view([-1, 1, 1, 1]);
            }
            if let Some(vb) = &v.bs {
                bias += f64_of(vb);
            }
        }
        self.strips = Strips::Merged {
            kernel: opts.layout.apply(&kernel.to_kind(kind)),
            bias_taps: opts.layout.apply(&bias_taps.to_kind(kind)),
            bias: bias.to_kind(kind),
        };
    }

    /// The layout of the module's full (not depth-wise) weights: the one it runs in.
    pub fn weight_layout(&self) -> Layout {
        Layout::of_weight(&self.local.ws)
    }

    /// B x C x H x W -> B x C x H x W.
    pub fn forward(&self, f: &Tensor) -> Tensor {
        // The depth-wise convolutions below follow the layout of what they are handed, and
        // their weights cannot show one: handed NCHW in a channels-last net they run NCHW
        // (oneDNN: im2col + GEMM for the merged 11 x 11 kernel, 40 ms of a 81 ms `small`
        // forward on AVX2). The net's own input is laid out so that `f` already is in the
        // module's layout (`Layout::apply_input`), which makes this free; a caller handing the
        // module another layout gets it converted rather than the slow kernel.
        let layout = self.weight_layout();
        let f = &layout.apply(f);
        let d = self.square.forward(f);
        let mut sum = self.local.forward(f);
        match &self.strips {
            Strips::Pairs(pairs) => {
                sum += &d;
                for (h, v) in pairs {
                    sum += v.forward(&h.forward(&d));
                }
            }
            Strips::Merged {
                kernel,
                bias_taps,
                bias,
            } => {
                let (ch, height) = (d.size()[1], d.size()[2]);
                let (k, t) = (kernel.size()[2], bias_taps.size()[2]);
                sum += d.conv2d(kernel, None::<Tensor>, [1, 1], [k / 2, k / 2], [1, 1], ch);
                // 1 x C x H x 1, broadcast over the batch and the width.
                let ones = Tensor::ones([1, ch, height, 1], (d.kind(), d.device()));
                let rows = ones.conv2d(bias_taps, Some(bias), [1, 1], [t / 2, 0], [1, 1], ch);
                // In `sum`'s layout: in NHWC the channels are innermost, and a bias strided along
                // the height there makes the broadcast add gather element by element (11 ms of
                // a 102 ms bf16 `paper` forward on an AMX Xeon). The same values, added alike.
                sum += layout.apply(&rows);
            }
        }
        drop(d);
        let mut gate = self.mix.forward(&sum);
        drop(sum);
        if gate.requires_grad() || f.requires_grad() {
            // Out of place: an in-place product would make autograd keep a copy of the gate.
            gate * f
        } else {
            gate *= f;
            gate
        }
    }
}
