//! Whole-scan detection over an operating-point grid, on hand-built volumes with known
//! lesions, false positives and probabilities.

use mtsa_metrics::{
    keep_lesions, lesion_metrics_with, DetectionCounts, DetectionGrid, GridPoint, LesionOptions,
    MetricsError, OverlapCounts, SurfaceOptions,
};
use ndarray::{s, Array3};
use proptest::prelude::*;

type R = std::ops::Range<usize>;

/// The voxel Dice of a kept mask against the truth, 1 when both are empty (the grid's
/// convention).
fn dice(mask: &Array3<bool>, gt: &Array3<bool>) -> f64 {
    OverlapCounts::from_iters(mask.iter().copied(), gt.iter().copied())
        .dice()
        .unwrap_or(1.0)
}

fn cube(m: &mut Array3<f32>, z: R, y: R, x: R, v: f32) {
    m.slice_mut(s![z, y, x]).fill(v);
}

fn gt_cube(m: &mut Array3<bool>, z: R, y: R, x: R) {
    m.slice_mut(s![z, y, x]).fill(true);
}

/// 40³ grid at 1 mm, background probability 0.2, gaps of ≥ 3 voxels between objects:
/// * F 17³ = 4913 mm³ (d 21.1 mm, ≥ 20 bin), prob 0.5
/// * D 12³ = 1728 mm³ (d 14.9, 10-20), prob 0.8
/// * C 6³ = 216 mm³ (d 7.4, 6-10), prob 0.6
/// * B 4³ = 64 mm³ (d 4.96, 3-6), never predicted
/// * A 2³ = 8 mm³ (d 2.48, < 3), prob 0.9
/// * E: 1 mm³ GT voxel (ignored) with a 1-voxel prediction next to it, prob 0.9
/// * FP1 3³ = 27 mm³ at 0.7, FP2 1 mm³ at 0.95, FP3 2³ = 8 mm³ at 0.4.
fn scene() -> (Array3<f32>, Array3<bool>) {
    let mut p = Array3::from_elem((40, 40, 40), 0.2f32);
    let mut g = Array3::from_elem((40, 40, 40), false);
    gt_cube(&mut g, 2..19, 2..19, 2..19);
    cube(&mut p, 2..19, 2..19, 2..19, 0.5);
    gt_cube(&mut g, 2..14, 2..14, 24..36);
    cube(&mut p, 2..14, 2..14, 24..36, 0.8);
    gt_cube(&mut g, 24..30, 2..8, 2..8);
    cube(&mut p, 24..30, 2..8, 2..8, 0.6);
    gt_cube(&mut g, 24..28, 12..16, 2..6);
    gt_cube(&mut g, 24..26, 20..22, 2..4);
    cube(&mut p, 24..26, 20..22, 2..4, 0.9);
    g[[34, 2, 2]] = true;
    p[[34, 2, 3]] = 0.9;
    cube(&mut p, 24..27, 24..27, 24..27, 0.7);
    p[[34, 10, 10]] = 0.95;
    cube(&mut p, 34..36, 20..22, 30..32, 0.4);
    (p, g)
}

const THRESHOLDS: [f32; 4] = [0.3, 0.5, 0.65, 0.85];
const MIN_VOLUMES: [f64; 4] = [0.0, 5.0, 10.0, 30.0];

fn scene_grid() -> DetectionGrid {
    let (p, g) = scene();
    let mut grid = DetectionGrid::new(THRESHOLDS.to_vec(), MIN_VOLUMES.to_vec());
    grid.add_patient(p.view(), g.view(), [1.0; 3], &LesionOptions::default())
        .unwrap();
    grid
}

