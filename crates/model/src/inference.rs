//! Inference-only forward path of MTSA-Net: the same function as `MtsaNet::forward_t(x, false)`
//! computed with fewer, cheaper operations. Built once from a trained VarStore (a snapshot: later
//! changes to the VarStore do not reach it) and run without autograd.
//!
//! What it does differently from the plain eval forward (each keeps the logits within float
//! rounding of the plain path; `tests/fused_matches_plain.rs` checks it):
//! - BatchNorm folded into the preceding convolution (stem, decoder fuse, classifier conv):
//!   `w' = w * g / sqrt(var + eps)`, `b' = (b - mean) * g / sqrt(var + eps) + beta`, folded in
//!   f64 and stored in the run dtype;
//! - ReLU, residual sums and the MSA gate done in place (no fresh allocation per op);
//! - optionally (`merge_strips`) the MSA module's `d + sum_k DW(k x 1)(DW(1 x k)(d))` as one
//!   depth-wise 11 x 11 convolution of `d` (kernel = identity + the outer products of the strip
//!   pairs) plus an exact border-aware bias map;
//! - optionally channels-last (NHWC) activations and weights, which lets oneDNN skip its
//!   layout reorders on every convolution (tch 0.24 has no `MemoryFormat`, so NHWC strides are
//!   made by permute -> contiguous -> permute back);
//! - the transformer's Q, K, V as one linear and attention through
//!   `scaled_dot_product_attention`;
//! - optionally bfloat16 weights and activations (`kind`), outputs returned as f32.
use std::collections::HashMap;

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::config::{MtsaConfig, CLS_POOL, LEVELS};
use crate::error::ModelError;
use crate::NET_PREFIX;

/// BatchNorm epsilon of every BN in the net (`layers::batch_norm`).
const BN_EPS: f64 = 1e-5;
/// LayerNorm epsilon (tch's default, as `layers::layer_norm` uses it).
const LN_EPS: f64 = 1e-5;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InferenceOptions {
    /// NHWC activations and weights (faster with oneDNN on CPU; see the bench notes).
    pub channels_last: bool,
    /// One depth-wise 11 x 11 convolution instead of the three strip pairs and their sums.
    pub merge_strips: bool,
    /// `Kind::Float` (default) or `Kind::BFloat16` (faster on CPUs with AVX512-BF16/AMX, less
    /// exact: see the bench report for the measured drift).
    pub kind: Kind,
}

impl Default for InferenceOptions {
    fn default() -> Self {
        Self {
            channels_last: true,
            merge_strips: true,
            kind: Kind::Float,
        }
    }
}

/// A convolution with its (possibly BN-folded) weights.
#[derive(Debug)]
struct Conv {
    w: Tensor,
    b: Tensor,
    padding: [i64; 2],
    groups: i64,
}

impl Conv {
    fn fwd(&self, x: &Tensor) -> Tensor {
        x.conv2d(
            &self.w,
            Some(&self.b),
            [1, 1],
            self.padding,
            [1, 1],
            self.groups,
        )
    }
}

#[derive(Debug)]
struct Linear {
    w: Tensor,
    b: Tensor,
}

impl Linear {
    fn fwd(&self, x: &Tensor) -> Tensor {
        x.linear(&self.w, Some(&self.b))
    }
}

#[derive(Debug)]
struct Norm {
    w: Tensor,
    b: Tensor,
}

impl Norm {
    fn fwd(&self, x: &Tensor, d: i64) -> Tensor {
        x.layer_norm([d], Some(&self.w), Some(&self.b), LN_EPS, false)
    }
}

#[derive(Debug)]
enum Strips {
    /// (1 x k, k x 1) pairs as in the plain net.
    Pairs(Vec<(Conv, Conv)>),
    /// Identity + outer products as one depth-wise kernel; the bias needs the vertical strip
    /// kernels again because zero padding makes the `1 x k` bias position-dependent near the
    /// top and bottom rows.
    Merged {
        kernel: Conv,
        /// (h bias C, v kernel C x 1 x k x 1, v bias C), to build the bias map per height.
        bias_parts: Vec<(Tensor, Tensor, Tensor)>,
    },
}

