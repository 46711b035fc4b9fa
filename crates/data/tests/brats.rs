//! The six real BRATS 2013 cases (LPS, multi-label, with brain masks), read in place from the
//! shared data folder: prepare end to end, left/right kept, and the predict-time inverse.
//! Skipped with a note when the data is absent.

mod common;

use common::*;
use mtsa_data::{
    load_split, prepare, preprocess_image, read_info, resample_mask, restore_probabilities,
    LabelRules, PrepareConfig, PreprocessConfig,
};
use mtsa_io::{read_nifti, read_nifti_labels, Volume};
use std::path::Path;
use std::time::Instant;

const IMAGE: &str = "T1c_subtrMeanDivStd.nii.gz";
const LABEL: &str = "OTMultiClass.nii.gz";

fn load_case(dir: &Path, case: &str) -> (Volume<f32>, Volume<u8>, Volume<u8>) {
    let d = dir.join(case);
    let img = read_nifti(&d.join(IMAGE)).unwrap();
    let core = read_nifti_labels(&d.join(LABEL))
        .unwrap()
        .map(|&v| u8::from(matches!(v, 1 | 3 | 4)));
    let brain = read_nifti_labels(&d.join("brainmask.nii.gz"))
        .unwrap()
        .map(|&v| u8::from(v != 0));
    (img, core, brain)
}

