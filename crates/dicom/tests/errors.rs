//! Bad input must give a clear `DicomError` naming the file (never a panic, never a patient
//! identifier in the message).

mod common;

use common::*;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use mtsa_dicom::{
    list_rois, read_rtstruct, read_series, read_series_ref, write_rtstruct, write_series,
    DicomError, SeriesMeta, SeriesRef, UidSource,
};
use mtsa_io::Volume;
use std::path::{Path, PathBuf};

const PID: &str = "SECRET-PID-123";

fn meta(seed: u64) -> SeriesMeta {
    SeriesMeta {
        patient_id: PID.into(),
        patient_name: "Secret^Name".into(),
        uids: UidSource::Seeded(seed),
        ..SeriesMeta::default()
    }
}

fn no_identifiers(e: &DicomError) -> String {
    let msg = e.to_string();
    assert!(
        !msg.contains(PID) && !msg.contains("Secret"),
        "identifier leaked: {msg}"
    );
    assert!(
        !format!("{e:?}").contains(PID),
        "identifier leaked in Debug"
    );
    msg
}

fn series(dir: &Path, seed: u64) -> (Volume<f32>, SeriesRef) {
    let vol = volume([24, 20, 6], las(), seed);
    write_series(dir, &vol, &meta(seed)).expect("write");
    read_series(dir, None).expect("read")
}

#[test]
fn missing_pixel_data_names_the_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    series(tmp.path(), 1);
    let victim = dcm_files(tmp.path())[2].clone();
    edit(&victim, |o| {
        o.remove_element(tags::PIXEL_DATA);
    });
    let e = read_series(tmp.path(), None).expect_err("must fail");
    assert!(
        matches!(&e, DicomError::MissingPixelData { path } if *path == victim),
        "{e}"
    );
    let msg = no_identifiers(&e);
    assert!(
        msg.contains("IM00003.dcm") && msg.contains("Pixel Data"),
        "{msg}"
    );
    // Headers alone are still fine.
    assert!(read_series_ref(tmp.path(), None).is_ok());
}

#[test]
fn missing_geometry_attribute_names_file_and_attribute() {
    let tmp = tempfile::tempdir().expect("tmp");
    series(tmp.path(), 1);
    let victim = dcm_files(tmp.path())[0].clone();
    edit(&victim, |o| {
        o.remove_element(tags::IMAGE_POSITION_PATIENT);
    });
    let msg = no_identifiers(&read_series(tmp.path(), None).expect_err("must fail"));
    assert!(
        msg.contains("IM00001.dcm") && msg.contains("Image Position"),
        "{msg}"
    );
}

#[test]
fn mixed_series_need_a_chosen_uid() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (vol_a, ref_a) = series(&a, 1);
    let (_, ref_b) = series(&b, 2);
    let mixed = tmp.path().join("mixed");
    std::fs::create_dir(&mixed).expect("mkdir");
    for (src, tag) in [(&a, "a"), (&b, "b")] {
        for f in dcm_files(src) {
            let name = f.file_name().expect("name").to_string_lossy().to_string();
            std::fs::copy(&f, mixed.join(format!("{tag}{name}"))).expect("copy");
        }
    }
    let e = read_series(&mixed, None).expect_err("ambiguous");
    let msg = no_identifiers(&e);
    assert!(matches!(e, DicomError::AmbiguousSeries { ref series, .. } if series.len() == 2));
    assert!(msg.contains(&ref_a.series_instance_uid) && msg.contains(&ref_b.series_instance_uid));
    let (chosen, r) = read_series(&mixed, Some(&ref_a.series_instance_uid)).expect("chosen");
    assert_eq!(r.series_instance_uid, ref_a.series_instance_uid);
    assert_eq!(chosen.data, vol_a.data);
    let e = read_series(&mixed, Some("1.2.3.4")).expect_err("unknown uid");
    assert!(matches!(e, DicomError::SeriesNotFound { .. }));
    assert!(no_identifiers(&e).contains(&ref_b.series_instance_uid));
    // A broken image of the other series does not block the chosen one.
    edit(&mixed.join("bIM00002.dcm"), |o| {
        o.remove_element(tags::IMAGE_ORIENTATION_PATIENT);
    });
    assert!(read_series(&mixed, Some(&ref_a.series_instance_uid)).is_ok());
    let msg = no_identifiers(
        &read_series(&mixed, Some(&ref_b.series_instance_uid)).expect_err("broken b"),
    );
    assert!(
        msg.contains("bIM00002.dcm") && msg.contains("Orientation"),
        "{msg}"
    );
}

