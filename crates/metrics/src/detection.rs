//! Whole-scan lesion detection over a grid of operating points, accumulated patient by
//! patient so that an evaluation never holds more than one probability volume.
//!
//! An operating point is a probability threshold and a minimum lesion volume: the
//! predicted mask is `prob > threshold`, then 26-connected components with volume
//! `< min_volume_mm3` are dropped ([`crate::keep_lesions`] with one cut). Detection then follows
//! BraTS-METS exactly as [`crate::lesions`] does (shared code in `matching.rs`):
//! ground-truth lesions are merged after the 18-connected dilation, a lesion is detected
//! when a surviving component overlaps it dilated, false positives are surviving
//! components matching no ground-truth lesion, and lesions ≤ `LesionOptions::min_volume_mm3`
//! are ignored (components matched only to them are not false positives either).
//!
//! A grid made [`DetectionGrid::with_segment_threshold`] cuts the map once, at that lower
//! level, and lets each threshold keep the components whose peak probability exceeds it
//! ([`crate::keep_lesions`]): the threshold then decides which blobs are lesions and no
//! longer how far each reaches.
//!
//! **Scores.** With TP = detected counted lesions, FN = missed counted lesions and FP =
//! false-positive components: sensitivity = TP / (TP + FN) (`None` without lesions),
//! precision = TP / (TP + FP) (`None` when both are 0), lesion-wise F1 = 2 TP / (2 TP + FP +
//! FN), the harmonic mean of the two, and 1 when there is neither a lesion nor a false
//! positive (nothing to find, nothing wrongly found). FP per patient = FP / patients.
//! Counts are summed over patients before the ratios are taken (micro-averaging), so a
//! patient with many lesions weighs more, as in FROC analysis. The patient Dice, by contrast,
//! is averaged over patients (`DetectionCounts::dice_sum` / patients): each patient's voxel
//! Dice of the mask the point keeps against the whole GTV, 1 when both are empty. It is what a
//! point does to the per-patient figure a planner sees, where one small lesion found in a
//! patient with nothing else turns a 0 into a full score and a false lesion beside a large
//! GTV costs little.
//!
//! **Cost.** Components are labelled once per threshold (once in all with a segment
//! threshold); every minimum volume is then
//! evaluated from the component volumes alone: removing whole components changes neither
//! the other components nor the ground truth, so a lesion survives a minimum volume iff its
//! largest matched component does, and a false positive survives iff its own volume does.
//! Each patient is first cropped to the bounding box of `(prob > lowest threshold) ∪ gt`
//! grown by the dilation, which leaves every match intact.

use ndarray::{s, ArrayView3};
use serde::{Deserialize, Serialize};

use crate::components::{label_26, label_peaks, label_sizes};
use crate::error::{check_volume, MetricsError, Result};
use crate::grid::{check_same_shape, check_spacing, unflat, BBox, Mask};
use crate::lesions::{validate, LesionOptions, SizeBin};
use crate::matching::{matching_box, GtRegions};
use crate::overlap::OverlapCounts;

/// A (probability threshold, minimum lesion volume) pair: the post-processing applied to a
/// probability map before lesions are counted.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct OperatingPoint {
    /// Voxels with probability strictly above this are foreground.
    pub threshold: f32,
    /// Components with volume (mm³) below this are removed.
    pub min_volume_mm3: f64,
}

/// Lesion detection counts at every point of a grid, summed over patients.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DetectionGrid {
    /// Probability thresholds, in the caller's order.
    pub thresholds: Vec<f32>,
    /// Minimum component volumes in mm³, in the caller's order.
    pub min_volumes_mm3: Vec<f64>,
    /// Patients added.
    pub patients: usize,
    /// Indexed `[threshold][min_volume]`.
    pub counts: Vec<Vec<DetectionCounts>>,
    /// `None`: every threshold cuts the map itself. `Some(s)`: the map is cut once at `s` and
    /// each threshold keeps the components whose peak probability exceeds it
    /// ([`crate::keep_lesions`]).
    #[serde(default)]
    pub segment_threshold: Option<f32>,
}

