//! `prepare` on DICOM cohorts (`images/<id>/` series + `rtstruct/<id>.dcm`): the same synthetic
//! patients prepared from DICOM and from NIfTI give the same dataset, and every broken DICOM
//! cohort fails with one line naming the file and leaves no dataset behind.

mod common;

use common::*;
use mtsa_data::{
    load_split, prepare, read_info, read_patient, LabelRules, LayoutKind, PrepareConfig,
};
use mtsa_dicom::{write_rtstruct, write_series, SeriesMeta, UidSource};
use mtsa_synth::{generate_cohort, SynthConfig, SynthFormat};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[test]
fn dicom_and_nifti_synthetic_cohorts_prepare_alike() {
    let start = Instant::now();
    let t = tempfile::tempdir().unwrap();
    let synth = |format, name: &str| {
        let cfg = SynthConfig {
            patients: 3,
            external_per_site: 1,
            seed: 11,
            format,
        };
        let dir = t.path().join(name);
        generate_cohort(&dir, &cfg, &|_, _| {}).unwrap();
        dir
    };
    let (nifti, dicom) = (
        synth(SynthFormat::Nifti, "nifti"),
        synth(SynthFormat::Dicom, "dicom"),
    );
    assert!(dicom.join("images/int-0001").is_dir());
    assert!(dicom.join("rtstruct/int-0001.dcm").is_file());
    assert!(!dicom.join("labels").exists());
    for f in ["clinical.csv", "truth.json"] {
        let read = |d: &Path| std::fs::read(d.join(f)).unwrap();
        assert_eq!(
            read(&dicom),
            read(&nifti),
            "{f} differs between the formats"
        );
    }
    let synth_s = start.elapsed().as_secs_f64();

    let cfg = PrepareConfig {
        size: 64,
        val_patients: 1,
        seed: 5,
        ..Default::default()
    };
    let prep = |cohort: &Path, name: &str| {
        let out = t.path().join(name);
        let s = prepare(cohort, &out, &cfg, &|_, _| {}).unwrap();
        (s, out)
    };
    let (sn, out_n) = prep(&nifti, "ds-nifti");
    let (sd, out_d) = prep(&dicom, "ds-dicom");
    assert_eq!(sn.layout, LayoutKind::Ours);
    assert_eq!(sd.layout, LayoutKind::Dicom);
    assert_eq!(sd.counts, sn.counts);
    let (info_n, info_d) = (read_info(&out_n).unwrap(), read_info(&out_d).unwrap());
    // Everything but where the files lie and their bytes' hash.
    let facts = |info: &mtsa_data::DatasetInfo| {
        let mut p = info.patients.clone();
        for x in &mut p {
            x.source = mtsa_data::SourceFiles {
                image: String::new(),
                label: String::new(),
                brain: None,
                sha256: String::new(),
                rois: Vec::new(),
                series_uid: None,
                series_description: None,
            };
        }
        p
    };
    assert_eq!(
        facts(&info_d),
        facts(&info_n),
        "ids, sites, splits, slice counts"
    );
    assert_eq!(info_d.splits, info_n.splits);
    assert!(info_d.has_truth && info_d.has_egfr);

    let (mut worst_image, mut worst_dice) = (0f32, 1f64);
    for split in &info_n.splits {
        let (a, b) = (
            load_split(&out_n, split).unwrap(),
            load_split(&out_d, split).unwrap(),
        );
        assert_eq!(a.slices.len(), b.slices.len(), "{split}");
        for (x, y) in a.slices.iter().zip(&b.slices) {
            assert_eq!(
                (&x.patient_id, x.slice_index),
                (&y.patient_id, y.slice_index)
            );
        }
        for (x, y) in a.images.iter().zip(&b.images) {
            worst_image = worst_image.max((x - y).abs());
        }
        for p in info_n.patients.iter().filter(|p| &p.split == split) {
            let of_patient = |d: &mtsa_data::SplitData| -> Vec<bool> {
                (0..d.len())
                    .filter(|&n| d.slices[n].patient_id == p.id)
                    .flat_map(|n| d.mask(n).iter().map(|&v| v != 0).collect::<Vec<_>>())
                    .collect()
            };
            let (ma, mb) = (of_patient(&a), of_patient(&b));
            let d = dice(ma.into_iter(), mb.into_iter());
            assert!(d >= 0.98, "{}: mask Dice {d:.4}", p.id);
            worst_dice = worst_dice.min(d);
        }
    }
    // The uint16 rescale step is 1/65534 of the image's range; after normalisation by the
    // brain's spread (a sizeable part of that range) it is ~1e-5, and interpolation only
    // averages it. 1e-4 leaves room for that and still catches any geometric shift.
    assert!(worst_image < 1e-4, "largest image difference {worst_image}");
    eprintln!(
        "synth (both formats) {synth_s:.1} s, total {:.1} s, largest image difference \
         {worst_image:.2e}, lowest mask Dice {worst_dice:.4}",
        start.elapsed().as_secs_f64()
    );
}

