//! A prepared split as tensors, batched by index.

use mtsa_data::{SliceRecord, SplitData};
use tch::{Kind, Tensor};

pub use mtsa_model::NO_LABEL;

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
        // A lesion-free slice shows nothing of the phenotype the EGFR label is written in.
        let labels: Vec<i64> = split
            .slices
            .iter()
            .map(|r| match r.gtv_area_px {
                0 => NO_LABEL,
                _ => r.egfr.map_or(NO_LABEL, i64::from),
            })
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

    /// Keeps the EGFR label only on the slices that would vote for their patient (the top half
    /// by true GTV area, spec §5) and drops it elsewhere. Why [ours]: a cap slice of a large
    /// lesion looks like a small lesion, the mutant-leaning phenotype, whatever the patient's
    /// status; the patient call never asks the classifier about such slices, so training it on
    /// them only teaches contradictions. Segmentation still trains on every slice.
    pub fn label_only_voting_slices(&mut self) {
        let mut labels = vec![NO_LABEL; self.records.len()];
        for mut idx in crate::slices_by_patient(&self.records).into_values() {
            idx.retain(|&i| self.records[i].gtv_area_px > 0);
            let areas: Vec<usize> = idx.iter().map(|&i| self.records[i].gtv_area_px).collect();
            for k in crate::voting_slices(&areas) {
                let i = idx[k];
                labels[i] = self.records[i].egfr.map_or(NO_LABEL, i64::from);
            }
        }
        self.labels = Tensor::from_slice(&labels);
    }

    pub fn has_labels(&self) -> bool {
        self.records.iter().any(|r| r.egfr.is_some())
    }
}
