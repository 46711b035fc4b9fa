//! Everything that decides a run, in one TOML-serialisable struct stored with every checkpoint,
//! so a run can be reproduced or resumed from its own folder.

use mtsa_model::{Architecture, LossConfig, MtsaConfig};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub model: MtsaConfig,
    pub loss: LossConfig,
    /// Upper bound; early stopping usually ends the run first.
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    /// How the learning rate changes over the epochs [paper: constant].
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    pub adam_eps: f64,
    /// Epochs without a better validation criterion before stopping [paper: 20].
    pub patience: usize,
    /// What "better on validation" means for early stopping and the kept weights.
    #[serde(default)]
    pub select: Selection,
    pub seed: u64,
    pub augment: AugmentConfig,
    /// Each epoch draws at most this many random slices per training patient [ours; default:
    /// every slice, as the paper]. nnU-Net's fixed-size epochs do the same: for a fixed
    /// compute budget, more patients at fewer slices each beats many near-identical neighbouring
    /// slices of few patients, and no patient's lesion count multiplies its weight.
    #[serde(default)]
    pub slices_per_patient: Option<usize>,
    /// Train the EGFR head only on the slices that vote in the patient call (top half by GTV
    /// area) [ours; default off: every slice, as the paper]. See
    /// [`crate::SplitTensors::label_only_voting_slices`].
    #[serde(default)]
    pub egfr_voting_slices_only: bool,
    /// Share of each epoch's slices that are lesion-free brain slices [ours; default 0, the
    /// paper's protocol of GTV slices only]. nnU-Net samples patches with and without
    /// foreground for the same reason: a network that has never seen a slice without a lesion
    /// marks one on every slice of a whole scan. Needs a dataset prepared with
    /// `--background-slices`.
    #[serde(default)]
    pub background_fraction: f64,
    /// With `slices_per_patient`: draw a patient's GTV slices round its 3-D lesions in turn,
    /// one slice of each at a time, instead of at random among them, so a small metastasis is
    /// drawn as often as a large one [ours; default off]. See `lesion_draw`.
    #[serde(default)]
    pub lesion_balanced: bool,
    /// After training, choose the whole-scan post-processing (probability threshold and
    /// minimum lesion volume) that maximises lesion-wise F1 on the validation patients' whole
    /// scans, and store it in the run for `predict` and `evaluate` [ours; default off: the
    /// paper thresholds at 0.5 and keeps every component].
    #[serde(default)]
    pub calibrate_postprocess: bool,
    /// Average each slice's prediction with that of its left-right mirror image at inference
    /// (test-time augmentation, as nnU-Net mirrors) [ours; default off].
    #[serde(default)]
    pub flip_tta: bool,
    /// With `calibrate_postprocess`: cut lesions at this probability and let calibration choose
    /// the peak probability a lesion needs (two cuts) instead of one threshold that both
    /// decides and outlines [ours; default off].
    #[serde(default)]
    pub segment_threshold: Option<f32>,
    /// With `calibrate_postprocess`: also fit a lesion-level classifier on the validation
    /// patients' candidates (the components of the probability map on each scan's own grid,
    /// described by size, probability, contrast, surroundings and depth) that decides which are
    /// lesions in place of the threshold and minimum volume [ours; default off; CAD systems'
    /// false-positive reduction stage].
    #[serde(default)]
    pub lesion_classifier: bool,
    /// With `lesion_classifier`: MTSA-Net's GTV path also runs at this side (pixels, a multiple
    /// of 64) over the same field of view, so small metastases cover more pixels, and the
    /// classifier's candidates come from the maximum of both sides' probabilities [ours;
    /// default off].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_size: Option<usize>,
    /// With `lesion_classifier`: the classifier for scans with much thicker slices than the
    /// validation scans' also reads each candidate's in-plane look, scored by small networks
    /// trained on the training scans' bright spots and lesions [ours; default off].
    #[serde(default)]
    pub look_model: bool,
    /// With `calibrate_postprocess`: the patient's whole-scan EGFR call comes from the cleaned
    /// GTV's measured lesion phenotype (count, size, dark core, enhancement spread, surrounding
    /// oedema), a logistic model fitted on the training and validation patients' true GTVs,
    /// instead of the network's slice vote [ours; default off: the paper's vote].
    #[serde(default)]
    pub egfr_phenotype: bool,
    /// Before each validation, re-estimate every BatchNorm's running statistics as the average
    /// over this many of the epoch's training batches, unaugmented ("precise BN", Wu & Johnson
    /// 2021) [ours; default 0: PyTorch's running average; the paper is silent]. Why: the running
    /// average follows an epoch's last ~20 batches, and one spike in it once made a whole
    /// epoch's validation mark nothing; the kept weights carry these statistics.
    #[serde(default)]
    pub precise_bn_batches: usize,
}

