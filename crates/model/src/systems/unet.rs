//! U-Net (Ronneberger et al. 2015) as the common PyTorch build (milesial/Pytorch-UNet with
//! transposed-convolution up-sampling): four down levels of a double 3x3 convolution, each
//! conv followed by BatchNorm and ReLU (the 2015 paper predates BatchNorm; every PyTorch U-Net
//! the comparisons train adds it), "same" padding so the output has the input's side, 2x2
//! max-pooling down, 2x2 stride-2 transposed convolutions up, skip concatenation, and a 1x1
//! head. Stage channels are width x (1, 2, 4, 8, 16): 64 ... 1024 at the canonical width.
use tch::nn::{self, ModuleT};
use tch::Tensor;

use super::blocks::{conv, max_pool, ConvBn};
use super::SystemSpec;
use crate::error::ModelError;
use crate::layers::up2;

/// (Conv3x3 -> BN -> ReLU) x 2, the unit of every U-Net stage. The convolutions have no bias
/// because a BatchNorm follows each.
#[derive(Debug)]
struct DoubleConv {
    first: ConvBn,
    second: ConvBn,
}

impl DoubleConv {
    fn new(p: nn::Path, cin: i64, cout: i64) -> Self {
        Self {
            first: ConvBn::new(&p / "conv1", cin, cout, 3, 1, true),
            second: ConvBn::new(&p / "conv2", cout, cout, 3, 1, true),
        }
    }
}

impl ModuleT for DoubleConv {
    /// B x Cin x H x W -> B x Cout x H x W.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        x.apply_t(&self.first, train).apply_t(&self.second, train)
    }
}

/// One decoder stage: a 2x2 stride-2 transposed convolution halves the channels and doubles
/// the side, the encoder's skip at that side is concatenated in front, and a double conv fuses
/// them.
#[derive(Debug)]
struct Up {
    up: nn::ConvTranspose2D,
    conv: DoubleConv,
}

impl Up {
    /// `cin` channels from below, `cin / 2` from the skip, `cout` out.
    fn new(p: nn::Path, cin: i64, cout: i64) -> Self {
        Self {
            up: up2(&p / "up", cin, cin / 2),
            conv: DoubleConv::new(&p / "conv", cin, cout),
        }
    }

    /// below: B x Cin x H x W, skip: B x Cin/2 x 2H x 2W -> B x Cout x 2H x 2W.
    fn forward_t(&self, below: &Tensor, skip: &Tensor, train: bool) -> Tensor {
        let up = below.apply(&self.up); // B x Cin/2 x 2H x 2W
        Tensor::cat(&[skip, &up], 1).apply_t(&self.conv, train)
    }
}

/// The encoder and decoder of a four-level U-Net without its head, so [`super::DeSeg`] can
/// reuse it.
#[derive(Debug)]
pub(super) struct UNetBody {
    inc: DoubleConv,
    down: Vec<DoubleConv>,
    up: Vec<Up>,
}

/// Down levels of the U-Net: the input side must be a multiple of 2^4.
pub(super) const LEVELS: usize = 4;

impl UNetBody {
    pub(super) fn new(p: &nn::Path, in_channels: i64, width: i64) -> Self {
        let ch = |level: usize| width << level; // width x 2^level
        let down = (1..=LEVELS)
            .map(|l| DoubleConv::new(p / format!("down{l}"), ch(l - 1), ch(l)))
            .collect();
        // up1 is the deepest decoder stage (16w -> 8w), up4 the shallowest (2w -> w).
        let up = (1..=LEVELS)
            .map(|i| Up::new(p / format!("up{i}"), ch(LEVELS + 1 - i), ch(LEVELS - i)))
            .collect();
        Self {
            inc: DoubleConv::new(p / "inc", in_channels, width),
            down,
            up,
        }
    }

    /// B x Cin x S x S -> (B x w x S x S, the top decoder output; the deeper decoder outputs,
    /// deepest first: B x 8w x S/8, B x 4w x S/4, B x 2w x S/2).
    pub(super) fn decode(&self, x: &Tensor, train: bool) -> (Tensor, Vec<Tensor>) {
        let mut y = x.apply_t(&self.inc, train); // B x w x S x S
        let mut skips = Vec::with_capacity(LEVELS);
        for d in &self.down {
            let below = max_pool(&y, 2).apply_t(d, train); // B x 2C x H/2 x W/2
            skips.push(std::mem::replace(&mut y, below));
        }
        // y: B x 16w x S/16 x S/16
        let mut deeper = Vec::with_capacity(LEVELS - 1);
        for (i, (up, skip)) in self.up.iter().zip(skips.iter().rev()).enumerate() {
            if i > 0 {
                deeper.push(y.shallow_clone()); // the bottleneck is no decoder output
            }
            y = up.forward_t(&y, skip, train); // B x C/2 x 2H x 2W
        }
        (y, deeper)
    }
}

/// U-Net: B x in_channels x S x S -> B x 1 x S x S GTV logits.
#[derive(Debug)]
pub struct UNet {
    body: UNetBody,
    outc: nn::Conv2D,
}

impl UNet {
    pub fn new(p: &nn::Path, spec: &SystemSpec) -> Result<Self, ModelError> {
        super::check_spec(spec, "U-Net", 1 << LEVELS)?;
        Ok(Self {
            body: UNetBody::new(p, spec.in_channels, spec.width),
            outc: conv(p / "outc", spec.width, 1, 1, 1, true),
        })
    }
}

impl ModuleT for UNet {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let (top, _) = self.body.decode(x, train); // B x w x S x S
        top.apply(&self.outc) // B x 1 x S x S
    }
}
