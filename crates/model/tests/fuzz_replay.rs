//! Replays the fuzzing corpus and every crasher found (`fuzz/corpus/checkpoint`,
//! `fuzz/artifacts/checkpoint`) through the checkpoint readers, as the `checkpoint` fuzz target
//! does: `read_config` (then `validate`, as building the network does) and `read_tensors`. Each
//! must give `Ok` or an `Err` naming the file, never a panic. CI replays; fuzzing is
//! `cargo fuzz run --features model checkpoint` (fuzz/README.md).

use mtsa_model::{read_config, read_tensors};
use std::panic::{catch_unwind, AssertUnwindSafe};

#[path = "../../../fuzz/src/replay.rs"]
mod replay;
use replay::inputs;

#[test]
fn checkpoint_corpus_and_crashers_replay_without_panics() {
    let files = inputs("checkpoint");
    assert!(files.len() >= 3, "fuzz/corpus/checkpoint is missing");
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("fuzzed.safetensors");
    let mut failures = Vec::new();
    let mut accepted = 0;
    for input in &files {
        std::fs::copy(input, &path).expect("copy input");
        let result = catch_unwind(AssertUnwindSafe(|| {
            let config = read_config(&path).map(|cfg| {
                let _ = cfg.validate();
            });
            (config, read_tensors(&path).map(|_| ()))
        }));
        let Ok((config, tensors)) = result else {
            failures.push(format!("{}: panicked", input.display()));
            continue;
        };
        accepted += usize::from(tensors.is_ok());
        for e in [config.err(), tensors.err()].into_iter().flatten() {
            if !e.to_string().contains("fuzzed.safetensors") {
                failures.push(format!(
                    "{}: error does not name the file: {e}",
                    input.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(accepted > 0, "no corpus file reads: the seeds are gone");
}
