//! Reading a Segmentation's segment as a mask: highdicom's BINARY and FRACTIONAL segmentations
//! of a sphere on the enhanced MR fixture (`fixtures/seg/README.md`) hold exactly the voxels
//! whose positions highdicom's side computed, and our own SEG reads back as the mask written.

mod common;

use common::*;
use mtsa_dicom::{
    list_segments, read_seg, read_series, write_seg_segments, Roi, SegAlgorithm, UidSource,
};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Whether every point of `a` has one of `b` within 0.02 mm on each axis, and the counts agree
/// (the writer's side rounded its positions to 0.001 mm).
fn same_points(a: &[[f64; 3]], b: &[[f64; 3]]) -> bool {
    a.len() == b.len()
        && a.iter().all(|p| {
            b.iter()
                .any(|q| (0..3).all(|r| (p[r] - q[r]).abs() <= 0.02))
        })
}

#[test]
fn highdicom_segmentations_hold_the_voxels_their_writer_placed() {
    let (grid, series) = read_series(&fixtures().join("enhanced_mr"), None).expect("series");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("seg/gtv_points.json")).expect("points"),
    )
    .expect("json");
    let expected: Vec<[f64; 3]> = json["gtv_ras_mm"]
        .as_array()
        .expect("list")
        .iter()
        .map(|p| {
            let v: Vec<f64> = p
                .as_array()
                .expect("point")
                .iter()
                .map(|x| x.as_f64().expect("mm"))
                .collect();
            [v[0], v[1], v[2]]
        })
        .collect();
    assert_eq!(expected.len(), 400);
    let a = grid.affine;
    let mut names = vec![
        "binary.dcm",
        "fractional.dcm",
        "binary_jpeg2000.dcm",
        "fractional_jpeg2000.dcm",
        "fractional_rle.dcm",
    ];
    // highdicom's JPEG-LS (FRACTIONAL only): read by a build with the jpeg-ls feature, refused
    // naming it by a default build.
    let jpeg_ls = fixtures().join("seg/fractional_jpeg_ls.dcm");
    if cfg!(feature = "jpeg-ls") {
        names.push("fractional_jpeg_ls.dcm");
    } else {
        let err = read_seg(&jpeg_ls, "GTV", &series, &grid)
            .expect_err("JPEG-LS in a default build")
            .to_string();
        assert!(
            err.contains("fractional_jpeg_ls.dcm") && err.contains("--features jpeg-ls"),
            "{err}"
        );
    }
    for name in names {
        let path = fixtures().join("seg").join(name);
        assert_eq!(list_segments(&path).expect("segments"), vec!["GTV"]);
        let mask = read_seg(&path, "gtv", &series, &grid).expect(name);
        let found: Vec<[f64; 3]> = mask
            .data
            .indexed_iter()
            .filter(|(_, v)| **v != 0)
            .map(|((i, j, k), _)| {
                let (x, y, z) = (i as f64, j as f64, k as f64);
                std::array::from_fn(|r| a[r][0] * x + a[r][1] * y + a[r][2] * z + a[r][3])
            })
            .collect();
        assert!(
            same_points(&found, &expected),
            "{name}: {} voxels",
            found.len()
        );
    }
}

#[test]
fn our_segmentation_reads_back_as_the_mask_written() {
    let tmp = tempfile::tempdir().expect("tmp");
    for (n, affine) in [las(), oblique()].into_iter().enumerate() {
        let (grid, series) = series_on(affine, &tmp.path().join(format!("s{n}")));
        let mask = lesions(&grid);
        let seg = tmp.path().join(format!("seg{n}.dcm"));
        write_test_seg(&seg, &mask, &series);
        let back = read_seg(&seg, "GTV", &series, &grid).expect("read seg");
        assert_eq!(back.data, mask.data);
    }
}