#[test]
fn empty_folder_and_duplicate_or_missing_slices_are_errors() {
    let tmp = tempfile::tempdir().expect("tmp");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    std::fs::write(empty.join("readme.txt"), "nothing here").expect("write");
    assert!(matches!(
        read_series(&empty, None),
        Err(DicomError::NoSeries { .. })
    ));

    let dup = tmp.path().join("dup");
    series(&dup, 3);
    let files = dcm_files(&dup);
    // A second image at slice 0's position (e.g. a second echo) with its own UID.
    let copy = dup.join("IM_extra.dcm");
    std::fs::copy(&files[0], &copy).expect("copy");
    edit(&copy, |o| {
        o.put(DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("2.25.1"),
        ));
    });
    let msg = no_identifiers(&read_series(&dup, None).expect_err("duplicate"));
    assert!(msg.contains("same slice position"), "{msg}");

    let gap = tmp.path().join("gap");
    series(&gap, 4);
    std::fs::remove_file(&dcm_files(&gap)[3]).expect("rm");
    let msg = no_identifiers(&read_series(&gap, None).expect_err("gap"));
    assert!(msg.contains("missing or irregular"), "{msg}");

    // One image moved 2 mm within its plane: the stack is no longer a straight one.
    let tilt = tmp.path().join("tilt");
    series(&tilt, 4);
    edit(&dcm_files(&tilt)[1], |o| {
        let mut p = o
            .element(tags::IMAGE_POSITION_PATIENT)
            .expect("position")
            .to_multi_float64()
            .expect("numbers");
        p[0] += 2.0;
        let text: Vec<String> = p.iter().map(|v| format!("{v}")).collect();
        o.put(DataElement::new(
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            PrimitiveValue::Strs(text.into()),
        ));
    });
    let msg = no_identifiers(&read_series(&tilt, None).expect_err("tilted"));
    assert!(msg.contains("off the line"), "{msg}");
}

#[test]
fn corrupt_file_is_a_parse_error_naming_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    series(tmp.path(), 1);
    let victim = dcm_files(tmp.path())[1].clone();
    let bytes = std::fs::read(&victim).expect("read");
    std::fs::write(&victim, &bytes[..200]).expect("truncate");
    let e = read_series(tmp.path(), None).expect_err("corrupt");
    let msg = no_identifiers(&e);
    assert!(msg.contains("IM00002.dcm"), "{msg}");
}

#[test]
fn missing_roi_lists_the_names() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (grid, sref) = series(&tmp.path().join("s"), 1);
    let rt = tmp.path().join("rt.dcm");
    write_rtstruct(
        &rt,
        &lesions(&grid),
        &sref,
        "GTV_mtsa",
        UidSource::Seeded(1),
    )
    .expect("write");
    let e = read_rtstruct(&rt, "Brainstem", &sref, &grid).expect_err("missing");
    let msg = no_identifiers(&e);
    assert!(matches!(e, DicomError::RoiNotFound { .. }));
    assert!(
        msg.contains("'GTV_mtsa'") && msg.contains("Brainstem") && msg.contains("rt.dcm"),
        "{msg}"
    );
    assert_eq!(list_rois(&rt).expect("list"), vec!["GTV_mtsa".to_string()]);
}

#[test]
fn an_image_is_not_a_structure_set() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (grid, sref) = series(tmp.path(), 1);
    let image = dcm_files(tmp.path())[0].clone();
    let msg = no_identifiers(&read_rtstruct(&image, "GTV", &sref, &grid).expect_err("not rt"));
    assert!(msg.contains("not an RT Structure Set"), "{msg}");
}

/// Rewrites the points of the first contour of the first ROI.
fn edit_first_contour(path: &Path, f: impl Fn(&mut Vec<f64>)) {
    edit(path, |o| {
        let mut roi_seq = o
            .take_element(tags::ROI_CONTOUR_SEQUENCE)
            .expect("seq")
            .into_value();
        let roi: &mut InMemDicomObject = &mut roi_seq.items_mut().expect("items")[0];
        let mut contours = roi
            .take_element(tags::CONTOUR_SEQUENCE)
            .expect("contours")
            .into_value();
        let c: &mut InMemDicomObject = &mut contours.items_mut().expect("items")[0];
        let mut pts = c
            .element(tags::CONTOUR_DATA)
            .expect("data")
            .value()
            .to_multi_float64()
            .expect("floats");
        f(&mut pts);
        c.put(DataElement::new(
            tags::CONTOUR_DATA,
            VR::DS,
            PrimitiveValue::Strs(pts.iter().map(|v| format!("{v:.6}")).collect()),
        ));
        roi.put(DataElement::new(tags::CONTOUR_SEQUENCE, VR::SQ, contours));
        o.put(DataElement::new(
            tags::ROI_CONTOUR_SEQUENCE,
            VR::SQ,
            roi_seq,
        ));
    });
}

