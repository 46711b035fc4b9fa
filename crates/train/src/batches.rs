//! A prepared split as tensors, batched by index.

use mtsa_data::{SliceRecord, SplitData};
use tch::{Kind, Tensor};

/// Label used for slices without an EGFR status; cross-entropy ignores it.
pub const NO_LABEL: i64 = -100;

pub struct SplitTensors {
    /// N x 1 x S x S, intensities in [0, 1].
    pub images: Tensor,
    /// N x 1 x S x S, 0/1 as float.
    pub masks: Tensor,
    /// N, 1 = EGFR mutant, [`NO_LABEL`] when unknown.
    pub labels: Tensor,
    pub records: Vec<SliceRecord>,
}

impl SplitTensors {
    pub fn from_split(split: &SplitData) -> Self {
        let n = split.slices.len() as i64;
        let s = split.size as i64;
        let images = Tensor::from_slice(&split.images).view([n, 1, s, s]);
        let masks = Tensor::from_slice(&split.masks)
            .view([n, 1, s, s])
            .to_kind(Kind::Float);
        let labels: Vec<i64> = split
            .slices
            .iter()
            .map(|r| r.egfr.map_or(NO_LABEL, i64::from))
            .collect();
        Self {
            images,
            masks,
            labels: Tensor::from_slice(&labels),
            records: split.slices.clone(),
        }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// (images, masks, labels) of the given slice indices.
    pub fn batch(&self, idx: &[i64]) -> (Tensor, Tensor, Tensor) {
        let i = Tensor::from_slice(idx);
        (
            self.images.index_select(0, &i),
            self.masks.index_select(0, &i),
            self.labels.index_select(0, &i),
        )
    }

    pub fn has_labels(&self) -> bool {
        self.records.iter().any(|r| r.egfr.is_some())
    }
}
