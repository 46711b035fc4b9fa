//! Outputs appear whole or not at all: everything is written under a temporary name in the same
//! directory and renamed into place only when complete.

use crate::output::{check_output, parent_of, write_marker, Existing};
use crate::temp::{
    forget, live, new_sibling, old_sibling, remove_path, remove_stale_temporaries, Registered,
};
use crate::IoError;
use std::path::{Path, PathBuf};

/// Writes a file through `write(tmp_path)`, flushes it to disk and renames it to `path`, so a
/// crash or power loss leaves the old file or the new one, never a torn one. The temporary name
/// keeps the final extension so writers that pick compression from it (`.nii.gz`) behave; it is
/// removed on failure and, via the signal thread, on SIGINT/SIGTERM.
pub fn write_atomic<E>(path: &Path, write: impl FnOnce(&Path) -> Result<(), E>) -> Result<(), E>
where
    E: From<IoError>,
{
    let tmp = new_sibling(path);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| IoError::io(parent, e))?;
    }
    let _reg = Registered::new(&tmp);
    let written = write(&tmp).and_then(|()| {
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| IoError::io(path, e).into())
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Flushes every file under `dir`, and the folders themselves (their entries), to disk.
fn sync_tree(dir: &Path) -> Result<(), IoError> {
    for entry in std::fs::read_dir(dir).map_err(|e| IoError::io(dir, e))? {
        let entry = entry.map_err(|e| IoError::io(dir, e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| IoError::io(&path, e))?;
        if kind.is_dir() {
            sync_tree(&path)?;
        } else if kind.is_file() {
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| IoError::io(&path, e))?;
        }
    }
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| IoError::io(dir, e))
}

/// A directory built under a temporary name and renamed into place by `commit`; dropped without
/// commit (an error on the way), it is removed, so no partial output is left behind.
pub struct AtomicDir {
    tmp: PathBuf,
    target: PathBuf,
    /// The command whose marked output this is; `None` for a folder nested in another output.
    command: Option<String>,
    replace: bool,
    committed: bool,
}

impl AtomicDir {
    /// A folder inside another output (a DICOM series of a cohort): `target` must be absent or
    /// empty; no marker is written.
    pub fn create(target: &Path) -> Result<Self, IoError> {
        let empty = match std::fs::read_dir(target) {
            Ok(mut entries) => entries.next().is_none(),
            Err(_) => !target.exists(),
        };
        if !empty {
            return Err(IoError::invalid(
                target,
                "output directory exists and is not empty (choose another path or remove it)",
            ));
        }
        Self::start(target, None, false)
    }

    /// The output folder of `command` (`--out`): it must be absent, empty, or (with `replace`)
    /// an earlier output of the same command, marked by [`crate::OUTPUT_MARKER`]; a folder of
    /// anything else is never replaced. The new folder carries the marker. Debris that killed
    /// runs left next to `target` is removed first.
    pub fn output(target: &Path, command: &str, replace: bool) -> Result<Self, IoError> {
        check_output(target, command, Existing::replace_if(replace))?;
        remove_stale_temporaries(parent_of(target));
        let dir = Self::start(target, Some(command.to_string()), replace)?;
        write_marker(&dir.tmp, command)?;
        Ok(dir)
    }

    fn start(target: &Path, command: Option<String>, replace: bool) -> Result<Self, IoError> {
        let tmp = new_sibling(target);
        let _ = remove_path(&tmp);
        live().push(tmp.clone());
        // Registered before creation: from here on, Drop or the signal thread removes it.
        let dir = Self {
            tmp,
            target: target.to_path_buf(),
            command,
            replace,
            committed: false,
        };
        std::fs::create_dir_all(&dir.tmp).map_err(|e| {
            IoError::invalid(target, format!("cannot create the output folder: {e}"))
        })?;
        Ok(dir)
    }

    /// Where to write the contents until `commit`.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Moves the finished folder to its target. Replacing an earlier output takes three steps,
    /// in this order, so that a kill at any moment leaves the old output or the new one whole:
    /// 1. rename the old output aside to `.old-<pid>-<name>`;
    /// 2. rename the new one from `.tmp-<pid>-<name>` to `<name>`;
    /// 3. delete the aside.
    ///
    /// Killed between 1 and 2, the old output is whole under its aside name and the next run
    /// into the same folder renames it back (see [`crate::remove_stale_temporaries`]); killed in
    /// 3, the new output is in place and the rest of the aside is removed by that next run.
    /// Steps 1 and 2 run under the registry lock, so SIGINT/SIGTERM waits for them.
    pub fn commit(mut self) -> Result<PathBuf, IoError> {
        if let Some(command) = &self.command {
            // The target may have changed since `output` checked it (hours ago, for prepare).
            check_output(&self.target, command, Existing::replace_if(self.replace))?;
        }
        // On disk before the rename publishes them, as `write_atomic` does for one file: after a
        // power loss the folder is the old one or the complete new one, never renamed with
        // empty files inside.
        sync_tree(&self.tmp)?;
        let aside = {
            let mut live = live();
            let aside = if std::fs::symlink_metadata(&self.target).is_ok() {
                let aside = old_sibling(&self.target);
                std::fs::rename(&self.target, &aside).map_err(|e| IoError::io(&self.target, e))?;
                Some(aside)
            } else {
                None
            };
            if let Err(e) = std::fs::rename(&self.tmp, &self.target) {
                if let Some(a) = &aside {
                    let _ = std::fs::rename(a, &self.target);
                }
                return Err(IoError::io(&self.target, e));
            }
            forget(&mut live, &self.tmp);
            self.committed = true;
            aside
        };
        if let Some(aside) = aside {
            let _reg = Registered::new(&aside);
            remove_path(&aside).map_err(|e| IoError::io(&aside, e))?;
        }
        Ok(self.target.clone())
    }
}

impl Drop for AtomicDir {
    fn drop(&mut self) {
        if !self.committed {
            let mut live = live();
            let _ = remove_path(&self.tmp);
            forget(&mut live, &self.tmp);
        }
    }
}
