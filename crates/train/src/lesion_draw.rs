//! Drawing a patient's training slices lesion by lesion [ours], so that a small metastasis is
//! seen as often as a large one.
//!
//! Why: with a cap on slices per patient (`slices_per_patient`), drawing among a patient's GTV
//! slices at random weights each lesion by its height: a 20 mm metastasis covers ten 2 mm
//! slices, a 4 mm one two, so a patient with both shows the small one in a third of its draws
//! at best. Lesions under 6 mm are half the cohort's (docs/synthetic-cohort.md) and the ones the
//! whole-scan pipeline misses. nnU-Net's answer to rare foreground is to oversample it; here the
//! draw goes round the patient's lesions in turn, each giving one of its slices not yet drawn.

use mtsa_data::SplitData;
use ndarray::{s, Array3};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Per slice of `split`, the 3-D lesions it shows: labels of the 26-connected components of its
/// patient's GTV slices stacked by `slice_index` (labels are local to the patient), empty for a
/// lesion-free slice. The masks are the resampled ones training sees, so a lesion that joins
/// another on the network's grid counts as one.
pub(crate) fn slice_lesions(split: &SplitData) -> Vec<Vec<u32>> {
    let size = split.size;
    let mut lesions = vec![Vec::new(); split.len()];
    for idx in mtsa_infer::slices_by_patient(&split.slices).into_values() {
        let fg: Vec<usize> = idx
            .into_iter()
            .filter(|&i| split.slices[i].gtv_area_px > 0)
            .collect();
        let Some(low) = fg.iter().map(|&i| split.slices[i].slice_index).min() else {
            continue;
        };
        let high = fg.iter().map(|&i| split.slices[i].slice_index).max();
        let depth = high.map_or(1, |h| h - low + 1);
        let mut stack = Array3::from_elem((depth, size, size), false);
        for &i in &fg {
            let plane = split.slices[i].slice_index - low;
            for (v, &m) in stack
                .slice_mut(s![plane, .., ..])
                .iter_mut()
                .zip(split.mask(i))
            {
                *v |= m > 0;
            }
        }
        let (labels, _) = mtsa_metrics::connected_components_3d(stack.view());
        for &i in &fg {
            let plane = labels.slice(s![split.slices[i].slice_index - low, .., ..]);
            let mut here: Vec<u32> = plane.iter().copied().filter(|&l| l > 0).collect();
            here.sort_unstable();
            here.dedup();
            lesions[i] = here;
        }
    }
    lesions
}

/// Up to `k` of the GTV slices `fg`, drawn round the lesions they show (`lesions`, from
/// [`slice_lesions`]) in a random order, each lesion giving one random slice of its own not yet
/// drawn, until `k` are drawn or every slice is.
pub(crate) fn draw_by_lesion(
    fg: &[usize],
    lesions: &[Vec<u32>],
    k: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    let mut by_lesion: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &i in fg {
        for &l in &lesions[i] {
            by_lesion.entry(l).or_default().push(i);
        }
    }
    let mut queues: Vec<Vec<usize>> = by_lesion.into_values().collect();
    queues.shuffle(rng);
    for q in &mut queues {
        q.shuffle(rng);
    }
    let mut drawn: Vec<usize> = Vec::with_capacity(k);
    while drawn.len() < k && queues.iter().any(|q| !q.is_empty()) {
        for q in &mut queues {
            if drawn.len() == k {
                break;
            }
            while let Some(i) = q.pop() {
                if !drawn.contains(&i) {
                    drawn.push(i);
                    break;
                }
            }
        }
    }
    drawn
}

#[cfg(test)]
mod tests {
    use super::*;
    use mtsa_data::SliceRecord;
    use rand::SeedableRng;

    /// One patient on a 4 x 4 grid: a large lesion at the top-left corner on slices 0-9 and a
    /// small one at the bottom-right corner on slices 4-5, plus a lesion-free slice 12.
    fn patient() -> SplitData {
        let mut split = SplitData::new(4, 0);
        for k in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12] {
            let mut mask = vec![0u8; 16];
            if k <= 9 {
                mask[0] = 1;
            }
            if k == 4 || k == 5 {
                mask[15] = 1;
            }
            let area = mask.iter().filter(|&&m| m > 0).count();
            split.images.extend([0.0f32; 16]);
            split.masks.extend(mask);
            split.slices.push(SliceRecord {
                patient_id: "a".into(),
                site: "internal".into(),
                slice_index: k,
                spacing_mm: [1.0, 1.0],
                slice_thickness_mm: 2.0,
                gtv_area_px: area,
                egfr: Some(1),
            });
        }
        split
    }

    #[test]
    fn each_slice_knows_the_3d_lesions_it_shows() {
        let lesions = slice_lesions(&patient());
        assert_eq!(lesions[0], [1]);
        assert_eq!(lesions[4], [1, 2], "slice 4 shows both lesions");
        assert_eq!(lesions[5], [1, 2]);
        assert_eq!(lesions[9], [1]);
        assert!(lesions[10].is_empty(), "the lesion-free slice shows none");
    }

    #[test]
    fn a_small_lesion_is_drawn_every_time_beside_a_large_one() {
        let split = patient();
        let lesions = slice_lesions(&split);
        let fg: Vec<usize> = (0..10).collect();
        let mut small_drawn = 0;
        for seed in 0..50 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let drawn = draw_by_lesion(&fg, &lesions, 2, &mut rng);
            assert_eq!(drawn.len(), 2);
            assert_ne!(drawn[0], drawn[1]);
            small_drawn += usize::from(drawn.iter().any(|&i| i == 4 || i == 5));
        }
        // At random two of ten slices hold the small lesion about 38% of the time; by lesion,
        // its turn always comes within two draws.
        assert_eq!(small_drawn, 50);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut all = draw_by_lesion(&fg, &lesions, 20, &mut rng);
        all.sort_unstable();
        assert_eq!(all, fg, "asked for more than there are: every slice once");
    }
}
