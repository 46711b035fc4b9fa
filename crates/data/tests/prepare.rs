//! `prepare` end to end on small synthetic cohorts in each layout, and loading the result.

mod common;

use common::*;
use mtsa_data::{load_split, prepare, read_info, verify, LabelRules, LayoutKind, PrepareConfig};
use mtsa_io::write_nifti;
use std::cell::RefCell;

fn cfg() -> PrepareConfig {
    PrepareConfig {
        size: 48,
        fov_mm: 64.0,
        val_patients: 2,
        seed: 3,
        ..Default::default()
    }
}

#[test]
fn our_layout_with_sites_dates_and_truth() {
    let t = tempfile::tempdir().unwrap();
    let c = our_cohort(t.path(), 12, |i| {
        let (egfr, date, _) = default_row(i);
        let site = if i >= 10 { "Hospital B" } else { "internal" };
        let egfr = if i == 5 { String::new() } else { egfr };
        (egfr, date, site.into())
    });
    std::fs::write(c.join("truth.json"), r#"{"synthetic":true}"#).unwrap();
    let out = t.path().join("ds");
    let calls = RefCell::new(Vec::new());
    let s = prepare(&c, &out, &cfg(), &|d, n| calls.borrow_mut().push((d, n))).unwrap();
    assert_eq!(calls.borrow().first(), Some(&(0, 12)));
    assert_eq!(calls.borrow().last(), Some(&(12, 12)));
    assert_eq!(s.layout, LayoutKind::Ours);
    assert!(s.has_egfr);

    // p003 and p007 are after the cutoff; p010, p011 external; 2 of the other 6 are val.
    let info = read_info(&out).unwrap();
    let split_of = |id: &str| {
        info.patients
            .iter()
            .find(|p| p.id == id)
            .unwrap()
            .split
            .clone()
    };
    assert_eq!(split_of("p003"), "test");
    assert_eq!(split_of("p007"), "test");
    assert_eq!(split_of("p010"), "external-hospital_b");
    assert_eq!(info.counts["val"].patients, 2);
    assert_eq!(info.counts["train"].patients, 6);
    assert_eq!(
        info.splits,
        ["external-hospital_b", "test", "train", "val"].map(String::from)
    );
    assert_eq!(info.internal_site, "internal");
    assert!(info.has_truth && out.join("truth.json").is_file());
    assert_eq!(info.patients[0].clinical["age"], "50");
    assert_eq!(info.data_hash, s.data_hash);
    verify(&out).unwrap();

    let train = load_split(&out, "train").unwrap();
    assert_eq!(train.size, 48);
    assert_eq!(train.images.len(), train.len() * 48 * 48);
    assert_eq!(train.masks.len(), train.len() * 48 * 48);
    assert_eq!(train.len(), info.counts["train"].slices);
    for (n, r) in train.slices.iter().enumerate() {
        assert_eq!(
            r.gtv_area_px,
            train.mask(n).iter().filter(|&&v| v == 1).count()
        );
        assert!(r.gtv_area_px > 0);
        assert_eq!(r.spacing_mm, [64.0 / 48.0; 2]);
        assert_eq!(r.slice_thickness_mm, 3.0);
        let expect = match r.patient_id.as_str() {
            "p005" => None,
            id => Some((id[1..].parse::<u8>().unwrap() % 2 == 0) as u8),
        };
        assert_eq!(r.egfr, expect, "{}", r.patient_id);
        assert!(train.image(n).iter().all(|v| (0.0..=1.0).contains(v)));
        // The lesion is the brightest tissue: its pixels are near 1.
        let m = train.mask(n);
        let lesion: Vec<f32> = (0..m.len())
            .filter(|&p| m[p] == 1)
            .map(|p| train.image(n)[p])
            .collect();
        let mean = lesion.iter().sum::<f32>() / lesion.len() as f32;
        assert!(mean > 0.8, "lesion intensity {mean}");
    }
    // A cube of 7 voxels a side: 7 slices per patient.
    assert_eq!(train.len(), 6 * 7);

    // Same inputs, same seed: byte-identical data.
    let again = prepare(&c, &t.path().join("ds2"), &cfg(), &|_, _| {}).unwrap();
    assert_eq!(again.data_hash, s.data_hash);
    // Tampering is detected.
    std::fs::write(out.join("val.slices.json"), "[]").unwrap();
    assert!(verify(&out).is_err());
    assert!(load_split(&out, "val").is_err());
    // An existing non-empty output is refused unless overwrite.
    assert!(prepare(&c, &out, &cfg(), &|_, _| {}).is_err());
    let ow = PrepareConfig {
        overwrite: true,
        ..cfg()
    };
    prepare(&c, &out, &ow, &|_, _| {}).unwrap();
    verify(&out).unwrap();
}

#[test]
fn nnunet_layout_takes_brain_masks_and_without_clinical_is_segmentation_only() {
    let t = tempfile::tempdir().unwrap();
    let c = t.path().join("raw");
    for i in 0..5 {
        let (img, mask) = small_case(i);
        write_nifti(&c.join(format!("imagesTr/case{i}_0000.nii.gz")), &img).unwrap();
        write_nifti(&c.join(format!("imagesTr/case{i}_0001.nii.gz")), &img).unwrap();
        write_nifti(&c.join(format!("labelsTr/case{i}.nii.gz")), &mask).unwrap();
    }
    // A brain mask for one case, beside imagesTr/ as in our layout.
    let (img, _) = small_case(1);
    let brain = img.map(|&v| u8::from(v != 0.0));
    write_nifti(&c.join("brainmasks/case1.nii.gz"), &brain).unwrap();
    let out = t.path().join("ds");
    let s = prepare(&c, &out, &cfg(), &|_, _| {}).unwrap();
    assert_eq!(s.layout, LayoutKind::NnUnet);
    let info = read_info(&out).unwrap();
    let brains: Vec<(&str, Option<&str>)> = info
        .patients
        .iter()
        .map(|p| (p.id.as_str(), p.source.brain.as_deref()))
        .collect();
    assert_eq!(
        brains
            .iter()
            .filter(|(_, b)| b.is_some())
            .collect::<Vec<_>>(),
        [&("case1", Some("brainmasks/case1.nii.gz"))]
    );
    assert_eq!(s.patients, 5);
    assert!(!s.has_egfr);
    assert!(s.warnings.iter().any(|w| w.contains("no diagnosis dates")));
    assert!(!info.has_egfr);
    assert_eq!(info.counts["train"].patients, 3);
    assert_eq!(info.counts["val"].patients, 2);
    assert!(!info.counts.contains_key("test"));
    assert!(load_split(&out, "train")
        .unwrap()
        .slices
        .iter()
        .all(|r| r.egfr.is_none()));
}

#[test]
fn case_folders_with_brain_mask_and_splits_file() {
    let t = tempfile::tempdir().unwrap();
    let c = t.path().join("cases");
    for i in 0..4 {
        let (img, mask) = small_case(i);
        let d = c.join(format!("case{i}"));
        write_nifti(&d.join("t1c.nii.gz"), &img).unwrap();
        // Multi-label: lesion core 4 surrounded by label 2 elsewhere.
        let mut labels = mask.map(|&v| if v == 1 { 4u8 } else { 0 });
        labels.data[[1, 1, 1]] = 2;
        write_nifti(&d.join("seg.nii.gz"), &labels).unwrap();
        write_nifti(
            &d.join("brainmask.nii.gz"),
            &img.map(|&v| u8::from(v > 0.0)),
        )
        .unwrap();
    }
    std::fs::create_dir_all(c.join("docs")).unwrap();
    let splits = t.path().join("splits.json");
    std::fs::write(
        &splits,
        r#"{"train":["case0","case1"],"val":["case2"],"test":["case3"]}"#,
    )
    .unwrap();
    let cfg = PrepareConfig {
        image_name: Some("t1c.nii.gz".into()),
        label_name: Some("seg.nii.gz".into()),
        labels: LabelRules {
            gtv_labels: vec![1, 3, 4],
            ignore_labels: vec![2],
            ..LabelRules::default()
        },
        splits_file: Some(splits),
        ..cfg()
    };
    let out = t.path().join("ds");
    let s = prepare(&c, &out, &cfg, &|_, _| {}).unwrap();
    assert_eq!(s.layout, LayoutKind::CaseFolders);
    assert_eq!(s.counts["train"].patients, 2);
    assert_eq!(s.counts["test"].slices, 7);
    let info = read_info(&out).unwrap();
    assert!(info.cutoff.is_none() && info.splits_file.is_some());
    let splits_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("splits.json")).unwrap()).unwrap();
    assert_eq!(splits_json["val"][0], "case2");
}