#[derive(Debug)]
struct Msa {
    square: Conv,
    strips: Strips,
    local: Conv,
    mix: Conv,
}

#[derive(Debug)]
struct Block {
    stem: Conv,
    msa: Msa,
}

#[derive(Debug)]
struct Stage {
    up_w: Tensor,
    up_b: Tensor,
    fuse: Conv,
}

#[derive(Debug)]
struct Transformer {
    grid: i64,
    heads: i64,
    pos: Tensor,
    ln1: Norm,
    qkv: Linear,
    proj: Linear,
    ln2: Norm,
    fc1: Linear,
    fc2: Linear,
}

/// Eval-only MTSA-Net with BatchNorm folded; see the module docs.
#[derive(Debug)]
pub struct InferenceNet {
    cfg: MtsaConfig,
    opts: InferenceOptions,
    device: Device,
    levels: Vec<Block>,
    stages: Vec<Stage>,
    head: Conv,
    cls_conv: Conv,
    transformer: Transformer,
    cls_fc1: Linear,
    cls_fc2: Linear,
}

/// Reads variables under a prefix and finalises them (dtype, device, memory format).
struct Loader<'a> {
    vars: &'a HashMap<String, Tensor>,
    prefix: String,
    opts: InferenceOptions,
}

/// NCHW-shaped view with NHWC strides (PyTorch's channels_last) of a 4-D tensor.
pub fn to_channels_last(t: &Tensor) -> Tensor {
    t.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

impl Loader<'_> {
    /// The variable in f64 for folding, detached from autograd.
    fn get(&self, name: &str) -> Result<Tensor, ModelError> {
        let key = format!("{}.{name}", self.prefix);
        self.vars
            .get(&key)
            .map(|t| t.detach().to_kind(Kind::Double))
            .ok_or_else(|| {
                ModelError::InvalidConfig(format!(
                    "variable {key} missing: is the VarStore an MtsaNet of this config?"
                ))
            })
    }

    /// Final copy of a folded tensor: run dtype, channels-last when 4-D and asked for.
    fn fin(&self, t: &Tensor) -> Tensor {
        let t = t.to_kind(self.opts.kind);
        if self.opts.channels_last && t.dim() == 4 {
            to_channels_last(&t)
        } else {
            t.contiguous()
        }
    }

    fn conv(&self, name: &str, groups: i64) -> Result<Conv, ModelError> {
        let w = self.get(&format!("{name}.weight"))?;
        let b = self.get(&format!("{name}.bias"))?;
        Ok(self.make_conv(&w, &b, groups))
    }

    fn make_conv(&self, w: &Tensor, b: &Tensor, groups: i64) -> Conv {
        let size = w.size();
        Conv {
            padding: [size[2] / 2, size[3] / 2],
            w: self.fin(w),
            b: self.fin(b),
            groups,
        }
    }

    /// Conv3x3 followed by BatchNorm (`name.conv`, `name.bn`), folded.
    fn conv_bn(&self, name: &str) -> Result<Conv, ModelError> {
        let w = self.get(&format!("{name}.conv.weight"))?;
        let b = self.get(&format!("{name}.conv.bias"))?;
        let gamma = self.get(&format!("{name}.bn.weight"))?;
        let beta = self.get(&format!("{name}.bn.bias"))?;
        let mean = self.get(&format!("{name}.bn.running_mean"))?;
        let var = self.get(&format!("{name}.bn.running_var"))?;
        let scale = gamma / (var + BN_EPS).sqrt();
        let w = &w * scale.view([-1, 1, 1, 1]);
        let b = (b - mean) * &scale + beta;
        Ok(self.make_conv(&w, &b, 1))
    }

    fn linear(&self, name: &str) -> Result<Linear, ModelError> {
        Ok(Linear {
            w: self.fin(&self.get(&format!("{name}.weight"))?),
            b: self.fin(&self.get(&format!("{name}.bias"))?),
        })
    }

    fn norm(&self, name: &str) -> Result<Norm, ModelError> {
        Ok(Norm {
            w: self.fin(&self.get(&format!("{name}.weight"))?),
            b: self.fin(&self.get(&format!("{name}.bias"))?),
        })
    }

    fn msa(&self, p: &str, ch: i64, cfg: &MtsaConfig) -> Result<Msa, ModelError> {
        let strips = if self.opts.merge_strips {
            let km = *cfg.strip_kernels.iter().max().unwrap_or(&1);
            let km = km.max(1);
            let c = km / 2;
            let kernel = Tensor::zeros([ch, 1, km, km], (Kind::Double, Device::Cpu));
            let _ = kernel.narrow(2, c, 1).narrow(3, c, 1).fill_(1.0);
            let mut bias_parts = Vec::new();
            for &k in &cfg.strip_kernels {
                let q = format!("{p}.strip{k}");
                let hw = self.get(&format!("{q}.h.weight"))?.to_device(Device::Cpu); // C x 1 x 1 x k
                let hb = self.get(&format!("{q}.h.bias"))?.to_device(Device::Cpu);
                let vw = self.get(&format!("{q}.v.weight"))?.to_device(Device::Cpu); // C x 1 x k x 1
                let vb = self.get(&format!("{q}.v.bias"))?.to_device(Device::Cpu);
                let outer = vw.matmul(&hw); // C x 1 x k x k
                let o = (km - k) / 2;
                let mut win = kernel.narrow(2, o, k).narrow(3, o, k);
                win += outer;
                bias_parts.push((
                    self.fin(&hb.to_device(self.device())),
                    self.fin(&vw.to_device(self.device())),
                    vb,
                ));
            }
            let zero = Tensor::zeros([ch], (Kind::Double, Device::Cpu));
            Strips::Merged {
                kernel: self.make_conv(
                    &kernel.to_device(self.device()),
                    &zero.to_device(self.device()),
                    ch,
                ),
                bias_parts: bias_parts
                    .into_iter()
                    .map(|(hb, vw, vb)| (hb, vw, self.fin(&vb.to_device(self.device()))))
                    .collect(),
            }
        } else {
            let pairs = cfg
                .strip_kernels
                .iter()
                .map(|&k| {
                    let q = format!("{p}.strip{k}");
                    Ok((
                        self.conv(&format!("{q}.h"), ch)?,
                        self.conv(&format!("{q}.v"), ch)?,
                    ))
                })
                .collect::<Result<Vec<_>, ModelError>>()?;
            Strips::Pairs(pairs)
        };
        Ok(Msa {
            square: self.conv(&format!("{p}.square"), ch)?,
            strips,
            local: self.conv(&format!("{p}.local"), 1)?,
            mix: self.conv(&format!("{p}.mix"), 1)?,
        })
    }

    fn device(&self) -> Device {
        self.vars
            .values()
            .next()
            .map(|t| t.device())
            .unwrap_or(Device::Cpu)
    }
}