/// The learning rate of each epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum LrSchedule {
    /// `lr` throughout [paper].
    #[default]
    Constant,
    /// nnU-Net's polynomial decay, `lr * (1 - (epoch - 1) / epochs)^0.9` [ours]. Why: with a
    /// constant rate over a short run the weights still jump at the last epochs (validation
    /// Dice swinging by 0.1 from one epoch to the next in the demo), so the kept epoch is a
    /// lucky draw; the decay lets them settle on the rate's way down.
    Poly,
}

impl LrSchedule {
    /// The rate for `epoch` (1-based) of a run of `epochs` epochs starting at `lr`.
    pub fn rate(self, lr: f64, epoch: usize, epochs: usize) -> f64 {
        match self {
            Self::Constant => lr,
            Self::Poly => {
                let done = (epoch.saturating_sub(1) as f64 / epochs.max(1) as f64).min(1.0);
                lr * (1.0 - done).powf(0.9)
            }
        }
    }
}

/// The validation criterion that early stopping watches and the best weights are chosen by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Selection {
    /// The validation loss [paper]: the unweighted sum of the trained tasks' losses.
    #[default]
    Loss,
    /// Validation Dice plus patient-level EGFR accuracy (each alone in single-task modes)
    /// [ours]. With few validation patients the EGFR cross-entropy turns overconfident within a
    /// few epochs and then dominates the loss, stopping training long before segmentation has
    /// converged; the scores themselves do not have that problem.
    Score,
    /// Validation Dice alone [ours]; the EGFR head is kept from the same epoch. With ten
    /// validation patients the accuracy moves in steps of 0.1 and swings by 0.3 from one epoch
    /// to the next (demo runs, while test accuracy held within ±0.05), so adding it to the
    /// criterion picks epochs at random and triggers early stops; Dice is a mean over ~150 slices.
    Dice,
}

