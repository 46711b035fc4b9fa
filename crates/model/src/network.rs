//! Any network `mtsa train --model` trains, behind the two-output interface the pipeline runs:
//! MTSA-Net itself, or one of the paper's single-task comparison systems.
use tch::{nn, Device, Kind, Tensor};

use crate::config::MtsaConfig;
use crate::error::ModelError;
use crate::layers::Layout;
use crate::layers::PrepareOptions;
use crate::net::MtsaNet;
use crate::systems::{Architecture, SystemSpec, Tasks};

/// GTV logit a classification-only system reports for every pixel: sigmoid(-20) ~ 2e-9, so no
/// pixel is ever foreground, while every loss term stays finite.
pub const NO_LESION_LOGIT: f64 = -20.0;

/// A network with the pipeline's two outputs. A single-task system's missing output is a
/// constant that carries no information (no lesion anywhere; EGFR logits 0, i.e. p = 0.5),
/// and [`Network::tasks`] tells scorers to leave that task out.
#[derive(Debug)]
pub enum Network {
    /// Boxed: MTSA-Net's modules are large beside a boxed system.
    Mtsa(Box<MtsaNet>),
    System {
        cfg: MtsaConfig,
        net: Box<dyn nn::ModuleT>,
        /// Where the weights live and their dtype: the input must match.
        device: Device,
        kind: Kind,
    },
}

impl Network {
    /// Builds the network `cfg.architecture` names under `p` (MTSA-Net from the whole config,
    /// a comparison system from its input channels, side and `base_channels` as width).
    pub fn new(p: &nn::Path, cfg: &MtsaConfig) -> Result<Self, ModelError> {
        cfg.validate()?;
        let spec = SystemSpec {
            in_channels: cfg.in_channels,
            size: cfg.size,
            width: cfg.base_channels,
        };
        match cfg.architecture.build_system(p, &spec)? {
            None => Ok(Network::Mtsa(Box::new(MtsaNet::new(p, cfg)?))),
            Some(net) => Ok(Network::System {
                cfg: cfg.clone(),
                net,
                device: p.device(),
                kind: p.kind(),
            }),
        }
    }

    pub fn config(&self) -> &MtsaConfig {
        match self {
            Network::Mtsa(net) => net.config(),
            Network::System { cfg, .. } => cfg,
        }
    }

    pub fn architecture(&self) -> Architecture {
        self.config().architecture
    }

    pub fn tasks(&self) -> Tasks {
        self.architecture().tasks()
    }

    /// MTSA-Net folds and merges in place ([`MtsaNet::prepare_for_inference`]); the comparison
    /// systems run as trained, in NCHW.
    pub fn prepare_for_inference(&mut self, opts: PrepareOptions) {
        if let Network::Mtsa(net) = self {
            net.prepare_for_inference(opts);
        }
    }

    /// Whether [`Self::prepare_for_inference`] can choose a layout (MTSA-Net only).
    pub fn has_layouts(&self) -> bool {
        matches!(self, Network::Mtsa(_))
    }

    pub fn prepared_layout(&self) -> Option<Layout> {
        match self {
            Network::Mtsa(net) => net.prepared_layout(),
            Network::System { .. } => None,
        }
    }

    /// Rejects what would otherwise be a libtorch shape panic deep inside the forward pass.
    pub fn check_input(&self, x: &Tensor) -> Result<(), ModelError> {
        let (cfg, device, kind) = match self {
            Network::Mtsa(net) => return net.check_input(x),
            Network::System {
                cfg, device, kind, ..
            } => (cfg, *device, *kind),
        };
        let size = x.size();
        let bad = |m: String| Err(ModelError::InvalidInput(m));
        if size.len() != 4 || size[0] == 0 || size[1] != cfg.in_channels {
            return bad(format!(
                "expected B x {} x H x W with B > 0, got shape {size:?}",
                cfg.in_channels
            ));
        }
        if size[2] != cfg.size || size[3] != cfg.size {
            return bad(format!(
                "{} was built for {s} x {s} slices, got {} x {}",
                cfg.architecture,
                size[2],
                size[3],
                s = cfg.size
            ));
        }
        if x.kind() != kind || x.device() != device {
            return bad(format!(
                "expected {kind:?} input on {device:?} like the weights, got {:?} on {:?}",
                x.kind(),
                x.device()
            ));
        }
        Ok(())
    }

    /// B x C x S x S -> (B x 1 x S x S GTV logits, B x 2 EGFR logits); a single-task system's
    /// missing output is the constant described on [`Network`]. Panics on bad shapes; see
    /// [`Self::try_forward_t`].
    pub fn forward_t(&self, x: &Tensor, train: bool) -> (Tensor, Tensor) {
        let (cfg, net) = match self {
            Network::Mtsa(net) => return net.forward_t(x, train),
            Network::System { cfg, net, .. } => (cfg, net),
        };
        let out = net.forward_t(x, train);
        let b = x.size()[0];
        let opts = (Kind::Float, x.device());
        match cfg.architecture.tasks() {
            Tasks::Classification => (
                Tensor::full([b, 1, cfg.size, cfg.size], NO_LESION_LOGIT, opts),
                out,
            ),
            _ => (out, Tensor::zeros([b, 2], opts)),
        }
    }

    pub fn try_forward_t(&self, x: &Tensor, train: bool) -> Result<(Tensor, Tensor), ModelError> {
        self.check_input(x)?;
        Ok(self.forward_t(x, train))
    }

    /// MTSA-Net's GTV logits at any side that is a multiple of 64 ([`MtsaNet::gtv_logits`]);
    /// the comparison systems run at their trained side only.
    pub fn gtv_logits(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        match self {
            Network::Mtsa(net) => net.gtv_logits(x),
            Network::System { cfg, .. } => Err(ModelError::InvalidInput(format!(
                "{} runs at its trained {s} x {s} slices only (a second input size needs \
                 MTSA-Net)",
                cfg.architecture,
                s = cfg.size
            ))),
        }
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        match self {
            Network::Mtsa(net) => net.device(),
            Network::System { device, .. } => *device,
        }
    }
}
