//! The paper's comparison systems (Table 3): single-task segmentation networks, which output
//! only GTV logits, and single-task EGFR classifiers, which output only EGFR logits. Each is a
//! file of its own that reads like its paper; [`Architecture`] names them and
//! [`crate::Network`] runs any of them through the same training and evaluation as MTSA-Net.
//!
//! Every system is built from a [`SystemSpec`]: input channels, input side and `width`, the
//! channels of its first stage. At the network's canonical width (its paper's, e.g. 64 for
//! U-Net and ResNet-50) it has its paper's (or torchvision's) parameter count; narrower widths
//! scale every stage by the same factor so a study fits a CPU.
mod blocks;
mod densenet;
mod deseg;
mod raunet;
mod resnet;
mod rn_gap;
mod se_module;
mod swin_block;
mod swin_unet;
mod transunet;
mod unet;
mod unet3plus;
mod vit;

pub use blocks::{conv, ConvBn};
pub use densenet::DenseNet121;
pub use deseg::DeSeg;
pub use raunet::RaUNet;
pub use resnet::ResNet50;
pub use rn_gap::RnGap;
pub use swin_unet::SwinUNet;
pub use transunet::TransUNet;
pub use unet::UNet;
pub use unet3plus::UNet3Plus;

use serde::{Deserialize, Serialize};
use tch::nn;

use crate::error::ModelError;
use crate::loss::LossMode;

/// What a comparison system is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemSpec {
    /// 1 for the paper's single T1-CE slice.
    pub in_channels: i64,
    /// Input side in pixels (square slices); a multiple of 32.
    pub size: i64,
    /// Channels of the first stage (the network's canonical value gives its paper's size).
    pub width: i64,
}

/// Which tasks a network has outputs for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tasks {
    /// GTV mask and EGFR status (MTSA-Net).
    Both,
    /// GTV mask only.
    Segmentation,
    /// EGFR status only.
    Classification,
}

impl Tasks {
    pub fn segments(self) -> bool {
        matches!(self, Tasks::Both | Tasks::Segmentation)
    }
    pub fn classifies(self) -> bool {
        matches!(self, Tasks::Both | Tasks::Classification)
    }

    /// The loss mode a single-task network trains with (MTSA-Net's loss of its one task);
    /// `None` for a network with both outputs, which any mode can train.
    pub fn single_task_loss(self) -> Option<LossMode> {
        match self {
            Tasks::Both => None,
            Tasks::Segmentation => Some(LossMode::SegOnly),
            Tasks::Classification => Some(LossMode::ClsOnly),
        }
    }

    /// What a network with these outputs learns under `mode`: MTSA-Net trained `seg-only` has
    /// an EGFR head that never learnt, and vice versa.
    pub fn trained_with(self, mode: LossMode) -> Tasks {
        match (self, mode) {
            (Tasks::Both, LossMode::SegOnly) => Tasks::Segmentation,
            (Tasks::Both, LossMode::ClsOnly) => Tasks::Classification,
            (tasks, _) => tasks,
        }
    }
}

/// Every network `mtsa train --model` can train.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum Architecture {
    #[default]
    #[serde(rename = "mtsa-net")]
    MtsaNet,
    #[serde(rename = "unet")]
    UNet,
    #[serde(rename = "unet3plus")]
    UNet3Plus,
    #[serde(rename = "raunet")]
    RaUNet,
    #[serde(rename = "transunet")]
    TransUNet,
    #[serde(rename = "swin-unet")]
    SwinUNet,
    #[serde(rename = "deseg")]
    DeSeg,
    #[serde(rename = "resnet50")]
    ResNet50,
    #[serde(rename = "densenet121")]
    DenseNet121,
    #[serde(rename = "se-resnet50")]
    SeResNet50,
    #[serde(rename = "rn-gap")]
    RnGap,
}

impl Architecture {
    pub const ALL: [Architecture; 11] = [
        Architecture::MtsaNet,
        Architecture::UNet,
        Architecture::UNet3Plus,
        Architecture::RaUNet,
        Architecture::TransUNet,
        Architecture::SwinUNet,
        Architecture::DeSeg,
        Architecture::ResNet50,
        Architecture::DenseNet121,
        Architecture::SeResNet50,
        Architecture::RnGap,
    ];

