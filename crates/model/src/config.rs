//! Model hyper-parameters. Everything the paper leaves open is a field here so ablations need
//! no code change; presets pin the three sizes the project reports (spec §8).
use serde::{Deserialize, Serialize};

use crate::error::ModelError;
use crate::systems::Architecture;

/// Side of the bottleneck is `size / 2^(LEVELS-1)`; the spec fixes five encoder levels.
pub const LEVELS: usize = 5;
/// Kernel and stride of the classifier's average pool (paper: "kernel size of 4").
pub const CLS_POOL: i64 = 4;

/// Why `side` cannot be MTSA-Net's input side, if it cannot: the one rule for the trained size,
/// a tensor's height and width and a second input size.
pub fn side_problem(side: i64) -> Option<String> {
    (side <= 0 || side % 64 != 0).then(|| {
        format!(
            "{side} is not a positive multiple of 64 (5 levels of 2x pooling, then a 4x4 average \
             pool)"
        )
    })
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MtsaConfig {
    /// The network: MTSA-Net, or one of the paper's comparison systems, which read only
    /// `size`, `in_channels` and `base_channels` (as their first-stage width) [ours].
    #[serde(default)]
    pub architecture: Architecture,
    /// Input side in pixels (square slices).
    pub size: i64,
    /// Input channels: 1 for the paper's single T1-CE slice; `2r + 1` when the `r` neighbouring
    /// slices on each side come along [ours, 2.5-D].
    #[serde(default = "one_channel")]
    pub in_channels: i64,
    /// Channels of the first encoder level, `c` in the spec.
    pub base_channels: i64,
    /// Depth-wise square kernel of the MSA module (`d` branch).
    pub square_kernel: i64,
    /// Depth-wise strip kernels of the MSA module.
    pub strip_kernels: Vec<i64>,
    /// Windows per side on the bottleneck (spec: 4 x 4).
    pub window_grid: i64,
    /// Attention heads of the transformer block.
    pub heads: i64,
    /// Hidden width of the classifier MLP.
    pub mlp_hidden: i64,
    /// Dropout of the classifier MLP.
    pub dropout: f64,
    /// Name recorded in checkpoints so a mismatch can be reported by name.
    pub preset: String,
}

fn one_channel() -> i64 {
    1
}

impl MtsaConfig {
    pub fn preset(name: &str) -> Result<Self, ModelError> {
        let (size, c) = match name {
            "paper" => (384, 32),
            "small" => (256, 16),
            "tiny" => (128, 8),
            other => return Err(ModelError::UnknownPreset(other.to_string())),
        };
        Ok(Self {
            architecture: Architecture::MtsaNet,
            size,
            in_channels: 1,
            base_channels: c,
            square_kernel: 5,
            strip_kernels: vec![5, 7, 11],
            window_grid: 4,
            heads: 8,
            mlp_hidden: 256,
            dropout: 0.3,
            preset: name.to_string(),
        })
    }

    /// The preset's input side for `architecture`, at the width
    /// [`Architecture::width_for_preset`] gives it.
    pub fn for_architecture(preset: &str, architecture: Architecture) -> Result<Self, ModelError> {
        Ok(Self {
            architecture,
            base_channels: architecture.width_for_preset(preset)?,
            ..Self::preset(preset)?
        })
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::InvalidConfig(m));
        if let Some(problem) = side_problem(self.size) {
            return bad(format!("size {problem}"));
        }
        if self.in_channels <= 0 || self.in_channels % 2 == 0 {
            return bad(format!(
                "in_channels {} must be odd and positive (the slice and r neighbours per side)",
                self.in_channels
            ));
        }
        if self.base_channels <= 0 {
            return bad(format!(
                "base_channels {} must be positive",
                self.base_channels
            ));
        }
        if self.square_kernel <= 0 || self.square_kernel % 2 == 0 {
            return bad(format!(
                "square_kernel {} must be odd and positive",
                self.square_kernel
            ));
        }
        if let Some(k) = self.strip_kernels.iter().find(|k| **k <= 0 || **k % 2 == 0) {
            return bad(format!("strip kernel {k} must be odd and positive"));
        }
        let bottleneck = self.bottleneck_side();
        if self.window_grid <= 0 || bottleneck % self.window_grid != 0 {
            return bad(format!(
                "window_grid {} must divide the bottleneck side {bottleneck}",
                self.window_grid
            ));
        }
        let d = self.token_dim();
        if self.heads <= 0 || d % self.heads != 0 {
            return bad(format!(
                "heads {} must divide the token width {d}",
                self.heads
            ));
        }
        if self.mlp_hidden <= 0 {
            return bad(format!("mlp_hidden {} must be positive", self.mlp_hidden));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout {} must be in [0, 1)", self.dropout));
        }
        Ok(())
    }

    /// Neighbouring slices per side in the input (0 for the paper's 2-D input).
    pub fn context_slices(&self) -> usize {
        ((self.in_channels - 1) / 2) as usize
    }

    /// Channels of encoder level `i` (0-based): `c * 2^i`.
    pub fn level_channels(&self, i: usize) -> i64 {
        self.base_channels << i
    }

    /// Side of the deepest encoder map (24 px for the paper preset).
    pub fn bottleneck_side(&self) -> i64 {
        self.size >> (LEVELS - 1)
    }

    /// Width of the transformer tokens, `4c`.
    pub fn token_dim(&self) -> i64 {
        4 * self.base_channels
    }

    /// Side of one attention window (6 px for the paper preset).
    pub fn window_side(&self) -> i64 {
        self.bottleneck_side() / self.window_grid
    }

    /// Side of the map after the classifier's average pool.
    pub fn pooled_side(&self) -> i64 {
        self.bottleneck_side() / CLS_POOL
    }

    /// Trainable parameters of the network, worked out from the architecture so it needs no
    /// libtorch; `tests/param_counts.rs` checks it against a built VarStore.
    pub fn param_count(&self) -> usize {
        let conv = |cin: i64, cout: i64, kh: i64, kw: i64, groups: i64| {
            cout * (cin / groups) * kh * kw + cout
        };
        let msa = |ch: i64| {
            let sq = conv(ch, ch, self.square_kernel, self.square_kernel, ch);
            let strips: i64 = self
                .strip_kernels
                .iter()
                .map(|&k| conv(ch, ch, 1, k, ch) + conv(ch, ch, k, 1, ch))
                .sum();
            sq + strips + conv(ch, ch, 3, 3, 1) + conv(ch, ch, 1, 1, 1)
        };
        let mut n = 0;
        let mut cin = 1;
        for i in 0..LEVELS {
            let ch = self.level_channels(i);
            n += conv(cin, ch, 3, 3, 1) + 2 * ch + msa(ch);
            cin = ch;
        }
        for i in (0..LEVELS - 1).rev() {
            let (deep, ch) = (self.level_channels(i + 1), self.level_channels(i));
            n += conv(deep, ch, 2, 2, 1) + conv(2 * ch, ch, 3, 3, 1) + 2 * ch;
        }
        n += conv(self.base_channels, 1, 1, 1, 1);
        let d = self.token_dim();
        let tokens = self.window_side() * self.window_side();
        n += conv(self.level_channels(LEVELS - 1), d, 3, 3, 1) + 2 * d;
        let linear = |i: i64, o: i64| i * o + o;
        n += tokens * d + 2 * d + 4 * linear(d, d) + 2 * d + linear(d, 4 * d) + linear(4 * d, d);
        let flat = self.pooled_side() * self.pooled_side() * d;
        n += linear(flat, self.mlp_hidden) + linear(self.mlp_hidden, 2);
        n as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_validate() {
        for p in ["paper", "small", "tiny"] {
            let c = MtsaConfig::preset(p).unwrap();
            c.validate().unwrap();
            assert_eq!(c.preset, p);
        }
        assert!(matches!(
            MtsaConfig::preset("huge"),
            Err(ModelError::UnknownPreset(_))
        ));
    }

    #[test]
    fn analytic_param_counts_match_spec() {
        let n = |p| MtsaConfig::preset(p).unwrap().param_count();
        assert_eq!(n("paper"), 9_379_683);
        assert_eq!(n("small"), 2_334_259);
        assert_eq!(n("tiny"), 562_075);
    }

    #[test]
    fn rejects_bad_configs() {
        let base = MtsaConfig::preset("tiny").unwrap();
        let mut c = base.clone();
        c.size = 100;
        assert!(c.validate().is_err());
        let mut c = base.clone();
        c.heads = 5;
        assert!(c.validate().is_err());
        let mut c = base.clone();
        c.strip_kernels = vec![4];
        assert!(c.validate().is_err());
        let mut c = base.clone();
        c.window_grid = 3;
        assert!(c.validate().is_err());
        let mut c = base;
        c.dropout = 1.0;
        assert!(c.validate().is_err());
    }

    #[test]
    fn serde_round_trip() {
        let c = MtsaConfig::preset("small").unwrap();
        let s = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<MtsaConfig>(&s).unwrap(), c);
    }
}
