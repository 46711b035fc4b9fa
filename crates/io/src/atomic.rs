//! Outputs appear whole or not at all: everything is written under a temporary name in the same
//! directory and renamed into place only when complete.

use crate::IoError;
use std::path::{Path, PathBuf};

/// Writes a file through `write(tmp_path)` and renames it to `path` on success. The temporary
/// name keeps the final extension so writers that pick compression from it (`.nii.gz`) behave.
pub fn write_atomic<E>(path: &Path, write: impl FnOnce(&Path) -> Result<(), E>) -> Result<(), E>
where
    E: From<IoError>,
{
    let tmp = temp_sibling(path);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| IoError::io(parent, e))?;
    }
    match write(&tmp) {
        Ok(()) => std::fs::rename(&tmp, path).map_err(|e| IoError::io(path, e).into()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".tmp-{}-{name}", std::process::id()))
}

/// A directory built under a temporary name and renamed into place by `commit`; dropped without
/// commit (an error on the way), it is removed, so no partial output is left behind.
pub struct AtomicDir {
    tmp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl AtomicDir {
    /// Refuses to replace a non-empty existing directory unless `overwrite`.
    pub fn create(target: &Path, overwrite: bool) -> Result<Self, IoError> {
        if target.exists() && !overwrite {
            let empty = std::fs::read_dir(target)
                .map_err(|e| IoError::io(target, e))?
                .next()
                .is_none();
            if !empty {
                return Err(IoError::invalid(
                    target,
                    "output directory exists and is not empty (choose another path or remove it)",
                ));
            }
        }
        let tmp = temp_sibling(target);
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| IoError::io(&tmp, e))?;
        Ok(Self {
            tmp,
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// Where to write the contents until `commit`.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    pub fn commit(mut self) -> Result<PathBuf, IoError> {
        if self.target.exists() {
            std::fs::remove_dir_all(&self.target).map_err(|e| IoError::io(&self.target, e))?;
        }
        std::fs::rename(&self.tmp, &self.target).map_err(|e| IoError::io(&self.target, e))?;
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for AtomicDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}
