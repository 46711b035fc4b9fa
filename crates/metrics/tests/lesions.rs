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

    let stats = |i: usize| {
        let b = &l.by_size[i];
        (b.bin, b.gt_lesions, b.detected, b.false_positives)
    };
    assert_eq!(l.by_size.len(), 5);
    // The 8 mm³ FP (d = 2.48 mm) is the only thing under 3 mm.
    assert_eq!(stats(0), (SizeBin::Under3mm, 0, 0, 1));
    assert_eq!(l.by_size[0].sensitivity, None);
    assert_eq!(stats(1), (SizeBin::From3To6mm, 1, 0, 0));
    assert_eq!(l.by_size[1].sensitivity, Some(0.0));
    assert_eq!(stats(2), (SizeBin::From6To10mm, 1, 1, 0));
    assert_eq!(l.by_size[2].mean_dice, Some(1.0));
    assert_eq!(l.by_size[3].sensitivity, None);
    assert_eq!(l.by_size[4].sensitivity, None);

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

#[test]
fn size_bins_are_half_open_and_named() {
    let bin = SizeBin::of_diameter;
    assert_eq!(bin(2.999), SizeBin::Under3mm);
    assert_eq!(bin(3.0), SizeBin::From3To6mm);
    assert_eq!(bin(6.0), SizeBin::From6To10mm);
    assert_eq!(bin(10.0), SizeBin::From10To20mm);
    assert_eq!(bin(19.999), SizeBin::From10To20mm);
    assert_eq!(bin(20.0), SizeBin::Over20mm);
    // A 1 mm³ voxel is d = 1.24 mm; a 4.19 cm³ sphere is d = 20 mm.
    assert_eq!(SizeBin::of_volume(1.0), SizeBin::Under3mm);
    assert_eq!(
        SizeBin::of_volume(4.0 / 3.0 * std::f64::consts::PI * 1000.0 * 1.000001),
        SizeBin::Over20mm
    );
    let names: Vec<String> = SizeBin::ALL
        .iter()
        .map(|b| serde_json::to_string(b).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "\"under3mm\"",
            "\"from3to6mm\"",
            "\"from6to10mm\"",
            "\"from10to20mm\"",
            "\"over20mm\""
        ]
    );
    let back: SizeBin = serde_json::from_str("\"from10to20mm\"").unwrap();
    assert_eq!(back, SizeBin::From10To20mm);
    let labels: Vec<&str> = SizeBin::ALL.iter().map(|b| b.label()).collect();
    assert_eq!(
        labels,
        ["<3 mm", "3-6 mm", "6-10 mm", "10-20 mm", ">=20 mm"]
    );
    let small: Vec<bool> = SizeBin::ALL.iter().map(|b| b.is_small()).collect();
    assert_eq!(small, [true, true, false, false, false]);
    for (i, b) in SizeBin::ALL.iter().enumerate() {
        assert_eq!(b.index(), i);
    }
}