impl Msa {
    fn fwd(&self, f: &Tensor) -> Tensor {
        let d = self.square.fwd(f);
        let mut sum = self.local.fwd(f);
        match &self.strips {
            Strips::Pairs(pairs) => {
                sum += &d;
                for (h, v) in pairs {
                    sum += v.fwd(&h.fwd(&d));
                }
            }
            Strips::Merged { kernel, bias_parts } => {
                // Per-row bias: v applied (zero padded) to the constant map h_b, plus v_b.
                let (_, c, h, _) = d.size4().expect("B x C x H x W");
                let mut bias_map: Option<Tensor> = None;
                for (hb, vw, vb) in bias_parts {
                    let k = vw.size()[2];
                    let col = hb
                        .view([1, c, 1, 1])
                        .expand([1, c, h, 1], false)
                        .contiguous();
                    let m = col.conv2d(vw, Some(vb), [1, 1], [k / 2, 0], [1, 1], c);
                    bias_map = Some(match bias_map {
                        None => m,
                        Some(acc) => acc + m,
                    });
                }
                sum += kernel.fwd(&d);
                if let Some(m) = bias_map {
                    sum += m;
                }
            }
        }
        let mut att = self.mix.fwd(&sum);
        drop(sum);
        att *= f;
        att
    }
}