#[test]
fn known_scene_gives_exact_counts_at_every_point() {
    let grid = scene_grid();
    assert_eq!(grid.patients, 1);
    // (detected, false positives) per [threshold][min volume]; always 5 counted lesions.
    let expected = [
        [(4, 3), (4, 2), (3, 1), (3, 0)],
        [(3, 2), (3, 1), (2, 1), (2, 0)],
        [(2, 2), (2, 1), (1, 1), (1, 0)],
        [(1, 1), (1, 0), (0, 0), (0, 0)],
    ];
    for (i, row) in expected.iter().enumerate() {
        for (j, &(det, fp)) in row.iter().enumerate() {
            let c = grid.counts[i][j];
            assert_eq!(
                (c.gt_lesions, c.detected, c.false_positives),
                (5, det, fp),
                "threshold {} min volume {}",
                THRESHOLDS[i],
                MIN_VOLUMES[j]
            );
            assert_eq!(c.gt_by_bin, [1; 5]);
        }
    }
    assert_eq!(grid.counts[0][0].detected_by_bin, [1, 0, 1, 1, 1]);
    assert_eq!(grid.counts[0][2].detected_by_bin, [0, 0, 1, 1, 1]);
    assert_eq!(grid.counts[1][0].detected_by_bin, [1, 0, 1, 1, 0]);
    assert_eq!(grid.counts[2][0].detected_by_bin, [1, 0, 0, 1, 0]);
    assert_eq!(grid.counts[3][0].detected_by_bin, [1, 0, 0, 0, 0]);

    let pts = grid.points();
    assert_eq!(pts.len(), 16);
    let p = pts[1]; // threshold 0.3, min volume 5
    assert_eq!((p.threshold, p.min_volume_mm3), (0.3, 5.0));
    assert_eq!(p.sensitivity, Some(0.8));
    assert_eq!(p.fp_per_patient, 2.0);
    assert_eq!(p.precision, Some(4.0 / 6.0));
    assert_eq!(p.f1, 8.0 / 11.0);
    // Kept: F, D, C, A (6865 true voxels) and FP1, FP3 (35); the truth holds 6930 voxels.
    assert_eq!(p.mean_patient_dice, Some(2.0 * 6865.0 / (6900.0 + 6930.0)));
    // At 0.85 and no minimum volume only A (8 voxels), E's neighbour and FP2 (1 each) stay.
    assert_eq!(pts[12].mean_patient_dice, Some(16.0 / 6940.0));
}

#[test]
fn best_f1_and_froc_of_the_known_scene() {
    let grid = scene_grid();
    // F1 = 2TP / (2TP + FP + FN) peaks at threshold 0.3, min volume 30: 6 / 8.
    let best = grid.best_f1().unwrap();
    assert_eq!((best.threshold, best.min_volume_mm3), (0.3, 30.0));
    assert_eq!(best.f1, 0.75);
    assert_eq!(best.precision, Some(1.0));
    assert_eq!(best.operating_point().min_volume_mm3, 30.0);

    // 12 mm³ is nearest to the 10 mm³ column.
    let froc: Vec<(f32, f64, Option<f64>)> = grid
        .froc(12.0)
        .iter()
        .map(|p| (p.threshold, p.fp_per_patient, p.sensitivity))
        .collect();
    assert_eq!(
        froc,
        [
            (0.85, 0.0, Some(0.0)),
            (0.65, 1.0, Some(0.2)),
            (0.5, 1.0, Some(0.4)),
            (0.3, 1.0, Some(0.6)),
        ]
    );
    assert!(grid.froc(12.0).iter().all(|p| p.min_volume_mm3 == 10.0));
    let froc0: Vec<(f64, Option<f64>)> = grid
        .froc(0.0)
        .iter()
        .map(|p| (p.fp_per_patient, p.sensitivity))
        .collect();
    assert_eq!(
        froc0,
        [
            (1.0, Some(0.2)),
            (2.0, Some(0.4)),
            (2.0, Some(0.6)),
            (3.0, Some(0.8))
        ]
    );
}

