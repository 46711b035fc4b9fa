//! The validation pass after each epoch: the loss the training optimises, the mean slice Dice
//! and the patients' EGFR accuracy, on the validation split's GTV slices.

use crate::TrainError;
use crate::{patient_egfr_call, predict_slices, slices_by_patient, SplitTensors, TrainConfig};
use mtsa_model::{JointLoss, LossMode, Network};
use tch::{Device, Kind};

pub(crate) struct Validation {
    pub(crate) loss: f64,
    pub(crate) gtv: f64,
    pub(crate) egfr: f64,
    pub(crate) dice: f64,
    pub(crate) egfr_acc: Option<f64>,
}

pub(crate) fn validate(
    net: &Network,
    loss: &JointLoss,
    data: &SplitTensors,
    cfg: &TrainConfig,
    device: Device,
) -> Result<Validation, TrainError> {
    let pred = predict_slices(net, &data.images, cfg.batch.max(8), device)?;
    let _guard = tch::no_grad_guard();
    let parts = loss.compute(
        &pred.gtv_logits,
        &pred.egfr_logits,
        &data.masks,
        &data.labels,
    );
    let gtv = parts.gtv.double_value(&[]);
    let has_labels = data.has_labels();
    let egfr = if has_labels {
        parts.egfr.double_value(&[])
    } else {
        0.0
    };
    let loss_value = match cfg.loss.mode {
        LossMode::SegOnly => gtv,
        LossMode::ClsOnly => egfr,
        LossMode::Uncertainty | LossMode::Equal => gtv + egfr,
    };
    let p_mutant = pred.p_mutant()?;
    let hard = pred.prob().ge(0.5).to_kind(Kind::Float);
    let truth = data.masks.squeeze_dim(1);
    let inter = (&hard * &truth).sum_dim_intlist(&[1i64, 2][..], false, Kind::Float);
    let total = hard.sum_dim_intlist(&[1i64, 2][..], false, Kind::Float)
        + truth.sum_dim_intlist(&[1i64, 2][..], false, Kind::Float);
    // Both empty counts as a perfect slice, as in the metrics crate's empty-mask policy.
    let dice = (inter * 2.0 + 1e-6) / (total + 1e-6);
    // A classifier has no mask of its own: its patient call votes by the GTV slices' true
    // areas, the slices a radiologist would hand it.
    let voting = if net.tasks().trained_with(cfg.loss.mode).segments() {
        &hard
    } else {
        &truth
    };
    let areas: Vec<usize> =
        Vec::<f32>::try_from(&voting.sum_dim_intlist(&[1i64, 2][..], false, Kind::Float))?
            .into_iter()
            .map(|a| a as usize)
            .collect();
    let egfr_acc = has_labels.then(|| patient_accuracy(&data.records, &areas, &p_mutant));
    Ok(Validation {
        loss: loss_value,
        gtv,
        egfr,
        dice: dice.mean(Kind::Float).double_value(&[]),
        egfr_acc,
    })
}

fn patient_accuracy(records: &[mtsa_data::SliceRecord], areas: &[usize], p: &[f64]) -> f64 {
    let (mut right, mut n) = (0, 0);
    for ks in slices_by_patient(records).values() {
        let a: Vec<usize> = ks.iter().map(|&k| areas[k]).collect();
        let pm: Vec<f64> = ks.iter().map(|&k| p[k]).collect();
        if let (Some(label), Some(call)) = (records[ks[0]].egfr, patient_egfr_call(&a, &pm)) {
            n += 1;
            right += usize::from(call.egfr().class() == label);
        }
    }
    if n == 0 {
        0.0
    } else {
        right as f64 / n as f64
    }
}
