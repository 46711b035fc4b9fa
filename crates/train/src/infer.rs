//! Forward passes without autograd, shared by validation, evaluation and prediction.

use crate::{RunPaths, TrainError};
use mtsa_model::{
    load_weights, read_config, to_channels_last, InferenceNet, InferenceOptions, MtsaConfig,
    MtsaNet, NET_PREFIX,
};
use std::path::Path;
use tch::{nn::VarStore, Device, Kind, Tensor};

/// A trained network ready for inference, loaded from a run's best weights.
pub struct TrainedModel {
    pub vs: VarStore,
    /// The plain network: states the input rules (`check_input`).
    pub net: MtsaNet,
    /// The same weights with BatchNorm folded, channels-last: what evaluate and predict run.
    pub fast: InferenceNet,
    pub config: MtsaConfig,
}

impl TrainedModel {
    /// The production forward pass of one batch (N x C x S x S on the model's device) ->
    /// (N x 1 x S x S GTV logits, N x 2 EGFR logits): what `predict` runs, and what `mtsa export`
    /// traces.
    pub fn forward(&self, x: &Tensor) -> (Tensor, Tensor) {
        self.fast.forward(x)
    }

    /// Eval-mode outputs of `images` (N x 1 x S x S, CPU), `batch` slices at a time.
    pub fn predict(&self, images: &Tensor, batch: usize) -> Result<SlicePredictions, TrainError> {
        let device = self.fast.device();
        forward_batches(images, batch, device, |x| {
            self.net.check_input(x)?;
            Ok(self.forward(x))
        })
    }
}

pub fn load_trained(run_dir: &Path, device: Device) -> Result<TrainedModel, TrainError> {
    let path = RunPaths::new(run_dir).best();
    if !path.is_file() {
        return Err(TrainError::file(
            &path,
            "no trained weights here (is this a finished `mtsa train` run?)",
        ));
    }
    let config = read_config(&path)?;
    let mut vs = VarStore::new(device);
    let net = MtsaNet::new(&(vs.root() / NET_PREFIX), &config)?;
    load_weights(&mut vs, &config, &path)?;
    let fast = InferenceNet::from_vs(&vs, &config, InferenceOptions::default())?;
    Ok(TrainedModel {
        vs,
        net,
        fast,
        config,
    })
}

/// Per-slice network outputs, on the CPU.
pub struct SlicePredictions {
    /// N x 1 x S x S GTV logits.
    pub gtv_logits: Tensor,
    /// N x 2 EGFR logits (class 1 = mutant).
    pub egfr_logits: Tensor,
}

impl SlicePredictions {
    /// N x S x S GTV probabilities.
    pub fn prob(&self) -> Tensor {
        self.gtv_logits.sigmoid().squeeze_dim(1)
    }

    /// Per-slice probability of EGFR mutant.
    pub fn p_mutant(&self) -> Result<Vec<f64>, TrainError> {
        let p = self.egfr_logits.softmax(-1, Kind::Float).select(1, 1);
        Ok(Vec::<f32>::try_from(&p)?
            .into_iter()
            .map(f64::from)
            .collect())
    }
}

/// Runs `images` (N x 1 x S x S, CPU) through the plain net in eval mode, `batch` slices at a
/// time: validation during training, where the weights change every epoch.
pub fn predict_slices(
    net: &MtsaNet,
    images: &Tensor,
    batch: usize,
    device: Device,
) -> Result<SlicePredictions, TrainError> {
    forward_batches(images, batch, device, |x| {
        net.check_input(x)?;
        Ok(net.forward_t(&to_channels_last(x), false))
    })
}

fn forward_batches(
    images: &Tensor,
    batch: usize,
    device: Device,
    forward: impl Fn(&Tensor) -> Result<(Tensor, Tensor), TrainError>,
) -> Result<SlicePredictions, TrainError> {
    let n = images.size()[0];
    let (mut gtv, mut egfr) = (Vec::new(), Vec::new());
    let _guard = tch::no_grad_guard();
    let mut start = 0;
    while start < n {
        let len = (batch.max(1) as i64).min(n - start);
        let (g, e) = forward(&images.narrow(0, start, len).to_device(device))?;
        gtv.push(g.to_device(Device::Cpu));
        egfr.push(e.to_device(Device::Cpu));
        start += len;
    }
    if gtv.is_empty() {
        let s = images.size();
        return Ok(SlicePredictions {
            gtv_logits: Tensor::zeros([0, 1, s[2], s[3]], (Kind::Float, Device::Cpu)),
            egfr_logits: Tensor::zeros([0, 2], (Kind::Float, Device::Cpu)),
        });
    }
    Ok(SlicePredictions {
        gtv_logits: Tensor::cat(&gtv, 0),
        egfr_logits: Tensor::cat(&egfr, 0),
    })
}
