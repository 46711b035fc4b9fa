//! MTSA-Net (Zhou et al. 2023): a shared MSA-block encoder, a U-Net decoder for the GTV mask
//! and a CNN-Transformer classifier for EGFR status, plus the losses of the paper.
//!
//! Layout in a VarStore: build the net under `vs.root() / NET_PREFIX` and the [`JointLoss`]
//! on `vs.root()` (it adds `loss/`), so [`count_net_params`] and checkpoints can tell them apart.

mod checkpoint;
mod config;
mod device;
mod egfr_classifier;
mod encoder;
mod error;
mod flops;
mod gtv_decoder;
mod layers;
mod layout_choice;
mod loss;
mod msa_block;
mod msa_module;
mod net;
mod network;
mod precise_bn;
mod systems;
mod training_layout;
mod transformer;

pub use checkpoint::{
    load_weights, read_config, read_metadata, read_tensors, save_weights, write_tensors, Metadata,
    NamedTensors, CHECKSUM_KEY, CONFIG_KEY,
};
pub use config::{side_problem, MtsaConfig, CLS_POOL, LEVELS};
pub use device::{parse_device, synchronize};
pub use egfr_classifier::EgfrClassifier;
pub use encoder::Encoder;
pub use error::ModelError;
pub use flops::{forward_flops, gflops_per_slice};
pub use gtv_decoder::GtvDecoder;
pub use layers::{to_channels_last, use_layout, Layout, Precision, PrepareOptions};
pub use layout_choice::{
    choose_layout, cpu_model, measure_layouts, prepare_with_layout, CachedLayout, LayoutCache,
    LayoutChoice, LayoutKey, LayoutSource, LayoutTimings, Workload, TIMED_FORWARDS,
};
pub use loss::{
    cross_entropy, dice_loss, focal_loss, JointLoss, LossConfig, LossMode, LossParts,
    LOG_SIGMA_RANGE, LOSS_PARAM_GROUP, NO_LABEL,
};
pub use msa_block::MsaBlock;
pub use msa_module::MsaModule;
pub use net::MtsaNet;
pub use network::{Network, NO_LESION_LOGIT};
pub use precise_bn::{is_batch_norm_statistic, precise_batch_norm};
pub use systems::{
    conv, Architecture, ConvBn, DeSeg, DenseNet121, RaUNet, ResNet50, RnGap, SwinUNet, SystemSpec,
    Tasks, TransUNet, UNet, UNet3Plus,
};
pub use training_layout::{choose_training_layout, measure_training_layouts, TIMED_STEPS};
pub use transformer::WindowTransformer;

/// VarStore prefix under which the network is expected to live.
pub const NET_PREFIX: &str = "net";

/// Trainable elements of the variables whose name starts with `prefix.` (BatchNorm running
/// statistics are not trainable and do not count).
pub fn count_trainable(vs: &tch::nn::VarStore, prefix: &str) -> usize {
    let dotted = format!("{prefix}.");
    vs.variables()
        .iter()
        .filter(|(name, t)| name.starts_with(&dotted) && t.requires_grad())
        .map(|(_, t)| t.numel())
        .sum()
}

/// Parameter count of a net built under [`NET_PREFIX`]; loss weights are excluded.
pub fn count_net_params(vs: &tch::nn::VarStore) -> usize {
    count_trainable(vs, NET_PREFIX)
}
