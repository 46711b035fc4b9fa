//! Forward passes without autograd, shared by validation, evaluation and prediction.

use crate::{InferError, RunPaths};
use mtsa_model::{
    load_weights, prepare_with_layout, read_config, Layout, LayoutCache, LayoutChoice,
    LayoutSource, LossConfig, MtsaConfig, Network, Precision, Tasks, NET_PREFIX,
};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use tch::{nn::VarStore, Device, Kind, Tensor};

/// A trained network prepared for inference (`MtsaNet::prepare_for_inference`: BatchNorm
/// folded, strips merged, weights in the chosen layout; a comparison system as trained),
/// loaded from a run's best weights.
pub struct TrainedModel {
    pub net: Network,
    pub config: MtsaConfig,
    pub device: Device,
    /// The layout the net runs in and how it was chosen.
    pub layout: Layout,
    pub layout_source: LayoutSource,
    /// The number format the net runs in.
    pub precision: Precision,
    /// What the run was trained for: the network's tasks less any its loss mode left out
    /// (MTSA-Net trained `seg-only` has an EGFR head that never learnt).
    pub tasks: Tasks,
    /// Where and how it was loaded, for [`TrainedModel::replica`].
    run_dir: PathBuf,
    options: LoadOptions,
}

impl TrainedModel {
    /// A second copy of this model, loaded from the same run in the layout this one runs in,
    /// so that its outputs are this one's: libtorch's tensors may not be shared between threads,
    /// so each worker scoring scans side by side holds its own.
    pub fn replica(&self) -> Result<TrainedModel, InferError> {
        let options = LoadOptions {
            layout: LayoutChoice::Fixed(self.layout),
            ..self.options
        };
        load_trained(&self.run_dir, options)
    }

    /// The production forward pass of one batch (N x C x S x S on the model's device) ->
    /// (N x 1 x S x S GTV logits, N x 2 EGFR logits): what `predict` runs, and what `mtsa export`
    /// traces.
    pub fn forward(&self, x: &Tensor) -> (Tensor, Tensor) {
        self.net.forward_t(x, false)
    }

    /// Eval-mode outputs of `images` (N x C x S x S, CPU), `batch` slices at a time.
    pub fn predict(&self, images: &Tensor, batch: usize) -> Result<SlicePredictions, InferError> {
        forward_batches(images, batch, self.device, |x| {
            Ok(self.net.try_forward_t(x, false)?)
        })
    }

    /// N x H x W GTV probabilities of `images` (N x C x H x W, CPU) at any side that is a
    /// multiple of 64 (MTSA-Net only, [`Network::gtv_logits`]), `batch` slices at a time.
    pub fn predict_gtv(&self, images: &Tensor, batch: usize) -> Result<Tensor, InferError> {
        let pred = forward_batches(images, batch, self.device, |x| {
            let gtv = self.net.gtv_logits(x)?;
            // No EGFR output at this size: an empty N x 0 stands in for it.
            let none = Tensor::zeros([gtv.size()[0], 0], (Kind::Float, gtv.device()));
            Ok((gtv, none))
        })?;
        Ok(pred.prob())
    }
}

/// How [`load_trained`] picks the layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    pub device: Device,
    /// `Auto` measures both layouts for `batch` slices (or reads the cached measurement).
    pub layout: LayoutChoice,
    /// Slices per forward the caller will run: the layout is measured at this batch.
    pub batch: usize,
    /// Number format MTSA-Net runs in (`--precision`); the comparison systems run f32 only.
    pub precision: Precision,
}

/// Loads a run's best weights into one [`Network`] and prepares it for inference in the layout
/// `opts.layout` asks for; `Auto` uses the per-user cache of [`LayoutCache::default_path`].
pub fn load_trained(run_dir: &Path, opts: LoadOptions) -> Result<TrainedModel, InferError> {
    let path = RunPaths::new(run_dir).best();
    if !path.is_file() {
        return Err(InferError::file(
            &path,
            "no trained weights here (is this a finished `mtsa train` run?)",
        ));
    }
    let config = read_config(&path)?;
    let mut vs = VarStore::new(opts.device);
    let mut net = Network::new(&(vs.root() / NET_PREFIX), &config)?;
    load_weights(&mut vs, &config, &path)?;
    let (layout, layout_source) = match &mut net {
        Network::Mtsa(mtsa) => prepare_with_layout(
            mtsa,
            opts.layout,
            opts.precision,
            opts.device,
            opts.batch.max(1) as i64,
            LayoutCache::default_path().as_deref(),
        ),
        Network::System { .. } if opts.precision != Precision::F32 => {
            return Err(InferError::Mismatch(format!(
                "{}: {} runs in f32 only; --precision {} is for MTSA-Net",
                run_dir.display(),
                config.architecture,
                opts.precision
            )));
        }
        Network::System { .. } => (Layout::Nchw, LayoutSource::Only),
    };
    tracing::debug!("inference layout {layout} ({layout_source})");
    let tasks = trained_tasks(&RunPaths::new(run_dir).config(), net.tasks())?;
    Ok(TrainedModel {
        net,
        tasks,
        config,
        device: opts.device,
        layout,
        layout_source,
        precision: opts.precision,
        run_dir: run_dir.to_path_buf(),
        options: opts,
    })
}

/// The one part of a run's `config.toml` inference needs. The whole `TrainConfig` belongs to
/// mtsa-train, which depends on this crate; serde skips the other keys.
#[derive(Deserialize)]
struct RunLoss {
    loss: LossConfig,
}

/// `network` less the task the run's loss mode did not train. A run without `config.toml`
/// (weights copied on their own) keeps every task of its network; a config that is there but
/// unreadable is refused with its name rather than guessed around.
fn trained_tasks(config: &Path, network: Tasks) -> Result<Tasks, InferError> {
    let text = match std::fs::read_to_string(config) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(network),
        Err(e) => return Err(InferError::file(config, e)),
    };
    let run: RunLoss = toml::from_str(&text).map_err(|e| InferError::file(config, e))?;
    Ok(network.trained_with(run.loss.mode))
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
    pub fn p_mutant(&self) -> Result<Vec<f64>, InferError> {
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
    net: &Network,
    images: &Tensor,
    batch: usize,
    device: Device,
) -> Result<SlicePredictions, InferError> {
    forward_batches(images, batch, device, |x| {
        net.check_input(x)?;
        // MTSA-Net puts the input in the layout its weights were trained in.
        Ok(net.forward_t(x, false))
    })
}

fn forward_batches(
    images: &Tensor,
    batch: usize,
    device: Device,
    forward: impl Fn(&Tensor) -> Result<(Tensor, Tensor), InferError>,
) -> Result<SlicePredictions, InferError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trained_tasks_follow_the_loss_mode_and_refuse_a_broken_config(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("config.toml");
        assert_eq!(
            trained_tasks(&config, Tasks::Both)?,
            Tasks::Both,
            "no config"
        );
        std::fs::write(
            &config,
            "epochs = 3\n[loss]\nmode = \"seg-only\"\nfocal_alpha = 0.8\nfocal_gamma = 2.0\nbeta = 4e-5\n",
        )?;
        assert_eq!(trained_tasks(&config, Tasks::Both)?, Tasks::Segmentation);
        std::fs::write(&config, "[loss]\nmode = \"segonly\"\n")?;
        let err = trained_tasks(&config, Tasks::Both)
            .err()
            .ok_or("a broken config was accepted")?;
        assert!(err.to_string().contains("config.toml"), "{err}");
        Ok(())
    }
}
