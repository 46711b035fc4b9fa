//! What whole-scan training and evaluation need from a prepared dataset: lesion-free brain
//! slices for training patients only, and each patient's whole scan read back, hash-checked.

mod common;

use common::*;
use mtsa_data::{load_split, prepare, read_info, read_patient, PrepareConfig};
use mtsa_io::{read_nifti, write_nifti};

fn cfg(background: usize) -> PrepareConfig {
    PrepareConfig {
        size: 48,
        fov_mm: 64.0,
        val_patients: 2,
        seed: 3,
        background_slices: background,
        ..Default::default()
    }
}

#[test]
fn background_slices_go_to_training_patients_only_and_gtv_only_drops_them() {
    let t = tempfile::tempdir().unwrap();
    let c = our_cohort(t.path(), 8, default_row);
    // The phantom's lesion spans slices 1-7 of 8; slice 0 holds brain only.
    let paper = t.path().join("paper");
    prepare(&c, &paper, &cfg(0), &|_, _| {}).unwrap();
    let whole = t.path().join("whole");
    prepare(&c, &whole, &cfg(4), &|_, _| {}).unwrap();
    let info = read_info(&whole).unwrap();
    assert_eq!(info.background_slices, 4);
    for p in &info.patients {
        let want = usize::from(p.split == "train");
        assert_eq!(p.background_slices, want, "{} in {}", p.id, p.split);
    }
    let train = load_split(&whole, "train").unwrap();
    let bg: Vec<_> = train.slices.iter().filter(|r| r.gtv_area_px == 0).collect();
    assert_eq!(bg.len(), info.counts["train"].patients);
    assert!(bg.iter().all(|r| r.slice_index == 0));
    for (n, r) in train.slices.iter().enumerate() {
        if r.gtv_area_px == 0 {
            assert!(train.mask(n).iter().all(|&m| m == 0));
            assert!(train.image(n).iter().any(|&v| v > 0.0), "a brain slice");
        }
    }
    // The paper's protocol sees exactly the dataset prepared without background slices.
    let gtv = train.gtv_only();
    assert_eq!(gtv, load_split(&paper, "train").unwrap());
    assert_eq!(
        load_split(&whole, "test").unwrap(),
        load_split(&paper, "test").unwrap()
    );
}

#[test]
fn whole_scans_read_back_exactly_and_refuse_changed_files() {
    let t = tempfile::tempdir().unwrap();
    let c = our_cohort(t.path(), 6, default_row);
    let out = t.path().join("ds");
    prepare(&c, &out, &cfg(0), &|_, _| {}).unwrap();
    let info = read_info(&out).unwrap();
    let (img, mask) = read_patient(&info, "p002").unwrap();
    let orig = read_nifti(&c.join("images/p002.nii.gz")).unwrap();
    assert_eq!(img.data, orig.data);
    assert_eq!(mask.data.iter().filter(|&&m| m == 1).count(), 7 * 7 * 7);
    assert_eq!(info.patients[2].source.image, "images/p002.nii.gz");

    // Edit the label after prepare: the read-back names the file and refuses.
    let (_, other) = small_case(5);
    write_nifti(&c.join("labels/p002.nii.gz"), &other).unwrap();
    let e = read_patient(&info, "p002").unwrap_err().to_string();
    assert!(
        e.contains("p002.nii.gz") && e.contains("changed since"),
        "{e}"
    );
    let e = read_patient(&info, "nobody").unwrap_err().to_string();
    assert!(e.contains("nobody"), "{e}");
    std::fs::remove_file(c.join("images/p003.nii.gz")).unwrap();
    let e = read_patient(&info, "p003").unwrap_err().to_string();
    assert!(
        e.contains("p003.nii.gz") && e.contains("no longer here"),
        "{e}"
    );
}