/// Light augmentation [ours]: the paper is silent; flips, small rotations and intensity scaling
/// are what nnU-Net and MONAI apply by default to 2-D MR slices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AugmentConfig {
    pub enabled: bool,
    /// Probability of a left-right flip.
    pub flip_lr: f64,
    /// Rotations drawn uniformly in ±rotate_deg.
    pub rotate_deg: f64,
    /// Intensities multiplied by a factor drawn in 1 ± intensity_scale.
    pub intensity_scale: f64,
    /// Magnification drawn log-uniformly between `zoom[0]` and `zoom[1]` per slice (above 1
    /// enlarges) [ours; default `[1, 1]`: off; nnU-Net scales by 0.7-1.4]. Why: the network
    /// then sees lesions at the scale a finer input (`second_size`) shows them, and small
    /// metastases at more than the few pixels the trained size gives them.
    #[serde(default = "unit_range")]
    pub zoom: [f64; 2],
    /// Probability that a training slice is replaced by the slice twice as thick centred on it
    /// (`SplitData::thick_slice`: a quarter of each neighbour, half of the slice; its mask
    /// unchanged) [ours; default 0: off; needs a dataset prepared with `--context-slices` >= 1
    /// and single-slice input]. Why: a 4 mm slice averages a small metastasis with the tissue
    /// around it, so it shows fainter than on the 2 mm slices the network learnt from (external
    /// site C, docs/whole-scan.md); nnU-Net's simulated low resolution is the in-plane kin.
    #[serde(default)]
    pub thick_slices: f64,
    /// Intensity gamma drawn log-uniformly between `gamma[0]` and `gamma[1]` per slice, applied
    /// to the normalised slice (`x^gamma`) [ours; default `[1, 1]`: off; nnU-Net draws 0.7-1.5].
    /// Why: sites differ in the gamma of their contrast (the synthetic sites 0.85-1.2, the
    /// cohort spec 0.8-1.25), which the percentile normalisation does not undo.
    #[serde(default = "unit_range")]
    pub gamma: [f64; 2],
    /// Gaussian noise added inside the brain with a standard deviation drawn uniformly in
    /// `0..noise_sd` per slice, in normalised units [ours; default 0: off; nnU-Net adds noise
    /// of variance up to 0.1 on z-scored images]. Why: the external sites are noisier than the
    /// training site (site C about 1.6x in normalised units), and a network that never saw
    /// such noise reads its maxima as small bright lesions.
    #[serde(default)]
    pub noise_sd: f64,
}

/// `[1, 1]`: a log-uniform factor range that draws nothing (zoom, gamma off).
fn unit_range() -> [f64; 2] {
    [1.0, 1.0]
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            flip_lr: 0.5,
            rotate_deg: 10.0,
            intensity_scale: 0.1,
            zoom: unit_range(),
            thick_slices: 0.0,
            gamma: unit_range(),
            noise_sd: 0.0,
        }
    }
}

impl TrainConfig {
    pub fn for_preset(preset: &str) -> Result<Self, mtsa_model::ModelError> {
        Ok(Self {
            model: MtsaConfig::preset(preset)?,
            loss: LossConfig::default(),
            epochs: 300,
            batch: 8,
            lr: 3e-4,
            lr_schedule: LrSchedule::default(),
            adam_eps: 1e-8,
            patience: 20,
            select: Selection::default(),
            seed: 0,
            augment: AugmentConfig::default(),
            slices_per_patient: None,
            egfr_voting_slices_only: false,
            background_fraction: 0.0,
            lesion_balanced: false,
            calibrate_postprocess: false,
            flip_tta: false,
            segment_threshold: None,
            lesion_classifier: false,
            second_size: None,
            look_model: false,
            egfr_phenotype: false,
            precise_bn_batches: 0,
        })
    }

    /// The preset's config for `architecture`: its width at that preset
    /// ([`Architecture::width_for_preset`]) and, for a single-task system, the loss of its one
    /// task (the comparison systems train on MTSA-Net's GTV or EGFR loss alone).
    pub fn for_system(
        preset: &str,
        architecture: Architecture,
    ) -> Result<Self, mtsa_model::ModelError> {
        let mut cfg = Self::for_preset(preset)?;
        cfg.model = MtsaConfig::for_architecture(preset, architecture)?;
        if let Some(mode) = architecture.tasks().single_task_loss() {
            cfg.loss.mode = mode;
        }
        Ok(cfg)
    }

