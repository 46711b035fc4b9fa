//! Lesion-wise detection and segmentation scores as defined by BraTS-METS 2023.
//!
//! Procedure (mirrors the challenge's `get_LesionWiseResults` with the BraTS-MET
//! parameters: dilation 1, volume threshold 2 mm³):
//! 1. Ground-truth lesions are the 26-connected components of the ground truth *after*
//!    an 18-connected dilation by `dilation_voxels`, restricted back to ground-truth voxels:
//!    lesions closer than the dilation are merged into one lesion.
//! 2. Predicted lesions are the 26-connected components of the prediction.
//! 3. A predicted component matches a ground-truth lesion when it overlaps that lesion
//!    dilated by `dilation_voxels`. A lesion with at least one match is detected; its Dice
//!    and HD95 are computed against the union of its matched components. A missed lesion
//!    scores Dice 0 and HD95 = the empty penalty.
//! 4. Predicted components that match no ground-truth lesion are false positives and
//!    score Dice 0 and HD95 = the penalty.
//! 5. Ground-truth lesions of volume ≤ `min_volume_mm3` are reported but excluded from
//!    every count and average (components matched to them are not false positives).
//!    As in BraTS, predicted components are not size-filtered.
//! 6. Lesion-wise Dice = Σ Dice(counted lesions) / (#counted + #FP); lesion-wise HD95 =
//!    (Σ HD95(counted lesions) + #FP · penalty) / (#counted + #FP). With no counted lesion
//!    and no false positive both are perfect: Dice 1, HD95 0.
//!
//! One deliberate difference from the challenge script: per-lesion HD95 uses this crate's
//! surface convention (boundary voxels, `SurfaceOptions`), not DeepMind's surfel-area
//! weighted percentile.

use ndarray::ArrayView3;
use serde::{Deserialize, Serialize};

use crate::components::label_26;
use crate::error::{check_volume, Result};
use crate::grid::{check_same_shape, check_spacing, flat, unflat, BBox, Mask};
use crate::matching::{matching_box, GtRegions};
use crate::surface::{mask_surface_distances, SurfaceOptions};

/// Parameters of lesion matching.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LesionOptions {
    /// Iterations of the 18-connected dilation applied to ground-truth lesions (BraTS-METS: 1).
    pub dilation_voxels: usize,
    /// Ground-truth lesions with volume ≤ this (mm³) are ignored (BraTS-METS: 2).
    pub min_volume_mm3: f64,
}

impl Default for LesionOptions {
    fn default() -> Self {
        LesionOptions {
            dilation_voxels: 1,
            min_volume_mm3: 2.0,
        }
    }
}

/// Lesion size class by equivalent-sphere diameter `d = (6 V / π)^(1/3)`.
///
/// Five half-open bins `[lo, hi)`: < 3 mm, 3-6 mm, 6-10 mm, 10-20 mm, ≥ 20 mm. Metastases
/// under 6 mm are the clinically hard ones (often missed by radiologists too), so the
/// small end is split finely; reports show the bins in this order. JSON names are the
/// lowercase variant names: `under3mm`, `from3to6mm`, `from6to10mm`, `from10to20mm`,
/// `over20mm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SizeBin {
    /// d < 3 mm.
    Under3mm,
    /// 3 mm ≤ d < 6 mm.
    From3To6mm,
    /// 6 mm ≤ d < 10 mm.
    From6To10mm,
    /// 10 mm ≤ d < 20 mm.
    From10To20mm,
    /// d ≥ 20 mm.
    Over20mm,
}

impl SizeBin {
    /// All bins, smallest first; per-bin arrays elsewhere in the crate use this order.
    pub const ALL: [SizeBin; 5] = [
        SizeBin::Under3mm,
        SizeBin::From3To6mm,
        SizeBin::From6To10mm,
        SizeBin::From10To20mm,
        SizeBin::Over20mm,
    ];

    /// Bin of an equivalent-sphere diameter in mm (NaN falls in the last bin).
    pub fn of_diameter(d_mm: f64) -> SizeBin {
        if d_mm < 3.0 {
            SizeBin::Under3mm
        } else if d_mm < 6.0 {
            SizeBin::From3To6mm
        } else if d_mm < 10.0 {
            SizeBin::From6To10mm
        } else if d_mm < 20.0 {
            SizeBin::From10To20mm
        } else {
            SizeBin::Over20mm
        }
    }

    /// Bin of a volume in mm³, through its equivalent-sphere diameter.
    pub fn of_volume(v_mm3: f64) -> SizeBin {
        SizeBin::of_diameter(equivalent_diameter_mm(v_mm3))
    }

