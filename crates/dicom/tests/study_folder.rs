//! A whole study exported into one folder, as a PACS or a CD export writes it: series in nested
//! subfolders (`DICOM/<study>/<series>/`), a DICOMDIR and other files beside them. Each series
//! is found below the folder, chosen by UID or by the structure set or Segmentation drawn on
//! it; anything else is an error naming the folder, the object and the series present.

mod common;

use common::*;
use mtsa_dicom::{
    is_dicom_file, is_dicomdir, read_drawn_case, read_gtv_object, read_series,
    read_series_containing, read_series_described, referenced_series, write_rtstruct, write_series,
    DicomError, SeriesMeta, SeriesRef, UidSource,
};
use mtsa_io::Volume;
use std::path::Path;

fn series(dir: &Path, seed: u64, description: &str) -> (Volume<f32>, SeriesRef) {
    let vol = volume([24, 20, 6], las(), seed);
    let meta = SeriesMeta {
        uids: UidSource::Seeded(seed),
        series_description: description.into(),
        ..SeriesMeta::default()
    };
    write_series(dir, &vol, &meta).expect("write");
    read_series(dir, None).expect("read")
}

#[test]
fn series_in_nested_folders_are_found_and_chosen_by_the_object_drawn_on_them() {
    let tmp = tempfile::tempdir().expect("tmp");
    let export = tmp.path().join("export");
    let study = export.join("DICOM").join("ST000001");
    let (_, localiser) = series(&study.join("SE000001"), 1, "localiser");
    let (t1ce, t1ce_ref) = series(&study.join("SE000002"), 2, "T1 post contrast");
    std::fs::write(export.join("DICOMDIR"), b"not parsed here").expect("dicomdir");
    // A hidden folder (a viewer's cache, version control) is not searched.
    let (_, _) = series(&export.join(".cache"), 3, "cached copy");

    let e = read_series(&export, None).expect_err("two series");
    assert!(
        matches!(&e, DicomError::AmbiguousSeries { series, .. } if series.len() == 2),
        "{e}"
    );
    let (chosen, r) = read_series(&export, Some(&t1ce_ref.series_instance_uid)).expect("by uid");
    assert_eq!(r.series_instance_uid, t1ce_ref.series_instance_uid);
    assert_eq!(chosen.data, t1ce.data);
    assert_eq!(chosen.affine, t1ce.affine);

    // So does one of its files, read with the rest of its series.
    let slice = dcm_files(&study.join("SE000002"))[0].clone();
    let (from_file, r) = read_series_containing(&slice).expect("from a file");
    assert_eq!(r.series_instance_uid, t1ce_ref.series_instance_uid);
    assert_eq!(from_file.data, t1ce.data);
    assert!(is_dicom_file(&slice) && !is_dicom_file(&export.join("DICOMDIR")));
    assert!(!is_dicomdir(&slice) && !is_dicomdir(&export.join("DICOMDIR")));

    // The GTV drawn on the T1-CE picks it out; its mask then reads on that series.
    let mask = lesions(&t1ce);
    let rt = tmp.path().join("rt.dcm");
    write_rtstruct(&rt, &mask, &t1ce_ref, "GTV", UidSource::Seeded(7)).expect("rt");
    assert_eq!(
        referenced_series(&rt).expect("referenced"),
        vec![t1ce_ref.series_instance_uid.as_str()]
    );
    let (vol, r, back) = read_drawn_case(&export, &rt, "GTV").expect("drawn on");
    assert_eq!(r.series_instance_uid, t1ce_ref.series_instance_uid);
    assert_eq!(vol.data, t1ce.data);
    assert_eq!(back.mask.data, mask.data);
    assert_eq!(back.names, ["GTV"]);
    let again = read_gtv_object(&rt, "GTV", &r, &vol).expect("gtv");
    assert_eq!(again.mask.data, mask.data);
    // So does a Segmentation.
    let seg = tmp.path().join("seg.dcm");
    write_test_seg(&seg, &mask, &t1ce_ref);
    let (_, r, back) = read_drawn_case(&export, &seg, "GTV").expect("seg drawn on");
    assert_eq!(r.series_instance_uid, t1ce_ref.series_instance_uid);
    assert_eq!(back.mask.data, mask.data);

    // A structure set of a series that is not in the folder names itself and what is there.
    let (_, elsewhere) = series(&tmp.path().join("elsewhere"), 4, "other study");
    let other = tmp.path().join("other.dcm");
    let other_mask = lesions(&volume([24, 20, 6], las(), 4));
    write_rtstruct(&other, &other_mask, &elsewhere, "GTV", UidSource::Seeded(8)).expect("rt");
    let e = read_drawn_case(&export, &other, "GTV").expect_err("not here");
    let msg = e.to_string();
    assert!(
        matches!(e, DicomError::SeriesNotSelected { .. })
            && msg.contains("other.dcm")
            && msg.contains("references none of them")
            && msg.contains(&elsewhere.series_instance_uid)
            && msg.contains(&localiser.series_instance_uid)
            && msg.contains("T1 post contrast"),
        "{msg}"
    );
    // Or by its description, as a batch over an archive picks the T1-CE of every study.
    let (_, r) = read_series_described(&export, "*t1*post*").expect("described");
    assert_eq!(r.series_instance_uid, t1ce_ref.series_instance_uid);
    for (pattern, why) in [
        ("FLAIR", "no Series Description matches 'FLAIR'"),
        ("*", "2 Series Descriptions match '*'"),
    ] {
        let msg = read_series_described(&export, pattern)
            .expect_err(pattern)
            .to_string();
        assert!(msg.contains(why) && msg.contains("localiser"), "{msg}");
    }
    // A description that does not match the folder's one series is refused too.
    let e = read_series_described(&study.join("SE000001"), "*T1*").expect_err("not a T1");
    assert!(
        e.to_string().contains("no Series Description matches"),
        "{e}"
    );
    // A structure set is not an image whose series could be read.
    let msg = read_series_containing(&rt)
        .expect_err("rtstruct")
        .to_string();
    assert!(
        msg.contains("rt.dcm") && msg.contains("not an image"),
        "{msg}"
    );
    // With one series in the folder, that series is read, whatever the object says; its frame
    // of reference is then checked when the contours are read (the error names the localiser's).
    let msg = read_drawn_case(&study.join("SE000001"), &other, "GTV")
        .expect_err("drawn elsewhere")
        .to_string();
    assert!(
        msg.contains("frame of reference") && msg.contains(&localiser.frame_of_reference_uid),
        "{msg}"
    );
}

#[test]
fn an_archive_of_many_series_is_listed_in_one_short_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    for n in 0..14u64 {
        series(&tmp.path().join(format!("SE{n:02}")), 10 + n, "T1");
    }
    let e = read_series(tmp.path(), None).expect_err("ambiguous");
    let msg = e.to_string();
    assert!(
        matches!(&e, DicomError::AmbiguousSeries { found: 14, series, .. } if series.len() == 13),
        "{msg}"
    );
    assert!(
        msg.contains("14 image series found") && msg.ends_with("and 2 more"),
        "{msg}"
    );
    let msg = read_series_described(tmp.path(), "t1")
        .expect_err("all match")
        .to_string();
    assert!(msg.contains("14 Series Descriptions match 't1'"), "{msg}");
}
