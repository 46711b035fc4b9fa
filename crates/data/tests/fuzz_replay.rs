//! Replays the fuzzing corpora and every crasher found (`fuzz/corpus/<target>`,
//! `fuzz/artifacts/<target>`) through the table readers, as the fuzz targets do: `clinical`
//! (`read_clinical`) and `splits` (`assign_from_file` against the fuzz fixtures' cohort). Each
//! must give `Ok` or an `Err` naming the file, never a panic. CI replays; fuzzing is
//! `cargo fuzz run <target>` (fuzz/README.md).

#[path = "../../../fuzz/src/fixtures.rs"]
mod fixtures;

use mtsa_data::{assign_from_file, read_clinical, DataError};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

#[path = "../../../fuzz/src/replay.rs"]
mod replay;
use replay::inputs;

/// Writes every input of `target` to `file` and reads it; returns how many were accepted.
fn replay(target: &str, file: &str, read: impl Fn(&Path) -> Result<(), DataError>) -> usize {
    let files = inputs(target);
    assert!(files.len() >= 3, "fuzz/corpus/{target} is missing");
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join(file);
    let mut failures = Vec::new();
    let mut accepted = 0;
    for input in &files {
        std::fs::copy(input, &path).expect("copy input");
        match catch_unwind(AssertUnwindSafe(|| read(&path))) {
            Err(_) => failures.push(format!("{}: panicked", input.display())),
            Ok(Err(e)) if !e.to_string().contains(file) => failures.push(format!(
                "{}: error does not name the file: {e}",
                input.display()
            )),
            Ok(Err(_)) => {}
            Ok(Ok(())) => accepted += 1,
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    accepted
}

#[test]
fn clinical_corpus_and_crashers_replay_without_panics() {
    let accepted = replay("clinical", "clinical.csv", |p| read_clinical(p).map(|_| ()));
    assert!(accepted > 0, "no corpus file reads: the seeds are gone");
}

#[test]
fn splits_corpus_and_crashers_replay_without_panics() {
    let ids: Vec<String> = fixtures::SPLIT_PATIENTS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let accepted = replay("splits", "splits.json", |p| {
        let map = assign_from_file(p, &ids)?;
        assert_eq!(map.len(), ids.len());
        Ok(())
    });
    assert!(accepted > 0, "no corpus file reads: the seeds are gone");
}
