//! DeSeg (Yu et al. 2023, "DeSeg: auto detector-based segmentation for brain metastases"):
//! a segmenter guided by a lesion detector. The paper's text was not at hand when this was
//! written, so this is a reading, stated precisely:
//!
//! - Segmenter: the four-level U-Net of [`super::UNet`] (same blocks, widths and 1x1 head),
//!   giving segmentation logits z, B x 1 x S x S.
//! - Detector: a CenterNet-style heatmap head at output stride 4 (CenterNet's) on the
//!   decoder's S/4 features (B x 4w x S/4, which have seen the bottleneck's context and the
//!   encoder's skip): Conv3x3-BN-ReLU to width channels, then a 1x1 conv to one channel of
//!   lesion-presence logits h on the coarse S/4 grid.
//! - Guidance: h is resized bilinearly to S x S and gates the segmentation logits,
//!   y = z + log sigmoid(h). In odds, odds(y) = odds(z) x sigmoid(h): the detector's presence
//!   probability scales the segmenter's odds, so a cell the detector rejects is background
//!   whatever the segmenter says, and a cell it accepts keeps the segmenter's boundary.
//! - Training: the project's GTV loss on y only; the detector has no target of its own and
//!   learns through the gate (d y / d h = 1 - sigmoid(h): lowering h where the loss wants
//!   background, raising it where it wants lesion).
use tch::nn::{self, ModuleT};
use tch::Tensor;

use super::blocks::{conv, upsample_bilinear, ConvBn};
use super::unet::{UNetBody, LEVELS};
use super::SystemSpec;
use crate::error::ModelError;

/// Side ratio of the detector's grid to the input (CenterNet's output stride).
const DETECTOR_STRIDE: i64 = 4;

/// Index of the S/4 node among [`UNetBody::decode`]'s deeper outputs (S/8, S/4, S/2).
const DETECTOR_NODE: usize = 1;

/// Lesion-presence heatmap head.
#[derive(Debug)]
struct Detector {
    conv: ConvBn,
    heat: nn::Conv2D,
}

impl Detector {
    fn new(p: nn::Path, cin: i64, width: i64) -> Self {
        Self {
            conv: ConvBn::new(&p / "conv", cin, width, 3, 1, true),
            heat: conv(&p / "heat", width, 1, 1, 1, true),
        }
    }
}

impl ModuleT for Detector {
    /// B x 4w x S/4 x S/4 -> B x 1 x S/4 x S/4 presence logits.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        x.apply_t(&self.conv, train).apply(&self.heat)
    }
}

/// DeSeg: B x in_channels x S x S -> B x 1 x S x S GTV logits (detector-gated).
#[derive(Debug)]
pub struct DeSeg {
    body: UNetBody,
    outc: nn::Conv2D,
    detector: Detector,
}

impl DeSeg {
    pub fn new(p: &nn::Path, spec: &SystemSpec) -> Result<Self, ModelError> {
        super::check_spec(spec, "DeSeg", 1 << LEVELS)?;
        let w = spec.width;
        Ok(Self {
            body: UNetBody::new(p, spec.in_channels, w),
            outc: conv(p / "outc", w, 1, 1, 1, true),
            // The U-Net decoder has k·w channels at side S/k.
            detector: Detector::new(p / "detector", w * DETECTOR_STRIDE, w),
        })
    }
}

impl ModuleT for DeSeg {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let (top, deeper) = self.body.decode(x, train);
        let z = top.apply(&self.outc); // B x 1 x S x S
        let h = self.detector.forward_t(&deeper[DETECTOR_NODE], train); // B x 1 x S/4 x S/4
        let gate = upsample_bilinear(&h, DETECTOR_STRIDE).log_sigmoid(); // B x 1 x S x S
        z + gate
    }
}
