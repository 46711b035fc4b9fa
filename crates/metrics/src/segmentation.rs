//! Top-level segmentation report: every overlap, surface and lesion metric for one
//! prediction / ground-truth pair, with the empty-mask policy applied and recorded.

use ndarray::{ArrayView2, ArrayView3};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::grid::{check_same_shape, check_spacing, Mask};
use crate::lesions::{self, mask_lesion_metrics, LesionMetrics, LesionOptions};
use crate::overlap::OverlapCounts;
use crate::surface::{mask_surface_distances, SurfaceOptions};

/// Which branch of the empty-mask policy produced a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyCase {
    /// Both masks have foreground: every metric is computed normally.
    NeitherEmpty,
    /// Both masks are empty: Dice 1, Jaccard 1, HD/HD95/ASSD 0 (a correct "no lesion").
    BothEmpty,
    /// The prediction is empty, the ground truth is not: Dice 0, Jaccard 0,
    /// HD/HD95/ASSD = penalty.
    PredEmpty,
    /// The ground truth is empty, the prediction is not: Dice 0, Jaccard 0,
    /// HD/HD95/ASSD = penalty.
    GtEmpty,
}

impl EmptyCase {
    fn of(pred_size: usize, gt_size: usize) -> EmptyCase {
        match (pred_size == 0, gt_size == 0) {
            (false, false) => EmptyCase::NeitherEmpty,
            (true, true) => EmptyCase::BothEmpty,
            (true, false) => EmptyCase::PredEmpty,
            (false, true) => EmptyCase::GtEmpty,
        }
    }
}

/// The empty-mask policy as applied to one report, so that printed results are
/// self-describing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EmptyPolicy {
    /// Which case applied.
    pub case: EmptyCase,
    /// Distance (mm) used for HD, HD95 and ASSD when exactly one mask is empty.
    pub penalty_mm: f64,
}

/// Segmentation metrics for one pair of masks (a 3-D volume or a 2-D slice).
///
/// JSON keys: `dice`, `jaccard`, `hd95_mm`, `hd_mm`, `assd_mm`, `precision`, `recall`,
/// `pred_voxels`, `gt_voxels`, `volume_difference_ml`, `empty_policy`, `lesions`.
/// `precision` / `recall` are `null` when undefined (0/0); `volume_difference_ml` and
/// `lesions` are `null` for 2-D slices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegMetrics {
    /// Dice (policy: 1 when both empty, 0 when exactly one is).
    pub dice: f64,
    /// Jaccard / IoU (same policy as Dice).
    pub jaccard: f64,
    /// Robust Hausdorff distance at `SurfaceOptions::percentile` (HD95 by default), mm.
    pub hd95_mm: f64,
    /// Hausdorff distance, mm.
    pub hd_mm: f64,
    /// Average symmetric surface distance, mm.
    pub assd_mm: f64,
    /// Voxel precision `TP/(TP+FP)`; `None` when the prediction is empty.
    pub precision: Option<f64>,
    /// Voxel recall `TP/(TP+FN)`; `None` when the ground truth is empty.
    pub recall: Option<f64>,
    /// Predicted voxels (pixels for 2-D).
    pub pred_voxels: usize,
    /// Ground-truth voxels (pixels for 2-D).
    pub gt_voxels: usize,
    /// Signed volume difference, prediction minus ground truth, in millilitres (cm³);
    /// `None` for 2-D slices.
    pub volume_difference_ml: Option<f64>,
    /// Which branch of the empty-mask policy applied, and the penalty used.
    pub empty_policy: EmptyPolicy,
    /// Lesion-wise (BraTS-METS) scores; `None` for 2-D slices.
    pub lesions: Option<LesionMetrics>,
}

/// All segmentation metrics for two 3-D masks, spacing `[axis0, axis1, axis2]` in mm,
/// with BraTS-METS lesion matching ([`LesionOptions::default`]).
pub fn segmentation_metrics_3d(
    pred: ArrayView3<bool>,
    gt: ArrayView3<bool>,
    spacing: [f64; 3],
    opts: &SurfaceOptions,
) -> Result<SegMetrics> {
    segmentation_metrics_3d_with(pred, gt, spacing, opts, &LesionOptions::default())
}

/// [`segmentation_metrics_3d`] with explicit lesion-matching parameters.
pub fn segmentation_metrics_3d_with(
    pred: ArrayView3<bool>,
    gt: ArrayView3<bool>,
    spacing: [f64; 3],
    opts: &SurfaceOptions,
    lesion: &LesionOptions,
) -> Result<SegMetrics> {
    check_same_shape(pred.shape(), gt.shape())?;
    check_spacing(&spacing)?;
    opts.validate()?;
    lesions::validate(lesion)?;
    let p = Mask::from_view3(pred);
    let g = Mask::from_view3(gt);
    let mut m = core_metrics(&p, &g, spacing, opts);
    let voxel_ml = spacing.iter().product::<f64>() / 1000.0;
    m.volume_difference_ml = Some((m.pred_voxels as f64 - m.gt_voxels as f64) * voxel_ml);
    m.lesions = Some(mask_lesion_metrics(&p, &g, spacing, opts, lesion));
    Ok(m)
}

/// Per-slice segmentation metrics for two 2-D masks, spacing `[row, column]` in mm.
/// `lesions` and `volume_difference_ml` are `None`.
pub fn segmentation_metrics_2d(
    pred: ArrayView2<bool>,
    gt: ArrayView2<bool>,
    spacing: [f64; 2],
    opts: &SurfaceOptions,
) -> Result<SegMetrics> {
    check_same_shape(pred.shape(), gt.shape())?;
    check_spacing(&spacing)?;
    opts.validate()?;
    let p = Mask::from_view2(pred);
    let g = Mask::from_view2(gt);
    Ok(core_metrics(&p, &g, [1.0, spacing[0], spacing[1]], opts))
}

/// Overlap and surface metrics with the empty-mask policy applied.
fn core_metrics(p: &Mask, g: &Mask, spacing: [f64; 3], opts: &SurfaceOptions) -> SegMetrics {
    let counts = OverlapCounts::from_iters(p.data.iter().copied(), g.data.iter().copied());
    let case = EmptyCase::of(counts.pred_size(), counts.gt_size());
    let (dice, jaccard, hd95, hd, assd) = match case {
        EmptyCase::BothEmpty => (1.0, 1.0, 0.0, 0.0, 0.0),
        EmptyCase::PredEmpty | EmptyCase::GtEmpty => {
            let pen = opts.empty_penalty_mm;
            (0.0, 0.0, pen, pen, pen)
        }
        EmptyCase::NeitherEmpty => {
            let sd = mask_surface_distances(p, g, spacing);
            // Both masks have foreground, so both boundaries are non-empty and all
            // distances are finite; 0.0 is never reached.
            (
                counts.dice().unwrap_or(0.0),
                counts.jaccard().unwrap_or(0.0),
                sd.percentile_distance(opts.percentile, opts.convention)
                    .unwrap_or(0.0),
                sd.hausdorff().unwrap_or(0.0),
                sd.average_symmetric().unwrap_or(0.0),
            )
        }
    };
    SegMetrics {
        dice,
        jaccard,
        hd95_mm: hd95,
        hd_mm: hd,
        assd_mm: assd,
        precision: counts.precision(),
        recall: counts.recall(),
        pred_voxels: counts.pred_size(),
        gt_voxels: counts.gt_size(),
        volume_difference_ml: None,
        empty_policy: EmptyPolicy {
            case,
            penalty_mm: opts.empty_penalty_mm,
        },
        lesions: None,
    }
}