    /// Position of the bin in [`SizeBin::ALL`], for per-bin arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Human-readable label for tables and plots, e.g. `"3-6 mm"`.
    pub fn label(self) -> &'static str {
        match self {
            SizeBin::Under3mm => "<3 mm",
            SizeBin::From3To6mm => "3-6 mm",
            SizeBin::From6To10mm => "6-10 mm",
            SizeBin::From10To20mm => "10-20 mm",
            SizeBin::Over20mm => ">=20 mm",
        }
    }

    /// True below 6 mm, the lesions that matter most for screening sensitivity.
    pub fn is_small(self) -> bool {
        matches!(self, SizeBin::Under3mm | SizeBin::From3To6mm)
    }
}

/// Diameter (mm) of the sphere with volume `v_mm3`.
pub fn equivalent_diameter_mm(v_mm3: f64) -> f64 {
    (6.0 * v_mm3 / std::f64::consts::PI).cbrt()
}

/// One ground-truth lesion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GtLesion {
    /// Lesion number (1-based, raster order of the merged components).
    pub id: usize,
    /// Volume in mm³.
    pub volume_mm3: f64,
    /// Equivalent-sphere diameter in mm.
    pub diameter_mm: f64,
    /// Size class.
    pub size_bin: SizeBin,
    /// False when the lesion is at or below `min_volume_mm3` and excluded from scores.
    pub counted: bool,
    /// At least one predicted component matched.
    pub detected: bool,
    /// Number of predicted components matched.
    pub matched_predictions: usize,
    /// Dice against the union of matched components (0 when missed).
    pub dice: f64,
    /// HD95 in mm against the union of matched components (penalty when missed).
    pub hd95_mm: f64,
}

/// One predicted component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredLesion {
    /// Component number (1-based, raster order).
    pub id: usize,
    /// Volume in mm³.
    pub volume_mm3: f64,
    /// Equivalent-sphere diameter in mm.
    pub diameter_mm: f64,
    /// Size class.
    pub size_bin: SizeBin,
    /// Matches no ground-truth lesion.
    pub false_positive: bool,
}

/// Detection summary for one size bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeBinStats {
    /// The bin.
    pub bin: SizeBin,
    /// Counted ground-truth lesions in the bin.
    pub gt_lesions: usize,
    /// Of those, detected.
    pub detected: usize,
    /// `detected / gt_lesions`; `None` when the bin holds no counted lesion.
    pub sensitivity: Option<f64>,
    /// False-positive components whose own diameter falls in the bin.
    pub false_positives: usize,
    /// Mean Dice of the counted lesions in the bin; `None` when there are none.
    pub mean_dice: Option<f64>,
}

/// Lesion-wise metrics for one patient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LesionMetrics {
    /// Counted ground-truth lesions (volume above the threshold).
    pub gt_lesions: usize,
    /// Ground-truth lesions ignored for being too small.
    pub ignored_gt_lesions: usize,
    /// Predicted components.
    pub pred_lesions: usize,
    /// Counted ground-truth lesions that were detected.
    pub true_positives: usize,
    /// Counted ground-truth lesions that were missed.
    pub false_negatives: usize,
    /// Predicted components matching no ground-truth lesion (false positives per patient).
    pub false_positives: usize,
    /// Lesion detection sensitivity `TP / gt_lesions`; `None` with no counted lesion.
    pub sensitivity: Option<f64>,
    /// BraTS lesion-wise Dice (FP components count as Dice 0).
    pub lesion_wise_dice: f64,
    /// BraTS lesion-wise HD95 in mm (FP and missed lesions count as the penalty).
    pub lesion_wise_hd95_mm: f64,
    /// Detection by equivalent-sphere diameter, one entry per [`SizeBin::ALL`].
    pub by_size: Vec<SizeBinStats>,
    /// Every ground-truth lesion, counted or not.
    pub gt: Vec<GtLesion>,
    /// Every predicted component.
    pub pred: Vec<PredLesion>,
    /// Matching parameters used.
    pub options: LesionOptions,
    /// HD95 penalty (mm) used for missed lesions and false positives.
    pub penalty_mm: f64,
}

/// Lesion-wise metrics with the BraTS-METS matching parameters ([`LesionOptions::default`]).
pub fn lesion_metrics(
    pred: ArrayView3<bool>,
    gt: ArrayView3<bool>,
    spacing: [f64; 3],
    opts: &SurfaceOptions,
) -> Result<LesionMetrics> {
    lesion_metrics_with(pred, gt, spacing, opts, &LesionOptions::default())
}

