//! The systems of the paper's Tables 3-5 and how each is trained.
use mtsa_model::{Architecture, LossMode};
use mtsa_train::TrainConfig;
use serde::Serialize;

use crate::StudyError;

/// The paper's three tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Table {
    /// Table 3: MTSA-Net against single-task systems.
    Comparison,
    /// Table 4: focal-loss alpha 0.7 / 0.8 / 0.9 (gamma 2).
    FocalAlpha,
    /// Table 5: equal against uncertainty task weights.
    TaskWeights,
}

impl Table {
    pub const ALL: [Table; 3] = [Table::Comparison, Table::FocalAlpha, Table::TaskWeights];

    pub fn number(self) -> u8 {
        match self {
            Table::Comparison => 3,
            Table::FocalAlpha => 4,
            Table::TaskWeights => 5,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Table::Comparison => "MTSA-Net against single-task systems",
            Table::FocalAlpha => "Focal-loss alpha (gamma 2)",
            Table::TaskWeights => "Equal against uncertainty task weights",
        }
    }

    /// Rows in the paper's order; [`REFERENCE`] is MTSA-Net as the paper trains it.
    pub fn rows(self) -> &'static [&'static str] {
        match self {
            Table::Comparison => &[
                "raunet",
                "swin-unet",
                "transunet",
                "unet",
                "deseg",
                "unet3plus",
                "mtsa-net-seg-only",
                "resnet50",
                "radiomics",
                "rn-gap",
                "se-resnet50",
                "densenet121",
                "mtsa-net-cls-only",
                REFERENCE,
            ],
            Table::FocalAlpha => &["mtsa-net-alpha0.7", REFERENCE, "mtsa-net-alpha0.9"],
            Table::TaskWeights => &["mtsa-net-equal", REFERENCE],
        }
    }
}

/// The system every other row is tested against: MTSA-Net, uncertainty weights, alpha 0.8.
pub const REFERENCE: &str = "mtsa-net";

/// How a system is made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Recipe {
    /// A network trained by `mtsa train` and scored by `mtsa evaluate`.
    Network {
        architecture: Architecture,
        /// `None`: the architecture's own (uncertainty weights for MTSA-Net).
        loss: Option<LossMode>,
        /// `None`: the paper's 0.8.
        focal_alpha: Option<f64>,
    },
    /// The radiomics EGFR model (`mtsa radiomics`).
    Radiomics,
}

/// One row of the study.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct System {
    /// Folder and table key.
    pub id: &'static str,
    /// As the tables print it.
    pub label: &'static str,
    pub recipe: Recipe,
}

const fn network(id: &'static str, label: &'static str, architecture: Architecture) -> System {
    System {
        id,
        label,
        recipe: Recipe::Network {
            architecture,
            loss: None,
            focal_alpha: None,
        },
    }
}

const fn mtsa_variant(
    id: &'static str,
    label: &'static str,
    loss: Option<LossMode>,
    focal_alpha: Option<f64>,
) -> System {
    System {
        id,
        label,
        recipe: Recipe::Network {
            architecture: Architecture::MtsaNet,
            loss,
            focal_alpha,
        },
    }
}

