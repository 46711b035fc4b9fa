//! The paper's patient-level EGFR call (spec §5): the slices with the largest predicted GTV carry
//! the most tumour evidence, so only the top half by area votes.

use std::collections::BTreeMap;

/// Slice indices of each patient, in record order, patients sorted by id: the unit the EGFR call
/// and the per-patient metrics work on.
pub fn slices_by_patient(records: &[mtsa_data::SliceRecord]) -> BTreeMap<&str, Vec<usize>> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (k, r) in records.iter().enumerate() {
        groups.entry(&r.patient_id).or_default().push(k);
    }
    groups
}

/// The slices that voted and the mean of their mutant probabilities.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PatientCall {
    pub probability: f64,
    /// Indices into the input, largest predicted area first.
    pub used: Vec<usize>,
}

impl PatientCall {
    /// Mutant when the mean probability exceeds 0.5 [paper].
    pub fn egfr(&self) -> mtsa_data::Egfr {
        mtsa_data::Egfr::call(self.probability)
    }
}

/// `areas[i]`: predicted GTV pixels (p > 0.5) of slice i; `p_mutant[i]` its EGFR-mutant
/// probability. Top 50% by area, rounded up, at least one; ties keep slice order.
pub fn patient_egfr_call(areas: &[usize], p_mutant: &[f64]) -> Option<PatientCall> {
    if areas.is_empty() || areas.len() != p_mutant.len() {
        return None;
    }
    let order = voting_slices(areas);
    let probability = order.iter().map(|&i| p_mutant[i]).sum::<f64>() / order.len() as f64;
    Some(PatientCall {
        probability,
        used: order,
    })
}

/// Indices of the slices that vote: the top half by area, rounded up, at least one (none for
/// no slices), largest first; ties keep slice order.
pub fn voting_slices(areas: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..areas.len()).collect();
    order.sort_by(|&a, &b| areas[b].cmp(&areas[a]));
    order.truncate(areas.len().div_ceil(2));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_half_by_area_rounded_up() {
        let call = patient_egfr_call(&[10, 50, 0, 30, 20], &[0.1, 0.9, 0.0, 0.7, 0.2]).unwrap();
        assert_eq!(call.used, vec![1, 3, 4]);
        assert!((call.probability - 0.6).abs() < 1e-12);
        assert!(call.egfr().is_mutant());
    }

    #[test]
    fn single_slice_votes_alone_and_empty_gives_none() {
        assert_eq!(patient_egfr_call(&[0], &[0.3]).unwrap().used, vec![0]);
        assert!(patient_egfr_call(&[], &[]).is_none());
    }
}