#[test]
fn grid_matches_lesion_metrics_on_the_post_processed_mask() {
    let (p, g) = scene();
    let grid = scene_grid();
    let opts = LesionOptions::default();
    for (i, &t) in THRESHOLDS.iter().enumerate() {
        for (j, &mv) in MIN_VOLUMES.iter().enumerate() {
            let mask = keep_lesions(p.view(), [1.0; 3], t, t, mv).unwrap();
            let l = lesion_metrics_with(
                mask.view(),
                g.view(),
                [1.0; 3],
                &SurfaceOptions::default(),
                &opts,
            )
            .unwrap();
            let c = grid.counts[i][j];
            assert_eq!(
                (c.gt_lesions, c.detected, c.false_positives),
                (l.gt_lesions, l.true_positives, l.false_positives)
            );
            assert!(
                (c.dice_sum - dice(&mask, &g)).abs() < 1e-12,
                "t {t} mv {mv}"
            );
        }
    }
}

#[test]
fn merging_two_patients_equals_adding_both() {
    let opts = LesionOptions::default();
    let (p1, g1) = scene();
    // Second patient: the scene mirrored along x, at anisotropic spacing.
    let p2 = p1.slice(s![.., .., ..;-1]).to_owned();
    let g2 = g1.slice(s![.., .., ..;-1]).to_owned();
    let sp2 = [2.0, 1.0, 0.5];
    let new = || DetectionGrid::new(THRESHOLDS.to_vec(), MIN_VOLUMES.to_vec());
    let mut both = new();
    both.add_patient(p1.view(), g1.view(), [1.0; 3], &opts)
        .unwrap();
    both.add_patient(p2.view(), g2.view(), sp2, &opts).unwrap();
    let mut a = new();
    a.add_patient(p1.view(), g1.view(), [1.0; 3], &opts)
        .unwrap();
    let mut b = new();
    b.add_patient(p2.view(), g2.view(), sp2, &opts).unwrap();
    a.merge(&b).unwrap();
    assert_eq!(a, both);
    assert_eq!(a.patients, 2);
    // FP per patient is averaged over both.
    let p = a.points()[0];
    assert_eq!(
        p.fp_per_patient,
        a.counts[0][0].false_positives as f64 / 2.0
    );
    // Serde round trip keeps every count.
    let json = serde_json::to_string(&a).unwrap();
    let back: DetectionGrid = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a);

    let other = DetectionGrid::new(vec![0.5], MIN_VOLUMES.to_vec());
    assert!(matches!(
        a.merge(&other),
        Err(MetricsError::InvalidArgument(_))
    ));
}

#[test]
fn best_f1_ties_prefer_sensitivity_then_permissive_post_processing() {
    let c = |gt, det, fp| DetectionCounts {
        gt_lesions: gt,
        detected: det,
        false_positives: fp,
        ..DetectionCounts::default()
    };
    let mut grid = DetectionGrid::new(vec![0.4, 0.6], vec![0.0, 10.0]);
    grid.patients = 2;
    // F1: 2*2/(4+0+2) = 2/3 with sensitivity 0.5; 2*3/(6+2+1) = 2/3 with sensitivity 0.75.
    grid.counts = vec![vec![c(4, 2, 0), c(4, 3, 2)], vec![c(4, 3, 2), c(4, 1, 0)]];
    let best = grid.best_f1().unwrap();
    assert_eq!((best.threshold, best.min_volume_mm3), (0.4, 10.0));
    grid.counts[0][1] = c(4, 1, 0);
    let best = grid.best_f1().unwrap();
    assert_eq!((best.threshold, best.min_volume_mm3), (0.6, 0.0));
    // Everything equal: lowest threshold, then smallest min volume.
    grid.counts = vec![vec![c(4, 3, 2); 2]; 2];
    let best = grid.best_f1().unwrap();
    assert_eq!((best.threshold, best.min_volume_mm3), (0.4, 0.0));
    // No patient yet: nothing to choose.
    assert_eq!(DetectionGrid::new(vec![0.5], vec![0.0]).best_f1(), None);
}

