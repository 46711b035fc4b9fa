//! Segmentation metrics on hand-made masks with closed-form answers, plus cases whose
//! reference values were computed independently with scipy (`binary_erosion`,
//! `distance_transform_edt(sampling=spacing)`, `numpy.percentile`), as MONAI does.

use mtsa_metrics::{
    segmentation_metrics_2d, segmentation_metrics_3d, surface_distances_2d, EmptyCase,
    Hd95Convention, MetricsError, SurfaceOptions,
};
use ndarray::{Array2, Array3};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn assert_close(a: f64, b: f64, what: &str) {
    assert!(close(a, b), "{what}: got {a}, expected {b}");
}

/// 5x5 squares at columns 0..5 and 10..15 of rows 0..5.
fn two_squares() -> (Array2<bool>, Array2<bool>) {
    let mut a = Array2::from_elem((5, 15), false);
    let mut b = a.clone();
    for r in 0..5 {
        for c in 0..5 {
            a[[r, c]] = true;
            b[[r, c + 10]] = true;
        }
    }
    (a, b)
}

#[test]
fn two_squares_known_distance_apart() {
    let (a, b) = two_squares();
    let m = segmentation_metrics_2d(a.view(), b.view(), [1.0, 1.0], &SurfaceOptions::default())
        .unwrap();
    // Boundary pixel (r, c) of A is 10 - c from B's left column: 5x10, 2x9, 2x8, 2x7, 5x6.
    assert_close(m.hd_mm, 10.0, "hd");
    assert_close(m.hd95_mm, 10.0, "hd95");
    assert_close(m.assd_mm, 128.0 / 16.0, "assd");
    assert_eq!(m.dice, 0.0);
    assert_eq!(m.precision, Some(0.0));
    assert_eq!(m.recall, Some(0.0));
    assert_eq!(m.empty_policy.case, EmptyCase::NeitherEmpty);
    assert!(m.lesions.is_none());
    assert!(m.volume_difference_ml.is_none());

    // Directed percentiles: 16 values sorted, p50 at h = 7.5 → (8 + 8) / 2 = 8.
    let sd = surface_distances_2d(a.view(), b.view(), [1.0, 1.0]).unwrap();
    assert_eq!(sd.pred_to_gt.len(), 16);
    assert_close(
        sd.percentile_distance(50.0, Hd95Convention::MaxOfDirected)
            .unwrap(),
        8.0,
        "p50",
    );
    assert_close(
        sd.percentile_distance(0.0, Hd95Convention::Pooled).unwrap(),
        6.0,
        "p0",
    );
}

#[test]
fn anisotropic_spacing_scales_the_separating_axis_only() {
    let (a, b) = two_squares();
    // Column spacing 2 mm doubles every distance (they are all along columns); row
    // spacing does not matter because the nearest point is always on the same row.
    let m = segmentation_metrics_2d(a.view(), b.view(), [3.7, 2.0], &SurfaceOptions::default())
        .unwrap();
    assert_close(m.hd_mm, 20.0, "hd");
    assert_close(m.assd_mm, 16.0, "assd");
    // Transposed layout: the separation is now along axis 0.
    let (at, bt) = (a.t().to_owned(), b.t().to_owned());
    let m = segmentation_metrics_2d(at.view(), bt.view(), [0.5, 9.0], &SurfaceOptions::default())
        .unwrap();
    assert_close(m.hd_mm, 5.0, "hd transposed");
    assert_close(m.hd95_mm, 5.0, "hd95 transposed");
}

#[test]
fn cubes_separated_along_thick_axis() {
    // 4x4x4 cubes at z 0..4 and z 6..10, spacing 3 mm along z.
    let mut a = Array3::from_elem((10, 6, 6), false);
    let mut b = a.clone();
    for z in 0..4 {
        for y in 1..5 {
            for x in 1..5 {
                a[[z, y, x]] = true;
                b[[z + 6, y, x]] = true;
            }
        }
    }
    let m = segmentation_metrics_3d(
        a.view(),
        b.view(),
        [3.0, 0.7, 0.7],
        &SurfaceOptions::default(),
    )
    .unwrap();
    // A's boundary: 16 voxels at z=0 (18 mm), 12 at z=1 (15), 12 at z=2 (12), 16 at z=3 (9).
    assert_close(m.hd_mm, 18.0, "hd");
    assert_close(m.hd95_mm, 18.0, "hd95");
    assert_close(m.assd_mm, 756.0 / 56.0, "assd");
    assert_close(m.volume_difference_ml.unwrap(), 0.0, "vol diff");
}