impl InferenceNet {
    /// From a VarStore holding an [`crate::MtsaNet`] built under [`NET_PREFIX`] (as
    /// `load_trained` and the trainer build it).
    pub fn from_vs(
        vs: &VarStore,
        cfg: &MtsaConfig,
        opts: InferenceOptions,
    ) -> Result<Self, ModelError> {
        Self::from_variables(&vs.variables(), NET_PREFIX, cfg, opts)
    }

    /// From named variables (`prefix.encoder.level0.stem.conv.weight`, ...).
    pub fn from_variables(
        vars: &HashMap<String, Tensor>,
        prefix: &str,
        cfg: &MtsaConfig,
        opts: InferenceOptions,
    ) -> Result<Self, ModelError> {
        cfg.validate()?;
        if !matches!(opts.kind, Kind::Float | Kind::BFloat16 | Kind::Half) {
            return Err(ModelError::InvalidConfig(format!(
                "inference kind {:?} is not a floating type",
                opts.kind
            )));
        }
        let _guard = tch::no_grad_guard();
        let l = Loader {
            vars,
            prefix: prefix.to_string(),
            opts,
        };
        let mut levels = Vec::with_capacity(LEVELS);
        for i in 0..LEVELS {
            let p = format!("encoder.level{i}");
            levels.push(Block {
                stem: l.conv_bn(&format!("{p}.stem"))?,
                msa: l.msa(&format!("{p}.msa"), cfg.level_channels(i), cfg)?,
            });
        }
        let mut stages = Vec::with_capacity(LEVELS - 1);
        for i in (0..LEVELS - 1).rev() {
            let p = format!("decoder.stage{i}");
            stages.push(Stage {
                up_w: l.fin(&l.get(&format!("{p}.up.weight"))?),
                up_b: l.fin(&l.get(&format!("{p}.up.bias"))?),
                fuse: l.conv_bn(&format!("{p}.fuse"))?,
            });
        }
        let t = "classifier.transformer";
        let qkv_w = Tensor::cat(
            &[
                l.get(&format!("{t}.q.weight"))?,
                l.get(&format!("{t}.k.weight"))?,
                l.get(&format!("{t}.v.weight"))?,
            ],
            0,
        );
        let qkv_b = Tensor::cat(
            &[
                l.get(&format!("{t}.q.bias"))?,
                l.get(&format!("{t}.k.bias"))?,
                l.get(&format!("{t}.v.bias"))?,
            ],
            0,
        );
        let transformer = Transformer {
            grid: cfg.window_grid,
            heads: cfg.heads,
            pos: l.fin(&l.get(&format!("{t}.pos_embed"))?),
            ln1: l.norm(&format!("{t}.ln1"))?,
            qkv: Linear {
                w: l.fin(&qkv_w),
                b: l.fin(&qkv_b),
            },
            proj: l.linear(&format!("{t}.proj"))?,
            ln2: l.norm(&format!("{t}.ln2"))?,
            fc1: l.linear(&format!("{t}.fc1"))?,
            fc2: l.linear(&format!("{t}.fc2"))?,
        };
        Ok(Self {
            cfg: cfg.clone(),
            opts,
            device: l.device(),
            levels,
            stages,
            head: l.conv("decoder.head", 1)?,
            cls_conv: l.conv_bn("classifier.conv")?,
            transformer,
            cls_fc1: l.linear("classifier.fc1")?,
            cls_fc2: l.linear("classifier.fc2")?,
        })
    }

    pub fn config(&self) -> &MtsaConfig {
        &self.cfg
    }