#[test]
fn no_lesion_and_no_false_positive_is_perfect() {
    let p = Array3::from_elem((6, 6, 6), 0.1f32);
    let g = Array3::from_elem((6, 6, 6), false);
    let mut grid = DetectionGrid::new(vec![0.5], vec![0.0]);
    grid.add_patient(p.view(), g.view(), [1.0; 3], &LesionOptions::default())
        .unwrap();
    let pt: GridPoint = grid.points()[0];
    assert_eq!((pt.sensitivity, pt.precision, pt.f1), (None, None, 1.0));
    assert_eq!(pt.fp_per_patient, 0.0);
    assert_eq!(pt.mean_patient_dice, Some(1.0));
}

#[test]
fn invalid_inputs_are_errors() {
    let opts = LesionOptions::default();
    let g = Array3::from_elem((4, 4, 4), false);
    let mut p = Array3::from_elem((4, 4, 4), 0.0f32);
    let mut grid = DetectionGrid::new(vec![0.5], vec![0.0]);
    p[[1, 2, 3]] = 1.5;
    assert_eq!(
        grid.add_patient(p.view(), g.view(), [1.0; 3], &opts),
        Err(MetricsError::NotAProbability {
            index: 27,
            value: 1.5
        })
    );
    p[[1, 2, 3]] = f32::NAN;
    assert!(grid
        .add_patient(p.view(), g.view(), [1.0; 3], &opts)
        .is_err());
    p[[1, 2, 3]] = 0.0;
    let small = Array3::from_elem((4, 4, 3), false);
    assert!(matches!(
        grid.add_patient(p.view(), small.view(), [1.0; 3], &opts),
        Err(MetricsError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        grid.add_patient(p.view(), g.view(), [1.0, 0.0, 1.0], &opts),
        Err(MetricsError::InvalidSpacing(_))
    ));
    let mut bad = DetectionGrid::new(vec![f32::NAN], vec![0.0]);
    assert!(bad
        .add_patient(p.view(), g.view(), [1.0; 3], &opts)
        .is_err());
    let mut bad = DetectionGrid::new(vec![0.5], vec![-1.0]);
    assert!(bad
        .add_patient(p.view(), g.view(), [1.0; 3], &opts)
        .is_err());
    assert_eq!(grid.patients, 0);
}

#[test]
fn one_cut_keeps_components_at_or_above_the_volume() {
    let mut m = Array3::from_elem((6, 8, 8), false);
    m[[0, 0, 0]] = true; // 1 voxel = 2 mm³
    m[[3, 0, 6]] = true; // two corner-touching voxels: one component, 4 mm³
    m[[4, 1, 7]] = true;
    m.slice_mut(s![2..5, 4..7, 1..4]).fill(true); // 27 voxels = 54 mm³
    let sp = [2.0, 1.0, 1.0];
    let p = m.mapv(f32::from);
    let one_cut = |p, sp, mv| keep_lesions(p, sp, 0.5, 0.5, mv);
    let kept = one_cut(p.view(), sp, 4.0).unwrap();
    let mut expected = m.clone();
    expected[[0, 0, 0]] = false;
    assert_eq!(kept, expected);
    let kept = one_cut(p.view(), sp, 4.000001).unwrap();
    let mut expected = Array3::from_elem((6, 8, 8), false);
    expected.slice_mut(s![2..5, 4..7, 1..4]).fill(true);
    assert_eq!(kept, expected);
    assert_eq!(one_cut(p.view(), sp, 0.0).unwrap(), m);
    // Non-standard memory layout: the result is in the view's logical order.
    let t = p.view().reversed_axes();
    let kept_t = one_cut(t, [1.0, 1.0, 2.0], 4.0).unwrap();
    let mut expected = m.clone();
    expected[[0, 0, 0]] = false;
    assert_eq!(kept_t, expected.reversed_axes());
    assert!(one_cut(p.view(), sp, f64::NAN).is_err());
    assert!(one_cut(p.view(), [0.0, 1.0, 1.0], 1.0).is_err());
}

#[test]
fn keep_lesions_outlines_at_the_cut_and_decides_by_the_peak() {
    let mut p = Array3::from_elem((12, 12, 12), 0.1f32);
    cube(&mut p, 1..6, 1..6, 1..6, 0.4); // 125 voxels, confident centre
    p[[3, 3, 3]] = 0.95;
    cube(&mut p, 8..11, 8..11, 8..11, 0.6); // 27 voxels, doubtful throughout
    let count = |m: Array3<bool>| m.iter().filter(|&&v| v).count();
    let kept = keep_lesions(p.view(), [1.0; 3], 0.3, 0.85, 0.0).unwrap();
    assert_eq!(count(kept.clone()), 125);
    assert!(kept[[1, 1, 1]] && !kept[[9, 9, 9]]);
    // One cut at the peak threshold keeps only the centre voxel.
    assert_eq!(
        count(keep_lesions(p.view(), [1.0; 3], 0.85, 0.85, 0.0).unwrap()),
        1
    );
    // The volume is the outline's: 125 mm³ passes a 100 mm³ minimum.
    assert_eq!(
        count(keep_lesions(p.view(), [1.0; 3], 0.3, 0.85, 100.0).unwrap()),
        125
    );
    assert_eq!(
        count(keep_lesions(p.view(), [1.0; 3], 0.3, 0.5, 0.0).unwrap()),
        152
    );
    // Equal cuts are the single threshold followed by the volume filter: at 0.5 the centre
    // voxel (1 mm³) is too small for 20 mm³, the 27-voxel cube is kept.
    let mut single = p.mapv(|v| v > 0.5);
    single[[3, 3, 3]] = false;
    assert_eq!(
        keep_lesions(p.view(), [1.0; 3], 0.5, 0.5, 20.0).unwrap(),
        single
    );
    assert!(keep_lesions(p.view(), [1.0; 3], f32::NAN, 0.5, 0.0).is_err());
}

#[test]
fn segment_threshold_grid_counts_the_known_scene() {
    let (p, g) = scene();
    let mut grid =
        DetectionGrid::new(THRESHOLDS.to_vec(), MIN_VOLUMES.to_vec()).with_segment_threshold(0.3);
    grid.add_patient(p.view(), g.view(), [1.0; 3], &LesionOptions::default())
        .unwrap();
    let at = |i: usize, j: usize| {
        let c = grid.counts[i][j];
        (c.gt_lesions, c.detected, c.false_positives)
    };
    // Cut at 0.3, every blob is one component; a threshold keeps those peaking above it.
    assert_eq!(at(0, 0), (5, 4, 3)); // F D C A; FP1 FP2 FP3
    assert_eq!(at(1, 0), (5, 3, 2)); // F (0.5) is not above 0.5; FP3 gone
    assert_eq!(at(2, 0), (5, 2, 2)); // D A; FP1 FP2
    assert_eq!(at(2, 2), (5, 1, 1)); // A (8 mm³) and FP2 (1 mm³) under 10 mm³
    assert_eq!(at(3, 0), (5, 1, 1)); // A; FP2 (E's prediction matches an ignored lesion)
    assert_eq!(at(3, 1), (5, 1, 0));
    // Brute force: the same counts from the post-processed mask.
    for (i, &t) in THRESHOLDS.iter().enumerate() {
        for (j, &mv) in MIN_VOLUMES.iter().enumerate() {
            let mask = keep_lesions(p.view(), [1.0; 3], 0.3, t, mv).unwrap();
            let l = lesion_metrics_with(
                mask.view(),
                g.view(),
                [1.0; 3],
                &SurfaceOptions::default(),
                &LesionOptions::default(),
            )
            .unwrap();
            assert_eq!(
                at(i, j),
                (l.gt_lesions, l.true_positives, l.false_positives)
            );
        }
    }
    // Grids over different cuts do not merge.
    let mut plain = DetectionGrid::new(THRESHOLDS.to_vec(), MIN_VOLUMES.to_vec());
    assert!(plain.merge(&grid).is_err());
}

fn prob_and_gt() -> impl Strategy<Value = (Array3<f32>, Array3<bool>)> {
    (2usize..7, 2usize..7, 2usize..7).prop_flat_map(|(a, b, c)| {
        let n = a * b * c;
        (
            proptest::collection::vec(0u8..=10, n),
            proptest::collection::vec(proptest::bool::weighted(0.3), n),
        )
            .prop_map(move |(p, g)| {
                (
                    Array3::from_shape_vec((a, b, c), p.iter().map(|&v| v as f32 / 10.0).collect())
                        .unwrap(),
                    Array3::from_shape_vec((a, b, c), g).unwrap(),
                )
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Raising the threshold or the minimum volume never adds a detection, and every point
    /// agrees with the per-patient lesion scores of the post-processed mask.
    #[test]
    fn stricter_post_processing_never_detects_more((p, g) in prob_and_gt()) {
        let thresholds = vec![0.05f32, 0.25, 0.45, 0.65, 0.85];
        let min_volumes = vec![0.0, 2.0, 4.0, 8.0];
        let opts = LesionOptions { min_volume_mm3: 0.0, ..LesionOptions::default() };
        let mut grid = DetectionGrid::new(thresholds.clone(), min_volumes.clone());
        grid.add_patient(p.view(), g.view(), [1.0; 3], &opts).unwrap();
        for i in 0..thresholds.len() {
            for j in 0..min_volumes.len() {
                let c = grid.counts[i][j];
                prop_assert_eq!(c.gt_by_bin.iter().sum::<usize>(), c.gt_lesions);
                prop_assert_eq!(c.detected_by_bin.iter().sum::<usize>(), c.detected);
                if i + 1 < thresholds.len() {
                    prop_assert!(grid.counts[i + 1][j].detected <= c.detected);
                }
                if j + 1 < min_volumes.len() {
                    prop_assert!(grid.counts[i][j + 1].detected <= c.detected);
                    prop_assert!(grid.counts[i][j + 1].false_positives <= c.false_positives);
                }
                let t = thresholds[i];
                let mask = keep_lesions(p.view(), [1.0; 3], t, t, min_volumes[j]).unwrap();
                let l = lesion_metrics_with(mask.view(), g.view(), [1.0; 3], &SurfaceOptions::default(), &opts).unwrap();
                prop_assert_eq!(
                    (c.gt_lesions, c.detected, c.false_positives),
                    (l.gt_lesions, l.true_positives, l.false_positives)
                );
            }
        }
    }

    /// With one cut and peak thresholds, every point agrees with the lesion scores of
    /// `keep_lesions`' mask, and a stricter peak never detects more.
    #[test]
    fn segment_threshold_grid_matches_keep_lesions((p, g) in prob_and_gt()) {
        let thresholds = vec![0.25f32, 0.45, 0.65, 0.85];
        let min_volumes = vec![0.0, 2.0, 4.0, 8.0];
        let opts = LesionOptions { min_volume_mm3: 0.0, ..LesionOptions::default() };
        let mut grid =
            DetectionGrid::new(thresholds.clone(), min_volumes.clone()).with_segment_threshold(0.25);
        grid.add_patient(p.view(), g.view(), [1.0; 3], &opts).unwrap();
        for (i, &t) in thresholds.iter().enumerate() {
            for (j, &mv) in min_volumes.iter().enumerate() {
                let c = grid.counts[i][j];
                if i + 1 < thresholds.len() {
                    prop_assert!(grid.counts[i + 1][j].detected <= c.detected);
                    prop_assert!(grid.counts[i + 1][j].false_positives <= c.false_positives);
                }
                let mask = keep_lesions(p.view(), [1.0; 3], 0.25, t, mv).unwrap();
                let l = lesion_metrics_with(mask.view(), g.view(), [1.0; 3], &SurfaceOptions::default(), &opts).unwrap();
                prop_assert_eq!(
                    (c.gt_lesions, c.detected, c.false_positives),
                    (l.gt_lesions, l.true_positives, l.false_positives)
                );
                prop_assert!((c.dice_sum - dice(&mask, &g)).abs() < 1e-12);
            }
        }
    }
}