/// Lesion detection counts at one operating point.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct DetectionCounts {
    /// Counted ground-truth lesions (volume above `LesionOptions::min_volume_mm3`).
    pub gt_lesions: usize,
    /// Of those, detected.
    pub detected: usize,
    /// Surviving predicted components matching no ground-truth lesion.
    pub false_positives: usize,
    /// Counted ground-truth lesions per size bin (index as [`SizeBin::ALL`]).
    pub gt_by_bin: [usize; 5],
    /// Detected ground-truth lesions per size bin (index as [`SizeBin::ALL`]).
    pub detected_by_bin: [usize; 5],
    /// Sum over patients of the patient's voxel Dice at this point (module documentation).
    #[serde(default)]
    pub dice_sum: f64,
}

impl DetectionCounts {
    /// Detected / counted lesions; `None` without counted lesions.
    pub fn sensitivity(&self) -> Option<f64> {
        (self.gt_lesions > 0).then(|| self.detected as f64 / self.gt_lesions as f64)
    }

    /// False positives per patient over `patients` patients (0 with no patient).
    pub fn fp_per_patient(&self, patients: usize) -> f64 {
        if patients == 0 {
            0.0
        } else {
            self.false_positives as f64 / patients as f64
        }
    }

    /// Lesion-wise F1, 2 TP / (2 TP + FP + FN); 1 with neither lesion nor false positive.
    pub fn f1(&self) -> f64 {
        let tp = self.detected as f64;
        let denom =
            2.0 * tp + self.false_positives as f64 + (self.gt_lesions - self.detected) as f64;
        if denom == 0.0 {
            1.0
        } else {
            2.0 * tp / denom
        }
    }

    fn accumulate(&mut self, o: &DetectionCounts) {
        self.gt_lesions += o.gt_lesions;
        self.detected += o.detected;
        self.false_positives += o.false_positives;
        self.dice_sum += o.dice_sum;
        for b in 0..SizeBin::ALL.len() {
            self.gt_by_bin[b] += o.gt_by_bin[b];
            self.detected_by_bin[b] += o.detected_by_bin[b];
        }
    }
}

/// One grid point with its scores (definitions in the module documentation).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct GridPoint {
    /// Probability threshold.
    pub threshold: f32,
    /// Minimum component volume, mm³.
    pub min_volume_mm3: f64,
    /// Summed counts.
    pub counts: DetectionCounts,
    /// TP / counted lesions; `None` without counted lesions.
    pub sensitivity: Option<f64>,
    /// False positives per patient (0 with no patient).
    pub fp_per_patient: f64,
    /// TP / (TP + FP); `None` when both are 0.
    pub precision: Option<f64>,
    /// 2 TP / (2 TP + FP + FN); 1 with neither lesion nor false positive.
    pub f1: f64,
    /// Patient voxel Dice averaged over patients; `None` with no patient.
    #[serde(default)]
    pub mean_patient_dice: Option<f64>,
}

impl GridPoint {
    fn new(threshold: f32, min_volume_mm3: f64, c: DetectionCounts, patients: usize) -> Self {
        let tp = c.detected as f64;
        let fp = c.false_positives as f64;
        GridPoint {
            threshold,
            min_volume_mm3,
            counts: c,
            sensitivity: c.sensitivity(),
            fp_per_patient: c.fp_per_patient(patients),
            precision: (tp + fp > 0.0).then(|| tp / (tp + fp)),
            f1: c.f1(),
            mean_patient_dice: (patients > 0).then(|| c.dice_sum / patients as f64),
        }
    }

    /// The post-processing this point stands for.
    pub fn operating_point(&self) -> OperatingPoint {
        OperatingPoint {
            threshold: self.threshold,
            min_volume_mm3: self.min_volume_mm3,
        }
    }
}

impl DetectionGrid {
    /// An empty grid (no patient yet) over `thresholds` × `min_volumes_mm3`. Values are
    /// checked when the first patient is added.
    pub fn new(thresholds: Vec<f32>, min_volumes_mm3: Vec<f64>) -> Self {
        let counts =
            vec![vec![DetectionCounts::default(); min_volumes_mm3.len()]; thresholds.len()];
        DetectionGrid {
            thresholds,
            min_volumes_mm3,
            patients: 0,
            counts,
            segment_threshold: None,
        }
    }

