//! A predicted mask scored against its truth in 3-D, lesion by lesion (BraTS-METS matching,
//! [`segmentation_metrics_3d`]), and a set of such scores summarised. Whole-scan evaluation
//! reports these numbers per split and `mtsa metrics` for two folders of masks, so a system
//! trained elsewhere (nnU-Net, a radiologist's second contour) is scored exactly as ours.

use crate::report_types::LesionRow;
use crate::{EvalError, MeanCi};
use mtsa_metrics::{segmentation_metrics_3d, SizeBin, SurfaceOptions};
use ndarray::ArrayView3;
use serde::Serialize;

/// One case's mask against its truth; serialised, one row of `mtsa metrics`' `cases.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct CaseScores {
    pub case: String,
    pub dice: f64,
    pub hd95_mm: f64,
    /// True lesions counted (above the BraTS-METS 2 mm³ floor), those detected, and predicted
    /// lesions that touch none.
    pub gt_lesions: usize,
    pub detected_lesions: usize,
    pub false_positive_lesions: usize,
    /// BraTS-METS lesion-wise Dice (false lesions count as Dice 0).
    pub lesion_wise_dice: f64,
    pub gtv_ml: f64,
    pub predicted_ml: f64,
    /// Counted true lesions and those detected, per size bin ([`SizeBin::ALL`]).
    #[serde(skip)]
    pub bins: [(usize, usize); 5],
    /// The case's true and predicted lesions, one row each.
    #[serde(skip)]
    pub lesions: Vec<LesionRow>,
}

/// Scores `pred` against `gt` (same grid, `spacing` in mm; `surface` says how HD95 treats an
/// empty mask); the lesion rows carry `split` and `case`.
pub fn score_case(
    pred: ArrayView3<bool>,
    gt: ArrayView3<bool>,
    spacing: [f64; 3],
    surface: &SurfaceOptions,
    split: &str,
    case: &str,
) -> Result<CaseScores, EvalError> {
    let m = segmentation_metrics_3d(pred, gt, spacing, surface)?;
    let l = m
        .lesions
        .as_ref()
        .ok_or_else(|| EvalError::Usage("3-D metrics without lesions".into()))?;
    let row =
        |kind, id, volume_mm3, diameter_mm, size_bin: SizeBin, counted, hit, dice| LesionRow {
            split: split.to_string(),
            patient_id: case.to_string(),
            kind,
            id,
            volume_mm3,
            diameter_mm,
            size_bin: size_bin.label(),
            counted,
            hit,
            dice,
        };
    let mut bins = [(0usize, 0usize); 5];
    let mut lesions = Vec::with_capacity(l.gt.len() + l.pred.len());
    for g in &l.gt {
        if g.counted {
            let b = g.size_bin.index();
            bins[b].0 += 1;
            bins[b].1 += usize::from(g.detected);
        }
        lesions.push(row(
            "truth",
            g.id,
            g.volume_mm3,
            g.diameter_mm,
            g.size_bin,
            g.counted,
            g.detected,
            Some(g.dice),
        ));
    }
    for q in &l.pred {
        lesions.push(row(
            "prediction",
            q.id,
            q.volume_mm3,
            q.diameter_mm,
            q.size_bin,
            true,
            !q.false_positive,
            None,
        ));
    }
    let voxel_ml = spacing.iter().product::<f64>() / 1000.0;
    Ok(CaseScores {
        case: case.to_string(),
        dice: m.dice,
        hd95_mm: m.hd95_mm,
        gt_lesions: l.gt_lesions - l.ignored_gt_lesions,
        detected_lesions: l.true_positives,
        false_positive_lesions: l.false_positives,
        lesion_wise_dice: l.lesion_wise_dice,
        gtv_ml: m.gt_voxels as f64 * voxel_ml,
        predicted_ml: m.pred_voxels as f64 * voxel_ml,
        bins,
        lesions,
    })
}

/// Detection in one size bin over a set of cases.
#[derive(Debug, Clone, Serialize)]
pub struct BinDetection {
    pub bin: String,
    pub lesions: usize,
    pub detected: usize,
    pub sensitivity: Option<f64>,
}

/// A set of cases summarised: mean (95% interval) and median 3-D Dice, HD95, lesion sensitivity
/// overall, by size and under / from 6 mm, false lesions per case, lesion-wise Dice.
#[derive(Debug, Clone, Serialize)]
pub struct DetectionSummary {
    pub dice: Option<MeanCi>,
    pub dice_median: Option<f64>,
    pub hd95_mm: Option<MeanCi>,
    pub lesions: usize,
    pub lesion_sensitivity: Option<f64>,
    /// Lesions under 6 mm equivalent diameter, and 6 mm or more.
    pub sensitivity_under_6mm: Option<f64>,
    pub sensitivity_6mm_and_over: Option<f64>,
    pub by_size: Vec<BinDetection>,
    pub false_positive_lesions_per_patient: Option<f64>,
    pub lesion_wise_dice: Option<MeanCi>,
}

impl DetectionSummary {
    pub fn of(cases: &[CaseScores]) -> Self {
        let ratio = |d: usize, n: usize| (n > 0).then(|| d as f64 / n as f64);
        let mut bins = [(0usize, 0usize); 5];
        for c in cases {
            for (b, (n, hit)) in bins.iter_mut().zip(c.bins) {
                b.0 += n;
                b.1 += hit;
            }
        }
        let sum = |sel: &dyn Fn(SizeBin) -> bool| {
            SizeBin::ALL
                .iter()
                .zip(&bins)
                .filter(|(b, _)| sel(**b))
                .fold((0, 0), |acc, (_, c)| (acc.0 + c.0, acc.1 + c.1))
        };
        let (n_all, d_all) = sum(&|_| true);
        let (n_small, d_small) = sum(&|b| b.is_small());
        let (n_large, d_large) = sum(&|b| !b.is_small());
        let mut dice: Vec<f64> = cases.iter().map(|c| c.dice).collect();
        dice.sort_by(f64::total_cmp);
        let n = dice.len();
        let median = (n > 0).then(|| match n % 2 {
            1 => dice[n / 2],
            _ => 0.5 * (dice[n / 2 - 1] + dice[n / 2]),
        });
        DetectionSummary {
            dice: MeanCi::of(cases.iter().map(|c| Some(c.dice))),
            dice_median: median,
            hd95_mm: MeanCi::of(cases.iter().map(|c| Some(c.hd95_mm))),
            lesions: n_all,
            lesion_sensitivity: ratio(d_all, n_all),
            sensitivity_under_6mm: ratio(d_small, n_small),
            sensitivity_6mm_and_over: ratio(d_large, n_large),
            by_size: SizeBin::ALL
                .iter()
                .zip(bins)
                .map(|(b, c)| BinDetection {
                    bin: b.label().to_string(),
                    lesions: c.0,
                    detected: c.1,
                    sensitivity: ratio(c.1, c.0),
                })
                .collect(),
            false_positive_lesions_per_patient: (n > 0).then(|| {
                cases
                    .iter()
                    .map(|c| c.false_positive_lesions)
                    .sum::<usize>() as f64
                    / n as f64
            }),
            lesion_wise_dice: MeanCi::of(cases.iter().map(|c| Some(c.lesion_wise_dice))),
        }
    }
}
