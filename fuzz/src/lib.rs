//! Helpers shared by the fuzz targets: a scratch folder for the bytes under test (the parsers
//! read paths, not buffers) and the fixtures in [`fixtures`].

pub mod fixtures;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One scratch folder per fuzzing process, in RAM (`/dev/shm`) when available. Never removed:
/// libFuzzer exits through `exit()`, and the folder holds a handful of small files.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new("/dev/shm");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("mtsa-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the scratch folder");
        dir
    })
}

/// A sub-folder of [`scratch`], created on first use.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = scratch().join(name);
    std::fs::create_dir_all(&dir).expect("create a scratch sub-folder");
    dir
}

/// Writes `bytes` to `name` in the scratch folder and returns its path.
pub fn put(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch().join(name);
    std::fs::write(&path, bytes).expect("write the input file");
    path
}

/// `bytes` as one gzip member, as `.nii.gz` files hold them.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip to memory");
    enc.finish().expect("gzip to memory")
}

/// Errors must name the input, so that a user with 300 patients knows which file to fix.
pub fn assert_names(err: &dyn std::fmt::Display, what: &Path) {
    let msg = err.to_string();
    let name = what.file_name().map(|n| n.to_string_lossy().into_owned());
    assert!(
        name.is_some_and(|n| msg.contains(&n)),
        "error does not name {}: {msg}",
        what.display()
    );
}

/// The tiny series the structure-set and Segmentation targets read against, written once per
/// process into the scratch folder.
pub fn tiny_series() -> &'static (mtsa_io::Volume<f32>, mtsa_dicom::SeriesRef) {
    static SERIES: OnceLock<(mtsa_io::Volume<f32>, mtsa_dicom::SeriesRef)> = OnceLock::new();
    SERIES.get_or_init(|| {
        fixtures::write_tiny_series(&scratch_dir("series")).expect("fixture series")
    })
}
