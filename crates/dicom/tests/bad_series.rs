//! Malformed image series must give an `Err` naming the file (and, for header defects, the
//! attribute), never a panic, an abort or garbage pixels. Each case starts from a valid series
//! written by `write_series` and breaks one thing, so the table reads as the list of defects.

mod common;

use common::*;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use mtsa_dicom::{read_series, write_series, SeriesMeta, UidSource};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Which files of the 4-slice series a case changes.
#[derive(Clone, Copy)]
enum Files {
    One(usize),
    All,
}
use Files::*;

type Edit = fn(&mut InMemDicomObject);

/// A change to a file: its data set, or its raw bytes.
#[derive(Clone, Copy)]
enum Change {
    Set(Edit),
    /// Gets the slice index, so positions can be rewritten per slice.
    SetK(fn(&mut InMemDicomObject, usize)),
    Bytes(fn(&mut Vec<u8>)),
}
use Change::*;

fn put(o: &mut InMemDicomObject, tag: Tag, vr: VR, v: PrimitiveValue) {
    o.put(DataElement::new(tag, vr, v));
}
fn us(o: &mut InMemDicomObject, tag: Tag, v: u16) {
    put(o, tag, VR::US, PrimitiveValue::from(v));
}
fn ds(o: &mut InMemDicomObject, tag: Tag, values: &[&str]) {
    let v = values.iter().map(|s| s.to_string()).collect();
    put(o, tag, VR::DS, PrimitiveValue::Strs(v));
}
fn is(o: &mut InMemDicomObject, tag: Tag, v: &str) {
    put(o, tag, VR::IS, PrimitiveValue::from(v));
}
fn rm(o: &mut InMemDicomObject, tag: Tag) {
    o.remove_element(tag);
}
fn pixel_bytes(o: &InMemDicomObject) -> Vec<u8> {
    let e = o.element(tags::PIXEL_DATA).expect("pixel data");
    e.value().to_bytes().expect("bytes").into_owned()
}
fn set_pixels(o: &mut InMemDicomObject, bytes: Vec<u8>) {
    put(
        o,
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::U8(bytes.into()),
    );
}
/// Image Position of slice `k` on a z axis with `gap` mm between slices (written as LAS, 3 mm).
fn z_position(o: &mut InMemDicomObject, k: usize, gap: f64) {
    let z = format!("{}", -31.5 + gap * k as f64);
    ds(o, tags::IMAGE_POSITION_PATIENT, &["43.1", "-58.7", &z]);
}

