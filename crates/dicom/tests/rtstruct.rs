//! Mask -> RTSTRUCT -> mask round trips on the grids `read_series` returns.
//!
//! Contours follow pixel edges, so the even-odd fill gives the traced voxels back exactly; the
//! tests require Dice >= 0.98 (the bar) and check exactness separately.

mod common;

use common::*;
use mtsa_dicom::{list_rois, read_rtstruct, write_rtstruct, write_rtstruct_rois, Roi, UidSource};
use mtsa_io::{Reorientation, Volume};
use ndarray::Array3;

#[test]
fn lesions_survive_the_round_trip_on_every_orientation() {
    let tmp = tempfile::tempdir().expect("tmp");
    for (n, affine) in [las(), ras(), lps(), oblique()].into_iter().enumerate() {
        let dir = tmp.path().join(format!("s{n}"));
        let (grid, series) = series_on(affine, &dir);
        let mask = lesions(&grid);
        assert!(mask.data.iter().filter(|v| **v != 0).count() > 50);
        let rt = tmp.path().join(format!("rt{n}.dcm"));
        write_rtstruct(&rt, &mask, &series, "GTV_mtsa", UidSource::Seeded(3))
            .expect("write rtstruct");
        let back = read_rtstruct(&rt, "gtv_MTSA", &series, &grid).expect("read rtstruct");
        assert_eq!(back.affine, grid.affine);
        let d = dice(&mask, &back);
        assert!(d >= 0.98, "case {n}: Dice {d}");
        assert_eq!(
            back.data, mask.data,
            "case {n}: edge-following contours are exact"
        );
    }
}

#[test]
fn hole_is_restored_and_contours_are_per_component() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (grid, series) = series_on(las(), &tmp.path().join("s"));
    // One slice: a 7x7 square with a 3x3 hole, and a separate single voxel.
    let mut data = Array3::<u8>::zeros((40, 36, 11));
    for i in 10..17 {
        for j in 10..17 {
            data[[i, j, 4]] = 1;
        }
    }
    for i in 12..15 {
        for j in 12..15 {
            data[[i, j, 4]] = 0;
        }
    }
    data[[30, 30, 4]] = 1;
    let mask = Volume::new(data, grid.affine);
    let rt = tmp.path().join("rt.dcm");
    write_rtstruct(&rt, &mask, &series, "GTV_mtsa", UidSource::Seeded(1)).expect("write");
    let obj = dicom_object::open_file(&rt).expect("open");
    let contours = obj
        .element(dicom_dictionary_std::tags::ROI_CONTOUR_SEQUENCE)
        .expect("roi contours")
        .items()
        .expect("items")[0]
        .element(dicom_dictionary_std::tags::CONTOUR_SEQUENCE)
        .expect("contours")
        .items()
        .expect("items")
        .len();
    assert_eq!(contours, 3, "outer square, its hole, the single voxel");
    let back = read_rtstruct(&rt, "GTV_mtsa", &series, &grid).expect("read");
    assert_eq!(back.data, mask.data);
}

#[test]
fn mask_in_canonical_order_is_accepted_and_read_back_on_any_order() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (grid, series) = series_on(oblique(), &tmp.path().join("s"));
    let mask = lesions(&grid);
    // The model works in RAS canonical order; its prediction is on that grid.
    let r = Reorientation::for_volume(&mask);
    let canonical_mask = r.apply(&mask);
    let rt = tmp.path().join("rt.dcm");
    write_rtstruct(
        &rt,
        &canonical_mask,
        &series,
        "GTV_mtsa",
        UidSource::Seeded(1),
    )
    .expect("write");
    let back = read_rtstruct(&rt, "GTV_mtsa", &series, &grid).expect("read");
    assert_eq!(back.data, mask.data);
    let canonical_grid = r.apply(&grid);
    let back_canonical = read_rtstruct(&rt, "GTV_mtsa", &series, &canonical_grid).expect("read");
    assert_eq!(back_canonical.data, canonical_mask.data);
}

#[test]
fn empty_mask_gives_an_roi_without_contours() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (grid, series) = series_on(las(), &tmp.path().join("s"));
    let empty = grid.map(|_| 0u8);
    let rt = tmp.path().join("rt.dcm");
    write_rtstruct(&rt, &empty, &series, "GTV_mtsa", UidSource::Seeded(1)).expect("write");
    assert_eq!(list_rois(&rt).expect("rois"), vec!["GTV_mtsa".to_string()]);
    let back = read_rtstruct(&rt, "GTV_mtsa", &series, &grid).expect("read");
    assert!(back.data.iter().all(|v| *v == 0));
}

