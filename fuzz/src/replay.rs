//! The files the crates' replay tests feed their parsers (included with `#[path]` by
//! `crates/*/tests/fuzz_replay.rs`): every corpus file and every crasher of a fuzz target, in
//! name order.

use std::path::{Path, PathBuf};

pub fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut files = Vec::new();
    for kind in ["corpus", "artifacts"] {
        if let Ok(entries) = std::fs::read_dir(fuzz.join(kind).join(target)) {
            files.extend(entries.map(|e| e.expect("entry").path()));
        }
    }
    files.sort();
    files
}
