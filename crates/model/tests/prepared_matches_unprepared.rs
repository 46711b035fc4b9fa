//! `MtsaNet::prepare_for_inference` (BN folded, strips merged, either layout) must leave the
//! eval-mode function unchanged: the prepared net is compared with an unprepared net holding
//! the same random weights and non-trivial BatchNorm statistics.
use mtsa_model::{Layout, MtsaConfig, MtsaNet, Precision, PrepareOptions, NET_PREFIX};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// Agreement bound on the logits: folding and merging only reorder float sums.
const TOL: f64 = 1e-4;

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

/// Builds `cfg` with random weights, then for each layout a second net holding a copy of them
/// (copied, not re-seeded: the test binary's threads share libtorch's generator), prepares it
/// and compares on a batch of `batch`.
fn check(cfg: &MtsaConfig, batch: i64) {
    let vs_ref = VarStore::new(Device::Cpu);
    let reference = MtsaNet::new(&(vs_ref.root() / NET_PREFIX), cfg).unwrap();
    perturb_bn(&vs_ref);
    let build = || {
        let mut vs = VarStore::new(Device::Cpu);
        let net = MtsaNet::new(&(vs.root() / NET_PREFIX), cfg).unwrap();
        vs.copy(&vs_ref).unwrap();
        (vs, net)
    };
    let x = Tensor::rand(
        [batch, cfg.in_channels, cfg.size, cfg.size],
        (Kind::Float, Device::Cpu),
    );
    let (g0, e0) = tch::no_grad(|| reference.forward_t(&x, false));
    for layout in [Layout::Nchw, Layout::Nhwc] {
        let (vs, mut net) = build();
        let saved_before: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .map(|(n, t)| (n, t.copy()))
            .collect();
        net.prepare_for_inference(PrepareOptions::f32(layout));
        assert_eq!(net.prepared_layout(), Some(layout));
        let (g1, e1) = tch::no_grad(|| net.forward_t(&x, false));
        assert_eq!(g1.size(), g0.size());
        assert_eq!(e1.size(), e0.size());
        let (dg, de) = (max_abs(&g0, &g1), max_abs(&e0, &e1));
        eprintln!(
            "{} (in_channels {}), {layout}: max |d gtv| = {dg:.3e}, max |d egfr| = {de:.3e}",
            cfg.preset, cfg.in_channels
        );
        assert!(
            dg < TOL && de < TOL,
            "{} in_channels {} {layout}: prepared differs from unprepared by {dg:.3e} (GTV) and \
             {de:.3e} (EGFR) > {TOL:e}",
            cfg.preset,
            cfg.in_channels
        );
        // Preparing copies: the VarStore keeps the trained variables, names and values, so
        // saving it still writes the checkpoint format.
        let after = vs.variables();
        assert_eq!(after.len(), saved_before.len());
        for (name, t) in &saved_before {
            assert!(after[name].equal(t), "{name} changed");
        }
    }
}

#[test]
fn tiny_prepared_matches_unprepared() {
    check(&MtsaConfig::preset("tiny").unwrap(), 2);
}

#[test]
fn small_prepared_matches_unprepared() {
    check(&MtsaConfig::preset("small").unwrap(), 2);
}

#[test]
fn paper_prepared_matches_unprepared() {
    check(&MtsaConfig::preset("paper").unwrap(), 1);
}

#[test]
fn three_channel_input_prepared_matches_unprepared() {
    let mut cfg = MtsaConfig::preset("tiny").unwrap();
    cfg.in_channels = 3;
    check(&cfg, 2);
}

#[test]
fn prepared_net_is_independent_of_its_var_store() {
    let cfg = MtsaConfig::preset("tiny").unwrap();
    let vs = VarStore::new(Device::Cpu);
    let mut net = MtsaNet::new(&(vs.root() / NET_PREFIX), &cfg).unwrap();
    let x = Tensor::rand([1, 1, cfg.size, cfg.size], (Kind::Float, Device::Cpu));
    net.prepare_for_inference(PrepareOptions::f32(Layout::Nhwc));
    let (before, _) = tch::no_grad(|| net.forward_t(&x, false));
    perturb_bn(&vs);
    tch::no_grad(|| {
        for (_, mut t) in vs.variables() {
            let _ = t.fill_(0.5);
        }
    });
    let (after, _) = tch::no_grad(|| net.forward_t(&x, false));
    assert_eq!(max_abs(&before, &after), 0.0);
}

#[test]
fn preparing_twice_only_changes_the_layout() {
    let cfg = MtsaConfig::preset("tiny").unwrap();
    let vs = VarStore::new(Device::Cpu);
    let mut net = MtsaNet::new(&(vs.root() / NET_PREFIX), &cfg).unwrap();
    perturb_bn(&vs);
    let x = Tensor::rand([2, 1, cfg.size, cfg.size], (Kind::Float, Device::Cpu));
    let (g0, _) = tch::no_grad(|| net.forward_t(&x, false));
    for layout in [Layout::Nhwc, Layout::Nchw, Layout::Nhwc] {
        net.prepare_for_inference(PrepareOptions::f32(layout));
        let (g, _) = tch::no_grad(|| net.forward_t(&x, false));
        let d = max_abs(&g0, &g);
        assert!(d < TOL, "{layout}: {d:.3e}");
    }
}

/// bf16 (opt-in): f32 in and out, the same function up to bf16 rounding (8-bit mantissa:
/// relative error ~0.4% per operation), and a bf16 net stays bf16 when prepared again.
#[test]
fn a_bf16_net_takes_and_returns_f32_close_to_the_f32_net() {
    let cfg = MtsaConfig::preset("tiny").unwrap();
    let vs = VarStore::new(Device::Cpu);
    let mut net = MtsaNet::new(&(vs.root() / NET_PREFIX), &cfg).unwrap();
    perturb_bn(&vs);
    let x = Tensor::rand([2, 1, cfg.size, cfg.size], (Kind::Float, Device::Cpu));
    net.prepare_for_inference(PrepareOptions::f32(Layout::Nhwc));
    let (g0, e0) = tch::no_grad(|| net.forward_t(&x, false));
    for layout in [Layout::Nhwc, Layout::Nchw] {
        net.prepare_for_inference(PrepareOptions {
            layout,
            precision: Precision::Bf16,
        });
        assert_eq!(net.prepared_precision(), Some(Precision::Bf16));
        let (g, e) = net.try_forward_t(&x, false).unwrap();
        assert_eq!((g.kind(), e.kind()), (Kind::Float, Kind::Float));
        let dp = max_abs(&g0.sigmoid(), &g.sigmoid());
        let de = max_abs(&e0.softmax(-1, Kind::Float), &e.softmax(-1, Kind::Float));
        assert!(
            dp > 0.0 && dp < 0.05,
            "{layout}: GTV probabilities differ by {dp:.3e}"
        );
        assert!(de < 0.05, "{layout}: EGFR probabilities differ by {de:.3e}");
    }
    // Asking for f32 again cannot bring back the rounded-away digits: it stays bf16.
    net.prepare_for_inference(PrepareOptions::f32(Layout::Nhwc));
    assert_eq!(net.prepared_precision(), Some(Precision::Bf16));
    let wrong = x.to_kind(Kind::BFloat16);
    assert!(net.try_forward_t(&wrong, false).is_err());
}