    /// The same grid with lesions cut at `segment` and kept by their peak probability.
    pub fn with_segment_threshold(mut self, segment: f32) -> Self {
        self.segment_threshold = Some(segment);
        self
    }

    /// Adds one patient: `prob` in [0, 1] and `gt` on the same grid, spacing (z, y, x) mm.
    ///
    /// Errors on a shape mismatch, a bad spacing or option, a probability outside [0, 1]
    /// (NaN included: a NaN would silently count as background at every threshold), a
    /// non-finite threshold or an invalid minimum volume.
    pub fn add_patient(
        &mut self,
        prob: ArrayView3<f32>,
        gt: ArrayView3<bool>,
        spacing: [f64; 3],
        opts: &LesionOptions,
    ) -> Result<()> {
        check_same_shape(prob.shape(), gt.shape())?;
        check_spacing(&spacing)?;
        validate(opts)?;
        self.check()?;
        let patient = patient_counts(
            prob,
            gt,
            spacing,
            opts,
            &self.thresholds,
            &self.min_volumes_mm3,
            self.segment_threshold,
        )?;
        for (row, prow) in self.counts.iter_mut().zip(&patient) {
            for (c, pc) in row.iter_mut().zip(prow) {
                c.accumulate(pc);
            }
        }
        self.patients += 1;
        Ok(())
    }

    /// Adds the patients of `other` (for example from another worker); both grids must
    /// have the same thresholds and minimum volumes in the same order.
    pub fn merge(&mut self, other: &DetectionGrid) -> Result<()> {
        if self.thresholds != other.thresholds
            || self.min_volumes_mm3 != other.min_volumes_mm3
            || self.segment_threshold != other.segment_threshold
        {
            return Err(MetricsError::InvalidArgument(format!(
                "cannot merge detection grids over different points: thresholds {:?} vs {:?}, \
                 min volumes {:?} vs {:?}, segment thresholds {:?} vs {:?}",
                self.thresholds,
                other.thresholds,
                self.min_volumes_mm3,
                other.min_volumes_mm3,
                self.segment_threshold,
                other.segment_threshold
            )));
        }
        self.check()?;
        other.check()?;
        for (row, orow) in self.counts.iter_mut().zip(&other.counts) {
            for (c, oc) in row.iter_mut().zip(orow) {
                c.accumulate(oc);
            }
        }
        self.patients += other.patients;
        Ok(())
    }

    /// Every grid point with its scores, threshold-major (`[threshold][min_volume]` order).
    pub fn points(&self) -> Vec<GridPoint> {
        self.thresholds
            .iter()
            .zip(&self.counts)
            .flat_map(|(&t, row)| {
                self.min_volumes_mm3
                    .iter()
                    .zip(row)
                    .map(move |(&v, &c)| GridPoint::new(t, v, c, self.patients))
            })
            .collect()
    }

    /// The point maximising lesion-wise F1 (ties: higher sensitivity, then lower threshold,
    /// then smaller minimum volume, i.e. the more permissive post-processing); this is what
    /// `train`/`evaluate` store. `None` for an empty grid or before any patient was added.
    pub fn best_f1(&self) -> Option<GridPoint> {
        if self.patients == 0 {
            return None;
        }
        let sens = |p: &GridPoint| p.sensitivity.unwrap_or(-1.0);
        self.points().into_iter().max_by(|a, b| {
            a.f1.total_cmp(&b.f1)
                .then(sens(a).total_cmp(&sens(b)))
                .then(b.threshold.total_cmp(&a.threshold))
                .then(b.min_volume_mm3.total_cmp(&a.min_volume_mm3))
        })
    }

    /// FROC curve at the grid's minimum volume nearest to `min_volume_mm3` (ties: the
    /// smaller): one point per threshold, sorted by FP per patient ascending, then by
    /// threshold descending. Empty when the grid has no minimum volume.
    pub fn froc(&self, min_volume_mm3: f64) -> Vec<GridPoint> {
        let nearest = self
            .min_volumes_mm3
            .iter()
            .enumerate()
            .min_by(|(_, a), (_, b)| {
                (*a - min_volume_mm3)
                    .abs()
                    .total_cmp(&(*b - min_volume_mm3).abs())
                    .then(a.total_cmp(b))
            })
            .map(|(j, _)| j);
        let Some(j) = nearest else {
            return Vec::new();
        };
        let mut out: Vec<GridPoint> = self
            .thresholds
            .iter()
            .zip(&self.counts)
            .map(|(&t, row)| GridPoint::new(t, self.min_volumes_mm3[j], row[j], self.patients))
            .collect();
        out.sort_by(|a, b| {
            a.fp_per_patient
                .total_cmp(&b.fp_per_patient)
                .then(b.threshold.total_cmp(&a.threshold))
        });
        out
    }

