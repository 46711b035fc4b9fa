//! Spec §8: a faithful build lands on the reference implementation's parameter counts.
use mtsa_model::{count_net_params, JointLoss, LossConfig, MtsaConfig, MtsaNet, NET_PREFIX};
use tch::{nn, Device};

fn built_count(preset: &str) -> usize {
    let cfg = MtsaConfig::preset(preset).unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let _net = MtsaNet::new(&(vs.root() / NET_PREFIX), &cfg).unwrap();
    // Loss weights sit beside the net and must not count.
    let _loss = JointLoss::new(&vs.root(), LossConfig::default());
    let n = count_net_params(&vs);
    assert_eq!(
        n,
        cfg.param_count(),
        "{preset}: analytic and built counts differ"
    );
    n
}

#[test]
fn paper_preset_param_count() {
    assert_eq!(built_count("paper"), 9_379_683);
}

#[test]
fn small_preset_param_count() {
    assert_eq!(built_count("small"), 2_334_259);
}

#[test]
fn tiny_preset_param_count() {
    assert_eq!(built_count("tiny"), 562_075);
}