#[test]
fn disc_versus_shifted_disc() {
    // Identical discs of radius 12 px shifted by 5 columns: the leftmost boundary pixel of
    // one is exactly 5 columns from the other's boundary, every other pixel is closer, so
    // HD = 5 x 0.8 mm. ASSD and Dice are scipy reference values.
    let disc = |cc: i64| {
        Array2::from_shape_fn((64, 64), |(r, c)| {
            let (dr, dc) = (r as i64 - 30, c as i64 - cc);
            dr * dr + dc * dc <= 144
        })
    };
    let (a, b) = (disc(30), disc(35));
    let m = segmentation_metrics_2d(a.view(), b.view(), [1.0, 0.8], &SurfaceOptions::default())
        .unwrap();
    assert_close(m.hd_mm, 4.0, "hd");
    assert_close(m.hd95_mm, 4.0, "hd95");
    assert_close(m.assd_mm, 2.537336663706246, "assd");
    assert_close(m.dice, 0.7346938775510204, "dice");
}

#[test]
fn spike_separates_conventions_2d() {
    // scipy reference: gt disc r=12 at (30,30); pred disc r=11 at (31,32) plus a 9-pixel spike.
    let gt = Array2::from_shape_fn((64, 64), |(r, c)| {
        let (dr, dc) = (r as i64 - 30, c as i64 - 30);
        dr * dr + dc * dc <= 144
    });
    let mut pred = Array2::from_shape_fn((64, 64), |(r, c)| {
        let (dr, dc) = (r as i64 - 31, c as i64 - 32);
        dr * dr + dc * dc <= 121
    });
    for c in 42..51 {
        pred[[30, c]] = true;
    }
    let sp = [1.0, 0.8];
    let max = SurfaceOptions::default();
    let pooled = SurfaceOptions {
        convention: Hd95Convention::Pooled,
        ..max
    };
    let m = segmentation_metrics_2d(pred.view(), gt.view(), sp, &max).unwrap();
    assert_close(m.hd_mm, 6.4, "hd");
    assert_close(m.hd95_mm, 3.7599999999999967, "hd95 max-of-directed");
    assert_close(m.assd_mm, 1.450683477552669, "assd");
    assert_close(m.dice, 0.8571428571428571, "dice");
    let m = segmentation_metrics_2d(pred.view(), gt.view(), sp, &pooled).unwrap();
    assert_close(m.hd95_mm, 2.6, "hd95 pooled");
}

#[test]
fn anisotropic_ellipsoids_with_blob_3d() {
    // scipy reference values, spacing (2.5, 0.9, 1.1).
    let sp = [2.5, 0.9, 1.1];
    let ell = |cz: f64, cy: f64, rad: f64| {
        Array3::from_shape_fn((24, 26, 26), |(z, y, x)| {
            let d = ((z as f64 - cz) * sp[0]).powi(2)
                + ((y as f64 - cy) * sp[1]).powi(2)
                + ((x as f64 - 12.0) * sp[2]).powi(2);
            d <= rad * rad
        })
    };
    let gt = ell(10.0, 12.0, 8.0);
    let mut pred = ell(11.0, 13.0, 7.0);
    for z in 2..4 {
        for y in 20..23 {
            for x in 3..6 {
                pred[[z, y, x]] = true;
            }
        }
    }
    let opts = SurfaceOptions::default();
    let m = segmentation_metrics_3d(pred.view(), gt.view(), sp, &opts).unwrap();
    assert_close(m.hd_mm, 16.767528142215834, "hd");
    assert_close(m.hd95_mm, 13.425377413812289, "hd95");
    assert_close(m.assd_mm, 1.8932740768225869, "assd");
    assert_close(m.dice, 0.6937931034482758, "dice");
    let pooled = SurfaceOptions {
        convention: Hd95Convention::Pooled,
        ..opts
    };
    let m = segmentation_metrics_3d(pred.view(), gt.view(), sp, &pooled).unwrap();
    assert_close(m.hd95_mm, 5.0, "hd95 pooled");

    let shifted = ell(11.0, 13.0, 8.0);
    let m =
        segmentation_metrics_3d(ell(10.0, 12.0, 8.0).view(), shifted.view(), sp, &opts).unwrap();
    assert_close(m.hd_mm, 2.6570660511172846, "hd ell");
    assert_close(m.assd_mm, 1.4547661409973611, "assd ell");
    assert_close(m.dice, 0.7456037514654161, "dice ell");
}