    pub fn options(&self) -> InferenceOptions {
        self.opts
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// B x 1 x S x S f32 -> (B x 1 x S x S GTV logits, B x 2 EGFR logits), both f32 and
    /// contiguous, like `MtsaNet::forward_t(x, false)`. Runs under `no_grad`. Panics on bad
    /// shapes like the plain forward (`MtsaNet::check_input` states the rules).
    pub fn forward(&self, x: &Tensor) -> (Tensor, Tensor) {
        let _guard = tch::no_grad_guard();
        let x = x.to_device(self.device).to_kind(self.opts.kind);
        let x = if self.opts.channels_last {
            // C = 1: NCHW and NHWC hold the same bytes; only the strides need to say NHWC.
            to_channels_last(&x)
        } else {
            x.contiguous()
        };
        let mut feats: Vec<Tensor> = Vec::with_capacity(LEVELS);
        for block in &self.levels {
            let input = match feats.last() {
                None => x.shallow_clone(),
                Some(prev) => prev.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false),
            };
            let f = block.stem.fwd(&input).relu_();
            drop(input);
            feats.push(block.msa.fwd(&f));
        }
        let egfr = self.classify(&feats[LEVELS - 1]);
        let mut y = feats.pop().expect("LEVELS > 0");
        for stage in &self.stages {
            let skip = feats.pop().expect("one skip per stage");
            let u = y.conv_transpose2d(
                &stage.up_w,
                Some(&stage.up_b),
                [2, 2],
                [0, 0],
                [0, 0],
                1,
                [1, 1],
            );
            let cat = Tensor::cat(&[u, skip], 1);
            y = stage.fuse.fwd(&cat).relu_();
        }
        let gtv = self.head.fwd(&y);
        (
            gtv.to_kind(Kind::Float).contiguous(),
            egfr.to_kind(Kind::Float).contiguous(),
        )
    }

    fn classify(&self, bottleneck: &Tensor) -> Tensor {
        let x = self.cls_conv.fwd(bottleneck).relu_().contiguous(); // B x D x H x W, NCHW
        let x = self.transformer.fwd(&x);
        let x = x.avg_pool2d(
            [CLS_POOL, CLS_POOL],
            [CLS_POOL, CLS_POOL],
            [0, 0],
            false,
            true,
            None::<i64>,
        );
        let x = x.flatten(1, -1);
        let x = self.cls_fc1.fwd(&x).relu_();
        self.cls_fc2.fwd(&x)
    }
}

impl Transformer {
    fn fwd(&self, x: &Tensor) -> Tensor {
        let (_, d, h, w) = x.size4().expect("B x D x H x W");
        let g = self.grid;
        let (wh, ww) = (h / g, w / g);
        let t = wh * ww;
        // Batch dimensions as -1, so a traced (TorchScript) graph takes any batch size.
        let tokens = x
            .view([-1, d, g, wh, g, ww])
            .permute([0, 2, 4, 3, 5, 1])
            .reshape([-1, t, d]);
        let mut tok = tokens + &self.pos;
        let heads = self.heads;
        let dh = d / heads;
        // N x T x 3D -> 3 x N x h x T x dh
        let qkv = self
            .qkv
            .fwd(&self.ln1.fwd(&tok, d))
            .view([-1, t, 3, heads, dh])
            .permute([2, 0, 3, 1, 4]);
        let (q, k, v) = (qkv.get(0), qkv.get(1), qkv.get(2));
        let att = Tensor::scaled_dot_product_attention(
            &q,
            &k,
            &v,
            None::<Tensor>,
            0.0,
            false,
            None::<f64>,
            false,
        ); // N x h x T x dh
        tok += self.proj.fwd(&att.transpose(1, 2).reshape([-1, t, d]));
        let ffn = self
            .fc2
            .fwd(&self.fc1.fwd(&self.ln2.fwd(&tok, d)).gelu("none"));
        tok += ffn;
        tok.view([-1, g, g, wh, ww, d])
            .permute([0, 5, 1, 3, 2, 4])
            .reshape([-1, d, h, w])
    }
}

/// Makes glibc keep freed memory for reuse instead of handing every large block back to the
/// kernel: without it each activation of the paper preset (tens to hundreds of MB) is a fresh
/// `mmap`, page-faulted and zeroed by the kernel on first touch, and `munmap`ped when dropped.
/// Process-wide, so call it once from a binary (or leave it: results do not change, only the
/// system time). Returns whether the settings were applied (false off glibc).
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_MAX: i32 = -4;
        // SAFETY: mallopt only changes allocator tunables; both values are valid for them.
        unsafe { mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, i32::MAX) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
