//! Series write/read round trips, ordering, compressed transfer syntaxes and determinism.
//!
//! Tolerances: affines within 1e-3 mm (in practice ~1e-9: positions are written with 16-digit
//! DS strings); float voxels within half a uint16 rescale step, (max - min) / 65534 / 2 (plus
//! f32 rounding); integer volumes exactly.

mod common;

use common::*;
use dicom_core::value::PixelFragmentSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use mtsa_dicom::{read_series, read_series_ref, write_series, SeriesMeta, UidSource};
use mtsa_io::{Reorientation, Volume};
use ndarray::Array3;

fn meta(seed: u64) -> SeriesMeta {
    SeriesMeta {
        patient_id: "TEST-PATIENT-0001".into(),
        patient_name: "Test^Patient".into(),
        study_date: Some("20240131".into()),
        series_description: "T1 CE".into(),
        uids: UidSource::Seeded(seed),
        ..SeriesMeta::default()
    }
}

fn assert_same(back: &Volume<f32>, vol: &Volume<f32>) {
    assert_eq!(back.shape(), vol.shape());
    let aerr = max_affine_diff(&back.affine, &vol.affine);
    assert!(
        aerr < 1e-3,
        "affine differs by {aerr} mm:\n{:?}\n{:?}",
        back.affine,
        vol.affine
    );
    let verr = max_voxel_diff(back, vol);
    let tol = rescale_tolerance(vol);
    assert!(verr <= tol, "voxels differ by {verr} > {tol}");
}

#[test]
fn round_trip_keeps_voxels_and_affine_for_las_ras_and_oblique() {
    let tmp = tempfile::tempdir().expect("tmp");
    for (n, affine) in [las(), ras(), oblique()].into_iter().enumerate() {
        let vol = volume([37, 29, 9], affine, n as u64);
        let dir = tmp.path().join(format!("s{n}"));
        let written = write_series(&dir, &vol, &meta(n as u64)).expect("write");
        let (back, series) = read_series(&dir, None).expect("read");
        assert_same(&back, &vol);
        assert_eq!(series.sop_instance_uids, written.sop_instance_uids);
        assert_eq!(series.series_instance_uid, written.series_instance_uid);
        assert_eq!(
            series.frame_of_reference_uid,
            written.frame_of_reference_uid
        );
        assert_eq!(series.rows, written.rows);
        assert!((series.slice_spacing - 3.0).abs() < 1e-6);
        let by_ref = read_series_ref(&dir, None).expect("ref");
        assert_eq!(by_ref, series);
    }
}

#[test]
fn other_orientations_come_back_as_nearest_ras() {
    let tmp = tempfile::tempdir().expect("tmp");
    let vol = volume([21, 17, 6], lps(), 9);
    write_series(tmp.path(), &vol, &meta(9)).expect("write");
    let (back, _) = read_series(tmp.path(), None).expect("read");
    let expected = Reorientation::for_volume(&vol).apply(&vol);
    assert_same(&back, &expected);
}

#[test]
fn integer_volumes_are_exact() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = Array3::from_shape_fn((16, 12, 5), |(i, j, k)| {
        (i as i16 * 300) - (j as i16 * 97) + k as i16 * 1000 - 2000
    });
    let vol = Volume::new(data, las());
    write_series(tmp.path(), &vol, &meta(1)).expect("write");
    let (back, _) = read_series(tmp.path(), None).expect("read");
    assert!(back
        .data
        .iter()
        .zip(vol.data.iter())
        .all(|(a, b)| *a == f32::from(*b)));
}

#[test]
fn slices_are_ordered_by_position_not_instance_number() {
    let tmp = tempfile::tempdir().expect("tmp");
    let vol = volume([10, 8, 7], las(), 3);
    write_series(tmp.path(), &vol, &meta(3)).expect("write");
    // Scramble instance numbers and file names.
    let files = dcm_files(tmp.path());
    let n = files.len();
    for (idx, f) in files.iter().enumerate() {
        edit(f, |o| {
            o.put(DataElement::new(
                tags::INSTANCE_NUMBER,
                VR::IS,
                PrimitiveValue::from(((idx * 3) % n + 1).to_string()),
            ));
        });
        std::fs::rename(f, tmp.path().join(format!("z{}.dcm", (idx * 5) % n))).expect("rename");
    }
    let (back, _) = read_series(tmp.path(), None).expect("read");
    assert_same(&back, &vol);
}

#[test]
fn same_seed_gives_identical_files_and_new_seed_new_uids() {
    let tmp = tempfile::tempdir().expect("tmp");
    let vol = volume([9, 7, 4], ras(), 5);
    let a = write_series(&tmp.path().join("a"), &vol, &meta(42)).expect("a");
    let b = write_series(&tmp.path().join("b"), &vol, &meta(42)).expect("b");
    let c = write_series(&tmp.path().join("c"), &vol, &meta(43)).expect("c");
    assert_eq!(a, b);
    for (fa, fb) in dcm_files(&tmp.path().join("a"))
        .iter()
        .zip(dcm_files(&tmp.path().join("b")).iter())
    {
        assert_eq!(std::fs::read(fa).expect("a"), std::fs::read(fb).expect("b"));
    }
    assert_ne!(a.series_instance_uid, c.series_instance_uid);
    assert_ne!(a.sop_instance_uids[0], c.sop_instance_uids[0]);
    assert!(a.series_instance_uid.starts_with("2.25."));
}