    /// Refuses values that would train nonsense or fail deep inside a run: a learning rate
    /// that is not positive trains backwards, no slices per patient gives empty epochs and a
    /// NaN loss, a focal alpha outside [0, 1] flips the sign of one class's loss.
    pub fn validate(&self) -> Result<(), String> {
        self.model.validate().map_err(|e| e.to_string())?;
        let positive = |v: f64| v.is_finite() && v > 0.0;
        let within = |v: f64, lo: f64, hi: f64| v.is_finite() && (lo..=hi).contains(&v);
        let non_negative = |v: f64| within(v, 0.0, f64::MAX);
        let checks: [(bool, String); 17] = [
            (
                self.batch >= 1 && self.epochs >= 1,
                "batch and epochs must be at least 1".into(),
            ),
            (
                positive(self.lr),
                format!("lr {} must be a positive number", self.lr),
            ),
            (
                positive(self.adam_eps),
                format!("adam_eps {} must be a positive number", self.adam_eps),
            ),
            (
                self.slices_per_patient != Some(0),
                "slices_per_patient must be at least 1 (or unset for every GTV slice)".into(),
            ),
            (
                !self.lesion_balanced || self.slices_per_patient.is_some(),
                "lesion_balanced draws slices_per_patient slices lesion by lesion: set \
                 slices_per_patient (without it every GTV slice is drawn anyway)"
                    .into(),
            ),
            (
                within(self.background_fraction, 0.0, 0.9),
                format!(
                    "background fraction {} is outside 0-0.9",
                    self.background_fraction
                ),
            ),
            (
                within(self.loss.focal_alpha, 0.0, 1.0),
                format!("focal alpha {} is outside 0-1", self.loss.focal_alpha),
            ),
            (
                non_negative(self.loss.focal_gamma) && non_negative(self.loss.beta),
                format!(
                    "focal gamma {} and loss beta {} must be numbers >= 0",
                    self.loss.focal_gamma, self.loss.beta
                ),
            ),
            (
                within(self.augment.flip_lr, 0.0, 1.0),
                format!(
                    "augment.flip_lr {} is a probability: 0-1",
                    self.augment.flip_lr
                ),
            ),
            (
                within(self.augment.rotate_deg, 0.0, 180.0)
                    && within(self.augment.intensity_scale, 0.0, 0.99),
                format!(
                    "augment.rotate_deg {} must lie in 0-180 and augment.intensity_scale {} in \
                     0-0.99",
                    self.augment.rotate_deg, self.augment.intensity_scale
                ),
            ),
            (
                within(self.augment.zoom[0], 0.25, 4.0)
                    && within(self.augment.zoom[1], self.augment.zoom[0], 4.0),
                format!(
                    "augment.zoom {:?} must be [low, high] with 0.25 <= low <= high <= 4",
                    self.augment.zoom
                ),
            ),
            (
                within(self.augment.gamma[0], 0.25, 4.0)
                    && within(self.augment.gamma[1], self.augment.gamma[0], 4.0),
                format!(
                    "augment.gamma {:?} must be [low, high] with 0.25 <= low <= high <= 4",
                    self.augment.gamma
                ),
            ),
            (
                within(self.augment.noise_sd, 0.0, 1.0),
                format!(
                    "augment.noise_sd {} must lie in 0-1 (normalised units)",
                    self.augment.noise_sd
                ),
            ),
            (
                within(self.augment.thick_slices, 0.0, 1.0)
                    && (self.augment.thick_slices == 0.0 || self.model.context_slices() == 0),
                format!(
                    "augment.thick_slices {} is a probability: 0-1, for single-slice input \
                     (context_slices 0) only",
                    self.augment.thick_slices
                ),
            ),
            (
                self.segment_threshold
                    .is_none_or(|t| t.is_finite() && t > 0.0 && t < 1.0),
                format!(
                    "segment_threshold {:?} must lie strictly between 0 and 1",
                    self.segment_threshold
                ),
            ),
            (
                self.second_size.is_none_or(|n| {
                    mtsa_model::side_problem(n as i64).is_none()
                        && n <= mtsa_data::MAX_SIDE
                        && self.calibrate_postprocess
                        && self.lesion_classifier
                        && self.model.architecture == Architecture::MtsaNet
                }),
                format!(
                    "second_size {:?} must be a multiple of 64 up to {} pixels, with \
                     calibrate_postprocess and lesion_classifier, for MTSA-Net",
                    self.second_size,
                    mtsa_data::MAX_SIDE
                ),
            ),
            (
                !self.egfr_phenotype || self.calibrate_postprocess,
                "egfr_phenotype is fitted during calibration: it needs calibrate_postprocess"
                    .to_string(),
            ),
        ];
        match checks.into_iter().find(|(ok, _)| !ok) {
            Some((_, why)) => Err(why),
            None => Ok(()),
        }
    }

