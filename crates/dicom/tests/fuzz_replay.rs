//! Replays the fuzzing corpora and every crasher found (`fuzz/corpus/<target>`,
//! `fuzz/artifacts/<target>`) through the readers, as the fuzz targets do: `dicom_series` (the
//! file alone in a folder, read as a series), `rtstruct` and `seg` (read against the tiny series
//! the corpus was drawn on, from the fuzz fixtures). Each must give `Ok` or an `Err` naming the
//! file or folder, never a panic. CI replays; fuzzing is `cargo fuzz run <target>`
//! (fuzz/README.md).

#[path = "../../../fuzz/src/fixtures.rs"]
mod fixtures;

use mtsa_dicom::{list_rois, list_segments, read_rtstruct, read_seg, read_series};
use std::panic::{catch_unwind, AssertUnwindSafe};

#[path = "../../../fuzz/src/replay.rs"]
mod replay;
use replay::inputs;

/// Runs `read` on every input of `target`; returns how many were accepted.
fn replay<E: std::fmt::Display>(
    target: &str,
    mut read: impl FnMut(&[u8]) -> (Result<(), E>, String),
) -> usize {
    let files = inputs(target);
    assert!(files.len() >= 3, "fuzz/corpus/{target} is missing");
    let mut failures = Vec::new();
    let mut accepted = 0;
    for input in &files {
        let bytes = std::fs::read(input).expect("read input");
        match catch_unwind(AssertUnwindSafe(|| read(&bytes))) {
            Err(_) => failures.push(format!("{}: panicked", input.display())),
            Ok((Err(e), name)) if !e.to_string().contains(&name) => failures.push(format!(
                "{}: error does not name {name}: {e}",
                input.display()
            )),
            Ok((Err(_), _)) => {}
            Ok((Ok(()), _)) => accepted += 1,
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    accepted
}

#[test]
fn dicom_series_corpus_and_crashers_replay_without_panics() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("fuzzed-series");
    std::fs::create_dir(&dir).expect("mkdir");
    let accepted = replay("dicom_series", |bytes| {
        std::fs::write(dir.join("IM00001.dcm"), bytes).expect("write");
        (read_series(&dir, None).map(|_| ()), "fuzzed-series".into())
    });
    assert!(accepted > 0, "no corpus file reads: the seeds are gone");
}

#[test]
fn rtstruct_corpus_and_crashers_replay_without_panics() {
    let tmp = tempfile::tempdir().expect("tmp");
    let series_dir = tmp.path().join("series");
    std::fs::create_dir(&series_dir).expect("mkdir");
    let (grid, series) = fixtures::write_tiny_series(&series_dir).expect("fixture series");
    let path = tmp.path().join("fuzzed-rs.dcm");
    let accepted = replay("rtstruct", |bytes| {
        std::fs::write(&path, bytes).expect("write");
        let read = list_rois(&path).and_then(|_| {
            let mask = read_rtstruct(&path, fixtures::ROI, &series, &grid)?;
            assert_eq!(mask.shape(), grid.shape());
            Ok(())
        });
        (read, "fuzzed-rs.dcm".into())
    });
    assert!(accepted > 0, "no corpus file reads: the seeds are gone");
}

#[test]
fn seg_corpus_replays_without_panics() {
    let tmp = tempfile::tempdir().expect("tmp");
    let series_dir = tmp.path().join("series");
    std::fs::create_dir(&series_dir).expect("mkdir");
    let (grid, series) = fixtures::write_tiny_series(&series_dir).expect("fixture series");
    let path = tmp.path().join("fuzzed-seg.dcm");
    let accepted = replay("seg", |bytes| {
        std::fs::write(&path, bytes).expect("write");
        let read = list_segments(&path).and_then(|_| {
            let mask = read_seg(&path, "GTV", &series, &grid)?;
            assert_eq!(mask.shape(), grid.shape());
            Ok(())
        });
        (read, "fuzzed-seg.dcm".into())
    });
    assert!(accepted > 0, "no corpus file reads: the seeds are gone");
}