    /// Rejects grids whose points or count table cannot be evaluated.
    fn check(&self) -> Result<()> {
        let mut cuts = self.thresholds.iter().chain(&self.segment_threshold);
        if let Some(t) = cuts.find(|t| !t.is_finite()) {
            return Err(MetricsError::InvalidArgument(format!(
                "thresholds must be finite, got {t}"
            )));
        }
        for &v in &self.min_volumes_mm3 {
            check_volume("min_volumes_mm3", v)?;
        }
        let shape_ok = self.counts.len() == self.thresholds.len()
            && self
                .counts
                .iter()
                .all(|r| r.len() == self.min_volumes_mm3.len());
        if shape_ok {
            Ok(())
        } else {
            Err(MetricsError::InvalidArgument(
                "detection grid counts do not match thresholds x min volumes".into(),
            ))
        }
    }
}

/// Counts of one patient at every grid point, `[threshold][min_volume]`.
fn patient_counts(
    prob: ArrayView3<f32>,
    gt: ArrayView3<bool>,
    spacing: [f64; 3],
    opts: &LesionOptions,
    thresholds: &[f32],
    min_volumes: &[f64],
    segment: Option<f32>,
) -> Result<Vec<Vec<DetectionCounts>>> {
    // Nothing predicted and no lesion: every point scores a Dice of 1.
    let empty = DetectionCounts {
        dice_sum: 1.0,
        ..DetectionCounts::default()
    };
    let zero = vec![vec![empty; min_volumes.len()]; thresholds.len()];
    let lowest =
        segment.unwrap_or_else(|| thresholds.iter().copied().fold(f32::INFINITY, f32::min));
    let (a, b, c) = prob.dim();
    let dims = [a, b, c];
    // One sweep checks the probabilities and finds the voxels any threshold can use.
    let mut used: Option<BBox> = None;
    for (i, (&p, &g)) in prob.iter().zip(gt.iter()).enumerate() {
        if !(0.0..=1.0).contains(&p) {
            return Err(MetricsError::NotAProbability {
                index: i,
                value: f64::from(p),
            });
        }
        if g || p > lowest {
            let q = unflat(dims, i);
            match used.as_mut() {
                Some(bb) => bb.include(q),
                None => used = Some(BBox::point(q)),
            }
        }
    }
    let Some(bb) = matching_box(used, None, opts.dilation_voxels, dims) else {
        return Ok(zero);
    };
    let window = s![bb.lo[0]..bb.hi[0], bb.lo[1]..bb.hi[1], bb.lo[2]..bb.hi[2]];
    let probs: Vec<f32> = prob.slice(window).iter().copied().collect();
    let gt = Mask::from_view3(gt.slice(window));
    let regions = GtRegions::new(&gt, opts.dilation_voxels);
    let voxel_mm3: f64 = spacing.iter().product();
    // Size-bin index of every counted lesion; `None` for ignored ones.
    let gt_bins: Vec<Option<usize>> = regions
        .voxel_counts()
        .iter()
        .map(|&n| {
            let v = n as f64 * voxel_mm3;
            (v > opts.min_volume_mm3).then(|| SizeBin::of_volume(v).index())
        })
        .collect();
    let mut pred = Mask {
        dims: gt.dims,
        data: vec![false; probs.len()],
        planar: false,
    };
    let mut cut = |t: f32| {
        for (d, &p) in pred.data.iter_mut().zip(&probs) {
            *d = p > t;
        }
        Components::of(&pred, &gt, &probs, &regions, voxel_mm3)
    };
    let gt_voxels = gt.data.iter().filter(|&&g| g).count();
    let counts_at = |comps: &Components, t: f32| -> Vec<DetectionCounts> {
        let (largest, fp_volumes) = comps.surviving(t);
        min_volumes
            .iter()
            .map(|&mv| DetectionCounts {
                dice_sum: comps.dice(t, mv, gt_voxels),
                ..point_counts(&gt_bins, &largest, &fp_volumes, mv)
            })
            .collect()
    };
    Ok(match segment {
        // Components are labelled once; each threshold only filters them by their peak.
        Some(s) => {
            let comps = cut(s);
            thresholds.iter().map(|&t| counts_at(&comps, t)).collect()
        }
        None => thresholds.iter().map(|&t| counts_at(&cut(t), t)).collect(),
    })
}

