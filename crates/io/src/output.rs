//! Which folders a command may write into. A command writes only into a folder that is new,
//! empty, or carries its own marker file ([`OUTPUT_MARKER`]); anything else may hold a user's
//! data and is never replaced.

use crate::temp::{
    is_temporary, new_sibling, old_sibling, remove_path, remove_stale_temporaries, Registered,
};
use crate::{write_atomic, IoError};
use std::path::Path;

/// The file in every output folder that says which `mtsa` command wrote it.
pub const OUTPUT_MARKER: &str = ".mtsa-output";

/// What to do with an output folder that already holds an output of the same command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refuse (the CLI's default: replacing needs `--force`).
    Refuse,
    /// Write into it (a training run that is resumed or restarted).
    Keep,
    /// Replace it as a whole.
    Replace,
}

impl Existing {
    /// [`Existing::Replace`] when the user passed `--force`, else [`Existing::Refuse`].
    pub fn replace_if(force: bool) -> Self {
        if force {
            Existing::Replace
        } else {
            Existing::Refuse
        }
    }
}

/// Fails unless `command` may write its output to `dir`: `dir` is absent, an empty folder, or
/// a folder marked as `command`'s output and `existing` is not [`Existing::Refuse`].
pub fn check_output(dir: &Path, command: &str, existing: Existing) -> Result<(), IoError> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        // Absent or unreachable: nothing to replace; `probe_writable` says why it cannot be
        // written, if it cannot.
        Err(_) => return Ok(()),
    };
    if !meta.is_dir() {
        return Err(IoError::invalid(
            dir,
            "exists and is not a folder; choose a new folder for the output",
        ));
    }
    // mtsa's own temporaries are not user data: a folder holding only those (another process
    // of the same batch marking it at this moment) counts as empty.
    let empty = std::fs::read_dir(dir)
        .map_err(|e| IoError::io(dir, e))?
        .filter_map(Result::ok)
        .all(|e| is_temporary(&e.file_name().to_string_lossy()));
    if empty {
        return Ok(());
    }
    match marked_command(dir) {
        Some(c) if c == command && existing != Existing::Refuse => Ok(()),
        Some(c) if c == command => Err(IoError::invalid(
            dir,
            format!("holds an earlier `mtsa {command}` output; pass --force to replace it"),
        )),
        Some(c) => Err(IoError::invalid(
            dir,
            format!(
                "holds the output of `mtsa {c}`, which `mtsa {command}` never replaces; \
                 choose another folder"
            ),
        )),
        None => Err(IoError::invalid(
            dir,
            format!(
                "exists, is not empty and was not written by `mtsa {command}`; mtsa replaces \
                 only its own outputs (marked by {OUTPUT_MARKER}): choose a new or empty folder"
            ),
        )),
    }
}

/// The command named in `dir`'s marker, if it has one.
fn marked_command(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(OUTPUT_MARKER)).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("command = "))
        .map(|c| c.trim_matches('"').to_string())
}

/// Marks `dir` as `command`'s output.
pub(crate) fn write_marker(dir: &Path, command: &str) -> Result<(), IoError> {
    let text = format!(
        "# Written by mtsa: this folder is the output of the command below, which may replace it.\n\
         command = \"{command}\"\nversion = \"{}\"\n",
        env!("CARGO_PKG_VERSION")
    );
    write_atomic(&dir.join(OUTPUT_MARKER), |tmp| {
        std::fs::write(tmp, text).map_err(|e| IoError::io(tmp, e))
    })
}

/// Readies `dir` for a command that writes into it in place (train, demo): checks it with
/// [`check_output`], replaces an existing output when `existing` is [`Existing::Replace`]
/// (rename aside, create the new folder, delete the old: a kill in between leaves the old one
/// whole under `.old-<pid>-<name>`, which the next run renames back), creates the folder and
/// marks it. Debris of killed runs in `dir` and next to it is removed first.
pub fn claim_output_dir(dir: &Path, command: &str, existing: Existing) -> Result<(), IoError> {
    check_output(dir, command, existing)?;
    let parent = parent_of(dir);
    remove_stale_temporaries(parent);
    remove_stale_temporaries(dir);
    let replaced = (existing == Existing::Replace && dir.exists())
        .then(|| -> Result<_, IoError> {
            let aside = old_sibling(dir);
            let reg = Registered::new(&aside);
            std::fs::rename(dir, &aside).map_err(|e| IoError::io(dir, e))?;
            Ok((aside, reg))
        })
        .transpose()?;
    std::fs::create_dir_all(dir).map_err(|e| IoError::io(dir, e))?;
    if !dir.join(OUTPUT_MARKER).exists() {
        write_marker(dir, command)?;
    }
    if let Some((aside, _reg)) = replaced {
        remove_path(&aside).map_err(|e| IoError::io(&aside, e))?;
    }
    Ok(())
}

/// Fails unless a file can be created where the output of `out` will be written (its nearest
/// existing ancestor), so an unwritable `--out` is reported before hours of work, in its name.
pub fn probe_writable(out: &Path) -> Result<(), IoError> {
    let mut dir = parent_of(out);
    while !dir.exists() {
        dir = parent_of(dir);
    }
    let probe = new_sibling(&dir.join("write-probe"));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| {
            IoError::invalid(
                out,
                format!(
                    "cannot write the output: {} is not writable ({e})",
                    dir.display()
                ),
            )
        })
}

/// The folder `path` is in; `.` for a bare name.
pub(crate) fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
