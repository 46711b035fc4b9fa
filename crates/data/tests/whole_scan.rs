//! What whole-scan training and evaluation need from a prepared dataset: lesion-free brain
//! slices for training patients only, and each patient's whole scan read back, hash-checked.

mod common;

use common::*;
use mtsa_data::{
    load_split, neighbour_slices, network_input, prepare, preprocess_image, read_info,
    read_patient, PrepareConfig,
};
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

/// A cohort whose scans are not skull-stripped (every voxel outside the phantom's brain holds
/// "scalp" at 150, brighter than most of its brain) but come with brain masks: the dataset records each mask, the whole scan is
/// read back zero outside it, as `prepare` read it (the same slices as from the scan skull-
/// stripped by hand), and an edited mask is refused like an edited scan.
#[test]
fn brain_masks_are_recorded_and_applied_when_scans_are_read_back() {
    let t = tempfile::tempdir().unwrap();
    let c = our_cohort(t.path(), 6, default_row);
    std::fs::create_dir(c.join("brainmasks")).unwrap();
    for i in 0..6 {
        let image = c.join(format!("images/p{i:03}.nii.gz"));
        let stripped = read_nifti(&image).unwrap();
        let brain = stripped.map(|&v| u8::from(v != 0.0));
        write_nifti(&c.join(format!("brainmasks/p{i:03}.nii.gz")), &brain).unwrap();
        let head = stripped.map(|&v| if v == 0.0 { 150.0 } else { v });
        write_nifti(&image, &head).unwrap();
    }
    let out = t.path().join("ds");
    prepare(&c, &out, &cfg(0), &|_, _| {}).unwrap();
    let info = read_info(&out).unwrap();
    let p = &info.patients[2];
    assert_eq!(p.source.brain.as_deref(), Some("brainmasks/p002.nii.gz"));
    let (img, _) = read_patient(&info, "p002").unwrap();
    let (stripped, _) = small_case(2);
    assert_eq!(img.data, stripped.data);
    let (slices, _) = preprocess_image(&img, None, &info.preprocess).unwrap();
    let test = load_split(&out, &p.split).unwrap();
    let n = test
        .slices
        .iter()
        .position(|r| r.patient_id == "p002")
        .unwrap();
    let k = test.slices[n].slice_index;
    let want = slices.index_axis(ndarray::Axis(0), k);
    let worst = test
        .image(n)
        .iter()
        .zip(want.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-6, "slice {k}: {worst}");

    let brain = read_nifti(&c.join("brainmasks/p002.nii.gz")).unwrap();
    write_nifti(&c.join("brainmasks/p002.nii.gz"), &brain.map(|_| 1u8)).unwrap();
    let e = read_patient(&info, "p002").unwrap_err().to_string();
    assert!(e.contains("changed since"), "{e}");
}

/// 2.5-D: the neighbours `prepare --context-slices` stores for each slice are exactly the
/// channels `network_input` stacks from a whole scan at inference, and the centre slices are
/// those of a 2-D dataset.
#[test]
fn stored_context_equals_what_inference_stacks() {
    let t = tempfile::tempdir().unwrap();
    let c = our_cohort(t.path(), 8, default_row);
    let flat = t.path().join("flat");
    prepare(&c, &flat, &cfg(2), &|_, _| {}).unwrap();
    let deep = t.path().join("deep");
    let with_context = PrepareConfig {
        context_slices: 2,
        ..cfg(2)
    };
    prepare(&c, &deep, &with_context, &|_, _| {}).unwrap();
    let info = read_info(&deep).unwrap();
    assert_eq!(info.context_slices, 2);
    for split in ["train", "test"] {
        let d = load_split(&deep, split).unwrap();
        let f = load_split(&flat, split).unwrap();
        assert_eq!((d.context_slices, f.context_slices), (2, 0));
        assert_eq!(
            (&d.images, &d.masks, &d.slices),
            (&f.images, &f.masks, &f.slices)
        );
        assert_eq!(
            d.input(0, 3),
            None,
            "only 2 neighbours per side were stored"
        );
        assert_eq!(f.input(0, 0).as_deref(), Some(f.image(0)));
        let mut checked = 0;
        for (n, rec) in d.slices.iter().enumerate() {
            let (image, _) = read_patient(&info, &rec.patient_id).unwrap();
            let (slices, _) = preprocess_image(&image, None, &info.preprocess).unwrap();
            for r in 0..=2 {
                let want = network_input(slices.view(), rec.slice_index, r);
                let got = d.input(n, r).unwrap();
                assert_eq!(got.len(), (2 * r + 1) * 48 * 48);
                let worst = got
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(
                    worst < 1e-6,
                    "{} slice {}: r = {r}, {worst}",
                    rec.patient_id,
                    rec.slice_index
                );
            }
            // Twice as thick: a quarter of each neighbour and half of the slice, whose GTV is
            // still its own mask.
            let three = network_input(slices.view(), rec.slice_index, 1);
            let (plane, thick) = (48 * 48, d.thick_slice(n).unwrap());
            let worst = (0..plane)
                .map(|i| {
                    let want =
                        0.25 * three[i] + 0.5 * three[plane + i] + 0.25 * three[2 * plane + i];
                    (thick[i] - want).abs()
                })
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-6, "{} thick slice: {worst}", rec.patient_id);
            checked += 1;
        }
        assert!(checked > 0);
    }
    // The ends of the volume repeat the nearest slice.
    assert_eq!(neighbour_slices(0, 2, 8), [0, 0, 1, 2]);
    assert_eq!(neighbour_slices(7, 2, 8), [5, 6, 7, 7]);
    assert_eq!(neighbour_slices(4, 1, 8), [3, 5]);
}