    /// The command-line and file name (`mtsa train --model NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Architecture::MtsaNet => "mtsa-net",
            Architecture::UNet => "unet",
            Architecture::UNet3Plus => "unet3plus",
            Architecture::RaUNet => "raunet",
            Architecture::TransUNet => "transunet",
            Architecture::SwinUNet => "swin-unet",
            Architecture::DeSeg => "deseg",
            Architecture::ResNet50 => "resnet50",
            Architecture::DenseNet121 => "densenet121",
            Architecture::SeResNet50 => "se-resnet50",
            Architecture::RnGap => "rn-gap",
        }
    }

    /// The name the paper's Table 3 uses.
    pub fn paper_name(self) -> &'static str {
        match self {
            Architecture::MtsaNet => "MTSA-Net",
            Architecture::UNet => "Unet",
            Architecture::UNet3Plus => "Unet3+",
            Architecture::RaUNet => "RA-Unet",
            Architecture::TransUNet => "TransUnet",
            Architecture::SwinUNet => "Swin Unet",
            Architecture::DeSeg => "DeSeg",
            Architecture::ResNet50 => "ResNet-50",
            Architecture::DenseNet121 => "DenseNet",
            Architecture::SeResNet50 => "SE-Net",
            Architecture::RnGap => "RN-GAP",
        }
    }

    pub fn tasks(self) -> Tasks {
        match self {
            Architecture::MtsaNet => Tasks::Both,
            Architecture::UNet
            | Architecture::UNet3Plus
            | Architecture::RaUNet
            | Architecture::TransUNet
            | Architecture::SwinUNet
            | Architecture::DeSeg => Tasks::Segmentation,
            Architecture::ResNet50
            | Architecture::DenseNet121
            | Architecture::SeResNet50
            | Architecture::RnGap => Tasks::Classification,
        }
    }

    /// First-stage channels of the network as its paper builds it.
    pub fn canonical_width(self) -> i64 {
        match self {
            Architecture::MtsaNet => 32,
            Architecture::SwinUNet => 96,
            _ => 64,
        }
    }

    /// Width used at a preset: the canonical width at `paper`, a quarter at `small` and an
    /// eighth at `tiny` for the comparison systems (MTSA-Net keeps its own presets, c = 32 /
    /// 16 / 8).
    pub fn width_for_preset(self, preset: &str) -> Result<i64, ModelError> {
        let divisor = match (self, preset) {
            (Architecture::MtsaNet, "paper") => 1,
            (Architecture::MtsaNet, "small") => 2,
            (Architecture::MtsaNet, "tiny") => 4,
            (_, "paper") => 1,
            (_, "small") => 4,
            (_, "tiny") => 8,
            (_, other) => return Err(ModelError::UnknownPreset(other.to_string())),
        };
        Ok(self.canonical_width() / divisor)
    }

    /// Builds a comparison system under `p`; `None` for MTSA-Net, which [`crate::Network`]
    /// builds from its full config.
    pub fn build_system(
        self,
        p: &nn::Path,
        spec: &SystemSpec,
    ) -> Result<Option<Box<dyn nn::ModuleT>>, ModelError> {
        let net: Box<dyn nn::ModuleT> = match self {
            Architecture::MtsaNet => return Ok(None),
            Architecture::UNet => Box::new(UNet::new(p, spec)?),
            Architecture::UNet3Plus => Box::new(UNet3Plus::new(p, spec)?),
            Architecture::RaUNet => Box::new(RaUNet::new(p, spec)?),
            Architecture::TransUNet => Box::new(TransUNet::new(p, spec)?),
            Architecture::SwinUNet => Box::new(SwinUNet::new(p, spec)?),
            Architecture::DeSeg => Box::new(DeSeg::new(p, spec)?),
            Architecture::ResNet50 => Box::new(ResNet50::new(p, spec, false)?),
            Architecture::SeResNet50 => Box::new(ResNet50::new(p, spec, true)?),
            Architecture::DenseNet121 => Box::new(DenseNet121::new(p, spec)?),
            Architecture::RnGap => Box::new(RnGap::new(p, spec)?),
        };
        Ok(Some(net))
    }
}

impl std::fmt::Display for Architecture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Architecture {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        Architecture::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Architecture::ALL.iter().map(|a| a.name()).collect();
                ModelError::InvalidConfig(format!(
                    "unknown model {s:?}: expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// The check every system's constructor makes: positive width and channels, and an input side
/// its down-sampling divides.
pub(crate) fn check_spec(spec: &SystemSpec, name: &str, divisor: i64) -> Result<(), ModelError> {
    if spec.in_channels <= 0 || spec.width <= 0 {
        return Err(ModelError::InvalidConfig(format!(
            "{name}: in_channels {} and width {} must be positive",
            spec.in_channels, spec.width
        )));
    }
    if spec.size <= 0 || spec.size % divisor != 0 {
        return Err(ModelError::InvalidConfig(format!(
            "{name}: input side {} must be a positive multiple of {divisor}",
            spec.size
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for a in Architecture::ALL {
            assert_eq!(a.name().parse::<Architecture>().unwrap(), a);
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{}\"", a.name()));
        }
        assert!("vgg".parse::<Architecture>().is_err());
    }

    #[test]
    fn loss_modes_and_the_tasks_they_train() {
        assert_eq!(Tasks::Both.single_task_loss(), None);
        assert_eq!(
            Tasks::Segmentation.single_task_loss(),
            Some(LossMode::SegOnly)
        );
        assert_eq!(
            Tasks::Classification.single_task_loss(),
            Some(LossMode::ClsOnly)
        );
        assert_eq!(
            Tasks::Both.trained_with(LossMode::SegOnly),
            Tasks::Segmentation
        );
        assert_eq!(
            Tasks::Both.trained_with(LossMode::ClsOnly),
            Tasks::Classification
        );
        assert_eq!(Tasks::Both.trained_with(LossMode::Equal), Tasks::Both);
        assert_eq!(
            Tasks::Segmentation.trained_with(LossMode::SegOnly),
            Tasks::Segmentation
        );
    }
}
