//! The inference-only path (`InferenceNet`: BN folded, in-place ops, channels-last, merged
//! strips) must compute the same function as the plain eval forward.
use mtsa_model::{InferenceNet, InferenceOptions, MtsaConfig, MtsaNet, NET_PREFIX};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// Non-trivial BatchNorm statistics and affine parameters, so folding is actually exercised
/// (fresh BNs are the identity up to eps).
fn perturb_bn(vs: &VarStore) {
    let _g = tch::no_grad_guard();
    for (name, mut t) in vs.variables() {
        if name.ends_with("running_var") {
            t.copy_(&(Tensor::rand_like(&t) * 2.0 + 0.2));
        } else if name.ends_with("running_mean") || name.contains(".bn.bias") {
            t.copy_(&(Tensor::randn_like(&t) * 0.2));
        } else if name.contains(".bn.weight") {
            t.copy_(&(Tensor::rand_like(&t) + 0.5));
        }
    }
}

fn max_abs(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

fn check(opts: InferenceOptions, tol_gtv: f64, tol_egfr: f64) {
    tch::manual_seed(7);
    let cfg = MtsaConfig::preset("tiny").unwrap();
    let vs = VarStore::new(Device::Cpu);
    let net = MtsaNet::new(&(vs.root() / NET_PREFIX), &cfg).unwrap();
    perturb_bn(&vs);
    let x = Tensor::rand([3, 1, cfg.size, cfg.size], (Kind::Float, Device::Cpu));
    let (g0, e0) = tch::no_grad(|| net.forward_t(&x, false));
    let fast = InferenceNet::from_vs(&vs, &cfg, opts).unwrap();
    let (g1, e1) = fast.forward(&x);
    assert_eq!(g1.size(), g0.size());
    assert_eq!(e1.size(), e0.size());
    assert_eq!(g1.kind(), Kind::Float);
    let (dg, de) = (max_abs(&g0, &g1), max_abs(&e0, &e1));
    let scale = g0.abs().max().double_value(&[]);
    eprintln!("{opts:?}: max|dgtv| = {dg:.3e} (|gtv| max {scale:.3}), max|degfr| = {de:.3e}");
    assert!(dg < tol_gtv, "{opts:?}: gtv logits differ by {dg}");
    assert!(de < tol_egfr, "{opts:?}: egfr logits differ by {de}");
}

#[test]
fn fused_f32_matches_plain_eval_forward() {
    for channels_last in [false, true] {
        for merge_strips in [false, true] {
            let opts = InferenceOptions {
                channels_last,
                merge_strips,
                kind: Kind::Float,
            };
            check(opts, 1e-4, 1e-4);
        }
    }
}

#[test]
fn default_options_match_plain_eval_forward() {
    check(InferenceOptions::default(), 1e-4, 1e-4);
}

/// bf16 keeps 8 bits of mantissa: only a loose agreement is expected; the bench reports the
/// measured drift at the real presets.
#[test]
fn bf16_stays_close() {
    let opts = InferenceOptions {
        kind: Kind::BFloat16,
        ..Default::default()
    };
    check(opts, 0.5, 0.5);
}

#[test]
fn snapshot_is_independent_of_later_training() {
    tch::manual_seed(3);
    let cfg = MtsaConfig::preset("tiny").unwrap();
    let vs = VarStore::new(Device::Cpu);
    let _net = MtsaNet::new(&(vs.root() / NET_PREFIX), &cfg).unwrap();
    let x = Tensor::rand([1, 1, cfg.size, cfg.size], (Kind::Float, Device::Cpu));
    let fast = InferenceNet::from_vs(&vs, &cfg, InferenceOptions::default()).unwrap();
    let (before, _) = fast.forward(&x);
    perturb_bn(&vs);
    let (after, _) = fast.forward(&x);
    assert_eq!(max_abs(&before, &after), 0.0);
}
