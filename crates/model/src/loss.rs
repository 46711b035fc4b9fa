//! Losses of spec §3. Everything is computed from logits in log space (log_sigmoid,
//! log_softmax) so saturated predictions give finite values and gradients.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::nn::{self, Init};
use tch::{Kind, Tensor};

use crate::error::ModelError;

/// Log-sigma is clamped here: outside it a task weight of exp(-2 * 5) ~ 5e-5 already switches
/// the task off, and unbounded drift would let `log s` run to -inf on a task it can fit.
pub const LOG_SIGMA_RANGE: (f64, f64) = (-5.0, 5.0);
/// Optimizer parameter group of the loss weights, so trainers can give them no weight decay
/// (`opt.set_weight_decay_group(LOSS_PARAM_GROUP, 0.0)`).
pub const LOSS_PARAM_GROUP: usize = 1;

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LossMode {
    /// Kendall et al. uncertainty weighting (paper eq. 9).
    #[default]
    Uncertainty,
    /// 0.5 L_gtv + 0.5 L_egfr (paper Table 3 ablation).
    Equal,
    SegOnly,
    ClsOnly,
}

impl LossMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LossMode::Uncertainty => "uncertainty",
            LossMode::Equal => "equal",
            LossMode::SegOnly => "seg-only",
            LossMode::ClsOnly => "cls-only",
        }
    }
}