/// A DICOM cohort of `n` small phantoms `p000..` with structure sets holding the ROIs "Brain
/// outline" (empty) and "GTV", plus clinical.csv.
fn dicom_cohort(root: &Path, n: usize) -> PathBuf {
    let dir = root.join("cohort");
    let mut csv = String::from("patient_id,egfr,diagnosis_date,site\n");
    std::fs::create_dir_all(dir.join("rtstruct")).unwrap();
    for i in 0..n {
        let id = format!("p{i:03}");
        let (img, mask) = small_case(i as u64);
        let meta = SeriesMeta {
            patient_id: id.clone(),
            uids: UidSource::Seeded(i as u64),
            ..SeriesMeta::default()
        };
        let series = write_series(&dir.join("images").join(&id), &img, &meta).unwrap();
        write_rtstruct(
            &dir.join("rtstruct").join(format!("{id}.dcm")),
            &mask,
            &series,
            "GTV",
            UidSource::Seeded(1),
        )
        .unwrap();
        let (egfr, date, site) = default_row(i);
        csv.push_str(&format!("{id},{egfr},{date},{site}\n"));
    }
    std::fs::write(dir.join("clinical.csv"), csv).unwrap();
    dir
}

#[test]
fn small_dicom_cohort_prepares_with_a_case_insensitive_roi() {
    let t = tempfile::tempdir().unwrap();
    let c = dicom_cohort(t.path(), 3);
    let out = t.path().join("ds");
    let cfg = PrepareConfig {
        labels: LabelRules {
            roi: "gtv".into(),
            ..LabelRules::default()
        },
        ..cfg()
    };
    let s = prepare(&c, &out, &cfg, &|_, _| {}).unwrap();
    assert_eq!(s.layout, LayoutKind::Dicom);
    assert_eq!(s.patients, 3);
    let info = read_info(&out).unwrap();
    // The 7-voxel cube lesion spans slices 1..=7 of 8 at 3 mm: all 7 are kept.
    assert!(info.patients.iter().all(|p| p.n_slices == 7), "{info:?}");
}

