//! Written objects get fresh UIDs unless a caller asks for seeded ones: two predictions on the
//! same series used to share SOP Instance and Series UIDs, and a PACS keeps only one of them.

mod common;

use common::*;
use dicom_dictionary_std::tags;
use mtsa_dicom::{write_rtstruct, write_series, SeriesMeta, UidSource};

fn attr(path: &std::path::Path, tag: dicom_core::Tag) -> String {
    let obj = dicom_object::open_file(path).expect("open");
    let value = obj.element(tag).expect("present").to_str().expect("str");
    value.trim_end_matches(['\0', ' ']).to_string()
}

#[test]
fn two_structure_sets_on_one_series_have_distinct_uids_and_a_creation_date() {
    let tmp = tempfile::tempdir().expect("tmp");
    let vol = volume([10, 8, 3], las(), 4);
    let meta = SeriesMeta {
        uids: UidSource::Seeded(4),
        ..SeriesMeta::default()
    };
    let series = write_series(&tmp.path().join("s"), &vol, &meta).expect("series");
    let mask = lesions(&vol);
    let (a, b) = (tmp.path().join("a.dcm"), tmp.path().join("b.dcm"));
    write_rtstruct(&a, &mask, &series, "GTV", UidSource::Random).expect("a");
    write_rtstruct(&b, &mask, &series, "GTV", UidSource::Random).expect("b");
    for tag in [tags::SOP_INSTANCE_UID, tags::SERIES_INSTANCE_UID] {
        let (ua, ub) = (attr(&a, tag), attr(&b, tag));
        assert_ne!(ua, ub);
        assert!(ua.starts_with("2.25.") && ua.len() <= 64, "{ua}");
    }
    let date = attr(&a, tags::INSTANCE_CREATION_DATE);
    assert!(date.len() == 8 && date.starts_with('2'), "{date}");
    assert_eq!(attr(&a, tags::INSTANCE_CREATION_TIME).len(), 6);
    assert_eq!(attr(&a, tags::STRUCTURE_SET_DATE), date);
}

#[test]
fn series_written_twice_by_default_are_two_series() {
    let tmp = tempfile::tempdir().expect("tmp");
    let vol = volume([10, 8, 3], las(), 5);
    let a = write_series(&tmp.path().join("a"), &vol, &SeriesMeta::default()).expect("a");
    let b = write_series(&tmp.path().join("b"), &vol, &SeriesMeta::default()).expect("b");
    assert_ne!(a.series_instance_uid, b.series_instance_uid);
    assert_ne!(a.study_instance_uid, b.study_instance_uid);
    assert_ne!(a.sop_instance_uids[0], b.sop_instance_uids[0]);
    let first = &dcm_files(&tmp.path().join("a"))[0];
    assert_eq!(attr(first, tags::INSTANCE_CREATION_DATE).len(), 8);
}