/// Lesion-wise metrics with explicit matching parameters.
pub fn lesion_metrics_with(
    pred: ArrayView3<bool>,
    gt: ArrayView3<bool>,
    spacing: [f64; 3],
    opts: &SurfaceOptions,
    lesion: &LesionOptions,
) -> Result<LesionMetrics> {
    check_same_shape(pred.shape(), gt.shape())?;
    check_spacing(&spacing)?;
    opts.validate()?;
    validate(lesion)?;
    Ok(mask_lesion_metrics(
        &Mask::from_view3(pred),
        &Mask::from_view3(gt),
        spacing,
        opts,
        lesion,
    ))
}

pub(crate) fn validate(lesion: &LesionOptions) -> Result<()> {
    check_volume("min_volume_mm3", lesion.min_volume_mm3)
}

/// Per-component voxel lists and bounding boxes.
struct Components {
    voxels: Vec<Vec<usize>>,
    bboxes: Vec<BBox>,
}

impl Components {
    fn gather(labels: &[u32], n: usize, dims: [usize; 3]) -> Components {
        let mut voxels = vec![Vec::new(); n];
        let mut bboxes: Vec<Option<BBox>> = vec![None; n];
        for (i, &l) in labels.iter().enumerate() {
            if l == 0 {
                continue;
            }
            let k = l as usize - 1;
            voxels[k].push(i);
            let p = unflat(dims, i);
            match bboxes[k].as_mut() {
                Some(b) => b.include(p),
                None => bboxes[k] = Some(BBox::point(p)),
            }
        }
        Components {
            voxels,
            // Every label 1..=n owns at least one voxel.
            bboxes: bboxes
                .into_iter()
                .map(|b| b.unwrap_or(BBox::point([0; 3])))
                .collect(),
        }
    }
}

pub(crate) fn mask_lesion_metrics(
    pred: &Mask,
    gt: &Mask,
    spacing: [f64; 3],
    opts: &SurfaceOptions,
    lesion: &LesionOptions,
) -> LesionMetrics {
    let voxel_mm3 = spacing.iter().product::<f64>();
    let penalty = opts.empty_penalty_mm;
    let (pred, gt) = match matching_box(pred.bbox(), gt.bbox(), lesion.dilation_voxels, pred.dims) {
        Some(b) => (pred.crop(&b), gt.crop(&b)),
        None => (pred.clone(), gt.clone()),
    };
    let dims = gt.dims;

    let (pred_labels, n_pred) = label_26(&pred);
    let pred_cc = Components::gather(&pred_labels, n_pred, dims);

    let regions = GtRegions::new(&gt, lesion.dilation_voxels);
    let n_gt = regions.n;
    let gt_labels = &regions.lesions;
    let gt_cc = Components::gather(gt_labels, n_gt, dims);
    let matches = regions.matches(&pred_labels);

    let lab = Labelled {
        dims,
        gt_labels,
        gt_cc: &gt_cc,
        pred_labels: &pred_labels,
        pred_cc: &pred_cc,
    };
    let mut pred_matched = vec![false; n_pred];
    let mut gt_records = Vec::with_capacity(n_gt);
    for (k, matched) in matches.iter().enumerate() {
        for &m in matched {
            pred_matched[m as usize - 1] = true;
        }
        let volume = gt_cc.voxels[k].len() as f64 * voxel_mm3;
        let diameter = equivalent_diameter_mm(volume);
        let (dice, hd95) = if matched.is_empty() {
            (0.0, penalty)
        } else {
            score_match(&lab, k, matched, spacing, opts)
        };
        gt_records.push(GtLesion {
            id: k + 1,
            volume_mm3: volume,
            diameter_mm: diameter,
            size_bin: SizeBin::of_diameter(diameter),
            counted: volume > lesion.min_volume_mm3,
            detected: !matched.is_empty(),
            matched_predictions: matched.len(),
            dice,
            hd95_mm: hd95,
        });
    }
    let pred_records: Vec<PredLesion> = (0..n_pred)
        .map(|k| {
            let volume = pred_cc.voxels[k].len() as f64 * voxel_mm3;
            let diameter = equivalent_diameter_mm(volume);
            PredLesion {
                id: k + 1,
                volume_mm3: volume,
                diameter_mm: diameter,
                size_bin: SizeBin::of_diameter(diameter),
                false_positive: !pred_matched[k],
            }
        })
        .collect();
    summarise(gt_records, pred_records, *lesion, penalty)
}