/// A patient's whole study exported into its folder (series in nested subfolders, another
/// series beside the T1-CE, a DICOMDIR): the structure set picks out the series it was drawn on,
/// and the dataset is the one the plain folder gives; the whole scan reads back through the
/// recorded hash. A structure set of a series not in such a folder is refused, naming it.
#[test]
fn a_whole_study_in_nested_folders_prepares_as_its_referenced_series() {
    let t = tempfile::tempdir().unwrap();
    let c = dicom_cohort(t.path(), 3);
    let datasets = tempfile::tempdir().unwrap();
    let plain = datasets.path().join("plain");
    prepare(&c, &plain, &cfg(), &|_, _| {}).unwrap();

    let p001 = c.join("images/p001");
    let t1ce = p001.join("DICOM/ST000001/SE000002");
    std::fs::create_dir_all(&t1ce).unwrap();
    for entry in std::fs::read_dir(&p001).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::rename(&path, t1ce.join(path.file_name().unwrap())).unwrap();
        }
    }
    let (other, _) = small_case(50);
    let meta = SeriesMeta {
        uids: UidSource::Seeded(50),
        series_description: "T2".into(),
        ..SeriesMeta::default()
    };
    write_series(&p001.join("DICOM/ST000001/SE000001"), &other, &meta).unwrap();
    std::fs::write(p001.join("DICOMDIR"), b"index").unwrap();

    let nested = datasets.path().join("nested");
    prepare(&c, &nested, &cfg(), &|_, _| {}).unwrap();
    let info = read_info(&nested).unwrap();
    assert_eq!(info.counts.keys().count(), 2, "{:?}", info.counts.keys());
    // The record names the series read, not the T2 beside it.
    let p001 = info.patients.iter().find(|p| p.id == "p001").unwrap();
    let t1ce_uid = mtsa_dicom::read_series_ref(&t1ce, None)
        .unwrap()
        .series_instance_uid;
    assert_eq!(p001.source.series_uid.as_deref(), Some(t1ce_uid.as_str()));
    assert_eq!(p001.source.series_description.as_deref(), Some("mtsa"));
    for split in info.counts.keys() {
        let (a, b) = (
            load_split(&plain, split).unwrap(),
            load_split(&nested, split).unwrap(),
        );
        assert_eq!(a.images, b.images, "{split}");
        assert_eq!(a.masks, b.masks, "{split}");
    }
    let (img, mask) = read_patient(&info, "p001").unwrap();
    assert_eq!(mask.data.iter().filter(|v| **v != 0).count(), 343);
    assert_eq!(img.shape(), small_case(1).0.shape());

    // p002's structure set on p001's two-series folder: refused, naming it and the series.
    std::fs::copy(c.join("rtstruct/p002.dcm"), c.join("rtstruct/p001.dcm")).unwrap();
    expect_err(
        t.path(),
        &c,
        &cfg(),
        &["p001.dcm", "references none of them", "'T2'"],
    );
}

/// A radiosurgery plan contours each metastasis as its own ROI: `--roi "GTV*"` (or a list)
/// takes their union, and the dataset is the one a single whole-GTV ROI gives.
#[test]
fn one_roi_per_lesion_prepares_as_their_union() {
    let t = tempfile::tempdir().unwrap();
    let c = dicom_cohort(t.path(), 3);
    let datasets = tempfile::tempdir().unwrap();
    let whole = datasets.path().join("whole");
    prepare(&c, &whole, &cfg(), &|_, _| {}).unwrap();
    for i in 0..3u64 {
        let id = format!("p{i:03}");
        let (img, mask) = small_case(i);
        let series = mtsa_dicom::read_series_ref(&c.join("images").join(&id), None).unwrap();
        // Split the lesion in two along its first axis.
        let xs: Vec<usize> = mask
            .data
            .indexed_iter()
            .filter(|(_, v)| **v != 0)
            .map(|((x, _, _), _)| x)
            .collect();
        let mid = (xs.iter().min().unwrap() + xs.iter().max().unwrap()).div_ceil(2);
        let part = |lower: bool| {
            let mut m = mask.clone();
            for ((x, _, _), v) in m.data.indexed_iter_mut() {
                if (x < mid) != lower {
                    *v = 0;
                }
            }
            m
        };
        let (a, b) = (part(true), part(false));
        assert!(a.data.iter().any(|v| *v != 0) && b.data.iter().any(|v| *v != 0));
        let ring = img.map(|&v| u8::from(v > 1e9)); // an empty "Brain outline"
        let rois = [
            mtsa_dicom::Roi {
                name: "Brain outline",
                mask: &ring,
            },
            mtsa_dicom::Roi {
                name: "GTV1",
                mask: &a,
            },
            mtsa_dicom::Roi {
                name: "gtv_2",
                mask: &b,
            },
        ];
        mtsa_dicom::write_rtstruct_rois(
            &c.join("rtstruct").join(format!("{id}.dcm")),
            &rois,
            &series,
            UidSource::Seeded(1),
        )
        .unwrap();
    }
    for (n, roi) in ["GTV*", "gtv1, GTV_2"].into_iter().enumerate() {
        let out = datasets.path().join(format!("lesions{n}"));
        let cfg = PrepareConfig {
            labels: LabelRules {
                roi: roi.into(),
                ..LabelRules::default()
            },
            ..cfg()
        };
        prepare(&c, &out, &cfg, &|_, _| {}).unwrap();
        // The record names the ROIs that made each GTV.
        let info = read_info(&out).unwrap();
        assert!(info
            .patients
            .iter()
            .all(|p| p.source.rois == ["GTV1", "gtv_2"]));
        for split in read_info(&whole).unwrap().counts.keys() {
            let (a, b) = (
                load_split(&whole, split).unwrap(),
                load_split(&out, split).unwrap(),
            );
            assert_eq!(a.masks, b.masks, "{roi} {split}");
            assert_eq!(a.images, b.images, "{roi} {split}");
        }
    }
    // "GTV" alone now names no ROI: the error lists them.
    expect_err(
        t.path(),
        &c,
        &cfg(),
        &["p000.dcm", "no ROI matches 'GTV'", "gtv_2"],
    );
}

