//! The whole network: a shared encoder feeding the GTV decoder and the EGFR classifier.
use tch::{nn, Kind, Tensor};

use crate::config::{side_problem, MtsaConfig};
use crate::egfr_classifier::EgfrClassifier;
use crate::encoder::Encoder;
use crate::error::ModelError;
use crate::gtv_decoder::GtvDecoder;
use crate::layers::{Layout, Precision, PrepareOptions};

#[derive(Debug)]
pub struct MtsaNet {
    cfg: MtsaConfig,
    /// `Some` once prepared for inference: the forward pass then puts its input in that layout
    /// and precision, and returns f32 outputs.
    prepared: Option<PrepareOptions>,
    encoder: Encoder,
    decoder: GtvDecoder,
    classifier: EgfrClassifier,
}

impl MtsaNet {
    /// Put the net under its own path (e.g. `vs.root() / "net"`) so loss weights created under
    /// another prefix stay out of the parameter count and the saved network weights.
    pub fn new(vs: &nn::Path, cfg: &MtsaConfig) -> Result<Self, ModelError> {
        cfg.validate()?;
        Ok(Self {
            cfg: cfg.clone(),
            prepared: None,
            encoder: Encoder::new(vs / "encoder", cfg),
            decoder: GtvDecoder::new(vs / "decoder", cfg),
            classifier: EgfrClassifier::new(vs / "classifier", cfg),
        })
    }

    pub fn config(&self) -> &MtsaConfig {
        &self.cfg
    }

    /// Turns the trained modules into their inference form, in place (candle's
    /// `Conv2d::absorb_bn` and RepVGG re-parameterisation): every BatchNorm folded into its
    /// convolution with its eval-mode statistics, every MSA module's identity and strip pairs
    /// merged into one depth-wise kernel, every 4-D weight stored in `opts.layout`, every
    /// tensor in `opts.precision`. The same [`Self::forward_t`] then computes the eval-mode
    /// function with fewer operations.
    ///
    /// Every tensor the net reads afterwards is a detached copy, so the VarStore it was built
    /// in keeps the trained variables (saving it still writes the checkpoint format) and later
    /// changes to that VarStore do not reach the net. A prepared net is eval-only: it has no
    /// batch statistics left to train. Preparing again changes the layout; the precision can
    /// only go down (a bf16 net asked for f32 stays bf16: the f32 values are gone).
    pub fn prepare_for_inference(&mut self, opts: PrepareOptions) {
        let precision = match self.prepared {
            Some(p) if p.precision == Precision::Bf16 => Precision::Bf16,
            _ => opts.precision,
        };
        let opts = PrepareOptions { precision, ..opts };
        self.encoder.prepare(opts);
        self.decoder.prepare(opts);
        self.classifier.prepare(opts);
        self.prepared = Some(opts);
    }

    /// The device the weights live on.
    pub fn device(&self) -> tch::Device {
        self.decoder.probe().device()
    }

    /// The layout the net was prepared in; `None` while it is the trainable net.
    pub fn prepared_layout(&self) -> Option<Layout> {
        self.prepared.map(|p| p.layout)
    }

    /// The precision the net was prepared in; `None` while it is the trainable net.
    pub fn prepared_precision(&self) -> Option<Precision> {
        self.prepared.map(|p| p.precision)
    }

    /// The layout the forward pass runs in: the prepared one, else that of the trainable
    /// weights (see [`crate::use_layout`]).
    pub fn layout(&self) -> Layout {
        self.prepared
            .map_or_else(|| self.encoder.weight_layout(), |p| p.layout)
    }

    /// Rejects what would otherwise be a libtorch shape panic deep inside the forward pass.
    pub fn check_input(&self, x: &Tensor) -> Result<(), ModelError> {
        self.check_gtv_input(x)?;
        let size = x.size();
        if size[2] != self.cfg.size || size[3] != self.cfg.size {
            return Err(ModelError::InvalidInput(format!(
                "preset {:?} takes {s} x {s} slices, got {} x {}",
                self.cfg.preset,
                size[2],
                size[3],
                s = self.cfg.size
            )));
        }
        Ok(())
    }

    /// [`Self::check_input`] for [`Self::gtv_logits`]: any side that is a multiple of 64.
    fn check_gtv_input(&self, x: &Tensor) -> Result<(), ModelError> {
        let size = x.size();
        let bad = |m: String| Err(ModelError::InvalidInput(m));
        let c = self.cfg.in_channels;
        if size.len() != 4 || size[1] != c {
            return bad(format!("expected B x {c} x H x W, got shape {size:?}"));
        }
        if size[0] == 0 {
            return bad("empty batch".into());
        }
        let probe = self.decoder.probe();
        // A reduced-precision net takes and returns f32 (it converts at its ends).
        let want = match self.prepared_precision() {
            Some(Precision::Bf16) => Kind::Float,
            _ => probe.kind(),
        };
        if x.kind() != want {
            return bad(format!("expected {want:?} input, got {:?}", x.kind()));
        }
        if x.device() != probe.device() {
            return bad(format!(
                "input is on {:?} but the weights are on {:?}",
                x.device(),
                probe.device()
            ));
        }
        let (h, w) = (size[2], size[3]);
        if let Some(problem) = side_problem(h).or_else(|| side_problem(w)) {
            return bad(format!("input {h} x {w}: {problem}"));
        }
        Ok(())
    }

    /// B x C x S x S -> (B x 1 x S x S GTV logits, B x 2 EGFR logits), C = `in_channels`. Panics on bad
    /// shapes; see [`Self::try_forward_t`] for the checked version. A net prepared in bf16
    /// takes f32 input and returns f32 logits.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> (Tensor, Tensor) {
        let feats = self.encode(x, train);
        let gtv = self.decoder.forward_t(&feats, train);
        let egfr = self.classifier.forward_t(&feats[feats.len() - 1], train);
        (self.output(gtv), self.output(egfr))
    }

    /// Eval-mode B x C x H x W -> B x 1 x H x W GTV logits alone, for any H and W that are
    /// multiples of 64: the encoder and decoder are fully convolutional, so the GTV path also
    /// runs on slices resampled finer than those it was trained on (small lesions then cover
    /// more pixels), while the EGFR head's pooling is sized for the trained side.
    pub fn gtv_logits(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        self.check_gtv_input(x)?;
        let feats = self.encode(x, false);
        Ok(self.output(self.decoder.forward_t(&feats, false)))
    }

    /// The encoder's feature maps, the input first put in the prepared layout and precision.
    fn encode(&self, x: &Tensor, train: bool) -> Vec<Tensor> {
        let x = match self.prepared_precision() {
            Some(Precision::Bf16) => x.to_kind(Kind::BFloat16),
            _ => x.shallow_clone(),
        };
        self.encoder
            .forward_t(&self.layout().apply_input(&x), train)
    }

    /// An output as the caller gets it: f32 whatever precision the net runs in.
    fn output(&self, t: Tensor) -> Tensor {
        match self.prepared_precision() {
            Some(Precision::Bf16) => t.to_kind(Kind::Float),
            _ => t,
        }
    }

    pub fn try_forward_t(&self, x: &Tensor, train: bool) -> Result<(Tensor, Tensor), ModelError> {
        self.check_input(x)?;
        Ok(self.forward_t(x, train))
    }
}