#[test]
fn same_seed_same_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (grid, series) = series_on(ras(), &tmp.path().join("s"));
    let mask = lesions(&grid);
    let (a, b, c) = (
        tmp.path().join("a.dcm"),
        tmp.path().join("b.dcm"),
        tmp.path().join("c.dcm"),
    );
    write_rtstruct(&a, &mask, &series, "GTV_mtsa", UidSource::Seeded(8)).expect("a");
    write_rtstruct(&b, &mask, &series, "GTV_mtsa", UidSource::Seeded(8)).expect("b");
    write_rtstruct(&c, &mask, &series, "GTV_mtsa", UidSource::Seeded(9)).expect("c");
    let bytes = |p: &std::path::Path| std::fs::read(p).expect("read");
    assert_eq!(bytes(&a), bytes(&b));
    assert_ne!(bytes(&a), bytes(&c));
}

#[test]
fn several_rois_are_numbered_in_order_and_each_reads_back_alone() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (grid, series) = series_on(oblique(), &tmp.path().join("s"));
    let all = lesions(&grid);
    // The whole GTV, then its two halves as lesions of their own.
    let parts = common::halves::whole_and_halves(&all);
    assert!(parts.iter().all(|(_, m)| m.data.iter().any(|v| *v != 0)));
    let rois: Vec<Roi> = parts
        .iter()
        .map(|(name, mask)| Roi { name, mask })
        .collect();
    let rt = tmp.path().join("rt.dcm");
    write_rtstruct_rois(&rt, &rois, &series, UidSource::Seeded(3)).expect("write");
    assert_eq!(
        list_rois(&rt).expect("list"),
        vec!["GTV_mtsa", "GTV_mtsa_1", "GTV_mtsa_2"]
    );
    for roi in &rois {
        let back = read_rtstruct(&rt, roi.name, &series, &grid).expect("read");
        assert_eq!(back.data, roi.mask.data, "{}", roi.name);
    }
    // Several named, or by pattern, give their union; one that matches nothing lists them.
    for selector in ["gtv_mtsa_*", "GTV_mtsa_2, GTV_mtsa_1", "*_1,*_2", "GTV*"] {
        let union = read_rtstruct(&rt, selector, &series, &grid).expect(selector);
        assert_eq!(union.data, all.data, "{selector}");
    }
    let half = read_rtstruct(&rt, "*_2", &series, &grid).expect("one by pattern");
    assert_eq!(half.data, rois[2].mask.data);
    let err = read_rtstruct(&rt, "PTV*", &series, &grid)
        .expect_err("no match")
        .to_string();
    assert!(
        err.contains("no ROI matches 'PTV*'") && err.contains("GTV_mtsa_2"),
        "{err}"
    );
    // Every ROI has its own number, contours, colour and observation.
    let obj = dicom_object::open_file(&rt).expect("open");
    let numbers = |seq, tag| -> Vec<i64> {
        obj.get(seq)
            .and_then(|e| e.value().items())
            .expect("sequence")
            .iter()
            .map(|i| i.get(tag).expect("number").to_int::<i64>().expect("int"))
            .collect()
    };
    use dicom_dictionary_std::tags;
    assert_eq!(
        numbers(tags::STRUCTURE_SET_ROI_SEQUENCE, tags::ROI_NUMBER),
        [1, 2, 3]
    );
    assert_eq!(
        numbers(tags::ROI_CONTOUR_SEQUENCE, tags::REFERENCED_ROI_NUMBER),
        [1, 2, 3]
    );
    assert_eq!(
        numbers(tags::RTROI_OBSERVATIONS_SEQUENCE, tags::OBSERVATION_NUMBER),
        [1, 2, 3]
    );
    // One ROI's structure set is what write_rtstruct writes.
    let one = tmp.path().join("one.dcm");
    let single = tmp.path().join("single.dcm");
    write_rtstruct_rois(&one, &rois[..1], &series, UidSource::Seeded(3)).expect("one");
    write_rtstruct(&single, &all, &series, "GTV_mtsa", UidSource::Seeded(3)).expect("single");
    assert_eq!(
        std::fs::read(&one).expect("read"),
        std::fs::read(&single).expect("read")
    );
}
