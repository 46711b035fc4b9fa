//! The files of a series folder, as a hospital export lays them out: flat (one file per slice),
//! or nested (a PACS or CD export: `DICOM/<patient>/<study>/<series>/<image>`, often with a
//! DICOMDIR beside), which dcm2niix also searches.

use crate::DicomError;
use std::path::{Path, PathBuf};

/// How deep below the folder files are looked for. A CD export nests four levels
/// (`DICOM/PAT/STU/SER`); dcm2niix searches five by default.
pub const MAX_FOLDER_DEPTH: usize = 8;

/// The folder `file` lies in (`.` for a bare file name): where the rest of its series, or the
/// export a DICOMDIR indexes, is read from.
pub fn folder_of(file: &Path) -> &Path {
    file.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Every regular file in `dir` and its subfolders (to [`MAX_FOLDER_DEPTH`] levels; hidden ones,
/// such as `.git`, skipped), sorted by path. Symbolic links to files are followed, to folders
/// not (a link back up would loop).
pub fn folder_files(dir: &Path) -> Result<Vec<PathBuf>, DicomError> {
    let mut files = Vec::new();
    collect(dir, 0, &mut files)?;
    files.sort();
    Ok(files)
}

fn collect(dir: &Path, depth: usize, files: &mut Vec<PathBuf>) -> Result<(), DicomError> {
    for entry in std::fs::read_dir(dir).map_err(|e| DicomError::file(dir, e))? {
        let entry = entry.map_err(|e| DicomError::file(dir, e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| DicomError::file(&path, e))?;
        if kind.is_dir() {
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if depth < MAX_FOLDER_DEPTH && !hidden {
                collect(&path, depth + 1, files)?;
            }
        } else if path.is_file() {
            files.push(path);
        }
    }
    Ok(())
}