/// Every system of Tables 3-5, each once.
pub const SYSTEMS: [System; 17] = [
    mtsa_variant(REFERENCE, "MTSA-Net", None, None),
    mtsa_variant(
        "mtsa-net-seg-only",
        "MTSA-Net, segmentation only",
        Some(LossMode::SegOnly),
        None,
    ),
    mtsa_variant(
        "mtsa-net-cls-only",
        "MTSA-Net, classification only",
        Some(LossMode::ClsOnly),
        None,
    ),
    mtsa_variant(
        "mtsa-net-equal",
        "MTSA-Net, equal weights",
        Some(LossMode::Equal),
        None,
    ),
    mtsa_variant("mtsa-net-alpha0.7", "MTSA-Net, alpha 0.7", None, Some(0.7)),
    mtsa_variant("mtsa-net-alpha0.9", "MTSA-Net, alpha 0.9", None, Some(0.9)),
    network("unet", "U-Net", Architecture::UNet),
    network("unet3plus", "UNet 3+", Architecture::UNet3Plus),
    network("raunet", "RA-UNet", Architecture::RaUNet),
    network("transunet", "TransUNet", Architecture::TransUNet),
    network("swin-unet", "Swin-UNet", Architecture::SwinUNet),
    network("deseg", "DeSeg", Architecture::DeSeg),
    network("resnet50", "ResNet-50", Architecture::ResNet50),
    network("densenet121", "DenseNet-121", Architecture::DenseNet121),
    network(
        "se-resnet50",
        "SE-Net (SE-ResNet-50)",
        Architecture::SeResNet50,
    ),
    network("rn-gap", "RN-GAP", Architecture::RnGap),
    System {
        id: "radiomics",
        label: "Radiomics model",
        recipe: Recipe::Radiomics,
    },
];

/// The system called `id`.
pub fn system(id: &str) -> Result<&'static System, StudyError> {
    SYSTEMS.iter().find(|s| s.id == id).ok_or_else(|| {
        let ids: Vec<&str> = SYSTEMS.iter().map(|s| s.id).collect();
        StudyError::Usage(format!(
            "unknown study system {id:?}: expected one of {}",
            ids.join(", ")
        ))
    })
}

impl System {
    /// The run's config: the preset's config for the architecture, `overlay` (a partial TOML
    /// every run shares) laid over it, then this row's loss, alpha, seed and epochs.
    pub fn train_config(
        &self,
        preset: &str,
        overlay: Option<&str>,
        seed: u64,
        epochs: usize,
    ) -> Result<Option<TrainConfig>, StudyError> {
        let Recipe::Network {
            architecture,
            loss,
            focal_alpha,
        } = self.recipe
        else {
            return Ok(None);
        };
        let base = TrainConfig::for_system(preset, architecture)?;
        let mut cfg = match overlay {
            Some(text) => base
                .overlay(text)
                .map_err(|e| StudyError::Usage(format!("study config: {e}")))?,
            None => base,
        };
        // The overlay may not turn a single-task system into another task.
        let own = TrainConfig::for_system(preset, architecture)?;
        cfg.model.architecture = architecture;
        cfg.loss.mode = loss.unwrap_or(own.loss.mode);
        if let Some(a) = focal_alpha {
            cfg.loss.focal_alpha = a;
        }
        cfg.seed = seed;
        cfg.epochs = epochs;
        Ok(Some(cfg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_row_is_a_system_and_every_system_is_in_a_table() {
        for t in Table::ALL {
            for id in t.rows() {
                assert!(system(id).is_ok(), "{id}");
            }
        }
        for s in SYSTEMS {
            assert!(
                Table::ALL.iter().any(|t| t.rows().contains(&s.id)),
                "{} in no table",
                s.id
            );
        }
    }

    #[test]
    fn rows_train_what_they_say() {
        let cfg = |id| {
            system(id)
                .unwrap()
                .train_config("tiny", Some("[loss]\nmode = \"equal\"\n"), 3, 2)
                .unwrap()
                .unwrap()
        };
        let unet = cfg("unet");
        assert_eq!(unet.model.architecture, Architecture::UNet);
        assert_eq!(
            unet.loss.mode,
            LossMode::SegOnly,
            "the overlay cannot change a task"
        );
        assert_eq!((unet.seed, unet.epochs), (3, 2));
        assert_eq!(cfg("resnet50").loss.mode, LossMode::ClsOnly);
        assert_eq!(cfg("mtsa-net").loss.mode, LossMode::Uncertainty);
        assert_eq!(cfg("mtsa-net-alpha0.7").loss.focal_alpha, 0.7);
        assert_eq!(cfg("mtsa-net").loss.focal_alpha, 0.8);
        assert!(system("radiomics")
            .unwrap()
            .train_config("tiny", None, 0, 1)
            .unwrap()
            .is_none());
    }
}