/// The ground-truth and prediction label grids of one patient (cropped).
struct Labelled<'a> {
    dims: [usize; 3],
    gt_labels: &'a [u32],
    gt_cc: &'a Components,
    pred_labels: &'a [u32],
    pred_cc: &'a Components,
}

/// Dice and HD95 of ground-truth lesion `k` against the union of its matched components.
fn score_match(
    lab: &Labelled,
    k: usize,
    matched: &[u32],
    spacing: [f64; 3],
    opts: &SurfaceOptions,
) -> (f64, f64) {
    let label = (k + 1) as u32;
    let is_matched = |l: u32| matched.binary_search(&l).is_ok();
    let lesion_size = lab.gt_cc.voxels[k].len();
    let pred_size: usize = matched
        .iter()
        .map(|&m| lab.pred_cc.voxels[m as usize - 1].len())
        .sum();
    let inter = lab.gt_cc.voxels[k]
        .iter()
        .filter(|&&i| is_matched(lab.pred_labels[i]))
        .count();
    let dice = 2.0 * inter as f64 / (lesion_size + pred_size) as f64;

    let mut bb = lab.gt_cc.bboxes[k];
    for &m in matched {
        bb = bb.union(&lab.pred_cc.bboxes[m as usize - 1]);
    }
    let g = local_mask(&bb, lab.dims, |i| lab.gt_labels[i] == label);
    let p = local_mask(&bb, lab.dims, |i| is_matched(lab.pred_labels[i]));
    let sd = mask_surface_distances(&p, &g, spacing);
    // Both masks are non-empty here, so the distance is finite; the fallback is defensive.
    let hd95 = sd
        .percentile_distance(opts.percentile, opts.convention)
        .filter(|d| d.is_finite())
        .unwrap_or(opts.empty_penalty_mm);
    (dice, hd95)
}

/// A mask over `bb` whose voxel is set where `pred(global index)` holds.
fn local_mask(bb: &BBox, dims: [usize; 3], pred: impl Fn(usize) -> bool) -> Mask {
    let d = bb.dims();
    let mut data = Vec::with_capacity(d[0] * d[1] * d[2]);
    for z in bb.lo[0]..bb.hi[0] {
        for y in bb.lo[1]..bb.hi[1] {
            for x in bb.lo[2]..bb.hi[2] {
                data.push(pred(flat(dims, z, y, x)));
            }
        }
    }
    Mask {
        dims: d,
        data,
        planar: false,
    }
}

/// Counts, BraTS aggregation and size bins.
fn summarise(
    gt: Vec<GtLesion>,
    pred: Vec<PredLesion>,
    options: LesionOptions,
    penalty_mm: f64,
) -> LesionMetrics {
    let counted: Vec<&GtLesion> = gt.iter().filter(|l| l.counted).collect();
    let tp = counted.iter().filter(|l| l.detected).count();
    let fp = pred.iter().filter(|p| p.false_positive).count();
    let denom = counted.len() + fp;
    let (lw_dice, lw_hd95) = if denom == 0 {
        (1.0, 0.0)
    } else {
        let dice_sum: f64 = counted.iter().map(|l| l.dice).sum();
        let hd_sum: f64 = counted.iter().map(|l| l.hd95_mm).sum::<f64>() + fp as f64 * penalty_mm;
        (dice_sum / denom as f64, hd_sum / denom as f64)
    };
    let by_size = SizeBin::ALL
        .iter()
        .map(|&bin| {
            let in_bin: Vec<&&GtLesion> = counted.iter().filter(|l| l.size_bin == bin).collect();
            let detected = in_bin.iter().filter(|l| l.detected).count();
            let n = in_bin.len();
            SizeBinStats {
                bin,
                gt_lesions: n,
                detected,
                sensitivity: (n > 0).then(|| detected as f64 / n as f64),
                false_positives: pred
                    .iter()
                    .filter(|p| p.false_positive && p.size_bin == bin)
                    .count(),
                mean_dice: (n > 0).then(|| in_bin.iter().map(|l| l.dice).sum::<f64>() / n as f64),
            }
        })
        .collect();
    LesionMetrics {
        gt_lesions: counted.len(),
        ignored_gt_lesions: gt.len() - counted.len(),
        pred_lesions: pred.len(),
        true_positives: tp,
        false_negatives: counted.len() - tp,
        false_positives: fp,
        sensitivity: (!counted.is_empty()).then(|| tp as f64 / counted.len() as f64),
        lesion_wise_dice: lw_dice,
        lesion_wise_hd95_mm: lw_hd95,
        by_size,
        gt,
        pred,
        options,
        penalty_mm,
    }
}
