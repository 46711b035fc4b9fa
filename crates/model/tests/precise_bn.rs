//! `precise_batch_norm` replaces every BatchNorm's running statistics by the plain average of
//! the batches it is given, whatever the statistics were before, and touches no weight.

use mtsa_model::{is_batch_norm_statistic, precise_batch_norm, MtsaConfig, Network, NET_PREFIX};
use std::sync::{Mutex, MutexGuard};
use tch::{nn::VarStore, Device, Kind, Tensor};

/// libtorch's random generator is process-global: tests running at once would draw each
/// other's weights and inputs.
fn serial() -> MutexGuard<'static, ()> {
    static TORCH_RNG: Mutex<()> = Mutex::new(());
    TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner())
}

/// The tiny preset with fixed initial weights (same seed, same weights).
fn tiny_net() -> (VarStore, Network) {
    tch::manual_seed(3);
    let vs = VarStore::new(Device::Cpu);
    let net = Network::new(
        &(vs.root() / NET_PREFIX),
        &MtsaConfig::preset("tiny").unwrap(),
    )
    .unwrap();
    (vs, net)
}

fn input(seed: i64) -> Tensor {
    tch::manual_seed(seed);
    Tensor::rand([2, 1, 128, 128], (Kind::Float, Device::Cpu))
}

/// Variables by name, sorted.
type Named = Vec<(String, Tensor)>;

/// Every BatchNorm buffer (running mean or variance) and every other variable, by name.
fn split(vs: &VarStore) -> (Named, Named) {
    let mut all: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(n, t)| (n, t.detach().copy()))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all.into_iter()
        .partition(|(n, _)| is_batch_norm_statistic(n))
}

fn max_rel_diff(a: &Tensor, b: &Tensor) -> f64 {
    let scale = b.abs().max().double_value(&[]).max(1e-3);
    (a - b).abs().max().double_value(&[]) / scale
}

#[test]
fn one_batch_gives_its_own_statistics_whatever_the_running_average_held() {
    let _serial = serial();
    // Reference: from PyTorch's initial statistics (mean 0, variance 1) one training-mode step
    // with momentum 0.1 leaves 0.1 x the batch mean and 0.9 + 0.1 x its variance.
    let (vs_ref, net_ref) = tiny_net();
    let x = input(11);
    let _ = tch::no_grad(|| net_ref.forward_t(&x, true));
    let (stats_ref, _) = split(&vs_ref);

    let (vs, net) = tiny_net();
    let (stats_before, weights_before) = split(&vs);
    assert!(!stats_before.is_empty(), "the tiny preset has BatchNorms");
    // Statistics far from anything a batch gives, as after a spike.
    for (_, t) in vs.variables() {
        if t.requires_grad() {
            continue;
        }
        let _ = t.shallow_clone().fill_(7.0);
    }
    assert_eq!(precise_batch_norm(&vs, &net, [x.shallow_clone()]), 1);
    let (stats, weights) = split(&vs);
    for ((name, got), (_, after_step)) in stats.iter().zip(&stats_ref) {
        let want = if name.ends_with(".running_mean") {
            after_step * 10.0
        } else {
            (after_step - 0.9) * 10.0
        };
        let d = max_rel_diff(got, &want);
        assert!(d < 1e-3, "{name}: relative difference {d}");
    }
    for ((name, a), (_, b)) in weights.iter().zip(&weights_before) {
        assert!(a.equal(b), "{name} changed");
    }
}

#[test]
fn several_batches_give_the_mean_of_their_statistics_and_none_change_nothing() {
    let _serial = serial();
    let (vs, net) = tiny_net();
    let (x1, x2) = (input(21), input(22));
    precise_batch_norm(&vs, &net, [x1.shallow_clone()]);
    let (s1, _) = split(&vs);
    precise_batch_norm(&vs, &net, [x2.shallow_clone()]);
    let (s2, _) = split(&vs);
    assert_eq!(precise_batch_norm(&vs, &net, [x1, x2]), 2);
    let (both, _) = split(&vs);
    for (((name, got), (_, a)), (_, b)) in both.iter().zip(&s1).zip(&s2) {
        let d = max_rel_diff(got, &((a + b) / 2.0));
        assert!(d < 1e-4, "{name}: relative difference {d}");
    }
    assert_eq!(precise_batch_norm(&vs, &net, []), 0);
    for ((name, a), (_, b)) in split(&vs).0.iter().zip(&both) {
        assert!(a.equal(b), "{name} changed without a batch");
    }
}
