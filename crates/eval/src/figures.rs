//! The report's slice figures. Scoring only picks them ([`SliceFigure`]: a slice, its truth
//! and the prediction); rendering to PNG happens here, when the report is written.

use crate::overlay::{render_overlay, Outline};
use crate::EvalError;
use ndarray::{Array2, ArrayView2};

/// A rendered figure: PNG bytes and the caption under it.
pub struct Overlay {
    pub caption: String,
    pub png: Vec<u8>,
}

/// One slice to draw with the truth (green) and the prediction (red) outlined.
#[derive(Debug, Clone)]
pub struct SliceFigure {
    pub caption: String,
    pub image: Array2<f32>,
    pub truth: Array2<bool>,
    pub prediction: Array2<bool>,
}

impl SliceFigure {
    /// Slice `k` of a prepared split with `prediction`, captioned with the patient's 3-D Dice.
    pub(crate) fn of_split(
        split: &mtsa_data::SplitData,
        k: usize,
        prediction: ArrayView2<bool>,
        dice: f64,
    ) -> Result<Self, EvalError> {
        let s = split.size;
        let image = ArrayView2::from_shape((s, s), split.image(k))
            .map_err(|e| EvalError::Usage(e.to_string()))?
            .to_owned();
        let truth = ArrayView2::from_shape((s, s), split.mask(k))
            .map_err(|e| EvalError::Usage(e.to_string()))?
            .map(|v| *v > 0);
        let rec = &split.slices[k];
        Ok(Self {
            caption: format!(
                "{}, slice {}: Dice {dice:.3} (green truth, red prediction)",
                rec.patient_id, rec.slice_index
            ),
            image,
            truth,
            prediction: prediction.to_owned(),
        })
    }

    /// The figure as PNG, magnified to about 384 px.
    pub fn render(&self) -> Result<Overlay, EvalError> {
        let side = self.image.nrows().max(1);
        let png = render_overlay(
            self.image.view(),
            &[
                Outline {
                    mask: self.truth.view(),
                    color: [0, 220, 0],
                },
                Outline {
                    mask: self.prediction.view(),
                    color: [255, 40, 40],
                },
            ],
            (384 / side).max(1) as u32,
        )?;
        Ok(Overlay {
            caption: self.caption.clone(),
            png,
        })
    }
}