#[test]
fn refuses_to_write_into_a_non_empty_folder() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(tmp.path().join("other.txt"), "x").expect("write");
    let vol = volume([4, 4, 2], las(), 1);
    assert!(write_series(tmp.path(), &vol, &meta(1)).is_err());
}

#[test]
fn non_image_files_in_the_folder_are_skipped() {
    let tmp = tempfile::tempdir().expect("tmp");
    let vol = volume([8, 6, 3], las(), 2);
    let series = write_series(tmp.path(), &vol, &meta(2)).expect("write");
    std::fs::write(tmp.path().join("notes.txt"), "not dicom").expect("txt");
    let mask = lesions(&vol);
    mtsa_dicom::write_rtstruct(
        &tmp.path().join("rt.dcm"),
        &mask,
        &series,
        "GTV",
        UidSource::Seeded(1),
    )
    .expect("rtstruct");
    let (back, _) = read_series(tmp.path(), None).expect("read");
    assert_same(&back, &vol);
}

#[test]
fn rle_lossless_series_reads_like_the_uncompressed_one() {
    let tmp = tempfile::tempdir().expect("tmp");
    let vol = volume([11, 9, 4], las(), 6);
    write_series(tmp.path(), &vol, &meta(6)).expect("write");
    for f in dcm_files(tmp.path()) {
        let obj = dicom_object::open_file(&f).expect("open");
        let words: Vec<u16> = obj
            .element(tags::PIXEL_DATA)
            .expect("pixels")
            .value()
            .to_bytes()
            .expect("bytes")
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        let mut inner = obj.into_inner();
        inner.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PixelFragmentSequence::new(
                Vec::<u32>::new(),
                vec![common::rle::rle_encode_u16(&words)],
            ),
        ));
        let file = inner
            .with_meta(FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.5"))
            .expect("meta");
        file.write_to_file(&f).expect("write");
    }
    let first = dicom_object::open_file(&dcm_files(tmp.path())[0]).expect("open");
    assert_eq!(first.meta().transfer_syntax(), "1.2.840.10008.1.2.5");
    let (back, _) = read_series(tmp.path(), None).expect("read");
    assert_same(&back, &vol);
}

#[test]
fn jpeg_baseline_series_reads_within_lossy_error() {
    use dicom_pixeldata::Transcode;
    let tmp = tempfile::tempdir().expect("tmp");
    // Smooth 8-bit data: JPEG baseline holds 8 bits per sample.
    let data = Array3::from_shape_fn((32, 24, 3), |(i, j, k)| (40 + 4 * i + 2 * j + 10 * k) as u8);
    let vol = Volume::new(data, las());
    write_series(tmp.path(), &vol, &meta(7)).expect("write");
    for f in dcm_files(tmp.path()) {
        let mut obj = dicom_object::open_file(&f).expect("open");
        let bytes: Vec<u8> = obj
            .element(tags::PIXEL_DATA)
            .expect("pixels")
            .value()
            .to_bytes()
            .expect("bytes")
            .chunks_exact(2)
            .map(|b| b[0])
            .collect();
        obj.put(DataElement::new(
            tags::BITS_ALLOCATED,
            VR::US,
            PrimitiveValue::from(8u16),
        ));
        obj.put(DataElement::new(
            tags::BITS_STORED,
            VR::US,
            PrimitiveValue::from(8u16),
        ));
        obj.put(DataElement::new(
            tags::HIGH_BIT,
            VR::US,
            PrimitiveValue::from(7u16),
        ));
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(bytes),
        ));
        obj.transcode(&dicom_transfer_syntax_registry::entries::JPEG_BASELINE.erased())
            .expect("transcode");
        obj.write_to_file(&f).expect("write");
    }
    let first = dicom_object::open_file(&dcm_files(tmp.path())[0]).expect("open");
    assert_eq!(first.meta().transfer_syntax(), "1.2.840.10008.1.2.4.50");
    let (back, _) = read_series(tmp.path(), None).expect("read");
    assert!(max_affine_diff(&back.affine, &vol.affine) < 1e-3);
    let (mut worst, mut sum) = (0f32, 0f32);
    for (a, b) in back.data.iter().zip(vol.data.iter()) {
        let d = (a - f32::from(*b)).abs();
        worst = worst.max(d);
        sum += d;
    }
    let mean = sum / back.data.len() as f32;
    assert!(
        mean < 2.0 && worst < 16.0,
        "JPEG error mean {mean} max {worst}"
    );
}