fn rt_copy(src: &Path, dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::copy(src, &p).expect("copy");
    p
}

#[test]
fn contours_off_the_grid_are_errors() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (grid, sref) = series(&tmp.path().join("s"), 1);
    let rt = tmp.path().join("rt.dcm");
    write_rtstruct(
        &rt,
        &lesions(&grid),
        &sref,
        "GTV_mtsa",
        UidSource::Seeded(1),
    )
    .expect("write");
    assert!(read_rtstruct(&rt, "GTV_mtsa", &sref, &grid).is_ok());

    // In-plane: moved 100 mm along L, beyond the 24 x 0.9 mm field of view.
    let moved = rt_copy(&rt, tmp.path(), "moved.dcm");
    edit_first_contour(&moved, |p| {
        p.iter_mut().step_by(3).for_each(|x| *x += 100.0)
    });
    let e = read_rtstruct(&moved, "GTV_mtsa", &sref, &grid).expect_err("outside");
    let msg = no_identifiers(&e);
    assert!(matches!(e, DicomError::Contour { .. }));
    assert!(
        msg.contains("outside the series' extent") && msg.contains("moved.dcm"),
        "{msg}"
    );

    // Between slices: 1.5 mm (half a 3 mm slice) along S.
    let between = rt_copy(&rt, tmp.path(), "between.dcm");
    edit_first_contour(&between, |p| {
        p.iter_mut().skip(2).step_by(3).for_each(|z| *z += 1.5)
    });
    let msg =
        no_identifiers(&read_rtstruct(&between, "GTV_mtsa", &sref, &grid).expect_err("plane"));
    assert!(msg.contains("does not lie on a slice"), "{msg}");

    // Beyond the last slice: 30 mm along S (10 slices of a 6-slice series).
    let above = rt_copy(&rt, tmp.path(), "above.dcm");
    edit_first_contour(&above, |p| {
        p.iter_mut().skip(2).step_by(3).for_each(|z| *z += 30.0)
    });
    let msg = no_identifiers(&read_rtstruct(&above, "GTV_mtsa", &sref, &grid).expect_err("range"));
    assert!(msg.contains("outside the series' slice range"), "{msg}");

    // A structure set drawn in another frame of reference.
    let mut other = sref.clone();
    other.frame_of_reference_uid = "2.25.99".into();
    let msg = no_identifiers(&read_rtstruct(&rt, "GTV_mtsa", &other, &grid).expect_err("frame"));
    assert!(msg.contains("frame of reference"), "{msg}");
}

#[test]
fn masks_not_on_the_series_grid_are_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (grid, sref) = series(&tmp.path().join("s"), 1);
    let mut shifted = lesions(&grid);
    shifted.affine[2][3] += 1.0; // a third of a slice off
    let e = write_rtstruct(
        &tmp.path().join("rt.dcm"),
        &shifted,
        &sref,
        "GTV_mtsa",
        UidSource::Seeded(1),
    )
    .expect_err("off grid");
    assert!(no_identifiers(&e).contains("voxel centres"));
    assert!(!tmp.path().join("rt.dcm").exists());
    let e = write_rtstruct(
        &tmp.path().join("rt.dcm"),
        &lesions(&grid),
        &sref,
        "bad\\name",
        UidSource::Seeded(1),
    )
    .expect_err("name");
    assert!(matches!(e, DicomError::Invalid { .. }));
}

#[test]
fn unwritable_volumes_are_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut vol = volume([6, 5, 3], las(), 1);
    vol.data[[1, 1, 1]] = f32::NAN;
    let msg =
        no_identifiers(&write_series(&tmp.path().join("nan"), &vol, &meta(1)).expect_err("nan"));
    assert!(msg.contains("non-finite"), "{msg}");
    let mut sheared = volume([6, 5, 3], las(), 1);
    sheared.affine[0][1] = 0.5;
    let msg = no_identifiers(
        &write_series(&tmp.path().join("shear"), &sheared, &meta(1)).expect_err("shear"),
    );
    assert!(msg.contains("orthogonal"), "{msg}");
}