#[test]
fn brats_prepare_with_splits_file() {
    let Some(dir) = brats_dir() else { return };
    let t = tempfile::tempdir().unwrap();
    let splits = t.path().join("splits.json");
    std::fs::write(
        &splits,
        r#"{"train": ["brats_2013_pat0001_1", "brats_2013_pat0002_1", "brats_2013_pat0003_1",
                      "brats_2013_pat0004_1"],
            "val": ["brats_2013_pat0005_1"], "test": ["brats_2013_pat0006_1"]}"#,
    )
    .unwrap();
    let cfg = PrepareConfig {
        size: 256,
        fov_mm: 240.0,
        labels: LabelRules {
            gtv_labels: vec![1, 3, 4],
            ignore_labels: vec![2],
            ..LabelRules::default()
        },
        splits_file: Some(splits),
        image_name: Some(IMAGE.into()),
        label_name: Some(LABEL.into()),
        ..Default::default()
    };
    let out = t.path().join("brats");
    let start = Instant::now();
    let s = prepare(&dir, &out, &cfg, &|_, _| {}).unwrap();
    eprintln!(
        "BRATS prepare (size 256) in {:.2} s: {:?}",
        start.elapsed().as_secs_f64(),
        s.counts
    );
    assert_eq!(s.patients, 6);
    assert!(!s.has_egfr);
    let info = read_info(&out).unwrap();
    assert!(!info.has_egfr);
    assert_eq!(info.splits, ["test", "train", "val"].map(String::from));
    assert_eq!(info.counts["train"].patients, 4);
    for split in &info.splits {
        let d = load_split(&out, split).unwrap();
        assert!(!d.is_empty(), "{split} has no slices");
        for (n, r) in d.slices.iter().enumerate() {
            assert!(r.gtv_area_px > 0 && r.egfr.is_none());
            assert_eq!(r.slice_thickness_mm, 1.0);
            assert!((r.spacing_mm[0] - 240.0 / 256.0).abs() < 1e-12);
            assert!(d.image(n).iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }
}

/// Tumour centroid world x (RAS: larger = patient Right) against the brain centre, in the
/// source, must match the prepared slices' column offset from the centre column, in sign and
/// (to a couple of mm) in size.
#[test]
fn brats_tumour_stays_on_its_side() {
    let Some(dir) = brats_dir() else { return };
    let cfg = PreprocessConfig {
        size: 256,
        fov_mm: 240.0,
        ..Default::default()
    };
    let mut checked = 0;
    for n in 1..=6 {
        let case = format!("brats_2013_pat000{n}_1");
        let (img, core, brain) = load_case(&dir, &case);
        // Source side: centroid of the tumour core and centre of the brain's x extent, in world
        // mm, computed straight from the file's affine.
        let (mut sum_x, mut count) = (0.0, 0.0);
        let (mut min_x, mut max_x) = (f64::INFINITY, f64::NEG_INFINITY);
        for ((i, j, k), &v) in core.data.indexed_iter() {
            let x = core.world([i as f64, j as f64, k as f64])[0];
            if v != 0 {
                sum_x += x;
                count += 1.0;
            }
            if brain.data[[i, j, k]] != 0 {
                min_x = min_x.min(x);
                max_x = max_x.max(x);
            }
        }
        let dx_world = sum_x / count - (min_x + max_x) / 2.0;

        let (_, g) = preprocess_image(&img, Some(&brain), &cfg).unwrap();
        let m = resample_mask(&core, &g);
        let (mut sum_c, mut n_c) = (0.0, 0.0);
        for ((_, _, c), &v) in m.indexed_iter() {
            if v != 0 {
                sum_c += c as f64;
                n_c += 1.0;
            }
        }
        let dx_prepared = (sum_c / n_c - (cfg.size as f64 - 1.0) / 2.0) * g.pixel_mm();
        eprintln!(
            "{case}: tumour {dx_world:+.1} mm from brain centre; prepared {dx_prepared:+.1} mm"
        );
        assert!(
            (dx_world - dx_prepared).abs() < 2.0,
            "{case}: source {dx_world:.1} mm, prepared {dx_prepared:.1} mm"
        );
        if dx_world.abs() > 5.0 {
            assert_eq!(
                dx_world > 0.0,
                dx_prepared > 0.0,
                "{case} flipped left/right"
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "too few lateral tumours to test the side");
}

#[test]
fn brats_restore_round_trip() {
    let Some(dir) = brats_dir() else { return };
    let (img, core, brain) = load_case(&dir, "brats_2013_pat0001_1");
    let cfg = PreprocessConfig {
        size: 256,
        fov_mm: 240.0,
        ..Default::default()
    };
    let (x, g) = preprocess_image(&img, Some(&brain), &cfg).unwrap();
    assert_eq!(x.shape(), &[155, 256, 256]);
    let m = resample_mask(&core, &g);
    let back = restore_probabilities(&m.mapv(f32::from), &g);
    assert_eq!(back.shape(), core.shape());
    assert_eq!(back.affine, core.affine);
    let d = dice(
        back.data.iter().map(|&p| p >= 0.5),
        core.data.iter().map(|&v| v != 0),
    );
    eprintln!("BRATS pat0001 restore Dice {d:.4}");
    assert!(d > 0.9, "Dice {d}");
}

/// The MNI template (stored RAS) and a BRATS brain (stored LPS) come out the same way round
/// front-to-back: their brain outlines on low slices (where the frontal lobes and the cerebellum
/// make the brain front-back asymmetric) overlap better as prepared than with one flipped.
/// Left-right is covered by the tumour-side test.
#[test]
fn mni_and_brats_come_out_the_same_way_round() {
    let Some(dir) = brats_dir() else { return };
    let mni = dir.join("../mni152-2009a/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz");
    if !mni.is_file() {
        eprintln!("note: {} not found; test skipped", mni.display());
        return;
    }
    let cfg = PreprocessConfig {
        size: 128,
        fov_mm: 240.0,
        ..Default::default()
    };
    let outlines = |img: &Volume<f32>, brain: Option<&Volume<u8>>| {
        let (x, g) = preprocess_image(img, brain, &cfg).unwrap();
        let b = g.brain_slices.clone();
        [2usize, 3].map(|tenth| {
            x.index_axis(ndarray::Axis(0), b[b.len() * tenth / 10])
                .mapv(|v| v > 0.0)
        })
    };
    let a = outlines(&read_nifti(&mni).unwrap(), None);
    let (img, _, brain) = load_case(&dir, "brats_2013_pat0001_1");
    let b = outlines(&img, Some(&brain));
    for (a, b) in a.iter().zip(&b) {
        let same = dice(a.iter().copied(), b.iter().copied());
        let mut b_flipped = b.clone();
        b_flipped.invert_axis(ndarray::Axis(0));
        let flipped = dice(a.iter().copied(), b_flipped.iter().copied());
        eprintln!(
            "MNI vs BRATS outline Dice: as prepared {same:.3}, front-back flipped {flipped:.3}"
        );
        assert!(
            same > 0.8 && same > flipped + 0.1,
            "{same} vs flipped {flipped}"
        );
    }
}

/// The image alone, as `predict` reads it (its background, the z-scored value of zero that
/// fills ~85% of these volumes, shifted to 0 by `scan_as_read`), is prepared as with the
/// case's brain mask: the same brain slices, field of view and intensities. Taken as it is
/// stored, every voxel would be brain (all 155 slices, the field of view on the volume's centre).
#[test]
fn brats_image_alone_is_prepared_as_with_its_brain_mask() {
    let Some(dir) = brats_dir() else { return };
    let cfg = PreprocessConfig {
        size: 128,
        fov_mm: 240.0,
        ..Default::default()
    };
    for n in 1..=6 {
        let case = format!("brats_2013_pat000{n}_1");
        let (img, _, brain) = load_case(&dir, &case);
        let (masked, with_mask) = preprocess_image(&img, Some(&brain), &cfg).unwrap();
        let (_, stored) = preprocess_image(&img, None, &cfg).unwrap();
        assert_eq!(stored.brain_slices.len(), img.shape()[2], "{case}");
        let path = dir.join(&case).join(IMAGE);
        let (zeroed, _) = mtsa_data::scan_as_read(img, &path, None).unwrap();
        let (alone, without) = preprocess_image(&zeroed, None, &cfg).unwrap();
        eprintln!(
            "{case}: brain slices {} with the mask, {} alone; centre {:?} / {:?}",
            with_mask.brain_slices.len(),
            without.brain_slices.len(),
            with_mask.centre_mm,
            without.centre_mm
        );
        assert_eq!(without.brain_slices, with_mask.brain_slices, "{case}");
        for a in 0..2 {
            let off = (without.centre_mm[a] - with_mask.centre_mm[a]).abs();
            assert!(off <= 1.0, "{case}: centre {off} mm off");
        }
        let diff = (&alone - &masked).mapv(f32::abs);
        let mean = diff.mean().unwrap();
        eprintln!("{case}: mean |difference| {mean:.5}");
        assert!(mean < 0.01, "{case}: mean intensity difference {mean}");
    }
}