    pub fn select_name(&self) -> &'static str {
        match self.select {
            Selection::Loss => "loss",
            Selection::Score => "score",
            Selection::Dice => "dice",
        }
    }

    /// This config with a partial TOML laid over it, so users write only the keys they change
    /// (tables merge key by key; every other value replaces).
    pub fn overlay(&self, text: &str) -> Result<Self, String> {
        let user: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
        let mut merged: toml::Table = self
            .to_toml()
            .parse()
            .map_err(|e: toml::de::Error| e.to_string())?;
        merge(&mut merged, user);
        Self::from_toml(&merged.to_string())
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

fn merge(dst: &mut toml::Table, src: toml::Table) {
    for (k, v) in src {
        match (dst.get_mut(&k), v) {
            (Some(toml::Value::Table(d)), toml::Value::Table(s)) => merge(d, s),
            (_, v) => {
                dst.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{LrSchedule, TrainConfig};

    #[test]
    fn validate_accepts_the_presets_and_names_each_bad_value() {
        let good = TrainConfig::for_preset("tiny").unwrap();
        assert_eq!(good.validate(), Ok(()));
        type Spoil = fn(&mut TrainConfig);
        let cases: [(&str, Spoil); 19] = [
            ("lr", |c| c.lr = -1e-3),
            ("lr", |c| c.lr = f64::NAN),
            ("adam_eps", |c| c.adam_eps = 0.0),
            ("slices_per_patient", |c| c.slices_per_patient = Some(0)),
            ("background fraction", |c| c.background_fraction = 0.95),
            ("lesion_balanced", |c| c.lesion_balanced = true),
            ("focal alpha", |c| c.loss.focal_alpha = 1.5),
            ("loss beta", |c| c.loss.beta = -1.0),
            ("flip_lr", |c| c.augment.flip_lr = 2.0),
            ("intensity_scale", |c| c.augment.intensity_scale = 1.0),
            ("augment.zoom", |c| c.augment.zoom = [1.5, 1.2]),
            ("augment.zoom", |c| c.augment.zoom = [0.1, 1.0]),
            ("augment.gamma", |c| c.augment.gamma = [1.2, 0.8]),
            ("augment.noise_sd", |c| c.augment.noise_sd = -0.1),
            ("augment.thick_slices", |c| c.augment.thick_slices = 1.5),
            ("augment.thick_slices", |c| {
                c.augment.thick_slices = 0.2;
                c.model.in_channels = 3;
            }),
            ("segment_threshold", |c| c.segment_threshold = Some(1.0)),
            ("second_size", |c| c.second_size = Some(192)),
            ("egfr_phenotype", |c| c.egfr_phenotype = true),
        ];
        for (name, spoil) in cases {
            let mut c = good.clone();
            spoil(&mut c);
            let e = c.validate().unwrap_err();
            assert!(e.contains(name), "{name}: {e}");
        }
    }

    #[test]
    fn poly_starts_at_the_rate_and_decays_towards_zero() {
        let rates: Vec<f64> = (1..=10)
            .map(|e| LrSchedule::Poly.rate(1e-3, e, 10))
            .collect();
        assert_eq!(rates[0], 1e-3);
        assert!(rates.windows(2).all(|w| w[1] < w[0]), "{rates:?}");
        // nnU-Net's formula at the last epoch: (1 - 9/10)^0.9.
        assert!((rates[9] - 1e-3 * 0.1f64.powf(0.9)).abs() < 1e-12);
        assert_eq!(LrSchedule::Constant.rate(1e-3, 7, 10), 1e-3);
        // Past the planned epochs (the trainer never gets there) the rate is zero, not the NaN
        // of a negative base raised to 0.9.
        assert_eq!(LrSchedule::Poly.rate(1e-3, 12, 10), 0.0);
    }
}
