//! Multi-frame (enhanced) images: a Legacy Converted Enhanced MR Image written by highdicom
//! from one of `examples/write_sample`'s series (`fixtures/enhanced_mr/README.md` says how) reads
//! as dcm2niix reads it, and a structure set or segmentation drawn on it names its frames.

mod common;

use common::*;
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use mtsa_dicom::{read_rtstruct, read_series, write_rtstruct, UidSource};
use std::path::{Path, PathBuf};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/enhanced_mr")
}

fn items(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Vec<InMemDicomObject> {
    obj.get(tag)
        .and_then(|e| e.value().items())
        .map(|i| i.to_vec())
        .unwrap_or_default()
}

fn num(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Vec<f64> {
    obj.get(tag)
        .expect("attribute")
        .value()
        .to_multi_float64()
        .expect("numbers")
}

/// Image Position (Patient) of each frame (1-based frame number = index + 1) of the fixture.
fn frame_positions() -> Vec<[f64; 3]> {
    let obj = dicom_object::open_file(fixture_dir().join("oblique_3d.dcm")).expect("open");
    items(&obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .iter()
        .map(|g| {
            let p = num(
                &items(g, tags::PLANE_POSITION_SEQUENCE)[0],
                tags::IMAGE_POSITION_PATIENT,
            );
            [p[0], p[1], p[2]]
        })
        .collect()
}

#[test]
fn an_enhanced_image_reads_as_dcm2niix_reads_it() {
    let dir = fixture_dir();
    let (vol, series) = read_series(&dir, None).expect("read enhanced");
    let reference =
        mtsa_io::read_nifti(&dir.join("oblique_3d.dcm2niix.nii.gz")).expect("read dcm2niix");
    assert_eq!(vol.shape(), reference.shape());
    assert!(max_affine_diff(&vol.affine, &reference.affine) < 1e-3);
    let scale = reference.data.iter().fold(1f32, |m, v| m.max(v.abs()));
    assert!(max_voxel_diff(&vol, &reference) <= 1e-3 * scale);
    // One object, twelve frames, each slice one of them.
    let frames = series.frame_numbers.len();
    assert_eq!(frames, 12);
    assert!(series
        .sop_instance_uids
        .iter()
        .all(|u| *u == series.sop_instance_uids[0]));
    let mut numbers: Vec<u32> = (0..frames)
        .map(|k| series.frame_number(k).expect("a frame"))
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=12).collect::<Vec<u32>>());
}

#[test]
fn structures_drawn_on_an_enhanced_image_name_its_frames() {
    let (grid, series) = read_series(&fixture_dir(), None).expect("read enhanced");
    let positions = frame_positions();
    let tmp = tempfile::tempdir().expect("tmp");
    let mask = lesions(&grid);
    assert!(mask.data.iter().any(|v| *v != 0));

    let rt = tmp.path().join("rt.dcm");
    write_rtstruct(&rt, &mask, &series, "GTV_mtsa", UidSource::Seeded(3)).expect("rtstruct");
    let back = read_rtstruct(&rt, "GTV_mtsa", &series, &grid).expect("read rtstruct");
    assert_eq!(back.data, mask.data);
    // Every contour lies on the plane of the frame it references.
    let o = series.image_orientation;
    let normal = [
        o[1] * o[5] - o[2] * o[4],
        o[2] * o[3] - o[0] * o[5],
        o[0] * o[4] - o[1] * o[3],
    ];
    let along = |p: &[f64]| p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2];
    let obj = dicom_object::open_file(&rt).expect("open rtstruct");
    let contours = items(
        &items(&obj, tags::ROI_CONTOUR_SEQUENCE)[0],
        tags::CONTOUR_SEQUENCE,
    );
    assert!(!contours.is_empty());
    for c in &contours {
        let image = &items(c, tags::CONTOUR_IMAGE_SEQUENCE)[0];
        let frame = num(image, tags::REFERENCED_FRAME_NUMBER)[0] as usize;
        let point = num(c, tags::CONTOUR_DATA);
        assert!((along(&point[..3]) - along(&positions[frame - 1])).abs() < 1e-3);
    }

    let seg = tmp.path().join("seg.dcm");
    write_test_seg(&seg, &mask, &series);
    let obj = dicom_object::open_file(&seg).expect("open seg");
    let referenced = items(&obj, tags::REFERENCED_SERIES_SEQUENCE);
    assert_eq!(
        items(&referenced[0], tags::REFERENCED_INSTANCE_SEQUENCE).len(),
        1,
        "the twelve frames are one instance"
    );
    for (k, group) in items(&obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .iter()
        .enumerate()
    {
        let derivation = &items(group, tags::DERIVATION_IMAGE_SEQUENCE)[0];
        let source = &items(derivation, tags::SOURCE_IMAGE_SEQUENCE)[0];
        let frame = num(source, tags::REFERENCED_FRAME_NUMBER)[0] as u32;
        assert_eq!(Some(frame), series.frame_number(k));
        let position = num(
            &items(group, tags::PLANE_POSITION_SEQUENCE)[0],
            tags::IMAGE_POSITION_PATIENT,
        );
        let expected = positions[frame as usize - 1];
        assert!((0..3).all(|a| (position[a] - expected[a]).abs() < 1e-3));
    }
}

/// Copies the fixture into a fresh folder and lets `f` change its per-frame functional groups
/// (and the image's other attributes).
fn edited_fixture(
    tmp: &Path,
    f: impl FnOnce(&mut InMemDicomObject, &mut Vec<InMemDicomObject>),
) -> (PathBuf, PathBuf) {
    let dir = tmp.join("series");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = dir.join("enhanced.dcm");
    std::fs::copy(fixture_dir().join("oblique_3d.dcm"), &path).expect("copy");
    edit(&path, |obj| {
        let mut groups = items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
        f(obj, &mut groups);
        obj.put(DataElement::new(
            tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(groups),
        ));
    });
    (dir, path)
}

#[test]
fn a_frame_s_own_rescale_overrides_the_shared_one() {
    // Frame 3 gets a Pixel Value Transformation of its own, its slope doubled (as scanners that
    // rescale each frame write it): its voxels become 2 v - b, every other voxel stays.
    let (original, _) = read_series(&fixture_dir(), None).expect("read");
    let shared = dicom_object::open_file(fixture_dir().join("oblique_3d.dcm")).expect("open");
    let transform = items(
        &items(&shared, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)[0],
        tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
    )[0]
    .clone();
    let slope = num(&transform, tags::RESCALE_SLOPE)[0];
    let intercept = num(&transform, tags::RESCALE_INTERCEPT)[0] as f32;
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, _) = edited_fixture(tmp.path(), |_, groups| {
        let mut own = transform.clone();
        own.put(DataElement::new(
            tags::RESCALE_SLOPE,
            VR::DS,
            dicom_core::PrimitiveValue::from(format!("{}", 2.0 * slope)),
        ));
        groups[2].put(DataElement::new(
            tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![own]),
        ));
    });
    let (edited, _) = read_series(&dir, None).expect("read edited");
    let mut changed = 0;
    for (a, b) in original.data.iter().zip(edited.data.iter()) {
        if (a - b).abs() > 1e-3 {
            changed += 1;
            assert!((b - (2.0 * a - intercept)).abs() < 1e-2, "{a} -> {b}");
        }
    }
    assert_eq!(changed, 40 * 48, "one frame of 40 x 48 pixels");
}