impl fmt::Display for LossMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LossMode {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "uncertainty" => Ok(LossMode::Uncertainty),
            "equal" => Ok(LossMode::Equal),
            "seg-only" => Ok(LossMode::SegOnly),
            "cls-only" => Ok(LossMode::ClsOnly),
            other => Err(ModelError::UnknownLossMode(other.to_string())),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct LossConfig {
    pub mode: LossMode,
    pub focal_alpha: f64,
    pub focal_gamma: f64,
    /// Weight of the focal term in L_gtv; the summed focal loss is ~1e4x the Dice loss.
    pub beta: f64,
    /// [ours, beyond the paper] Soft Dice over the whole batch ([`batch_dice_loss`]) instead of
    /// per image: needed when lesion-free slices are trained on, since a per-image Dice of an
    /// empty slice is a constant 1 and teaches nothing about false positives there.
    #[serde(default)]
    pub batch_dice: bool,
}

impl Default for LossConfig {
    fn default() -> Self {
        Self {
            mode: LossMode::Uncertainty,
            focal_alpha: 0.8,
            focal_gamma: 2.0,
            beta: 1.0 / 25000.0,
            batch_dice: false,
        }
    }
}

/// Soft Dice loss per image, mean over the batch. `logits`, `mask`: B x 1 x H x W.
pub fn dice_loss(logits: &Tensor, mask: &Tensor, eps: f64) -> Tensor {
    let p = logits.sigmoid();
    let dims: &[i64] = &[1, 2, 3];
    let inter = (&p * mask).sum_dim_intlist(dims, false, Kind::Float);
    let denom = p.sum_dim_intlist(dims, false, Kind::Float)
        + mask.sum_dim_intlist(dims, false, Kind::Float)
        + eps;
    let ratio: Tensor = inter * 2.0 / denom;
    ratio.neg().g_add_scalar(1.0).mean(Kind::Float)
}

/// Soft Dice loss of the whole batch taken as one image (nnU-Net's "batch Dice"). On a slice
/// without GTV the per-image form is 1 whatever the network predicts (0 overlap over any
/// denominator), so lesion-free slices add no gradient; here their false-positive pixels enlarge
/// the batch's denominator and are pushed down. `logits`, `mask`: B x 1 x H x W.
pub fn batch_dice_loss(logits: &Tensor, mask: &Tensor, eps: f64) -> Tensor {
    let p = logits.sigmoid();
    let inter = (&p * mask).sum(Kind::Float);
    let denom = p.sum(Kind::Float) + mask.sum(Kind::Float) + eps;
    let ratio: Tensor = inter * 2.0 / denom;
    ratio.neg().g_add_scalar(1.0)
}

/// Binary focal loss (both terms), summed over an image's pixels, mean over the batch.
/// `(1-p)^g` is taken as `exp(g * log_sigmoid(-x))` so neither the value nor the gradient can
/// blow up at saturated logits.
pub fn focal_loss(logits: &Tensor, mask: &Tensor, alpha: f64, gamma: f64) -> Tensor {
    let log_p = logits.log_sigmoid();
    let log_q = (-logits).log_sigmoid(); // log(1 - p)
    let pos: Tensor = (&log_q * gamma).exp() * &log_p * mask * alpha;
    let neg: Tensor =
        (&log_p * gamma).exp() * &log_q * mask.neg().g_add_scalar(1.0) * (1.0 - alpha);
    let per_pixel = (pos + neg).neg();
    per_pixel
        .sum_dim_intlist(&[1i64, 2, 3][..], false, Kind::Float)
        .mean(Kind::Float)
}

/// Label of a slice without an EGFR status; the cross-entropy skips it.
pub const NO_LABEL: i64 = -100;

/// Cross-entropy over the two EGFR classes, mean over the labelled slices of the batch.
/// `label`: B int64 in {0, 1} or [`NO_LABEL`]. A batch without labels gives 0 (libtorch's mean
/// would give 0/0 = NaN).
pub fn cross_entropy(logits: &Tensor, label: &Tensor) -> Tensor {
    mean_cross_entropy(logits, label, labelled(label))
}

/// [`cross_entropy`] with the count of labelled slices already known (one host sync per batch).
fn mean_cross_entropy(logits: &Tensor, label: &Tensor, labelled: i64) -> Tensor {
    let sum = logits.log_softmax(-1, Kind::Float).g_nll_loss::<Tensor>(
        label,
        None,
        tch::Reduction::Sum,
        NO_LABEL,
    );
    sum / labelled.max(1) as f64
}

fn labelled(label: &Tensor) -> i64 {
    label.ne(NO_LABEL).sum(Kind::Int64).int64_value(&[])
}

/// The loss and its parts, each a scalar; a single-task mode leaves its other task's parts 0.
#[derive(Debug)]
pub struct LossParts {
    pub total: Tensor,
    pub gtv: Tensor,
    pub dice: Tensor,
    pub focal: Tensor,
    pub egfr: Tensor,
}

#[derive(Debug)]
pub struct JointLoss {
    cfg: LossConfig,
    log_sigma_gtv: Tensor,
    log_sigma_egfr: Tensor,
}

impl JointLoss {
    /// Creates the two log-sigmas (sigma = 1 at start) under `vs / "loss"` in
    /// [`LOSS_PARAM_GROUP`]. Pass the VarStore root; keep the net under a different prefix.
    pub fn new(vs: &nn::Path, cfg: LossConfig) -> Self {
        let p = (vs / "loss").set_group(LOSS_PARAM_GROUP);
        Self {
            cfg,
            log_sigma_gtv: p.var("log_sigma_gtv", &[], Init::Const(0.0)),
            log_sigma_egfr: p.var("log_sigma_egfr", &[], Init::Const(0.0)),
        }
    }

    pub fn config(&self) -> &LossConfig {
        &self.cfg
    }

    /// Clamped log-sigmas actually used, (gtv, egfr).
    pub fn log_sigmas(&self) -> (f64, f64) {
        let (lo, hi) = LOG_SIGMA_RANGE;
        (
            self.log_sigma_gtv.double_value(&[]).clamp(lo, hi),
            self.log_sigma_egfr.double_value(&[]).clamp(lo, hi),
        )
    }

    /// Effective multipliers of (L_gtv, L_egfr) in the total.
    pub fn weights(&self) -> (f64, f64) {
        match self.cfg.mode {
            LossMode::Uncertainty => {
                let (g, e) = self.log_sigmas();
                (0.5 * (-2.0 * g).exp(), 0.5 * (-2.0 * e).exp())
            }
            LossMode::Equal => (0.5, 0.5),
            LossMode::SegOnly => (1.0, 0.0),
            LossMode::ClsOnly => (0.0, 1.0),
        }
    }

