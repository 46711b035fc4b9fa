//! Which layout MTSA-Net trains in, chosen by measurement as the inference layout is
//! ([`crate::layout_choice`]): a few training steps (forward, joint loss, backward) of the
//! run's batch size in each layout, interleaved, on throwaway nets of the run's configuration,
//! so the run's own weights and the seeded random streams are untouched when the caller
//! measures before seeding. oneDNN's channels-last depth-wise kernels (forward and backward)
//! are an order of magnitude faster than NCHW ones on AVX-512 and AVX2 here, but the plain
//! convolutions can go the other way on other CPUs, hence the measurement.
use std::path::Path;
use std::time::Instant;

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::config::MtsaConfig;
use crate::error::ModelError;
use crate::layers::{use_layout, Layout};
use crate::layout_choice::{
    choose_layout, seconds_since, time_layouts, LayoutChoice, LayoutKey, LayoutSource,
    LayoutTimings, Workload,
};
use crate::loss::{JointLoss, LossConfig};
use crate::net::MtsaNet;
use crate::NET_PREFIX;

/// Training steps timed per layout (after one untimed warm-up each, see `time_layouts`).
pub const TIMED_STEPS: usize = 2;

/// The layout `choice` names, or, for `Auto`, the one cached for this machine, model and batch
/// at `cache`, or else measured now with [`measure_training_layouts`] and cached.
pub fn choose_training_layout(
    choice: LayoutChoice,
    cfg: &MtsaConfig,
    loss: LossConfig,
    device: Device,
    batch: i64,
    cache: Option<&Path>,
) -> Result<(Layout, LayoutSource), ModelError> {
    cfg.validate()?;
    let key = LayoutKey::new(cfg, Workload::Training, device, batch);
    choose_layout(choice, &key, cache, || {
        measure_training_layouts(cfg, loss, device, batch)
    })
}

/// Median seconds per training step (forward in training mode, joint loss, backward) of a
/// random batch in each layout. Draws from libtorch's global random generator.
pub fn measure_training_layouts(
    cfg: &MtsaConfig,
    loss: LossConfig,
    device: Device,
    batch: i64,
) -> Result<LayoutTimings, ModelError> {
    let mut nets = Vec::with_capacity(2);
    for layout in [Layout::Nchw, Layout::Nhwc] {
        let vs = VarStore::new(device);
        let net = MtsaNet::new(&(vs.root() / NET_PREFIX), cfg)?;
        let joint = JointLoss::new(&vs.root(), loss);
        use_layout(&vs, layout);
        nets.push((vs, net, joint));
    }
    let batch = batch.max(1);
    let opts = (Kind::Float, device);
    let x = Tensor::rand([batch, cfg.in_channels, cfg.size, cfg.size], opts);
    let mask = Tensor::rand([batch, 1, cfg.size, cfg.size], opts)
        .lt(0.1)
        .to_kind(Kind::Float);
    let label = Tensor::randint(2, [batch], (Kind::Int64, device));
    // `time_layouts` visits NCHW then NHWC, the order the nets were built in.
    Ok(time_layouts(TIMED_STEPS, |i, _| {
        let (vs, net, joint) = &nets[i];
        let t = Instant::now();
        let (g, e) = net.forward_t(&x, true);
        joint.compute(&g, &e, &mask, &label).total.backward();
        let elapsed = seconds_since(t, device);
        for mut v in vs.trainable_variables() {
            v.zero_grad();
        }
        elapsed
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout_choice::{CachedLayout, LayoutCache};

    #[test]
    fn a_training_measurement_is_cached_apart_from_inference() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layouts.json");
        let cfg = MtsaConfig::preset("tiny").unwrap();
        let loss = LossConfig::default();
        let (layout, source) =
            choose_training_layout(LayoutChoice::Auto, &cfg, loss, Device::Cpu, 2, Some(&path))
                .unwrap();
        let LayoutSource::Measured(t) = source else {
            panic!("expected a measurement, got {source:?}");
        };
        assert!(t.nchw_s > 0.0 && t.nhwc_s > 0.0, "{t:?}");
        assert_eq!(layout, t.faster());
        let cache = LayoutCache::load(&path);
        let train_key = LayoutKey::new(&cfg, Workload::Training, Device::Cpu, 2);
        let infer_key = LayoutKey::new(&cfg, Workload::Inference, Device::Cpu, 2);
        assert_eq!(
            cache.get(&train_key),
            Some(&CachedLayout {
                layout,
                timings: t.clone()
            })
        );
        assert!(cache.get(&infer_key).is_none());
        // The second choice reads the cache; a fixed one measures nothing.
        let again =
            choose_training_layout(LayoutChoice::Auto, &cfg, loss, Device::Cpu, 2, Some(&path))
                .unwrap();
        assert_eq!(again, (layout, LayoutSource::Cached(t)));
        let fixed = choose_training_layout(
            LayoutChoice::Fixed(Layout::Nchw),
            &cfg,
            loss,
            Device::Cpu,
            2,
            None,
        )
        .unwrap();
        assert_eq!(fixed, (Layout::Nchw, LayoutSource::Requested));
    }

    #[test]
    fn a_net_trains_in_the_layout_of_its_weights() {
        let cfg = MtsaConfig::preset("tiny").unwrap();
        for layout in [Layout::Nchw, Layout::Nhwc] {
            let vs = VarStore::new(Device::Cpu);
            let net = MtsaNet::new(&(vs.root() / NET_PREFIX), &cfg).unwrap();
            use_layout(&vs, layout);
            assert_eq!(net.layout(), layout);
        }
    }
}
