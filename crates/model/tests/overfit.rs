//! End-to-end training step: the tiny preset must memorise one fixed synthetic batch, which
//! exercises every gradient path (decoder, classifier, and the uncertainty weights).
use std::time::Instant;

use mtsa_model::{JointLoss, LossConfig, MtsaConfig, MtsaNet, LOSS_PARAM_GROUP, NET_PREFIX};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::nn::OptimizerConfig;
use tch::{nn, Device, Kind, Tensor};

const SIDE: i64 = 128;
/// About 2.5x what the run needs (41 steps), so a regression fails in seconds, not hours.
const MAX_STEPS: usize = 100;

/// Four noisy slices with one bright disc each, metastasis-sized (1-4% of the slice, the size the
/// head's prior bias is set for); the label is 1 for the large discs.
fn batch() -> (Tensor, Tensor, Tensor) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let specs = [
        (44.0, 50.0, 8.0, 0i64),
        (72.0, 66.0, 14.0, 1),
        (64.0, 88.0, 9.0, 0),
        (66.0, 58.0, 13.0, 1),
    ];
    let n = (SIDE * SIDE) as usize;
    let (mut img, mut mask, mut label) = (Vec::new(), Vec::new(), Vec::new());
    for (cx, cy, r, l) in specs {
        for i in 0..n {
            let (y, x) = ((i / SIDE as usize) as f64, (i % SIDE as usize) as f64);
            let inside = (x - cx).powi(2) + (y - cy).powi(2) <= r * r;
            let noise: f64 = rng.random_range(-0.1..0.1);
            img.push((if inside { 0.9 } else { 0.2 } + noise) as f32);
            mask.push(if inside { 1f32 } else { 0.0 });
        }
        label.push(l);
    }
    let shape = [4, 1, SIDE, SIDE];
    (
        Tensor::from_slice(&img).view(shape),
        Tensor::from_slice(&mask).view(shape),
        Tensor::from_slice(&label),
    )
}

fn hard_dice(logits: &Tensor, mask: &Tensor) -> f64 {
    let pred = logits.gt(0.0).to_kind(Kind::Float);
    let inter = (&pred * mask).sum(Kind::Float).double_value(&[]);
    let total = (pred.sum(Kind::Float) + mask.sum(Kind::Float)).double_value(&[]);
    2.0 * inter / total
}

#[test]
fn tiny_preset_overfits_one_batch() {
    tch::manual_seed(0);
    tch::set_num_threads(2);
    let start = Instant::now();
    let cfg = MtsaConfig::preset("tiny").unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let net = MtsaNet::new(&(vs.root() / NET_PREFIX), &cfg).unwrap();
    let loss = JointLoss::new(&vs.root(), LossConfig::default());
    let mut opt = nn::Adam {
        eps: 1e-8,
        ..Default::default()
    }
    .build(&vs, 3e-4)
    .unwrap();
    opt.set_weight_decay_group(LOSS_PARAM_GROUP, 0.0);
    let (x, mask, label) = batch();

    let mut first = None;
    let mut last = (f64::NAN, 0.0, f64::NAN, 0);
    for step in 1..=MAX_STEPS {
        let (g, e) = net.forward_t(&x, true);
        let parts = loss.compute(&g, &e, &mask, &label);
        opt.backward_step(&parts.total);
        let total = parts.total.double_value(&[]);
        first.get_or_insert(total);
        let dice = hard_dice(&g, &mask);
        let ce = parts.egfr.double_value(&[]);
        last = (total, dice, ce, step);
        if step % 10 == 0 {
            eprintln!("step {step}: total {total:.4} dice {dice:.3} ce {ce:.4}");
        }
        if dice > 0.91 && ce < 0.04 {
            break;
        }
    }
    let (total, dice, ce, steps) = last;
    eprintln!("stopped after {steps} steps in {:.1?}", start.elapsed());
    let first = first.unwrap();
    assert!(total < first, "joint loss did not fall: {first} -> {total}");
    assert!(dice > 0.9, "train-mode Dice {dice} after {steps} steps");
    assert!(ce < 0.05, "cross-entropy {ce} after {steps} steps");
    // The same batch in eval mode (running BatchNorm statistics) is also segmented.
    let (g, e) = tch::no_grad(|| net.forward_t(&x, false));
    let eval_dice = hard_dice(&g, &mask);
    let pred = e.argmax(-1, false);
    // Not asserted: after ~25 steps the BatchNorm running statistics (momentum 0.1) still lag
    // the batch statistics, so eval mode trails train mode on this tiny run.
    eprintln!("eval Dice {eval_dice:.3}, eval labels {pred:?}");
}