#[test]
fn one_empty_mask_gets_penalty_and_is_flagged() {
    let (a, _) = two_squares();
    let empty = Array2::from_elem(a.dim(), false);
    let opts = SurfaceOptions::default();
    let m = segmentation_metrics_2d(empty.view(), a.view(), [1.0, 1.0], &opts).unwrap();
    assert_eq!(m.empty_policy.case, EmptyCase::PredEmpty);
    assert_eq!(m.empty_policy.penalty_mm, 374.0);
    assert_eq!(m.dice, 0.0);
    assert_eq!(m.hd95_mm, 374.0);
    assert_eq!(m.hd_mm, 374.0);
    assert_eq!(m.assd_mm, 374.0);
    assert_eq!(m.precision, None);
    assert_eq!(m.recall, Some(0.0));

    let custom = SurfaceOptions {
        empty_penalty_mm: 100.0,
        ..opts
    };
    let m = segmentation_metrics_2d(a.view(), empty.view(), [1.0, 1.0], &custom).unwrap();
    assert_eq!(m.empty_policy.case, EmptyCase::GtEmpty);
    assert_eq!(m.hd95_mm, 100.0);
    assert_eq!(m.precision, Some(0.0));
    assert_eq!(m.recall, None);

    let a3 = a.clone().into_shape_with_order((1, 5, 15)).unwrap();
    let e3 = Array3::from_elem((1, 5, 15), false);
    let m = segmentation_metrics_3d(a3.view(), e3.view(), [1.0, 1.0, 1.0], &opts).unwrap();
    assert_eq!(m.empty_policy.case, EmptyCase::GtEmpty);
    assert_eq!(m.hd95_mm, 374.0);
    assert_close(m.volume_difference_ml.unwrap(), 25.0 / 1000.0, "vol diff");
    let l = m.lesions.unwrap();
    assert_eq!(l.false_positives, 1);
    assert_eq!(l.lesion_wise_dice, 0.0);
    assert_eq!(l.lesion_wise_hd95_mm, 374.0);
}

#[test]
fn both_empty_is_perfect_and_flagged() {
    let e = Array3::from_elem((4, 5, 6), false);
    let m = segmentation_metrics_3d(
        e.view(),
        e.view(),
        [1.0, 2.0, 3.0],
        &SurfaceOptions::default(),
    )
    .unwrap();
    assert_eq!(m.empty_policy.case, EmptyCase::BothEmpty);
    assert_eq!(
        (m.dice, m.jaccard, m.hd95_mm, m.hd_mm, m.assd_mm),
        (1.0, 1.0, 0.0, 0.0, 0.0)
    );
    assert_eq!((m.precision, m.recall), (None, None));
    let l = m.lesions.unwrap();
    assert_eq!(
        (l.lesion_wise_dice, l.lesion_wise_hd95_mm, l.sensitivity),
        (1.0, 0.0, None)
    );
}

#[test]
fn invalid_input_is_an_error_not_a_panic() {
    let a = Array3::from_elem((4, 5, 6), true);
    let b = Array3::from_elem((4, 5, 7), true);
    let o = SurfaceOptions::default();
    assert!(matches!(
        segmentation_metrics_3d(a.view(), b.view(), [1.0; 3], &o),
        Err(MetricsError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        segmentation_metrics_3d(a.view(), a.view(), [1.0, 0.0, 1.0], &o),
        Err(MetricsError::InvalidSpacing(_))
    ));
    let bad = SurfaceOptions {
        percentile: 101.0,
        ..o
    };
    assert!(matches!(
        segmentation_metrics_3d(a.view(), a.view(), [1.0; 3], &bad),
        Err(MetricsError::InvalidArgument(_))
    ));
}

#[test]
fn json_has_the_documented_keys() {
    let (a, b) = two_squares();
    let a3 = a.into_shape_with_order((1, 5, 15)).unwrap();
    let b3 = b.into_shape_with_order((1, 5, 15)).unwrap();
    let m = segmentation_metrics_3d(a3.view(), b3.view(), [1.0; 3], &SurfaceOptions::default())
        .unwrap();
    let v = serde_json::to_value(&m).unwrap();
    for key in [
        "dice",
        "hd95_mm",
        "hd_mm",
        "assd_mm",
        "precision",
        "recall",
        "lesions",
        "jaccard",
        "volume_difference_ml",
        "empty_policy",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(v["empty_policy"]["case"], "neither_empty");
    assert_eq!(v["empty_policy"]["penalty_mm"], 374.0);
    assert!(v["lesions"]["lesion_wise_dice"].is_number());
    let back: mtsa_metrics::SegMetrics = serde_json::from_value(v).unwrap();
    assert_eq!(back, m);
}

#[test]
fn non_standard_layout_views_are_read_in_logical_order() {
    let (a, b) = two_squares();
    let at = a.t();
    let bt = b.t();
    let owned_a = at.to_owned();
    let owned_b = bt.to_owned();
    let o = SurfaceOptions::default();
    let m1 = segmentation_metrics_2d(at, bt, [1.0, 2.0], &o).unwrap();
    let m2 = segmentation_metrics_2d(owned_a.view(), owned_b.view(), [1.0, 2.0], &o).unwrap();
    assert_eq!(m1, m2);
}
