//! Property tests: invariants of the surface and overlap metrics on random masks, and the
//! EDT-based distances against a brute-force nearest-boundary search.

use mtsa_metrics::{
    segmentation_metrics_2d, segmentation_metrics_3d, surface_distances_3d, Hd95Convention,
    SurfaceOptions,
};
use ndarray::{Array2, Array3};
use proptest::prelude::*;

fn mask3() -> impl Strategy<Value = Array3<bool>> {
    (1usize..6, 1usize..7, 1usize..7).prop_flat_map(|(a, b, c)| {
        proptest::collection::vec(proptest::bool::weighted(0.35), a * b * c)
            .prop_map(move |v| Array3::from_shape_vec((a, b, c), v).unwrap())
    })
}

fn pair3() -> impl Strategy<Value = (Array3<bool>, Array3<bool>)> {
    mask3().prop_flat_map(|a| {
        let d = a.dim();
        let n = d.0 * d.1 * d.2;
        proptest::collection::vec(proptest::bool::weighted(0.35), n)
            .prop_map(move |v| (a.clone(), Array3::from_shape_vec(d, v).unwrap()))
    })
}

fn pair2() -> impl Strategy<Value = (Array2<bool>, Array2<bool>)> {
    (1usize..12, 1usize..12).prop_flat_map(|(r, c)| {
        (
            proptest::collection::vec(proptest::bool::weighted(0.3), r * c),
            proptest::collection::vec(proptest::bool::weighted(0.3), r * c),
        )
            .prop_map(move |(a, b)| {
                (
                    Array2::from_shape_vec((r, c), a).unwrap(),
                    Array2::from_shape_vec((r, c), b).unwrap(),
                )
            })
    })
}

fn spacing3() -> impl Strategy<Value = [f64; 3]> {
    (0.3f64..4.0, 0.3f64..4.0, 0.3f64..4.0).prop_map(|(a, b, c)| [a, b, c])
}

/// Boundary voxels (6-neighbourhood erosion, outside = background), brute force.
fn boundary_points(m: &Array3<bool>) -> Vec<[usize; 3]> {
    let (a, b, c) = m.dim();
    let get = |z: isize, y: isize, x: isize| {
        z >= 0
            && y >= 0
            && x >= 0
            && (z as usize) < a
            && (y as usize) < b
            && (x as usize) < c
            && m[[z as usize, y as usize, x as usize]]
    };
    let mut out = vec![];
    for ((z, y, x), &v) in m.indexed_iter() {
        let (zi, yi, xi) = (z as isize, y as isize, x as isize);
        let interior = get(zi - 1, yi, xi)
            && get(zi + 1, yi, xi)
            && get(zi, yi - 1, xi)
            && get(zi, yi + 1, xi)
            && get(zi, yi, xi - 1)
            && get(zi, yi, xi + 1);
        if v && !interior {
            out.push([z, y, x]);
        }
    }
    out
}

fn brute_directed(from: &[[usize; 3]], to: &[[usize; 3]], sp: [f64; 3]) -> Vec<f64> {
    from.iter()
        .map(|p| {
            to.iter()
                .map(|q| {
                    (0..3)
                        .map(|k| ((p[k] as f64 - q[k] as f64) * sp[k]).powi(2))
                        .sum::<f64>()
                        .sqrt()
                })
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn hd95_never_exceeds_hd((a, b) in pair3(), sp in spacing3()) {
        for convention in [Hd95Convention::MaxOfDirected, Hd95Convention::Pooled] {
            let o = SurfaceOptions { convention, ..SurfaceOptions::default() };
            let m = segmentation_metrics_3d(a.view(), b.view(), sp, &o).unwrap();
            prop_assert!(m.hd95_mm <= m.hd_mm + 1e-12);
            prop_assert!(m.assd_mm <= m.hd_mm + 1e-12);
            prop_assert!((0.0..=1.0).contains(&m.dice));
        }
    }

    #[test]
    fn metrics_are_symmetric_where_they_should_be((a, b) in pair3(), sp in spacing3()) {
        let o = SurfaceOptions::default();
        let ab = segmentation_metrics_3d(a.view(), b.view(), sp, &o).unwrap();
        let ba = segmentation_metrics_3d(b.view(), a.view(), sp, &o).unwrap();
        prop_assert_eq!(ab.dice, ba.dice);
        prop_assert_eq!(ab.jaccard, ba.jaccard);
        prop_assert_eq!(ab.hd_mm, ba.hd_mm);
        prop_assert_eq!(ab.hd95_mm, ba.hd95_mm);
        prop_assert!((ab.assd_mm - ba.assd_mm).abs() < 1e-9);
        prop_assert_eq!(ab.precision, ba.recall);
    }

    #[test]
    fn a_mask_against_itself_is_perfect(a in mask3(), sp in spacing3()) {
        let m = segmentation_metrics_3d(a.view(), a.view(), sp, &SurfaceOptions::default()).unwrap();
        prop_assert_eq!(m.dice, 1.0);
        prop_assert_eq!(m.jaccard, 1.0);
        prop_assert_eq!(m.hd_mm, 0.0);
        prop_assert_eq!(m.hd95_mm, 0.0);
        prop_assert_eq!(m.assd_mm, 0.0);
        let l = m.lesions.unwrap();
        prop_assert_eq!(l.false_positives, 0);
        prop_assert_eq!(l.false_negatives, 0);
    }

    #[test]
    fn slices_against_themselves_are_perfect_and_dice_symmetric((a, b) in pair2(), s0 in 0.2f64..3.0, s1 in 0.2f64..3.0) {
        let o = SurfaceOptions::default();
        let aa = segmentation_metrics_2d(a.view(), a.view(), [s0, s1], &o).unwrap();
        prop_assert_eq!((aa.dice, aa.hd_mm, aa.hd95_mm), (1.0, 0.0, 0.0));
        let ab = segmentation_metrics_2d(a.view(), b.view(), [s0, s1], &o).unwrap();
        let ba = segmentation_metrics_2d(b.view(), a.view(), [s0, s1], &o).unwrap();
        prop_assert_eq!(ab.dice, ba.dice);
        prop_assert!(ab.hd95_mm <= ab.hd_mm + 1e-12);
    }

    #[test]
    fn edt_distances_equal_brute_force((a, b) in pair3(), sp in spacing3()) {
        let sd = surface_distances_3d(a.view(), b.view(), sp).unwrap();
        let (pa, pb) = (boundary_points(&a), boundary_points(&b));
        let want_ab = brute_directed(&pa, &pb, sp);
        let want_ba = brute_directed(&pb, &pa, sp);
        prop_assert_eq!(sd.pred_to_gt.len(), want_ab.len());
        prop_assert_eq!(sd.gt_to_pred.len(), want_ba.len());
        for (x, y) in sd.pred_to_gt.iter().zip(&want_ab).chain(sd.gt_to_pred.iter().zip(&want_ba)) {
            prop_assert!((x == y) || (x - y).abs() < 1e-9, "{} vs {}", x, y);
        }
    }
}