/// 40 patients, a fifth of them diagnosed after the cutoff: the test split takes those 8, the
/// validation split the 10 asked for, and every lesion slice is kept. (Small volumes: a CI disk
/// is not always roomy. `cargo bench -p mtsa-data --bench prepare` times full-size scans.)
#[test]
fn forty_patients_split_by_date_and_validation_count() {
    let t = tempfile::tempdir().unwrap();
    let c = t.path().join("cohort");
    let mut csv = String::from("patient_id,egfr,diagnosis_date,site\n");
    for i in 0..40 {
        let (img, mask) = phantom(
            [48, 48, 24],
            [1.2, 1.2, 1.5],
            ([14 + i % 20, 24, 12], 8),
            i as u64,
        );
        write_nifti(&c.join(format!("images/p{i:02}.nii")), &img).unwrap();
        write_nifti(&c.join(format!("labels/p{i:02}.nii")), &mask).unwrap();
        let date = if i % 5 == 0 {
            "2022-01-01"
        } else {
            "2019-06-30"
        };
        csv.push_str(&format!("p{i:02},{},{date},internal\n", i % 2));
    }
    std::fs::write(c.join("clinical.csv"), csv).unwrap();
    let cfg = PrepareConfig {
        size: 64,
        fov_mm: 64.0,
        val_patients: 10,
        ..Default::default()
    };
    let s = prepare(&c, &t.path().join("ds"), &cfg, &|_, _| {}).unwrap();
    let slices: usize = s.counts.values().map(|c| c.slices).sum();
    assert_eq!(s.counts["test"].patients, 8);
    assert_eq!(s.counts["val"].patients, 10);
    assert_eq!(s.counts["train"].patients, 22);
    assert_eq!(slices, 40 * 17);
}
