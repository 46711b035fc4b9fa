//! Metrics for MTSA-Net: segmentation overlap and surface distances, BraTS-METS
//! lesion-wise scores, and binary-classification statistics with confidence intervals.
//!
//! The crate depends only on `ndarray`, `serde`, `thiserror` and the `rand` family, so it
//! builds and tests in seconds and can be used by any evaluation front end.
//!
//! # Conventions
//!
//! Reports print these numbers, so every convention is fixed here and echoed in the reports.
//!
//! **Geometry.** Masks are `bool` arrays; spacing is in millimetres per array axis
//! (`[axis0, axis1, axis2]` for volumes, `[row, column]` for slices). The boundary of a mask
//! is the mask minus its erosion by the face-connected cross (6-neighbourhood in 3-D,
//! 4-neighbourhood in 2-D); voxels beyond the array edge are background. Distances are
//! exact Euclidean distances with spacing, from each boundary voxel of one mask to the
//! nearest boundary voxel of the other (Felzenszwalb-Huttenlocher transform).
//!
//! **HD95.** By default the larger of the two directed 95th percentiles, each computed with
//! linear interpolation between order statistics (`numpy.percentile`), as MONAI's
//! `HausdorffDistanceMetric(percentile=95)`; [`Hd95Convention::Pooled`] gives medpy's
//! percentile of both directions pooled. HD is the larger directed maximum. ASSD is the
//! mean over the boundary voxels of both masks of their distance to the other boundary.
//!
//! **Empty masks** (recorded in every [`SegMetrics`] as `empty_policy`):
//! * both empty → Dice 1, Jaccard 1, HD = HD95 = ASSD = 0 (`both_empty`);
//! * exactly one empty → Dice 0, Jaccard 0, HD = HD95 = ASSD = the penalty, default
//!   374 mm as in BraTS-METS (`pred_empty` / `gt_empty`). The case is always reported,
//!   never dropped, so that averages over patients or slices include it.
//!
//! **Undefined ratios are `None`** (JSON `null`), never NaN and never silently 0 or 1:
//! voxel precision with an empty prediction, voxel recall with an empty ground truth,
//! classification precision with no predicted positive, recall without positives,
//! specificity without negatives, F1 with neither, AUC with a single class, lesion
//! sensitivity without (counted) ground-truth lesions. Averaging code must decide
//! explicitly how to treat them.
//!
//! **Classification.** A case is predicted positive when `score > threshold` (the spec's
//! "mean exceeds 0.5"); ROC points use `score >= t` over each distinct score. AUC counts
//! ties as ½ (Mann-Whitney). DeLong intervals, Wald and Wilson intervals are clipped to
//! [0, 1]. Bootstrap intervals resample cases (patients) with a `ChaCha8Rng` seeded from
//! [`BootstrapOptions::seed`] (2000 replicates by default) and take percentile bounds;
//! resamples on which a statistic is undefined are skipped. Brier score and the 10-bin
//! reliability table require probabilities in [0, 1]; bins are `[k/10, (k+1)/10)` with 1.0
//! in the last bin.
//!
//! **Paired comparisons** of two systems on the same patients ([`paired_bootstrap`],
//! [`delong_paired`], [`mcnemar`]) give two-sided p-values: a patient-resampling bootstrap
//! (same ChaCha8 convention) for any per-patient metric, refusing NaN/infinite values
//! rather than dropping patients; DeLong's test for correlated AUCs; McNemar's exact
//! binomial test for accuracies, with the continuity-corrected chi-square beside it.
//!
//! **Lesions.** See [`lesions`]: 26-connected components, ground-truth lesions dilated by
//! one voxel (18-connected structuring element) to match predictions, lesions ≤ 2 mm³
//! ignored, unmatched predictions penalised as Dice 0 / HD95 = penalty; size bins by
//! equivalent-sphere diameter < 3, 3-6, 6-10, 10-20, ≥ 20 mm (half-open). Whole-scan
//! detection over a grid of (threshold, minimum volume) post-processings, with best-F1
//! selection and FROC curves: [`DetectionGrid`].
//!
//! # Example
//!
//! ```
//! use mtsa_metrics::{segmentation_metrics_3d, EmptyCase, SurfaceOptions};
//! use ndarray::Array3;
//!
//! let mut gt = Array3::from_elem((8, 8, 8), false);
//! let mut pred = gt.clone();
//! gt.slice_mut(ndarray::s![2..5, 2..5, 2..5]).fill(true);
//! pred.slice_mut(ndarray::s![2..5, 2..5, 3..6]).fill(true);
//! let m = segmentation_metrics_3d(pred.view(), gt.view(), [1.0, 1.0, 2.0], &SurfaceOptions::default())?;
//! assert_eq!(m.empty_policy.case, EmptyCase::NeitherEmpty);
//! assert!((m.dice - 2.0 / 3.0).abs() < 1e-12);
//! assert_eq!(m.hd_mm, 2.0); // one voxel along the 2 mm axis
//! assert_eq!(m.lesions.as_ref().map(|l| l.true_positives), Some(1));
//! # Ok::<(), mtsa_metrics::MetricsError>(())
//! ```

mod calibration;
mod classification;
mod components;
mod detection;
mod edt;
mod error;
mod grid;
mod intervals;
pub mod lesions;
mod matching;
mod overlap;
mod paired;
mod roc;
mod segmentation;
mod surface;

pub use calibration::{
    brier_score, reliability_table, ReliabilityBin, ReliabilityTable, DEFAULT_RELIABILITY_BINS,
};
pub use classification::{
    binary_classification, binary_classification_with, ClassificationOptions, ClassificationReport,
    ConfusionMatrix, Proportion,
};
pub use components::{connected_components_3d, keep_lesions};
pub use detection::{DetectionCounts, DetectionGrid, GridPoint, OperatingPoint};
pub use edt::distance_map_mm;
pub use error::{MetricsError, Result};
pub use intervals::{
    bootstrap_ci, normal_cdf, normal_quantile, wald_ci, wilson_ci, z_for_level, BootstrapCi,
    BootstrapOptions, Interval,
};
pub use lesions::{
    equivalent_diameter_mm, lesion_metrics, lesion_metrics_with, GtLesion, LesionMetrics,
    LesionOptions, PredLesion, SizeBin, SizeBinStats,
};
pub use overlap::OverlapCounts;
pub use paired::{
    delong_paired, mcnemar, paired_bootstrap, McNemar, PairedBootstrap, PairedDelong,
};
pub use roc::{auc, delong, delong_ci, roc_curve, DelongAuc, RocPoint};
pub use segmentation::{
    segmentation_metrics_2d, segmentation_metrics_3d, segmentation_metrics_3d_with, EmptyCase,
    EmptyPolicy, SegMetrics,
};
pub use surface::{
    percentile_linear, surface_distances_2d, surface_distances_3d, Hd95Convention,
    SurfaceDistances, SurfaceOptions, DEFAULT_EMPTY_PENALTY_MM,
};
