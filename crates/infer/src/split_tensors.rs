//! A prepared split as tensors, batched by index.

use crate::InferError;
use mtsa_data::{SliceRecord, SplitData};
use tch::{Kind, Tensor};

pub use mtsa_model::NO_LABEL;

pub struct SplitTensors {
    /// N x (2r + 1) x S x S, intensities in [0, 1]: each slice with its `r` neighbours per side.
    pub images: Tensor,
    /// N x 1 x S x S, 0/1 as float.
    pub masks: Tensor,
    /// N, 1 = EGFR mutant, [`NO_LABEL`] when unknown.
    pub labels: Tensor,
    pub records: Vec<SliceRecord>,
    /// N x 1 x S x S: each slice as one twice as thick shows it ([`SplitData::thick_slice`]),
    /// held only while training with thick-slice augmentation.
    pub thick: Option<Tensor>,
    /// Per slice, the 3-D lesions it shows (labels local to its patient), held only while
    /// training draws slices lesion by lesion (`TrainConfig::lesion_balanced`).
    pub lesions: Option<Vec<Vec<u32>>>,
}

impl SplitTensors {
    /// The split's slices, each with `context_slices` neighbours per side as extra channels
    /// (0: the paper's single-slice input).
    pub fn from_split(split: &SplitData, context_slices: usize) -> Result<Self, InferError> {
        let n = split.slices.len() as i64;
        let s = split.size as i64;
        let c = 2 * context_slices as i64 + 1;
        let images = if context_slices == 0 {
            Tensor::from_slice(&split.images).view([n, 1, s, s])
        } else {
            let mut pixels = Vec::with_capacity(split.len() * c as usize * (s * s) as usize);
            for i in 0..split.len() {
                let x = split.input(i, context_slices).ok_or_else(|| {
                    InferError::Mismatch(format!(
                        "the model takes {context_slices} neighbouring slice(s) per side, the \
                         dataset holds {}: prepare it with --context-slices {context_slices}",
                        split.context_slices
                    ))
                })?;
                pixels.extend(x);
            }
            Tensor::from_slice(&pixels).view([n, c, s, s])
        };
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
        Ok(Self {
            images,
            masks,
            labels: Tensor::from_slice(&labels),
            records: split.slices.clone(),
            thick: None,
            lesions: None,
        })
    }

    /// Also holds every slice of `split` (the one these tensors came from) twice as thick.
    pub fn keep_thick_slices(&mut self, split: &SplitData) -> Result<(), InferError> {
        let (n, s) = (split.len() as i64, split.size as i64);
        let mut pixels = Vec::with_capacity(split.images.len());
        for i in 0..split.len() {
            pixels.extend(split.thick_slice(i).ok_or_else(|| {
                InferError::Mismatch(
                    "thick-slice augmentation averages each slice with its neighbours, which \
                     the dataset does not hold: prepare it with --context-slices 1"
                        .into(),
                )
            })?);
        }
        self.thick = Some(Tensor::from_slice(&pixels).view([n, 1, s, s]));
        Ok(())
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
