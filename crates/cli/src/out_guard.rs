//! `--out` is checked before any expensive work: a command must never replace or write into the
//! user's own files, its own inputs, or a folder it would later fail to write to.

use anyhow::{bail, Context, Result};
use mtsa_io::Existing;
use std::path::{Component, Path, PathBuf};

/// Fails unless `command` may write its output to `out`:
/// - `out` is not `/`, the home folder, the current folder, nor a folder containing one of them;
/// - `out` is not, does not contain and does not lie inside any of `inputs` (flag, path);
/// - `out` is absent, empty, or `command`'s own earlier output as `existing` allows
///   ([`mtsa_io::check_output`]);
/// - a file can be created where the output goes.
///
/// Then removes what killed runs left next to `out` (and in it, when it is our own output).
pub fn check_out(
    command: &str,
    out: &Path,
    existing: Existing,
    inputs: &[(&str, &Path)],
) -> Result<()> {
    let shown = out.display();
    let target = resolve(out).with_context(|| format!("--out {shown}"))?;
    let cwd = resolve(Path::new("."))?;
    if target.parent().is_none() {
        bail!("--out {shown} is the root folder; choose a new folder for the output");
    }
    if cwd.starts_with(&target) {
        bail!(
            "--out {shown} is or contains the current folder; choose a new folder for the output"
        );
    }
    let home = std::env::var_os("HOME").and_then(|h| PathBuf::from(h).canonicalize().ok());
    if home.is_some_and(|h| h.starts_with(&target)) {
        bail!("--out {shown} is or contains your home folder; choose a new folder for the output");
    }
    for (flag, input) in inputs {
        let Ok(inp) = resolve(input) else { continue };
        let relation = if inp == target {
            "is"
        } else if inp.starts_with(&target) {
            "contains"
        } else if target.starts_with(&inp) {
            "lies inside"
        } else {
            continue;
        };
        bail!(
            "--out {shown} {relation} {flag} {}; write the output to a folder of its own",
            input.display()
        );
    }
    mtsa_io::check_output(out, command, existing).context("--out")?;
    mtsa_io::probe_writable(out).context("--out")?;
    mtsa_io::remove_stale_temporaries(target.parent().unwrap_or(&target));
    if out.is_dir() {
        mtsa_io::remove_stale_temporaries(out);
    }
    Ok(())
}

/// The absolute path `p` names, symbolic links resolved as far as it exists; what does not exist
/// yet is appended after removing `.` and `..` lexically.
fn resolve(p: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(p).with_context(|| p.display().to_string())?;
    let mut clean = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            c => clean.push(c),
        }
    }
    let mut rest = Vec::new();
    let mut base = clean.clone();
    loop {
        if let Ok(real) = base.canonicalize() {
            return Ok(rest.into_iter().rev().fold(real, |acc, c| acc.join(c)));
        }
        match base.file_name() {
            Some(name) => rest.push(name.to_os_string()),
            None => return Ok(clean),
        }
        base.pop();
    }
}

/// [`check_out`], then readies `out` for a command that writes into it in place (demo),
/// replacing an earlier output of its own as `existing` allows.
pub fn claim(out: &Path, command: &str, existing: Existing) -> Result<()> {
    check_out(command, out, existing, &[])?;
    Ok(mtsa_io::claim_output_dir(out, command, existing)?)
}
