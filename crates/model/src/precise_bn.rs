//! "Precise BatchNorm" (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm", §3; fvcore's
//! `update_bn_stats`): before a network is evaluated, replace every BatchNorm's running
//! statistics by their plain average over many training batches at the current weights.
//!
//! Why: the running average (momentum 0.1) follows the last ~20 batches of an epoch, at weights
//! that were still moving. In the demo one such average jumped 7.4x at the end of one epoch
//! (seed 0, epoch 10: encoder level 1's first BatchNorm) and that epoch's validation marked
//! nothing, while its weights and training loss were in line (docs/whole-scan.md).

use tch::nn::VarStore;
use tch::Tensor;

use crate::layers::BN_MOMENTUM;
use crate::network::Network;

/// Whether the VarStore variable `name` is a BatchNorm's running mean or variance (a buffer,
/// not a trained weight).
pub fn is_batch_norm_statistic(name: &str) -> bool {
    name.ends_with(".running_mean") || name.ends_with(".running_var")
}

/// Re-estimates the running mean and variance of every BatchNorm under `vs` as their average
/// over the batches in `inputs`, each run through `net` in training mode without gradients.
/// Returns the number of batches averaged; with none the statistics are left as they were.
/// Dropout runs as in training, as fvcore does: the statistics are those the layers see there.
pub fn precise_batch_norm(
    vs: &VarStore,
    net: &Network,
    inputs: impl IntoIterator<Item = Tensor>,
) -> usize {
    // Shallow clones: writing into them writes into the store's buffers.
    let stats: Vec<Tensor> = vs
        .variables()
        .into_iter()
        .filter(|(name, _)| is_batch_norm_statistic(name))
        .map(|(_, t)| t)
        .collect();
    let _guard = tch::no_grad_guard();
    let mut sums: Vec<Tensor> = stats.iter().map(Tensor::zeros_like).collect();
    let mut n = 0;
    for x in inputs {
        // From zero, one training-mode step leaves momentum x (this batch's statistic).
        for s in &stats {
            let _ = s.shallow_clone().zero_();
        }
        let _ = net.forward_t(&x, true);
        for (sum, s) in sums.iter_mut().zip(&stats) {
            *sum += s / BN_MOMENTUM;
        }
        n += 1;
    }
    if n > 0 {
        for (s, sum) in stats.iter().zip(&sums) {
            s.shallow_clone().copy_(&(sum / n as f64));
        }
    }
    n
}