/// Every malformed series this reader must refuse: (name, files changed, change).
const CASES: &[(&str, Files, Change)] = &[
    // Matrix size against Pixel Data.
    (
        "Rows=Columns=65535",
        All,
        Set(|o| {
            us(o, tags::ROWS, 65535);
            us(o, tags::COLUMNS, 65535)
        }),
    ),
    (
        "Rows=Columns=2^31 as IS, the byte count wraps u64 to 0",
        All,
        Set(|o| {
            is(o, tags::ROWS, "2147483648");
            is(o, tags::COLUMNS, "2147483648")
        }),
    ),
    (
        "Rows 65535 in one file",
        One(1),
        Set(|o| us(o, tags::ROWS, 65535)),
    ),
    ("Rows 0", All, Set(|o| us(o, tags::ROWS, 0))),
    (
        "Columns 0 in one file",
        One(2),
        Set(|o| us(o, tags::COLUMNS, 0)),
    ),
    ("Rows one too many", All, Set(|o| us(o, tags::ROWS, 7))),
    ("Columns one too few", All, Set(|o| us(o, tags::COLUMNS, 7))),
    ("Rows removed", One(0), Set(|o| rm(o, tags::ROWS))),
    ("Columns removed", One(3), Set(|o| rm(o, tags::COLUMNS))),
    (
        "Bits Allocated 8 for 16-bit data",
        All,
        Set(|o| {
            us(o, tags::BITS_ALLOCATED, 8);
            us(o, tags::BITS_STORED, 8);
            us(o, tags::HIGH_BIT, 7)
        }),
    ),
    (
        "Bits Allocated 32 for 16-bit data",
        All,
        Set(|o| us(o, tags::BITS_ALLOCATED, 32)),
    ),
    (
        "Bits Allocated 12",
        All,
        Set(|o| us(o, tags::BITS_ALLOCATED, 12)),
    ),
    (
        "Bits Allocated 0",
        One(1),
        Set(|o| us(o, tags::BITS_ALLOCATED, 0)),
    ),
    (
        "Bits Allocated 1",
        All,
        Set(|o| us(o, tags::BITS_ALLOCATED, 1)),
    ),
    (
        "Bits Allocated 64",
        All,
        Set(|o| us(o, tags::BITS_ALLOCATED, 64)),
    ),
    (
        "Bits Allocated removed",
        One(2),
        Set(|o| rm(o, tags::BITS_ALLOCATED)),
    ),
    ("Bits Stored 17", All, Set(|o| us(o, tags::BITS_STORED, 17))),
    (
        "Bits Stored 0",
        One(0),
        Set(|o| us(o, tags::BITS_STORED, 0)),
    ),
    (
        "Pixel Data cut in half",
        One(1),
        Set(|o| {
            let b = pixel_bytes(o);
            set_pixels(o, b[..b.len() / 2].to_vec())
        }),
    ),
    (
        "Pixel Data two bytes short",
        One(3),
        Set(|o| {
            let b = pixel_bytes(o);
            set_pixels(o, b[..b.len() - 2].to_vec())
        }),
    ),
    (
        "Pixel Data doubled",
        One(2),
        Set(|o| {
            let b = pixel_bytes(o);
            set_pixels(o, [b.clone(), b].concat())
        }),
    ),
    (
        "Pixel Data empty",
        One(0),
        Set(|o| set_pixels(o, Vec::new())),
    ),
    (
        "Pixel Data removed",
        One(1),
        Set(|o| rm(o, tags::PIXEL_DATA)),
    ),
    (
        "Samples per Pixel 3",
        All,
        Set(|o| us(o, tags::SAMPLES_PER_PIXEL, 3)),
    ),
    (
        "Number of Frames 2",
        One(0),
        Set(|o| is(o, tags::NUMBER_OF_FRAMES, "2")),
    ),
    (
        "Number of Frames 0",
        One(1),
        Set(|o| is(o, tags::NUMBER_OF_FRAMES, "0")),
    ),
    (
        "Number of Frames -1",
        One(2),
        Set(|o| is(o, tags::NUMBER_OF_FRAMES, "-1")),
    ),
    // Rescale.
    (
        "Rescale Slope 1e39",
        One(2),
        Set(|o| ds(o, tags::RESCALE_SLOPE, &["1e39"])),
    ),
    (
        "Rescale Slope -1e38",
        One(1),
        Set(|o| ds(o, tags::RESCALE_SLOPE, &["-1e38"])),
    ),
    (
        "Rescale Slope NaN",
        One(0),
        Set(|o| ds(o, tags::RESCALE_SLOPE, &["NaN"])),
    ),
    (
        "Rescale Slope inf",
        One(3),
        Set(|o| ds(o, tags::RESCALE_SLOPE, &["inf"])),
    ),
    (
        "Rescale Slope text",
        One(3),
        Set(|o| ds(o, tags::RESCALE_SLOPE, &["abc"])),
    ),
    (
        "Rescale Intercept 1e39",
        One(1),
        Set(|o| ds(o, tags::RESCALE_INTERCEPT, &["1e39"])),
    ),
    (
        "Rescale Intercept -1e300",
        All,
        Set(|o| ds(o, tags::RESCALE_INTERCEPT, &["-1e300"])),
    ),
    // Spacing and thickness.
    (
        "Pixel Spacing 0",
        All,
        Set(|o| ds(o, tags::PIXEL_SPACING, &["0", "0.9"])),
    ),
    (
        "Pixel Spacing negative",
        All,
        Set(|o| ds(o, tags::PIXEL_SPACING, &["0.9", "-0.9"])),
    ),
    (
        "Pixel Spacing 1e-300",
        All,
        Set(|o| ds(o, tags::PIXEL_SPACING, &["1e-300", "1e-300"])),
    ),
    (
        "Pixel Spacing 1e-4",
        All,
        Set(|o| ds(o, tags::PIXEL_SPACING, &["1e-4", "0.9"])),
    ),
    (
        "Pixel Spacing 1e6",
        All,
        Set(|o| ds(o, tags::PIXEL_SPACING, &["0.9", "1e6"])),
    ),
    (
        "Pixel Spacing inf",
        One(0),
        Set(|o| ds(o, tags::PIXEL_SPACING, &["inf", "0.9"])),
    ),
    (
        "Pixel Spacing NaN",
        One(1),
        Set(|o| ds(o, tags::PIXEL_SPACING, &["NaN", "0.9"])),
    ),
    (
        "Pixel Spacing text",
        One(2),
        Set(|o| ds(o, tags::PIXEL_SPACING, &["a", "b"])),
    ),
    (
        "Pixel Spacing one value",
        One(3),
        Set(|o| ds(o, tags::PIXEL_SPACING, &["0.9"])),
    ),
    (
        "Pixel Spacing three values",
        One(0),
        Set(|o| ds(o, tags::PIXEL_SPACING, &["0.9", "0.9", "0.9"])),
    ),
    (
        "Pixel Spacing removed",
        One(1),
        Set(|o| rm(o, tags::PIXEL_SPACING)),
    ),
    (
        "Pixel Spacing differs in one file",
        One(2),
        Set(|o| ds(o, tags::PIXEL_SPACING, &["1.0", "0.9"])),
    ),
    (
        "Slice Thickness 0",
        One(0),
        Set(|o| ds(o, tags::SLICE_THICKNESS, &["0"])),
    ),
    (
        "Slice Thickness -3",
        One(1),
        Set(|o| ds(o, tags::SLICE_THICKNESS, &["-3"])),
    ),
    (
        "Slice Thickness 1e5",
        One(2),
        Set(|o| ds(o, tags::SLICE_THICKNESS, &["1e5"])),
    ),
    (
        "Slice Thickness NaN",
        One(3),
        Set(|o| ds(o, tags::SLICE_THICKNESS, &["NaN"])),
    ),
    (
        "Spacing Between Slices 0",
        One(0),
        Set(|o| ds(o, tags::SPACING_BETWEEN_SLICES, &["0"])),
    ),
    (
        "Spacing Between Slices 1e-9",
        One(1),
        Set(|o| ds(o, tags::SPACING_BETWEEN_SLICES, &["1e-9"])),
    ),
    (
        "Spacing Between Slices inf",
        One(2),
        Set(|o| ds(o, tags::SPACING_BETWEEN_SLICES, &["inf"])),
    ),
    // Positions.
    (
        "Image Position 1e300",
        One(1),
        Set(|o| ds(o, tags::IMAGE_POSITION_PATIENT, &["1e300", "0", "0"])),
    ),
    (
        "Image Position 1e7 mm",
        One(2),
        Set(|o| ds(o, tags::IMAGE_POSITION_PATIENT, &["0", "1e7", "0"])),
    ),
    (
        "Image Position NaN",
        One(0),
        Set(|o| ds(o, tags::IMAGE_POSITION_PATIENT, &["NaN", "0", "0"])),
    ),
    (
        "Image Position two values",
        One(3),
        Set(|o| ds(o, tags::IMAGE_POSITION_PATIENT, &["0", "0"])),
    ),
    (
        "Image Position removed",
        One(2),
        Set(|o| rm(o, tags::IMAGE_POSITION_PATIENT)),
    ),
    (
        "duplicate positions",
        All,
        SetK(|o, k| z_position(o, k / 2, 3.0)),
    ),
    (
        "slices 1e-4 mm apart",
        All,
        SetK(|o, k| z_position(o, k, 1e-4)),
    ),
    (
        "slices 200 mm apart",
        All,
        SetK(|o, k| z_position(o, k, 200.0)),
    ),
    (
        "one slice 1 mm off",
        All,
        SetK(|o, k| {
            z_position(o, k, 3.0);
            if k == 2 {
                ds(o, tags::IMAGE_POSITION_PATIENT, &["43.1", "-58.7", "-24.5"]);
            }
        }),
    ),
    (
        "one slice shifted in plane",
        One(2),
        Set(|o| ds(o, tags::IMAGE_POSITION_PATIENT, &["93.1", "-58.7", "-25.5"])),
    ),
    // Orientation.
    (
        "Image Orientation removed",
        One(0),
        Set(|o| rm(o, tags::IMAGE_ORIENTATION_PATIENT)),
    ),
    (
        "Image Orientation zero",
        All,
        Set(|o| {
            ds(
                o,
                tags::IMAGE_ORIENTATION_PATIENT,
                &["0", "0", "0", "0", "0", "0"],
            )
        }),
    ),
    (
        "Image Orientation parallel",
        All,
        Set(|o| {
            ds(
                o,
                tags::IMAGE_ORIENTATION_PATIENT,
                &["1", "0", "0", "1", "0", "0"],
            )
        }),
    ),
    (
        "Image Orientation not unit",
        All,
        Set(|o| {
            ds(
                o,
                tags::IMAGE_ORIENTATION_PATIENT,
                &["2", "0", "0", "0", "1", "0"],
            )
        }),
    ),
    (
        "Image Orientation five values",
        One(1),
        Set(|o| {
            ds(
                o,
                tags::IMAGE_ORIENTATION_PATIENT,
                &["1", "0", "0", "0", "1"],
            )
        }),
    ),
    (
        "Image Orientation NaN",
        One(2),
        Set(|o| {
            ds(
                o,
                tags::IMAGE_ORIENTATION_PATIENT,
                &["NaN", "0", "0", "0", "1", "0"],
            )
        }),
    ),
    (
        "Image Orientation differs in one file",
        One(3),
        Set(|o| {
            ds(
                o,
                tags::IMAGE_ORIENTATION_PATIENT,
                &["0", "1", "0", "1", "0", "0"],
            )
        }),
    ),
    // Identity.
    (
        "Series Instance UID removed",
        One(1),
        Set(|o| rm(o, tags::SERIES_INSTANCE_UID)),
    ),
    (
        "Study Instance UID removed",
        One(2),
        Set(|o| rm(o, tags::STUDY_INSTANCE_UID)),
    ),
    (
        "Frame of Reference UID removed",
        One(3),
        Set(|o| rm(o, tags::FRAME_OF_REFERENCE_UID)),
    ),
    (
        "SOP Instance UID removed",
        One(0),
        Set(|o| rm(o, tags::SOP_INSTANCE_UID)),
    ),
    (
        "SOP Class UID removed",
        One(1),
        Set(|o| rm(o, tags::SOP_CLASS_UID)),
    ),
    // Raw bytes.
    ("file cut at 200 bytes", One(1), Bytes(|b| b.truncate(200))),
    (
        "file cut in half",
        One(2),
        Bytes(|b| b.truncate(b.len() / 2)),
    ),
    (
        "file cut by two bytes",
        One(3),
        Bytes(|b| b.truncate(b.len() - 2)),
    ),
    (
        "DICM then garbage",
        One(0),
        Bytes(|b| {
            b.truncate(132);
            b.extend_from_slice(&[0xff; 300])
        }),
    ),
    (
        "meta group length huge",
        One(1),
        Bytes(|b| b[140..144].copy_from_slice(&[0xff; 4])),
    ),
];