/// The predicted components of one cut with what detection and the patient Dice need of them.
struct Components {
    volumes: Vec<f64>,
    peaks: Vec<f32>,
    /// Voxels of each component inside the ground truth (undilated).
    overlaps: Vec<usize>,
    voxels: Vec<usize>,
    /// Per ground-truth lesion, the labels of the components overlapping it dilated.
    matches: Vec<Vec<u32>>,
}

impl Components {
    fn of(pred: &Mask, gt: &Mask, probs: &[f32], regions: &GtRegions, voxel_mm3: f64) -> Self {
        let (labels, n) = label_26(pred);
        let voxels = label_sizes(&labels, n);
        let mut overlaps = vec![0usize; n];
        for (&l, &g) in labels.iter().zip(&gt.data) {
            if l != 0 && g {
                overlaps[l as usize - 1] += 1;
            }
        }
        Components {
            volumes: voxels.iter().map(|&k| k as f64 * voxel_mm3).collect(),
            peaks: label_peaks(&labels, n, probs),
            overlaps,
            voxels,
            matches: regions.matches(&labels),
        }
    }

    /// The patient's voxel Dice of the components whose peak exceeds `t` and whose volume
    /// reaches `min_volume` (the mask [`crate::keep_lesions`] keeps) against `gt_voxels`.
    fn dice(&self, t: f32, min_volume: f64, gt_voxels: usize) -> f64 {
        let (mut kept, mut overlap) = (0usize, 0usize);
        for c in 0..self.voxels.len() {
            if self.peaks[c] > t && self.volumes[c] >= min_volume {
                kept += self.voxels[c];
                overlap += self.overlaps[c];
            }
        }
        OverlapCounts {
            tp: overlap,
            fp: kept - overlap,
            fn_: gt_voxels - overlap,
        }
        .dice()
        .unwrap_or(1.0)
    }

    /// Of the components whose peak exceeds `t`: per lesion the volume of its largest matched
    /// component (a lesion stays detected up to that minimum volume), and the volumes of the
    /// components matching no lesion.
    fn surviving(&self, t: f32) -> (Vec<Option<f64>>, Vec<f64>) {
        let alive = |c: u32| self.peaks[c as usize - 1] > t;
        let mut matched = vec![false; self.volumes.len()];
        let largest = self
            .matches
            .iter()
            .map(|m| {
                m.iter()
                    .map(|&c| {
                        matched[c as usize - 1] = true;
                        c
                    })
                    .filter(|&c| alive(c))
                    .map(|c| self.volumes[c as usize - 1])
                    .reduce(f64::max)
            })
            .collect();
        let fp_volumes = (1..=self.volumes.len() as u32)
            .filter(|&c| !matched[c as usize - 1] && alive(c))
            .map(|c| self.volumes[c as usize - 1])
            .collect();
        (largest, fp_volumes)
    }
}

/// Counts at one minimum volume from per-lesion bins, per-lesion largest matched component
/// volume and the volumes of unmatched components.
fn point_counts(
    gt_bins: &[Option<usize>],
    largest: &[Option<f64>],
    fp_volumes: &[f64],
    min_volume: f64,
) -> DetectionCounts {
    let mut c = DetectionCounts::default();
    for (bin, best) in gt_bins.iter().zip(largest) {
        let Some(bin) = *bin else { continue };
        c.gt_lesions += 1;
        c.gt_by_bin[bin] += 1;
        if best.is_some_and(|v| v >= min_volume) {
            c.detected += 1;
            c.detected_by_bin[bin] += 1;
        }
    }
    c.false_positives = fp_volumes.iter().filter(|&&v| v >= min_volume).count();
    c
}
