//! Every kind of bad input gives a one-line error naming the file and the problem, and leaves
//! no dataset (or temporary folder) behind.

mod common;

use common::*;
use mtsa_data::{prepare, LabelRules, PrepareConfig};
use mtsa_io::write_nifti;
use std::path::Path;

fn cohort3(root: &Path) -> std::path::PathBuf {
    our_cohort(root, 3, default_row)
}

#[test]
fn truncated_gzip_names_the_file() {
    let t = tempfile::tempdir().unwrap();
    let c = cohort3(t.path());
    let f = c.join("images/p001.nii.gz");
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
    expect_err(t.path(), &c, &cfg(), &["p001.nii.gz"]);
}

#[test]
fn garbage_file_names_the_file() {
    let t = tempfile::tempdir().unwrap();
    let c = cohort3(t.path());
    std::fs::write(c.join("labels/p002.nii.gz"), b"not a nifti file at all").unwrap();
    expect_err(t.path(), &c, &cfg(), &["labels/p002.nii.gz"]);
}

#[test]
fn mask_of_other_shape() {
    let t = tempfile::tempdir().unwrap();
    let c = cohort3(t.path());
    let (_, mask) = phantom([32, 30, 8], [1.0, 1.0, 3.0], ([10, 10, 4], 2), 0);
    write_nifti(&c.join("labels/p000.nii.gz"), &mask).unwrap();
    expect_err(t.path(), &c, &cfg(), &["labels/p000.nii.gz", "shape"]);
}

#[test]
fn mask_of_other_affine() {
    let t = tempfile::tempdir().unwrap();
    let c = cohort3(t.path());
    let (_, mut mask) = small_case(0);
    mask.affine[0][3] += 5.0;
    write_nifti(&c.join("labels/p000.nii.gz"), &mask).unwrap();
    expect_err(t.path(), &c, &cfg(), &["labels/p000.nii.gz", "affine"]);
}

#[test]
fn mask_label_outside_gtv_labels() {
    let t = tempfile::tempdir().unwrap();
    let c = cohort3(t.path());
    let (_, mut mask) = small_case(1);
    mask.data[[0, 0, 0]] = 2;
    write_nifti(&c.join("labels/p001.nii.gz"), &mask).unwrap();
    let msg = expect_err(t.path(), &c, &cfg(), &["labels/p001.nii.gz", "[2]"]);
    assert!(msg.contains("GTV labels"), "{msg}");
    // The same mask is accepted when 2 is declared ignorable.
    let ok = PrepareConfig {
        labels: LabelRules {
            ignore_labels: vec![2],
            ..LabelRules::default()
        },
        ..cfg()
    };
    prepare(&c, &t.path().join("ok"), &ok, &|_, _| {}).unwrap();
}

#[test]
fn nan_and_inf_voxels() {
    for bad in [f32::NAN, f32::INFINITY] {
        let t = tempfile::tempdir().unwrap();
        let c = cohort3(t.path());
        let (mut img, _) = small_case(2);
        img.data[[16, 16, 4]] = bad;
        write_nifti(&c.join("images/p002.nii.gz"), &img).unwrap();
        expect_err(t.path(), &c, &cfg(), &["images/p002.nii.gz", "non-finite"]);
    }
}

#[test]
fn csv_patient_without_images() {
    let t = tempfile::tempdir().unwrap();
    let c = cohort3(t.path());
    let mut csv = std::fs::read_to_string(c.join("clinical.csv")).unwrap();
    csv.push_str("ghost,mutant,2020-01-01,internal,40\n");
    std::fs::write(c.join("clinical.csv"), csv).unwrap();
    expect_err(
        t.path(),
        &c,
        &cfg(),
        &["clinical.csv", "\"ghost\"", "no image"],
    );
}

#[test]
fn image_without_csv_row() {
    let t = tempfile::tempdir().unwrap();
    let c = cohort3(t.path());
    let (img, mask) = small_case(9);
    write_nifti(&c.join("images/extra.nii.gz"), &img).unwrap();
    write_nifti(&c.join("labels/extra.nii.gz"), &mask).unwrap();
    expect_err(
        t.path(),
        &c,
        &cfg(),
        &["images/extra.nii.gz", "clinical.csv"],
    );
}

#[test]
fn image_without_label_and_label_without_image() {
    let t = tempfile::tempdir().unwrap();
    let c = cohort3(t.path());
    std::fs::remove_file(c.join("labels/p001.nii.gz")).unwrap();
    expect_err(t.path(), &c, &cfg(), &["images/p001.nii.gz", "no label"]);

    let t = tempfile::tempdir().unwrap();
    let c = cohort3(t.path());
    std::fs::remove_file(c.join("images/p001.nii.gz")).unwrap();
    expect_err(
        t.path(),
        &c,
        &cfg(),
        &["labels/p001.nii.gz", "without an image"],
    );
}