fn meta() -> SeriesMeta {
    SeriesMeta {
        uids: UidSource::Seeded(21),
        ..SeriesMeta::default()
    }
}

#[test]
fn malformed_series_are_errors_naming_the_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let valid = tmp.path().join("valid");
    write_series(&valid, &volume([8, 6, 4], las(), 21), &meta()).expect("write");
    read_series(&valid, None).expect("valid series reads");
    let mut failures = Vec::new();
    for (n, (name, files, change)) in CASES.iter().enumerate() {
        let dir = tmp.path().join(format!("case{n:03}"));
        copy_dir(&valid, &dir);
        for (k, path) in dcm_files(&dir).iter().enumerate() {
            if matches!(files, One(i) if *i != k) {
                continue;
            }
            match change {
                Set(f) => edit(path, f),
                SetK(f) => edit(path, |o| f(o, k)),
                Bytes(f) => {
                    let mut b = std::fs::read(path).expect("read");
                    f(&mut b);
                    std::fs::write(path, b).expect("write");
                }
            }
        }
        match catch_unwind(AssertUnwindSafe(|| read_series(&dir, None))) {
            Err(_) => failures.push(format!("{name}: panicked")),
            Ok(Ok(_)) => failures.push(format!("{name}: accepted")),
            Ok(Err(e)) => {
                let msg = e.to_string();
                if !msg.contains(&format!("case{n:03}")) || !msg.contains(".dcm") {
                    failures.push(format!("{name}: message does not name the file: {msg}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("{} malformed series refused", CASES.len());
}

#[test]
fn issue_defects_name_the_attribute() {
    let tmp = tempfile::tempdir().expect("tmp");
    let valid = tmp.path().join("valid");
    write_series(&valid, &volume([8, 6, 4], las(), 21), &meta()).expect("write");
    let cases: [(&str, Edit, &str); 5] = [
        (
            "huge",
            |o| {
                us(o, tags::ROWS, 65535);
                us(o, tags::COLUMNS, 65535)
            },
            "Rows/Columns",
        ),
        (
            "bits8",
            |o| {
                us(o, tags::BITS_ALLOCATED, 8);
                us(o, tags::BITS_STORED, 8)
            },
            "Pixel Data holds",
        ),
        (
            "slope",
            |o| ds(o, tags::RESCALE_SLOPE, &["1e39"]),
            "Rescale Slope",
        ),
        (
            "spacing",
            |o| ds(o, tags::PIXEL_SPACING, &["1e-300", "0.9"]),
            "Pixel Spacing",
        ),
        (
            "thick",
            |o| ds(o, tags::SLICE_THICKNESS, &["1e5"]),
            "Slice Thickness",
        ),
    ];
    for (name, f, attribute) in cases {
        let dir = tmp.path().join(name);
        copy_dir(&valid, &dir);
        dcm_files(&dir).iter().for_each(|p| edit(p, f));
        let msg = read_series(&dir, None).expect_err(name).to_string();
        assert!(
            msg.contains(attribute) && msg.contains("IM0000"),
            "{name}: {msg}"
        );
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for f in dcm_files(from) {
        std::fs::copy(&f, to.join(f.file_name().expect("name"))).expect("copy");
    }
}

/// dicom-parser allocates a value's declared length before reading it: a 634-byte file whose
/// Pixel Data declared 4 GB cost gigabytes (fuzz/artifacts/dicom_series/oom-*). Lengths beyond
/// the file's size are refused before dicom-object sees the file, in images and structure sets.
#[test]
fn declared_lengths_beyond_the_file_are_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("s");
    write_series(&dir, &volume([6, 5, 2], las(), 3), &meta()).expect("write");
    let file = dcm_files(&dir)[0].clone();
    let mut bytes = std::fs::read(&file).expect("read");
    let header = b"\xe0\x7f\x10\x00OW\x00\x00";
    let at = bytes
        .windows(header.len())
        .position(|w| w == header)
        .expect("Pixel Data header")
        + header.len();
    bytes[at..at + 4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    std::fs::write(&file, &bytes).expect("write");
    let msg = read_series(&dir, None).expect_err("4 GB value").to_string();
    assert!(
        msg.contains("declares 4294967280 bytes") && msg.contains(&*file.to_string_lossy()),
        "{msg}"
    );
    let msg = mtsa_dicom::list_rois(&file)
        .expect_err("4 GB value")
        .to_string();
    assert!(msg.contains("declares 4294967280 bytes"), "{msg}");
}
