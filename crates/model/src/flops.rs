//! Analytic forward cost, so the CLI can report GFLOP per slice without running a profiler.
//!
//! Counted, at 2 FLOPs per multiply-accumulate: every convolution (depth-wise included) and
//! transposed convolution, every linear layer, and the two attention matmuls (Q K^T and A V).
//! Not counted: bias adds, BatchNorm, LayerNorm, activations, softmax, pooling, element-wise
//! sums/products, the position-embedding add. These are O(activations) and together stay
//! well under 1% of the total; leaving them out reproduces spec §8
//! (paper 47.0, small 5.38, tiny 0.36 GFLOP).
use crate::config::{MtsaConfig, LEVELS};

/// Multiply-accumulates of a convolution producing an `side x side` map.
fn conv_macs(side: i64, cin: i64, cout: i64, kh: i64, kw: i64, groups: i64) -> f64 {
    (side * side) as f64 * (cout * (cin / groups) * kh * kw) as f64
}

fn msa_module_macs(cfg: &MtsaConfig, side: i64, ch: i64) -> f64 {
    let k = cfg.square_kernel;
    let strips: f64 = cfg
        .strip_kernels
        .iter()
        .map(|&s| conv_macs(side, ch, ch, 1, s, ch) + conv_macs(side, ch, ch, s, 1, ch))
        .sum();
    conv_macs(side, ch, ch, k, k, ch)
        + strips
        + conv_macs(side, ch, ch, 3, 3, 1)
        + conv_macs(side, ch, ch, 1, 1, 1)
}

/// Forward GFLOP per slice ([`forward_flops`] / 1e9), as `mtsa info` and `mtsa bench` print it.
pub fn gflops_per_slice(cfg: &MtsaConfig) -> f64 {
    forward_flops(cfg) / 1e9
}

/// Forward FLOPs for one slice (batch 1).
pub fn forward_flops(cfg: &MtsaConfig) -> f64 {
    let mut macs = 0.0;
    // Encoder.
    let mut cin = cfg.in_channels;
    for i in 0..LEVELS {
        let (side, ch) = (cfg.size >> i, cfg.level_channels(i));
        macs += conv_macs(side, cin, ch, 3, 3, 1) + msa_module_macs(cfg, side, ch);
        cin = ch;
    }
    // Decoder: a 2x2 stride-2 transposed conv touches each output pixel with one kernel tap.
    for i in (0..LEVELS - 1).rev() {
        let (side, deep, ch) = (
            cfg.size >> i,
            cfg.level_channels(i + 1),
            cfg.level_channels(i),
        );
        macs += conv_macs(side, deep, ch, 1, 1, 1) + conv_macs(side, 2 * ch, ch, 3, 3, 1);
    }
    macs += conv_macs(cfg.size, cfg.base_channels, 1, 1, 1, 1);
    // Classifier.
    let d = cfg.token_dim();
    let b = cfg.bottleneck_side();
    macs += conv_macs(b, cfg.level_channels(LEVELS - 1), d, 3, 3, 1);
    let windows = (cfg.window_grid * cfg.window_grid) as f64;
    let t = (cfg.window_side() * cfg.window_side()) as f64;
    let d = d as f64;
    let attention = t * d * 3.0 * d + 2.0 * t * t * d + t * d * d;
    let ffn = 2.0 * t * d * 4.0 * d;
    macs += windows * (attention + ffn);
    let flat = (cfg.pooled_side() * cfg.pooled_side()) as f64 * d;
    let hidden = cfg.mlp_hidden as f64;
    macs += flat * hidden + hidden * 2.0;
    2.0 * macs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec §8 prints the numbers rounded to three significant figures.
    #[test]
    fn matches_spec_table() {
        for (p, want, decimals) in [("paper", 47.0, 1), ("small", 5.38, 2), ("tiny", 0.36, 2)] {
            let got = gflops_per_slice(&MtsaConfig::preset(p).unwrap());
            let scale = 10f64.powi(decimals);
            assert_eq!((got * scale).round() / scale, want, "{p}: {got}");
            assert!((got - want).abs() / want < 0.015, "{p}: {got}");
        }
    }
}