#[test]
fn missing_structure_set_names_the_file() {
    let t = tempfile::tempdir().unwrap();
    let c = dicom_cohort(t.path(), 3);
    std::fs::remove_file(c.join("rtstruct/p001.dcm")).unwrap();
    expect_err(
        t.path(),
        &c,
        &cfg(),
        &["p001.dcm", "RT Structure Set not found"],
    );
}

#[test]
fn missing_roi_lists_the_rois_present() {
    let t = tempfile::tempdir().unwrap();
    let c = dicom_cohort(t.path(), 3);
    let cfg = PrepareConfig {
        labels: LabelRules {
            roi: "Tumour".into(),
            ..LabelRules::default()
        },
        ..cfg()
    };
    expect_err(t.path(), &c, &cfg, &["p000.dcm", "'Tumour'", "'GTV'"]);
}

#[test]
fn patient_folder_without_dicom_files_names_the_folder() {
    let t = tempfile::tempdir().unwrap();
    let c = dicom_cohort(t.path(), 3);
    let empty = c.join("images/p002");
    std::fs::remove_dir_all(&empty).unwrap();
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("README.txt"), "export failed").unwrap();
    expect_err(t.path(), &c, &cfg(), &["p002", "no DICOM image series"]);
}

#[test]
fn structure_set_of_another_series_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let c = dicom_cohort(t.path(), 3);
    std::fs::copy(c.join("rtstruct/p000.dcm"), c.join("rtstruct/p001.dcm")).unwrap();
    expect_err(t.path(), &c, &cfg(), &["p001.dcm", "frame of reference"]);
}

#[test]
fn structure_set_without_a_series_names_the_file() {
    let t = tempfile::tempdir().unwrap();
    let c = dicom_cohort(t.path(), 3);
    std::fs::copy(c.join("rtstruct/p000.dcm"), c.join("rtstruct/p009.dcm")).unwrap();
    expect_err(
        t.path(),
        &c,
        &cfg(),
        &["p009.dcm", "without an image series"],
    );
}

/// A DICOM cohort takes brain masks as our NIfTI layout does, `brainmasks/<id>.nii.gz` on the
/// grid the series is read on: `prepare` records the mask and the scan is read back zero
/// outside it. A mask that names no case is refused, naming it, and leaves no dataset.
#[test]
fn dicom_cases_take_their_brain_masks_and_a_stray_mask_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let c = dicom_cohort(t.path(), 3);
    let (series, _) = mtsa_dicom::read_series(&c.join("images/p001"), None).unwrap();
    // Half of the brain (the first half of the rows i) is outside this mask.
    let half = series.shape()[0] / 2;
    let mut brain = series.map(|&v| u8::from(v != 0.0));
    brain.data.slice_mut(ndarray::s![..half, .., ..]).fill(0);
    std::fs::create_dir(c.join("brainmasks")).unwrap();
    mtsa_io::write_nifti(&c.join("brainmasks/p001.nii.gz"), &brain).unwrap();
    let cfg = PrepareConfig {
        labels: LabelRules {
            roi: "gtv".into(),
            ..LabelRules::default()
        },
        ..cfg()
    };
    let out = t.path().join("ds");
    prepare(&c, &out, &cfg, &|_, _| {}).unwrap();
    let info = read_info(&out).unwrap();
    let brains: Vec<Option<&str>> = info
        .patients
        .iter()
        .map(|p| p.source.brain.as_deref())
        .collect();
    assert_eq!(brains, [None, Some("brainmasks/p001.nii.gz"), None]);
    let (image, _) = mtsa_data::read_patient(&info, "p001").unwrap();
    let masked = series.data.indexed_iter().all(|((i, j, k), &v)| {
        let want = if brain.data[[i, j, k]] == 0 { 0.0 } else { v };
        image.data[[i, j, k]] == want
    });
    assert!(masked, "p001 is not read back zero outside its mask");
    assert!(series
        .data
        .slice(ndarray::s![..half, .., ..])
        .iter()
        .any(|&v| v != 0.0));

    std::fs::copy(
        c.join("brainmasks/p001.nii.gz"),
        c.join("brainmasks/p010.nii.gz"),
    )
    .unwrap();
    let out = t.path().join("ds2");
    let e = prepare(&c, &out, &cfg, &|_, _| {}).unwrap_err().to_string();
    assert!(
        e.contains("p010.nii.gz") && e.contains("names no scan"),
        "{e}"
    );
    assert!(!out.exists());
}