#[test]
fn several_segments_each_read_back_alone_and_lesions_keep_only_their_frames() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (grid, series) = series_on(oblique(), &tmp.path().join("s"));
    let parts = common::halves::whole_and_halves(&lesions(&grid));
    let segments: Vec<Roi> = parts
        .iter()
        .map(|(name, mask)| Roi { name, mask })
        .collect();
    let algorithm = SegAlgorithm {
        name: "test".into(),
        version: "1".into(),
    };
    let seg = tmp.path().join("seg.dcm");
    write_seg_segments(&seg, &segments, &series, &algorithm, UidSource::Seeded(4)).expect("write");
    assert_eq!(
        list_segments(&seg).expect("list"),
        vec!["GTV_mtsa", "GTV_mtsa_1", "GTV_mtsa_2"]
    );
    for s in &segments {
        let back = read_seg(&seg, s.name, &series, &grid).expect("read");
        assert_eq!(back.data, s.mask.data, "{}", s.name);
    }
    // The lesion segments by pattern or list give their union, the whole GTV.
    for selector in ["GTV_mtsa_*", "gtv_mtsa_1, GTV_MTSA_2"] {
        let union = read_seg(&seg, selector, &series, &grid).expect(selector);
        assert_eq!(union.data, parts[0].1.data, "{selector}");
    }
    // The whole GTV has a frame per image; a lesion only those of the slices it is on (the
    // series' slices run along the grid's third axis).
    let slices_with = |m: &mtsa_io::Volume<u8>| {
        (0..m.shape()[2])
            .filter(|&k| {
                m.data
                    .index_axis(ndarray::Axis(2), k)
                    .iter()
                    .any(|v| *v != 0)
            })
            .count()
    };
    let expected = 11 + slices_with(&parts[1].1) + slices_with(&parts[2].1);
    assert!(expected < 33, "the halves should miss some slices");
    let obj = dicom_object::open_file(&seg).expect("open");
    let frames = obj
        .element(dicom_dictionary_std::tags::NUMBER_OF_FRAMES)
        .expect("frames")
        .to_int::<usize>()
        .expect("int");
    assert_eq!(frames, expected);
    // One segment is what write_seg writes; none is refused.
    let one = tmp.path().join("one.dcm");
    let single = tmp.path().join("single.dcm");
    write_seg_segments(
        &one,
        &segments[..1],
        &series,
        &algorithm,
        UidSource::Seeded(4),
    )
    .expect("one");
    let (name, mask) = &parts[0];
    mtsa_dicom::write_seg(
        &single,
        mask,
        &series,
        name,
        &algorithm,
        UidSource::Seeded(4),
    )
    .expect("single");
    assert_eq!(
        std::fs::read(&one).expect("read"),
        std::fs::read(&single).expect("read")
    );
    let err = write_seg_segments(
        &tmp.path().join("none.dcm"),
        &[],
        &series,
        &algorithm,
        UidSource::Seeded(4),
    )
    .expect_err("no segment")
    .to_string();
    assert!(
        err.contains("none.dcm") && err.contains("0 segments"),
        "{err}"
    );
    assert!(!tmp.path().join("none.dcm").exists());
}

#[test]
fn a_segmentation_that_does_not_fit_the_series_is_refused() {
    let (grid, series) = read_series(&fixtures().join("enhanced_mr"), None).expect("series");
    let path = fixtures().join("seg/binary.dcm");
    let err = read_seg(&path, "Brain", &series, &grid)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no segment matches 'Brain'") && err.contains("'GTV'"),
        "{err}"
    );
    let mut other = series.clone();
    other.frame_of_reference_uid = "1.2.3".into();
    let err = read_seg(&path, "GTV", &other, &grid)
        .unwrap_err()
        .to_string();
    assert!(err.contains("frame of reference"), "{err}");
    // Every slice moved 1 mm along its rows: the same planes, shifted in plane.
    let mut shifted = series.clone();
    let row = &series.image_orientation[..3];
    for p in shifted.image_positions.iter_mut() {
        for (a, d) in p.iter_mut().zip(row) {
            *a += d;
        }
    }
    let err = read_seg(&path, "GTV", &shifted, &grid)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("shifted") && err.contains("binary.dcm"),
        "{err}"
    );
    let rt = fixtures().join("transfer_syntaxes/raw/IM00006.dcm");
    let err = read_seg(&rt, "GTV", &series, &grid)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a Segmentation"), "{err}");
}