    /// `mask`: B x 1 x H x W float in {0, 1}; `label`: B int64.
    pub fn compute(
        &self,
        gtv_logits: &Tensor,
        egfr_logits: &Tensor,
        mask: &Tensor,
        label: &Tensor,
    ) -> LossParts {
        // A single-task system's other task is neither trained nor computed: its part is 0.
        let zero = || Tensor::zeros([], (Kind::Float, gtv_logits.device()));
        let (dice, focal) = if self.cfg.mode == LossMode::ClsOnly {
            (zero(), zero())
        } else {
            let mask = mask.to_kind(gtv_logits.kind());
            let dice = if self.cfg.batch_dice {
                batch_dice_loss(gtv_logits, &mask, 1e-5)
            } else {
                dice_loss(gtv_logits, &mask, 1e-5)
            };
            let focal = focal_loss(
                gtv_logits,
                &mask,
                self.cfg.focal_alpha,
                self.cfg.focal_gamma,
            );
            (dice, focal)
        };
        let gtv = &dice + &focal * self.cfg.beta;
        let (egfr, n_labelled) = if self.cfg.mode == LossMode::SegOnly {
            (zero(), 0)
        } else {
            let n = labelled(label);
            (mean_cross_entropy(egfr_logits, label, n), n)
        };
        let total = match self.cfg.mode {
            LossMode::Uncertainty => {
                let (lo, hi) = LOG_SIGMA_RANGE;
                let sg = self.log_sigma_gtv.clamp(lo, hi);
                let se = self.log_sigma_egfr.clamp(lo, hi);
                // L / (2 s^2) = 0.5 * exp(-2 log s) * L;  log(s_g s_e) = log s_g + log s_e.
                let seg = (&sg * -2.0).exp() * &gtv * 0.5 + sg;
                if n_labelled == 0 {
                    // Nothing to classify: no EGFR term, so log s_e is not pushed anywhere.
                    seg
                } else {
                    seg + (&se * -2.0).exp() * &egfr * 0.5 + se
                }
            }
            LossMode::Equal => &gtv * 0.5 + &egfr * 0.5,
            LossMode::SegOnly => gtv.shallow_clone(),
            LossMode::ClsOnly => egfr.shallow_clone(),
        };
        LossParts {
            total,
            gtv,
            dice,
            focal,
            egfr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    const LN2: f64 = std::f64::consts::LN_2;

    fn t4(v: &[f32], shape: [i64; 4]) -> Tensor {
        Tensor::from_slice(v).view(shape)
    }

    fn close(a: &Tensor, b: f64, tol: f64) {
        let a = a.double_value(&[]);
        assert!((a - b).abs() <= tol, "got {a}, want {b}");
    }

    #[test]
    fn batch_dice_penalises_false_positives_on_empty_slices() {
        // Slice 1 holds a lesion (2 px) predicted perfectly; slice 2 is empty.
        let mask = t4(&[1., 1., 0., 0., 0., 0., 0., 0.], [2, 1, 2, 2]);
        let clean = t4(
            &[100., 100., -100., -100., -100., -100., -100., -100.],
            [2, 1, 2, 2],
        );
        let noisy = t4(
            &[100., 100., -100., -100., 100., -100., -100., -100.],
            [2, 1, 2, 2],
        );
        // Per image: the empty slice is 1 either way, so its false positive changes nothing.
        close(&dice_loss(&clean, &mask, 1e-5), 0.5, 1e-5);
        close(&dice_loss(&noisy, &mask, 1e-5), 0.5, 1e-5);
        // Over the batch: 1 - 2*2/(2+2) = 0 when clean, 1 - 2*2/(3+2) = 0.2 with the false pixel.
        close(&batch_dice_loss(&clean, &mask, 1e-5), 0.0, 1e-5);
        close(&batch_dice_loss(&noisy, &mask, 1e-5), 0.2, 1e-5);
        // An undecided pixel (p = 0.5) on the empty slice is pushed down (positive gradient).
        let x = t4(
            &[100., 100., -100., -100., 0., -100., -100., -100.],
            [2, 1, 2, 2],
        )
        .set_requires_grad(true);
        batch_dice_loss(&x, &mask, 1e-5).backward();
        assert!(x.grad().view([-1]).double_value(&[4]) > 1e-3);
        let y = t4(
            &[100., 100., -100., -100., 0., -100., -100., -100.],
            [2, 1, 2, 2],
        )
        .set_requires_grad(true);
        dice_loss(&y, &mask, 1e-5).backward();
        assert!(y.grad().view([-1]).double_value(&[4]).abs() < 1e-9);
    }

    #[test]
    fn dice_by_hand() {
        let zero_logits = t4(&[0.0; 4], [1, 1, 2, 2]); // p = 0.5 everywhere
        let mixed = t4(&[1.0, 0.0, 0.0, 1.0], [1, 1, 2, 2]);
        // 1 - 2 * (0.5 * 2) / (2 + 2 + eps)
        close(
            &dice_loss(&zero_logits, &mixed, 1e-5),
            1.0 - 2.0 / (4.0 + 1e-5),
            1e-6,
        );
        // All-zero mask: no overlap, loss 1.
        let zeros = t4(&[0.0; 4], [1, 1, 2, 2]);
        close(&dice_loss(&zero_logits, &zeros, 1e-5), 1.0, 1e-6);
        // All-one mask: 1 - 2*2 / (2 + 4 + eps).
        let ones = t4(&[1.0; 4], [1, 1, 2, 2]);
        close(
            &dice_loss(&zero_logits, &ones, 1e-5),
            1.0 - 4.0 / (6.0 + 1e-5),
            1e-7,
        );
        // Empty mask, confident empty prediction: 1 - 0/(~0 + eps) stays exactly 1, no NaN.
        let neg = t4(&[-100.0; 4], [1, 1, 2, 2]);
        close(&dice_loss(&neg, &zeros, 1e-5), 1.0, 1e-6);
        // Perfect confident prediction of an all-one mask: ~0.
        let pos = t4(&[100.0; 4], [1, 1, 2, 2]);
        close(&dice_loss(&pos, &ones, 1e-5), 0.0, 1e-5);
        // Batch mean of the per-image losses: (1/3 + 1) / 2.
        let batch_logits = t4(&[0.0; 8], [2, 1, 2, 2]);
        let batch_mask = t4(&[1., 1., 1., 1., 0., 0., 0., 0.], [2, 1, 2, 2]);
        close(
            &dice_loss(&batch_logits, &batch_mask, 1e-5),
            (1.0 - 4.0 / (6.0 + 1e-5) + 1.0) / 2.0,
            1e-7,
        );
    }

    #[test]
    fn focal_by_hand() {
        let (a, g) = (0.8, 2.0);
        let zero_logits = t4(&[0.0; 4], [1, 1, 2, 2]);
        // p = 0.5: positive pixel a*0.25*ln2, negative pixel (1-a)*0.25*ln2.
        let mixed = t4(&[1.0, 0.0, 0.0, 1.0], [1, 1, 2, 2]);
        close(
            &focal_loss(&zero_logits, &mixed, a, g),
            2.0 * 0.25 * LN2,
            1e-6,
        );
        let zeros = t4(&[0.0; 4], [1, 1, 2, 2]);
        close(
            &focal_loss(&zero_logits, &zeros, a, g),
            4.0 * 0.2 * 0.25 * LN2,
            1e-6,
        );
        let ones = t4(&[1.0; 4], [1, 1, 2, 2]);
        close(
            &focal_loss(&zero_logits, &ones, a, g),
            4.0 * 0.8 * 0.25 * LN2,
            1e-6,
        );
        // p = 0.75 on a positive pixel: -a (0.25)^2 ln 0.75; on a negative: -(1-a) 0.75^2 ln 0.25.
        let x = t4(&[3f32.ln(), 3f32.ln()], [1, 1, 1, 2]);
        let y = t4(&[1.0, 0.0], [1, 1, 1, 2]);
        let want = -a * 0.0625 * 0.75f64.ln() - (1.0 - a) * 0.5625 * 0.25f64.ln();
        close(&focal_loss(&x, &y, a, g), want, 1e-6);
        // alpha is honoured: alpha 0.7 on the all-one mask.
        close(
            &focal_loss(&zero_logits, &ones, 0.7, g),
            4.0 * 0.7 * 0.25 * LN2,
            1e-6,
        );
        // Batch mean of per-image sums.
        let bl = t4(&[0.0; 8], [2, 1, 2, 2]);
        let bm = t4(&[1., 1., 1., 1., 0., 0., 0., 0.], [2, 1, 2, 2]);
        close(
            &focal_loss(&bl, &bm, a, g),
            (0.8 + 0.2) * 0.25 * LN2 * 4.0 / 2.0,
            1e-6,
        );
    }

    #[test]
    fn focal_is_finite_at_saturated_logits() {
        let x = t4(&[-200.0, 200.0, 200.0, -200.0], [1, 1, 2, 2]).set_requires_grad(true);
        let y = t4(&[1.0, 0.0, 1.0, 0.0], [1, 1, 2, 2]);
        let l = focal_loss(&x, &y, 0.8, 2.0);
        // Wrong confident pixels: a*200 + (1-a)*200; right ones ~0.
        close(&l, 0.8 * 200.0 + 0.2 * 200.0, 1e-3);
        l.backward();
        let grad = x.grad();
        assert!(bool::try_from(grad.isfinite().all()).unwrap());
        let d = dice_loss(&x, &y, 1e-5);
        assert!(d.double_value(&[]).is_finite());
    }

    #[test]
    fn cross_entropy_by_hand() {
        let logits = Tensor::from_slice(&[0f32, 0.0, 3f32.ln(), 0.0]).view([2, 2]);
        let label = Tensor::from_slice(&[1i64, 0]);
        // (ln 2 - ln 0.75) / 2
        close(
            &cross_entropy(&logits, &label),
            (LN2 - 0.75f64.ln()) / 2.0,
            1e-6,
        );
    }

    #[test]
    fn unlabelled_slices_are_skipped_and_an_unlabelled_batch_adds_no_egfr_term() {
        let logits = Tensor::from_slice(&[0f32, 0.0, 3f32.ln(), 0.0, 5.0, -5.0]).view([3, 2]);
        // Only the first slice is labelled: ln 2, not a mean over three.
        let label = Tensor::from_slice(&[1i64, NO_LABEL, NO_LABEL]);
        close(&cross_entropy(&logits, &label), LN2, 1e-6);
        let none = Tensor::from_slice(&[NO_LABEL; 3]);
        close(&cross_entropy(&logits, &none), 0.0, 0.0);

        let vs = nn::VarStore::new(Device::Cpu);
        let jl = JointLoss::new(&vs.root(), LossConfig::default());
        let (gtv, egfr, mask, _) = fixed_inputs();
        let p = jl.compute(&gtv, &egfr, &mask, &Tensor::from_slice(&[NO_LABEL]));
        close(&p.total, 0.5 * p.gtv.double_value(&[]), 1e-6);
        p.total.backward();
        assert!(
            !jl.log_sigma_egfr.grad().defined()
                || jl
                    .log_sigma_egfr
                    .grad()
                    .abs()
                    .sum(Kind::Float)
                    .double_value(&[])
                    == 0.0
        );
    }

    fn set(t: &Tensor, v: f64) {
        tch::no_grad(|| {
            let _ = t.shallow_clone().fill_(v);
        });
    }

    fn fixed_inputs() -> (Tensor, Tensor, Tensor, Tensor) {
        let gtv = t4(&[0.0; 4], [1, 1, 2, 2]);
        let mask = t4(&[1.0, 0.0, 0.0, 1.0], [1, 1, 2, 2]);
        let egfr = Tensor::from_slice(&[0f32, 0.0]).view([1, 2]);
        let label = Tensor::from_slice(&[1i64]);
        (gtv, egfr, mask, label)
    }

    #[test]
    fn joint_uncertainty_value_and_gradient() {
        let vs = nn::VarStore::new(Device::Cpu);
        let jl = JointLoss::new(&vs.root(), LossConfig::default());
        let (gtv, egfr, mask, label) = fixed_inputs();
        // At start sigma = 1: total = L_gtv/2 + L_egfr/2 + 0.
        let p = jl.compute(&gtv, &egfr, &mask, &label);
        let lg = p.gtv.double_value(&[]);
        let le = p.egfr.double_value(&[]);
        close(&p.dice, 1.0 - 2.0 / (4.0 + 1e-5), 1e-6);
        close(
            &p.gtv,
            p.dice.double_value(&[]) + p.focal.double_value(&[]) / 25000.0,
            1e-7,
        );
        close(&p.egfr, LN2, 1e-6);
        close(&p.total, 0.5 * lg + 0.5 * le, 1e-6);
        assert_eq!(jl.weights(), (0.5, 0.5));

        let (sg, se) = (0.3, -0.2);
        set(&jl.log_sigma_gtv, sg);
        set(&jl.log_sigma_egfr, se);
        let p = jl.compute(&gtv, &egfr, &mask, &label);
        let want = 0.5 * (-2.0 * sg).exp() * lg + 0.5 * (-2.0 * se).exp() * le + sg + se;
        close(&p.total, want, 1e-5);
        p.total.backward();
        // d/d log s of  L e^{-2 log s} / 2 + log s  is  1 - L e^{-2 log s}.
        close(&jl.log_sigma_gtv.grad(), 1.0 - lg * (-2.0 * sg).exp(), 1e-5);
        close(
            &jl.log_sigma_egfr.grad(),
            1.0 - le * (-2.0 * se).exp(),
            1e-5,
        );
        let (wg, we) = jl.weights();
        assert!((wg - 0.5 * (-0.6f64).exp()).abs() < 1e-6);
        assert!((we - 0.5 * (0.4f64).exp()).abs() < 1e-6);
        // JointLoss creates exactly the two log-sigmas.
        assert_eq!(vs.variables().len(), 2);
    }

    #[test]
    fn joint_log_sigma_is_clamped() {
        let vs = nn::VarStore::new(Device::Cpu);
        let jl = JointLoss::new(&vs.root(), LossConfig::default());
        set(&jl.log_sigma_gtv, 9.0);
        let (gtv, egfr, mask, label) = fixed_inputs();
        let p = jl.compute(&gtv, &egfr, &mask, &label);
        let want = 0.5 * (-10f64).exp() * p.gtv.double_value(&[]) + 0.5 * LN2 + 5.0;
        close(&p.total, want, 1e-5);
        p.total.backward();
        close(&jl.log_sigma_gtv.grad(), 0.0, 0.0);
        assert!((jl.weights().0 - 0.5 * (-10f64).exp()).abs() < 1e-12);
    }

    #[test]
    fn fixed_modes() {
        let (gtv, egfr, mask, label) = fixed_inputs();
        for (mode, w) in [
            (LossMode::Equal, (0.5, 0.5)),
            (LossMode::SegOnly, (1.0, 0.0)),
            (LossMode::ClsOnly, (0.0, 1.0)),
        ] {
            let vs = nn::VarStore::new(Device::Cpu);
            let cfg = LossConfig {
                mode,
                ..Default::default()
            };
            let jl = JointLoss::new(&vs.root(), cfg);
            let p = jl.compute(&gtv, &egfr, &mask, &label);
            let want = w.0 * p.gtv.double_value(&[]) + w.1 * p.egfr.double_value(&[]);
            close(&p.total, want, 1e-6);
            assert_eq!(jl.weights(), w);
            // The task a single-task system does not learn is not computed: its part is 0,
            // the learnt task's part is what the joint modes compute for it.
            let both = JointLoss::new(&(vs.root() / "both"), LossConfig::default())
                .compute(&gtv, &egfr, &mask, &label);
            let (g, e) = (p.gtv.double_value(&[]), p.egfr.double_value(&[]));
            match mode {
                LossMode::SegOnly => {
                    assert_eq!(e, 0.0);
                    close(&both.gtv, g, 1e-9);
                }
                LossMode::ClsOnly => {
                    assert_eq!(g, 0.0);
                    close(&both.egfr, e, 1e-9);
                }
                _ => assert!(g > 0.0 && e > 0.0),
            }
        }
    }

    #[test]
    fn mode_names_round_trip() {
        for m in [
            LossMode::Uncertainty,
            LossMode::Equal,
            LossMode::SegOnly,
            LossMode::ClsOnly,
        ] {
            assert_eq!(m.to_string().parse::<LossMode>().unwrap(), m);
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{m}\""));
        }
        assert!("both".parse::<LossMode>().is_err());
        assert_eq!(LossConfig::default().mode, LossMode::Uncertainty);
    }
}