#[test]
fn frames_that_cannot_form_a_volume_are_refused_naming_the_file_and_frame() {
    let tmp = tempfile::tempdir().expect("tmp");
    // Every position twice (as two echoes in one object would be); the geometry is refused
    // before the pixels are read.
    let (dir, path) = edited_fixture(&tmp.path().join("a"), |obj, groups| {
        groups.extend(groups.clone());
        obj.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            dicom_core::PrimitiveValue::from("24"),
        ));
    });
    let err = read_series(&dir, None)
        .expect_err("same position")
        .to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(
        err.contains("frame") && err.contains("same slice position"),
        "{err}"
    );

    // A frame without a position.
    let (dir, _) = edited_fixture(&tmp.path().join("b"), |_, groups| {
        groups[4].remove_element(tags::PLANE_POSITION_SEQUENCE);
    });
    let err = read_series(&dir, None)
        .expect_err("no position")
        .to_string();
    assert!(
        err.contains("Image Position (Patient)") && err.contains("frame 5"),
        "{err}"
    );

    // Fewer frame descriptions than frames.
    let (dir, _) = edited_fixture(&tmp.path().join("c"), |_, groups| {
        groups.pop();
    });
    let err = read_series(&dir, None).expect_err("11 of 12").to_string();
    assert!(err.contains("12 frames with 11"), "{err}");
}
