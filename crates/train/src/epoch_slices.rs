//! Which slices an epoch trains on, and in what order: drawn from the epoch's own seed, so a
//! resumed run draws exactly what an uninterrupted one would.

use crate::lesion_draw::draw_by_lesion;
use crate::{SplitTensors, TrainConfig};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Seeds for an epoch derive from (run seed, epoch) alone, so a resumed run draws exactly what an
/// uninterrupted one would.
pub(crate) fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(epoch as u64),
    )
}

/// The slice indices epoch `epoch` trains on, in the order it trains on them.
pub(crate) fn epoch_order(data: &SplitTensors, cfg: &TrainConfig, epoch: usize) -> Vec<i64> {
    shuffled_epoch_slices(data, cfg, &mut epoch_rng(cfg.seed, epoch))
}

/// [`epoch_slices`] shuffled, drawn from the epoch's `rng`, which augmentation then continues.
pub(crate) fn shuffled_epoch_slices(
    data: &SplitTensors,
    cfg: &TrainConfig,
    rng: &mut ChaCha8Rng,
) -> Vec<i64> {
    let mut order = epoch_slices(
        &data.records,
        cfg.slices_per_patient,
        cfg.background_fraction,
        data.lesions.as_deref(),
        rng,
    );
    order.shuffle(rng);
    order
}

/// The slice indices one epoch trains on: per patient, its GTV slices (all, or up to
/// `per_patient` random ones, drawn lesion by lesion when each slice's `lesions` are given) and,
/// when `background_fraction` f > 0, random lesion-free slices making up a share f of the
/// patient's total. With f = 0 lesion-free slices are never drawn.
fn epoch_slices(
    records: &[mtsa_data::SliceRecord],
    per_patient: Option<usize>,
    background_fraction: f64,
    lesions: Option<&[Vec<u32>]>,
    rng: &mut ChaCha8Rng,
) -> Vec<i64> {
    crate::slices_by_patient(records)
        .into_values()
        .flat_map(|idx| {
            let (mut fg, mut bg): (Vec<usize>, Vec<usize>) =
                idx.into_iter().partition(|&i| records[i].gtv_area_px > 0);
            match (per_patient, lesions) {
                (Some(k), Some(lesions)) => fg = draw_by_lesion(&fg, lesions, k, rng),
                (Some(k), None) => {
                    fg.shuffle(rng);
                    fg.truncate(k);
                }
                (None, _) => {}
            }
            if background_fraction > 0.0 {
                let want = fg.len() as f64 * background_fraction / (1.0 - background_fraction);
                bg.shuffle(rng);
                bg.truncate(want.round() as usize);
                fg.extend(bg);
            }
            fg
        })
        .map(|i| i as i64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_per_patient_caps_each_patient_and_varies_by_epoch() {
        let records: Vec<mtsa_data::SliceRecord> = [("a", 5), ("b", 2), ("c", 9)]
            .iter()
            .flat_map(|&(id, n)| {
                (0..n).map(move |k| mtsa_data::SliceRecord {
                    patient_id: id.into(),
                    site: "internal".into(),
                    slice_index: k,
                    spacing_mm: [1.0, 1.0],
                    slice_thickness_mm: 2.0,
                    gtv_area_px: 10,
                    egfr: Some(1),
                })
            })
            .collect();
        let all = epoch_slices(&records, None, 0.0, None, &mut epoch_rng(0, 1));
        assert_eq!(all, (0..16).collect::<Vec<i64>>());
        let draw = |epoch| epoch_slices(&records, Some(3), 0.0, None, &mut epoch_rng(0, epoch));
        let one = draw(1);
        assert_eq!(one, draw(1), "same seed and epoch, same slices");
        assert_ne!(one, draw(2), "a new epoch draws other slices");
        let unique: std::collections::BTreeSet<i64> = one.iter().copied().collect();
        assert_eq!(unique.len(), one.len(), "no slice twice");
        let mut per_patient = std::collections::BTreeMap::<&str, usize>::new();
        for &i in &one {
            *per_patient
                .entry(&records[i as usize].patient_id)
                .or_default() += 1;
        }
        assert_eq!(per_patient.into_values().collect::<Vec<_>>(), [3, 2, 3]);
    }

    #[test]
    fn background_fraction_mixes_in_lesion_free_slices_only_when_asked() {
        // Patient "a": 4 GTV slices and 6 lesion-free ones; patient "b": 2 and 1.
        let records: Vec<mtsa_data::SliceRecord> = [("a", 4, 6), ("b", 2, 1)]
            .iter()
            .flat_map(|&(id, fg, bg)| {
                (0..fg + bg).map(move |k| mtsa_data::SliceRecord {
                    patient_id: id.into(),
                    site: "internal".into(),
                    slice_index: k,
                    spacing_mm: [1.0, 1.0],
                    slice_thickness_mm: 2.0,
                    gtv_area_px: if k < fg { 10 } else { 0 },
                    egfr: Some(1),
                })
            })
            .collect();
        let bg = |idx: &[i64]| {
            idx.iter()
                .filter(|&&i| records[i as usize].gtv_area_px == 0)
                .count()
        };
        let paper = epoch_slices(&records, None, 0.0, None, &mut epoch_rng(0, 1));
        assert_eq!(paper, [0, 1, 2, 3, 10, 11]);
        // f = 1/3: half as many lesion-free as GTV slices per patient (a: 2, b: 1).
        let mixed = epoch_slices(&records, None, 1.0 / 3.0, None, &mut epoch_rng(0, 1));
        assert_eq!((mixed.len(), bg(&mixed)), (9, 3));
        // f = 0.5 with 3 GTV slices at most: a gets 3 + 3, b 2 + its only background slice.
        let capped = epoch_slices(&records, Some(3), 0.5, None, &mut epoch_rng(0, 2));
        assert_eq!((capped.len(), bg(&capped)), (9, 4));
    }
}
