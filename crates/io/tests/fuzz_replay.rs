//! Replays the fuzzing corpus and every crasher found (`fuzz/corpus/nifti`,
//! `fuzz/artifacts/nifti`) through the NIfTI reader, as the `nifti` fuzz target does: each file
//! as `.nii` and gzipped as `.nii.gz`. Each must give `Ok` or an `Err` naming the file, never a
//! panic. CI replays; fuzzing itself is `cargo fuzz run nifti` (see fuzz/README.md).

use flate2::write::GzEncoder;
use flate2::Compression;
use mtsa_io::read_nifti_labels;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};

#[path = "../../../fuzz/src/replay.rs"]
mod replay;
use replay::inputs;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

#[test]
fn nifti_corpus_and_crashers_replay_without_panics() {
    let files = inputs("nifti");
    assert!(files.len() >= 5, "fuzz/corpus/nifti is missing");
    let dir = tempfile::tempdir().expect("tmp");
    let mut failures = Vec::new();
    let mut accepted = 0;
    for (n, input) in files.iter().enumerate() {
        let bytes = std::fs::read(input).expect("read input");
        for (name, data) in [
            (format!("in{n}.nii"), bytes.clone()),
            (format!("in{n}.nii.gz"), gzip(&bytes)),
        ] {
            let path = dir.path().join(&name);
            std::fs::write(&path, &data).expect("write");
            match catch_unwind(AssertUnwindSafe(|| read_nifti_labels(&path))) {
                Err(_) => failures.push(format!("{}: panicked", input.display())),
                Ok(Err(e)) if !e.to_string().contains(&name) => failures.push(format!(
                    "{}: error does not name the file: {e}",
                    input.display()
                )),
                Ok(Err(_)) => {}
                Ok(Ok(_)) => accepted += 1,
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(accepted > 0, "no corpus file reads: the seeds are gone");
}
