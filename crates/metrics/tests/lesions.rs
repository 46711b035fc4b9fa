//! Lesion-wise (BraTS-METS) matching on hand-built volumes.

use mtsa_metrics::{lesion_metrics, lesion_metrics_with, LesionOptions, SizeBin, SurfaceOptions};
use ndarray::Array3;

fn fill(
    m: &mut Array3<bool>,
    z: std::ops::Range<usize>,
    y: std::ops::Range<usize>,
    x: std::ops::Range<usize>,
) {
    for zz in z {
        for yy in y.clone() {
            for xx in x.clone() {
                m[[zz, yy, xx]] = true;
            }
        }
    }
}

#[test]
fn detection_false_positives_small_lesions_and_bins() {
    let mut gt = Array3::from_elem((20, 20, 20), false);
    let mut pred = gt.clone();
    fill(&mut gt, 2..5, 2..5, 2..5); // L1: 27 mm³, d = 3.72 mm, missed
    fill(&mut gt, 10..15, 10..15, 10..15); // L2: 125 mm³, d = 6.20 mm, found exactly
    gt[[18, 2, 2]] = true; // L3: 1 mm³ ≤ 2 mm³ → ignored
    fill(&mut pred, 10..15, 10..15, 10..15);
    fill(&mut pred, 2..4, 15..17, 15..17); // FP: 8 mm³, d = 2.48 mm
    pred[[18, 2, 3]] = true; // touches the ignored lesion: neither TP nor FP

    let l = lesion_metrics(pred.view(), gt.view(), [1.0; 3], &SurfaceOptions::default()).unwrap();
    assert_eq!(l.gt_lesions, 2);
    assert_eq!(l.ignored_gt_lesions, 1);
    assert_eq!(l.pred_lesions, 3);
    assert_eq!(
        (l.true_positives, l.false_negatives, l.false_positives),
        (1, 1, 1)
    );
    assert_eq!(l.sensitivity, Some(0.5));
    // (Dice 0 for the miss + 1 for the exact hit + 0 for the FP) / 3.
    assert!((l.lesion_wise_dice - 1.0 / 3.0).abs() < 1e-12);
    assert!((l.lesion_wise_hd95_mm - (374.0 + 0.0 + 374.0) / 3.0).abs() < 1e-9);

    let small = &l.by_size[0];
    assert_eq!(small.bin, SizeBin::Under5mm);
    assert_eq!(
        (small.gt_lesions, small.detected, small.false_positives),
        (1, 0, 1)
    );
    assert_eq!(small.sensitivity, Some(0.0));
    let mid = &l.by_size[1];
    assert_eq!(
        (mid.gt_lesions, mid.detected, mid.false_positives),
        (1, 1, 0)
    );
    assert_eq!(mid.mean_dice, Some(1.0));
    assert_eq!(l.by_size[2].sensitivity, None);

    let l2 = l.gt.iter().find(|g| g.volume_mm3 == 125.0).unwrap();
    assert!(l2.detected && l2.counted);
    assert_eq!((l2.dice, l2.hd95_mm), (1.0, 0.0));
    assert!((l2.diameter_mm - (6.0 * 125.0 / std::f64::consts::PI).cbrt()).abs() < 1e-12);
}

#[test]
fn ground_truth_lesions_closer_than_the_dilation_merge() {
    let count = |gap: usize| {
        let mut gt = Array3::from_elem((5, 5, 12), false);
        gt[[2, 2, 2]] = true;
        gt[[2, 2, 2 + gap + 1]] = true;
        let o = LesionOptions {
            min_volume_mm3: 0.0,
            ..LesionOptions::default()
        };
        let l = lesion_metrics_with(
            gt.view(),
            gt.view(),
            [1.0; 3],
            &SurfaceOptions::default(),
            &o,
        )
        .unwrap();
        (l.gt_lesions, l.pred_lesions, l.true_positives)
    };
    // Dilated by one voxel, voxels up to two apart touch; three apart stay separate.
    assert_eq!(count(1), (1, 2, 1));
    assert_eq!(count(2), (1, 2, 1));
    assert_eq!(count(3), (2, 2, 2));
}

#[test]
fn prediction_adjacent_to_a_lesion_is_a_detection_with_dice_zero() {
    let mut gt = Array3::from_elem((8, 8, 8), false);
    let mut pred = gt.clone();
    fill(&mut gt, 2..4, 2..4, 2..4);
    fill(&mut pred, 2..4, 2..4, 4..6); // face-adjacent, no overlap
    let l = lesion_metrics(pred.view(), gt.view(), [1.0; 3], &SurfaceOptions::default()).unwrap();
    assert_eq!((l.true_positives, l.false_positives), (1, 0));
    assert_eq!(l.gt[0].dice, 0.0);
    // All voxels of a 2x2x2 cube are boundary; they lie 1 or 2 voxels from the other cube,
    // four of each, so the 95th percentile is 2.
    assert!((l.gt[0].hd95_mm - 2.0).abs() < 1e-12);
    // A two-voxel background gap is beyond the one-voxel dilation: a miss plus an FP.
    let mut far = Array3::from_elem((8, 8, 10), false);
    let mut gt2 = far.clone();
    fill(&mut gt2, 2..4, 2..4, 2..4);
    fill(&mut far, 2..4, 2..4, 6..8);
    let l = lesion_metrics(far.view(), gt2.view(), [1.0; 3], &SurfaceOptions::default()).unwrap();
    assert_eq!(
        (l.true_positives, l.false_negatives, l.false_positives),
        (0, 1, 1)
    );
}

#[test]
fn volume_threshold_uses_spacing() {
    let mut gt = Array3::from_elem((4, 4, 4), false);
    gt[[1, 1, 1]] = true;
    let pred = Array3::from_elem((4, 4, 4), false);
    // 1 voxel of 1 mm³ is ignored; of 3 mm³ it is counted and missed.
    let l = lesion_metrics(pred.view(), gt.view(), [1.0; 3], &SurfaceOptions::default()).unwrap();
    assert_eq!(
        (l.gt_lesions, l.ignored_gt_lesions, l.lesion_wise_dice),
        (0, 1, 1.0)
    );
    let l = lesion_metrics(
        pred.view(),
        gt.view(),
        [3.0, 1.0, 1.0],
        &SurfaceOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (l.gt_lesions, l.false_negatives, l.lesion_wise_dice),
        (1, 1, 0.0)
    );
    assert_eq!(l.lesion_wise_hd95_mm, 374.0);
}

#[test]
fn lesion_at_the_grid_border_is_handled() {
    let mut gt = Array3::from_elem((3, 3, 3), false);
    fill(&mut gt, 0..3, 0..3, 0..2);
    let l = lesion_metrics(gt.view(), gt.view(), [1.0; 3], &SurfaceOptions::default()).unwrap();
    assert_eq!(
        (l.true_positives, l.lesion_wise_dice, l.lesion_wise_hd95_mm),
        (1, 1.0, 0.0)
    );
}