#[test]
fn duplicate_ids() {
    let t = tempfile::tempdir().unwrap();
    let c = cohort3(t.path());
    let mut csv = std::fs::read_to_string(c.join("clinical.csv")).unwrap();
    csv.push_str("p001,wild,2020-01-01,internal,40\n");
    std::fs::write(c.join("clinical.csv"), csv).unwrap();
    expect_err(
        t.path(),
        &c,
        &cfg(),
        &["clinical.csv", "line 5", "duplicate", "p001"],
    );

    // The same id stored twice (plain and gzipped).
    let t = tempfile::tempdir().unwrap();
    let c = cohort3(t.path());
    let (img, _) = small_case(1);
    write_nifti(&c.join("images/p001.nii"), &img).unwrap();
    expect_err(t.path(), &c, &cfg(), &["p001.nii", "duplicate id"]);
}

#[test]
fn unparseable_date_and_egfr() {
    let t = tempfile::tempdir().unwrap();
    let c = our_cohort(t.path(), 3, |i| {
        let date = if i == 1 { "2020-02-30" } else { "2020-01-01" };
        ("mutant".into(), date.into(), "internal".into())
    });
    expect_err(
        t.path(),
        &c,
        &cfg(),
        &["clinical.csv", "line 3", "2020-02-30"],
    );

    let t = tempfile::tempdir().unwrap();
    let c = our_cohort(t.path(), 3, |i| {
        let egfr = if i == 2 { "positive?" } else { "WILD" };
        (egfr.into(), "2020-01-01".into(), "internal".into())
    });
    expect_err(
        t.path(),
        &c,
        &cfg(),
        &["clinical.csv", "line 4", "positive?"],
    );
}

#[test]
fn empty_cohort() {
    let t = tempfile::tempdir().unwrap();
    let c = t.path().join("cohort");
    std::fs::create_dir_all(&c).unwrap();
    expect_err(t.path(), &c, &cfg(), &["cohort", "empty cohort"]);

    std::fs::create_dir_all(c.join("images")).unwrap();
    std::fs::create_dir_all(c.join("labels")).unwrap();
    expect_err(t.path(), &c, &cfg(), &["cohort", "empty cohort"]);

    expect_err(
        t.path(),
        &t.path().join("nowhere"),
        &cfg(),
        &["nowhere", "not found"],
    );
}

#[test]
fn bad_splits_file() {
    let t = tempfile::tempdir().unwrap();
    let c = cohort3(t.path());
    let splits = t.path().join("splits.json");
    let with = |json: &str| {
        std::fs::write(&splits, json).unwrap();
        PrepareConfig {
            splits_file: Some(splits.clone()),
            ..cfg()
        }
    };
    let cfg1 = with(r#"{"train":["p000","p001"],"test":["nobody"]}"#);
    expect_err(t.path(), &c, &cfg1, &["splits.json", "\"nobody\""]);
    let cfg2 = with(r#"{"train":["p000","p001"]}"#);
    expect_err(
        t.path(),
        &c,
        &cfg2,
        &["splits.json", "\"p002\"", "no split"],
    );
    let cfg3 = with(r#"{"train":["p000","p001"],"val":["p001","p002"]}"#);
    expect_err(t.path(), &c, &cfg3, &["splits.json", "both"]);
    let cfg4 = with(r#"["p000"]"#);
    expect_err(t.path(), &c, &cfg4, &["splits.json", "JSON object"]);
}

#[test]
fn too_many_validation_patients() {
    let t = tempfile::tempdir().unwrap();
    let c = cohort3(t.path());
    let big = PrepareConfig {
        val_patients: 10,
        ..cfg()
    };
    expect_err(t.path(), &c, &big, &["validation"]);
}

#[test]
fn constant_image_names_the_file() {
    let t = tempfile::tempdir().unwrap();
    let c = cohort3(t.path());
    let (mut img, _) = small_case(0);
    img.data.fill(0.0);
    write_nifti(&c.join("images/p000.nii.gz"), &img).unwrap();
    expect_err(
        t.path(),
        &c,
        &cfg(),
        &["images/p000.nii.gz", "no brain voxels"],
    );
}

#[test]
fn a_folder_that_is_not_a_prepared_dataset_is_named() {
    let t = tempfile::tempdir().unwrap();
    let cohort = cohort3(t.path());
    let err = mtsa_data::read_info(&cohort).unwrap_err().to_string();
    assert!(
        err.contains("dataset.json") && err.contains("not a prepared dataset"),
        "{err}"
    );
    let missing = t.path().join("nowhere");
    let err = mtsa_data::read_info(&missing).unwrap_err().to_string();
    assert!(
        err.contains("nowhere") && err.contains("no such folder"),
        "{err}"
    );
}