/// The same cohort with each GTV as a Segmentation in `seg/` (segment "GTV") instead of a
/// structure set: the same cases, slices and masks.
#[test]
fn segmentations_in_seg_prepare_as_structure_sets_do() {
    let t = tempfile::tempdir().unwrap();
    let c = dicom_cohort(t.path(), 3);
    let with_seg = t.path().join("cohort-seg");
    std::fs::create_dir_all(with_seg.join("seg")).unwrap();
    std::fs::rename(c.join("images"), with_seg.join("images")).unwrap();
    std::fs::copy(c.join("clinical.csv"), with_seg.join("clinical.csv")).unwrap();
    for i in 0..3 {
        let id = format!("p{i:03}");
        let series_dir = with_seg.join("images").join(&id);
        let (grid, series) = mtsa_dicom::read_series(&series_dir, None).unwrap();
        let mask = mtsa_dicom::read_rtstruct(
            &c.join("rtstruct").join(format!("{id}.dcm")),
            "GTV",
            &series,
            &grid,
        )
        .unwrap();
        let algorithm = mtsa_dicom::SegAlgorithm {
            name: "test".into(),
            version: "1".into(),
        };
        let seg = with_seg.join("seg").join(format!("{id}.dcm"));
        mtsa_dicom::write_seg(
            &seg,
            &mask,
            &series,
            "GTV",
            &algorithm,
            UidSource::Seeded(2),
        )
        .unwrap();
    }
    // The structure-set cohort again, beside it, for the reference dataset.
    std::fs::create_dir_all(c.join("images")).unwrap();
    for entry in std::fs::read_dir(with_seg.join("images")).unwrap() {
        let from = entry.unwrap().path();
        let to = c.join("images").join(from.file_name().unwrap());
        std::fs::create_dir_all(&to).unwrap();
        for f in std::fs::read_dir(&from).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, to.join(f.file_name().unwrap())).unwrap();
        }
    }
    let (out_rt, out_seg) = (t.path().join("ds-rt"), t.path().join("ds-seg"));
    prepare(&c, &out_rt, &cfg(), &|_, _| {}).unwrap();
    let s = prepare(&with_seg, &out_seg, &cfg(), &|_, _| {}).unwrap();
    assert_eq!(s.layout, LayoutKind::Dicom);
    for split in &read_info(&out_rt).unwrap().splits {
        let (a, b) = (
            load_split(&out_rt, split).unwrap(),
            load_split(&out_seg, split).unwrap(),
        );
        assert_eq!(a.len(), b.len(), "{split}");
        for n in 0..a.len() {
            assert_eq!(a.mask(n), b.mask(n), "{split} slice {n}");
        }
    }
}

#[test]
fn structure_sets_and_segmentations_side_by_side_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let c = dicom_cohort(t.path(), 3);
    std::fs::create_dir_all(c.join("seg")).unwrap();
    expect_err(t.path(), &c, &cfg(), &["both rtstruct/ and seg/"]);
}
