//! The shared preprocessing: orientation invariance, the inverse used by `predict`, and which
//! slices count as brain.

mod common;

use common::*;
use mtsa_data::{
    brain_slices, preprocess_image, resample_mask, restore_probabilities, PreprocessConfig,
};
use mtsa_io::Volume;
use ndarray::Axis;

fn cfg(size: usize, fov_mm: f64) -> PreprocessConfig {
    PreprocessConfig {
        size,
        fov_mm,
        ..Default::default()
    }
}

/// Same anatomy stored RAS and LPS must give identical network input.
#[test]
fn ras_and_lps_storage_give_the_same_slices() {
    let (img, mask) = phantom([64, 56, 10], [1.0, 1.2, 3.0], ([20, 30, 5], 3), 1);
    let (img_l, mask_l) = (to_lps(&img), to_lps(&mask));
    assert_ne!(img.data, img_l.data);
    let c = cfg(64, 80.0);
    let (a, ga) = preprocess_image(&img, None, &c).unwrap();
    let (b, gb) = preprocess_image(&img_l, None, &c).unwrap();
    assert_eq!(a.shape(), &[10, 64, 64]);
    let max_diff = a
        .iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(max_diff < 1e-5, "max difference {max_diff}");
    assert_eq!(resample_mask(&mask, &ga), resample_mask(&mask_l, &gb));
    assert!(a.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!((ga.pixel_mm() - 1.25).abs() < 1e-12);
    assert_eq!(ga.slice_thickness_mm, 3.0);
}

/// A lesion on the patient's right (larger world x) lands right of the image centre.
#[test]
fn patient_right_is_towards_larger_columns() {
    // Lesion at i = 50 of 64: world x larger than the brain centre, i.e. patient Right.
    let (img, mask) = phantom([64, 64, 10], [1.0, 1.0, 3.0], ([50, 32, 5], 3), 2);
    for vol in [(img.clone(), mask.clone()), (to_lps(&img), to_lps(&mask))] {
        let (_, g) = preprocess_image(&vol.0, None, &cfg(64, 64.0)).unwrap();
        let m = resample_mask(&vol.1, &g);
        let slice = m.index_axis(Axis(0), 5);
        let (mut sum, mut n) = (0.0, 0.0);
        for ((_, c), &v) in slice.indexed_iter() {
            if v != 0 {
                sum += c as f64;
                n += 1.0;
            }
        }
        assert!(n > 0.0);
        assert!(sum / n > 40.0, "lesion column {}", sum / n);
    }
}

fn round_trip(img: &Volume<f32>, mask: &Volume<u8>, c: &PreprocessConfig) -> f64 {
    let (_, g) = preprocess_image(img, None, c).unwrap();
    let m = resample_mask(mask, &g);
    let back = restore_probabilities(&m.mapv(f32::from), &g);
    assert_eq!(back.shape(), mask.shape());
    assert_eq!(back.affine, mask.affine);
    dice(
        back.data.iter().map(|&p| p >= 0.5),
        mask.data.iter().map(|&v| v != 0),
    )
}

#[test]
fn restore_undoes_resampling() {
    let (img, mask) = phantom([96, 96, 12], [1.0, 1.0, 2.0], ([40, 55, 6], 6), 3);
    let c = cfg(256, 240.0);
    let d = round_trip(&img, &mask, &c);
    assert!(d > 0.9, "Dice {d}");
    let d_lps = round_trip(&to_lps(&img), &to_lps(&mask), &c);
    assert!((d - d_lps).abs() < 1e-9, "{d} vs {d_lps}");

    // Axes stored in another order ([k, j, i]) come back in that order.
    let perm = |v: &Volume<f32>| {
        let mut a = v.affine;
        for row in &mut a {
            row.swap(0, 2);
        }
        Volume::new(
            v.data
                .clone()
                .permuted_axes([2, 1, 0])
                .as_standard_layout()
                .into_owned(),
            a,
        )
    };
    let mask_p = perm(&mask.map(|&v| v as f32)).map(|&v| v as u8);
    let d_perm = round_trip(&perm(&img), &mask_p, &c);
    assert!((d - d_perm).abs() < 1e-9, "{d} vs {d_perm}");
}

#[test]
fn brain_slices_and_brain_mask() {
    let (mut img, _) = phantom([32, 32, 12], [1.0, 1.0, 2.0], ([16, 16, 6], 2), 4);
    // Blank the top and bottom three slices.
    for k in [0, 1, 2, 9, 10, 11] {
        img.data.index_axis_mut(Axis(2), k).fill(0.0);
    }
    let (_, g) = preprocess_image(&img, None, &cfg(32, 64.0)).unwrap();
    assert_eq!(brain_slices(&g), (3..9).collect::<Vec<_>>());

    // An explicit brain mask wins over "nonzero", and outside it the output is zero.
    let mut brain = img.map(|_| 0u8);
    brain.data.index_axis_mut(Axis(2), 5).fill(1);
    let (x, g) = preprocess_image(&img, Some(&brain), &cfg(32, 64.0)).unwrap();
    assert_eq!(brain_slices(&g), vec![5]);
    assert!(x.index_axis(Axis(0), 4).iter().all(|&v| v == 0.0));
    assert!(x.index_axis(Axis(0), 5).iter().any(|&v| v > 0.0));

    // A brain mask of the wrong shape is an error, not a panic.
    let wrong = Volume::new(ndarray::Array3::<u8>::ones((3, 3, 3)), img.affine);
    assert!(preprocess_image(&img, Some(&wrong), &cfg(32, 64.0)).is_err());
}

#[test]
fn geometry_serialises() {
    let (img, _) = small_case(0);
    let (_, g) = preprocess_image(&img, None, &cfg(32, 64.0)).unwrap();
    let json = serde_json::to_string(&g).unwrap();
    let back: mtsa_data::SliceGeometry = serde_json::from_str(&json).unwrap();
    assert_eq!(g, back);
}

/// A brain wider than the field of view would silently lose its edges from every slice: with a
/// brain mask that is an error; without one (the nonzero region may be head and noise) a
/// warning, recorded in the geometry (`prepare` logs it naming the file, `predict` puts it in
/// `egfr.json`). The geometry keeps it through a round trip, and a scan that fits has none.
#[test]
fn a_brain_mask_wider_than_the_field_of_view_is_an_error() {
    // Brain ellipsoid ~86 mm wide (0.9 x 96 voxels of 1 mm).
    let (img, _) = phantom([96, 80, 8], [1.0, 1.0, 3.0], ([48, 40, 4], 2), 5);
    let brain = Volume::new(img.data.mapv(|v| u8::from(v > 0.0)), img.affine);
    assert!(preprocess_image(&img, Some(&brain), &cfg(64, 100.0)).is_ok());
    let err = preprocess_image(&img, Some(&brain), &cfg(64, 80.0))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("left-right") && err.contains("80 mm field of view"),
        "{err}"
    );
    let (_, wide) = preprocess_image(&img, None, &cfg(64, 80.0)).unwrap();
    let warnings: Vec<String> = wide.field_of_view_warnings().collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("left-right") && warnings[0].contains("not examined"),
        "{warnings:?}"
    );
    let back: mtsa_data::SliceGeometry =
        serde_json::from_str(&serde_json::to_string(&wide).unwrap()).unwrap();
    assert_eq!(back, wide);
    let (_, fits) = preprocess_image(&img, None, &cfg(64, 100.0)).unwrap();
    assert_eq!(fits.field_of_view_warnings().count(), 0);
}
