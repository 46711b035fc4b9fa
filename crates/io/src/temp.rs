//! Temporary names, and their removal when a run ends early.
//!
//! Every temporary path is a sibling of what it becomes: `.tmp-<pid>-<name>` while a new output
//! is written, `.old-<pid>-<name>` while an old output waits to be deleted after a replacement.
//! The pid in the name lets a later run tell debris of a dead process from work in progress of a
//! live one. Live temporaries are also kept in a registry that a signal thread empties on
//! SIGINT/SIGTERM, so an interrupted command leaves nothing behind.

use crate::IoError;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard};

const NEW: &str = ".tmp-";
const OLD: &str = ".old-";

/// Temporaries of this process that a signal must remove.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The registry, also when a panicking thread poisoned it: the list itself is always valid.
pub(crate) fn live() -> MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A temporary path that the signal thread removes until this guard is dropped.
pub(crate) struct Registered(PathBuf);

impl Registered {
    pub(crate) fn new(path: &Path) -> Self {
        live().push(path.to_path_buf());
        Self(path.to_path_buf())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        forget(&mut live(), &self.0);
    }
}

/// Drops `path` from a locked registry (callers that must rename under the lock use this).
pub(crate) fn forget(live: &mut Vec<PathBuf>, path: &Path) {
    if let Some(i) = live.iter().position(|p| p == path) {
        live.swap_remove(i);
    }
}

/// Whether a file name is one of mtsa's temporaries (`.tmp-<pid>-…`, `.old-<pid>-…`).
pub(crate) fn is_temporary(name: &str) -> bool {
    [NEW, OLD].iter().any(|prefix| {
        name.strip_prefix(prefix)
            .and_then(|rest| rest.split_once('-'))
            .is_some_and(|(pid, _)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// `.tmp-<pid>-<name>` next to `path`. The final extension is kept, so writers that pick a
/// compression from it (`.nii.gz`) behave.
pub(crate) fn new_sibling(path: &Path) -> PathBuf {
    sibling(path, NEW)
}

/// `.old-<pid>-<name>` next to `path`: where a replaced output waits to be deleted.
pub(crate) fn old_sibling(path: &Path) -> PathBuf {
    sibling(path, OLD)
}

fn sibling(path: &Path, prefix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{prefix}{}-{name}", std::process::id()))
}

/// Removes a file or a whole folder; a symbolic link is removed, never followed.
pub(crate) fn remove_path(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Write end of the pipe through which the signal handler wakes the cleanup thread.
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

/// The signal handler: only an async-signal-safe `write` of the signal number to the pipe.
extern "C" fn on_signal(sig: libc::c_int) {
    let byte = sig as u8;
    // SAFETY: write(2) is async-signal-safe; the fd is the pipe's write end, never closed.
    unsafe {
        libc::write(
            SIGNAL_PIPE.load(Ordering::Relaxed),
            (&raw const byte).cast(),
            1,
        )
    };
}

/// On SIGINT or SIGTERM, removes this process's live temporaries and exits with 128 + the
/// signal number (130, 143). The handler only writes to a pipe; a thread reading it does the
/// removal, which is not allowed inside a signal handler. A handler (not a blocked mask and
/// `sigwait`) is used because libtorch may start threads before `main`, which a mask set in
/// `main` would not cover.
pub fn remove_temporaries_on_signal() -> Result<(), IoError> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(IoError::io("signal pipe", std::io::Error::last_os_error()));
    }
    let [read_end, write_end] = fds;
    SIGNAL_PIPE.store(write_end, Ordering::Relaxed);
    std::thread::Builder::new()
        .name("mtsa-signals".into())
        .spawn(move || {
            let mut sig = 0u8;
            // SAFETY: reads one byte into `sig` from the pipe's read end.
            while unsafe { libc::read(read_end, (&raw mut sig).cast(), 1) } != 1 {}
            // Held until exit: a commit in progress finishes first, and none starts after.
            let live = live();
            for p in live.iter() {
                let _ = remove_path(p);
            }
            eprintln!("interrupted: temporary outputs removed");
            // SAFETY: _exit ends the process at once, without running other threads' destructors
            // (libtorch's among them) in the middle of their work.
            unsafe { libc::_exit(128 + libc::c_int::from(sig)) };
        })
        .map_err(|e| IoError::io("signal thread", e))?;
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `on_signal` is an extern "C" fn(c_int) that only calls write(2).
        let old = unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
        if old == libc::SIG_ERR {
            return Err(IoError::io(
                "signal handler",
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(())
}

/// Removes what killed runs left in `dir`: `.tmp-<pid>-*` of a dead pid is deleted, and
/// `.old-<pid>-<name>` of a dead pid is renamed back to `<name>` when a replacement was cut off
/// before its new output arrived (deleted when `<name>` exists). Temporaries of live processes,
/// this one included, are left alone; failures are ignored, since this only tidies up.
pub fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            continue;
        };
        let Some((old, pid, rest)) = parse(name) else {
            continue;
        };
        if pid == std::process::id() || is_alive(pid) {
            continue;
        }
        let target = dir.join(rest);
        if old && std::fs::symlink_metadata(&target).is_err() {
            let _ = std::fs::rename(entry.path(), &target);
        } else {
            let _ = remove_path(&entry.path());
        }
    }
}

/// `(is an .old- aside, pid, original name)` of a temporary name.
fn parse(name: &str) -> Option<(bool, u32, &str)> {
    let (old, rest) = if let Some(r) = name.strip_prefix(NEW) {
        (false, r)
    } else {
        (true, name.strip_prefix(OLD)?)
    };
    let (pid, original) = rest.split_once('-')?;
    let pid: u32 = pid.parse().ok()?;
    (!original.is_empty()).then_some((old, pid, original))
}

fn is_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only asks whether the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// `message` with this process's temporary names (`.tmp-<pid>-<name>`, `.old-<pid>-<name>`)
/// replaced by the names they stand for, so an error met while writing an output names the
/// `--out` the user gave, not an internal path that no longer exists when they read it.
pub fn public_names(message: &str) -> String {
    let pid = std::process::id();
    [NEW, OLD].iter().fold(message.to_owned(), |text, prefix| {
        text.replace(&format!("{prefix}{pid}-"), "")
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_only_temporary_names() {
        assert_eq!(parse(".tmp-12-out"), Some((false, 12, "out")));
        assert_eq!(parse(".old-7-a-b.nii.gz"), Some((true, 7, "a-b.nii.gz")));
        assert_eq!(parse(".tmp-x-out"), None);
        assert_eq!(parse(".tmp-12-"), None);
        assert_eq!(parse("out"), None);
    }
}
