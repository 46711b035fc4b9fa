//! Micro-benchmarks of what training and inference run per step, on random inputs (timing does
//! not depend on the weights): one optimiser step with the project's own Adam and joint loss,
//! as the trainer makes it, in each layout, and one eval forward of the prepared net in each layout, as
//! `predict` runs it. `cargo bench -p mtsa-train --bench network`; a whole patient, file to
//! file, is `mtsa bench --mode patient`. Run on a quiet machine and name its CPU.
use criterion::{criterion_group, criterion_main, Criterion};
use mtsa_model::{
    use_layout, JointLoss, Layout, LossConfig, MtsaConfig, Network, PrepareOptions, NET_PREFIX,
};
use mtsa_train::Adam;
use std::time::Duration;
use tch::{nn::VarStore, Device, Kind, Tensor};

const PRESETS: [&str; 2] = ["tiny", "small"];

fn train_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("train step (batch 4)");
    group.sample_size(10).warm_up_time(Duration::from_secs(2));
    for preset in PRESETS {
        for layout in [Layout::Nchw, Layout::Nhwc] {
            tch::manual_seed(0);
            let cfg = MtsaConfig::preset(preset).expect("preset");
            let vs = VarStore::new(Device::Cpu);
            let net = Network::new(&(vs.root() / NET_PREFIX), &cfg).expect("network");
            let loss = JointLoss::new(&vs.root(), LossConfig::default());
            use_layout(&vs, layout);
            let mut adam = Adam::new(&vs, 3e-4, 1e-8);
            let shape = [4, cfg.in_channels, cfg.size, cfg.size];
            let x = Tensor::rand(shape, (Kind::Float, Device::Cpu));
            let mask = Tensor::rand([4, 1, cfg.size, cfg.size], (Kind::Float, Device::Cpu))
                .lt(0.1)
                .to_kind(Kind::Float);
            let label = Tensor::randint(2, [4], (Kind::Int64, Device::Cpu));
            group.bench_function(format!("{preset} {layout}"), |b| {
                b.iter(|| {
                    let (g, e) = net.forward_t(&x, true);
                    let parts = loss.compute(&g, &e, &mask, &label);
                    adam.zero_grad();
                    parts.total.backward();
                    adam.step();
                })
            });
        }
    }
    group.finish();
}

fn infer_forward(c: &mut Criterion) {
    let mut group = c.benchmark_group("infer forward (1 slice)");
    group.sample_size(20).warm_up_time(Duration::from_secs(2));
    for preset in PRESETS {
        let cfg = MtsaConfig::preset(preset).expect("preset");
        let vs = VarStore::new(Device::Cpu);
        let mut net = Network::new(&(vs.root() / NET_PREFIX), &cfg).expect("network");
        let x = Tensor::rand(
            [1, cfg.in_channels, cfg.size, cfg.size],
            (Kind::Float, Device::Cpu),
        );
        for layout in [Layout::Nchw, Layout::Nhwc] {
            net.prepare_for_inference(PrepareOptions::f32(layout));
            group.bench_function(format!("{preset} {layout}"), |b| {
                b.iter(|| tch::no_grad(|| net.forward_t(&x, false)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, train_step, infer_forward);
criterion_main!(benches);
