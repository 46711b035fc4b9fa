//! Voxel-overlap metrics: Dice, Jaccard, precision, recall and volume difference.
//!
//! These are plain ratios of voxel counts. Where a ratio is 0/0 the function returns
//! `None` instead of guessing; the segmentation report then applies the crate's explicit
//! empty-mask policy (see the crate-level "Conventions").

use serde::{Deserialize, Serialize};

/// Voxel counts of a prediction against a ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OverlapCounts {
    /// Voxels in both masks.
    pub tp: usize,
    /// Voxels predicted but not in the ground truth.
    pub fp: usize,
    /// Ground-truth voxels that were not predicted.
    #[serde(rename = "fn")]
    pub fn_: usize,
}

impl OverlapCounts {
    /// Counts over two equally long voxel sequences (same order).
    pub fn from_iters(
        pred: impl IntoIterator<Item = bool>,
        gt: impl IntoIterator<Item = bool>,
    ) -> Self {
        let mut c = OverlapCounts::default();
        for (p, g) in pred.into_iter().zip(gt) {
            match (p, g) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, true) => c.fn_ += 1,
                (false, false) => {}
            }
        }
        c
    }

    /// Number of predicted voxels.
    pub fn pred_size(&self) -> usize {
        self.tp + self.fp
    }

    /// Number of ground-truth voxels.
    pub fn gt_size(&self) -> usize {
        self.tp + self.fn_
    }

    /// `2|P∩G| / (|P|+|G|)`; `None` when both masks are empty.
    pub fn dice(&self) -> Option<f64> {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }

    /// `|P∩G| / |P∪G|`; `None` when both masks are empty.
    pub fn jaccard(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp + self.fn_)
    }

    /// Voxel precision `TP / (TP+FP)`; `None` when nothing is predicted.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }

    /// Voxel recall (sensitivity) `TP / (TP+FN)`; `None` when the ground truth is empty.
    pub fn recall(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// Signed volume difference `(|P| - |G|) * voxel_volume`, in the unit of `voxel_volume`.
    pub fn volume_difference(&self, voxel_volume: f64) -> f64 {
        (self.pred_size() as f64 - self.gt_size() as f64) * voxel_volume
    }
}

/// `num / den`, or `None` for 0/0.
fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_ratios() {
        let c = OverlapCounts::from_iters(
            [true, true, false, true, false],
            [true, false, true, true, false],
        );
        assert_eq!(
            c,
            OverlapCounts {
                tp: 2,
                fp: 1,
                fn_: 1
            }
        );
        assert_eq!(c.dice(), Some(4.0 / 6.0));
        assert_eq!(c.jaccard(), Some(0.5));
        assert_eq!(c.precision(), Some(2.0 / 3.0));
        assert_eq!(c.recall(), Some(2.0 / 3.0));
        assert_eq!(c.volume_difference(2.0), 0.0);
    }

    #[test]
    fn undefined_ratios_are_none() {
        let c = OverlapCounts::default();
        assert_eq!(c.dice(), None);
        assert_eq!(c.precision(), None);
        assert_eq!(c.recall(), None);
        let only_gt = OverlapCounts {
            tp: 0,
            fp: 0,
            fn_: 3,
        };
        assert_eq!(only_gt.precision(), None);
        assert_eq!(only_gt.recall(), Some(0.0));
        assert_eq!(only_gt.dice(), Some(0.0));
    }
}
