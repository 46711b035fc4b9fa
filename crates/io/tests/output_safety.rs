//! An output folder replaces only an earlier output of the same command, a replacement cut off
//! at any step leaves one whole output, and debris of killed runs is cleared by the next run.

use mtsa_io::{
    claim_output_dir, probe_writable, remove_stale_temporaries, write_atomic, AtomicDir, Existing,
    IoError, OUTPUT_MARKER,
};
use std::path::Path;

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Writes one output of `command` holding `file` = `text`.
fn output(target: &Path, command: &str, replace: bool, text: &str) -> Result<(), IoError> {
    let dir = AtomicDir::output(target, command, replace)?;
    std::fs::write(dir.path().join("file"), text).unwrap();
    dir.commit().map(drop)
}

/// A pid that no process has: one of a child that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn a_folder_of_the_users_own_files_is_never_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("thesis.tex"), "years of work").unwrap();
    for replace in [false, true] {
        let err = output(&mine, "predict", replace, "x").unwrap_err();
        assert!(
            err.to_string().contains("not written by `mtsa predict`"),
            "{err}"
        );
    }
    assert_eq!(names(&mine), ["thesis.tex"]);
    assert_eq!(names(tmp.path()), ["mine"], "no temporary left");
    // A file is not a folder to replace either.
    let file = tmp.path().join("mine").join("thesis.tex");
    assert!(output(&file, "predict", true, "x").is_err());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "years of work");
}

#[test]
fn an_output_is_replaced_only_with_replace_and_only_by_its_own_command() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    output(&out, "predict", false, "first").unwrap();
    let marker = std::fs::read_to_string(out.join(OUTPUT_MARKER)).unwrap();
    assert!(marker.contains("command = \"predict\""), "{marker}");

    let err = output(&out, "predict", false, "second").unwrap_err();
    assert!(err.to_string().contains("--force"), "{err}");
    let err = output(&out, "evaluate", true, "second").unwrap_err();
    assert!(err.to_string().contains("mtsa predict"), "{err}");
    assert_eq!(std::fs::read_to_string(out.join("file")).unwrap(), "first");

    output(&out, "predict", true, "second").unwrap();
    assert_eq!(std::fs::read_to_string(out.join("file")).unwrap(), "second");
    assert_eq!(names(tmp.path()), ["out"], "no aside or temporary left");
    // An empty folder (made by the user for the output) is fine.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    output(&empty, "evaluate", false, "x").unwrap();
}

#[test]
fn an_unfinished_output_is_removed_and_the_old_one_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    output(&out, "prepare", false, "old").unwrap();
    let dir = AtomicDir::output(&out, "prepare", true).unwrap();
    std::fs::write(dir.path().join("file"), "half").unwrap();
    drop(dir);
    assert_eq!(std::fs::read_to_string(out.join("file")).unwrap(), "old");
    assert_eq!(names(tmp.path()), ["out"]);
}

#[test]
fn debris_of_dead_runs_is_cleared_and_a_cut_off_replacement_undone() {
    let tmp = tempfile::tempdir().unwrap();
    let dead = dead_pid();
    let me = std::process::id();
    let root = tmp.path();
    // Killed while writing a new output, and while writing a file.
    std::fs::create_dir_all(root.join(format!(".tmp-{dead}-run/sub"))).unwrap();
    std::fs::write(
        root.join(format!(".tmp-{dead}-checkpoint.safetensors")),
        "x",
    )
    .unwrap();
    // Killed between renaming the old output aside and renaming the new one in.
    std::fs::create_dir(root.join(format!(".old-{dead}-data"))).unwrap();
    std::fs::write(root.join(format!(".old-{dead}-data/file")), "old").unwrap();
    // Killed while deleting the aside after the new output was in place.
    std::fs::create_dir(root.join("report")).unwrap();
    std::fs::create_dir(root.join(format!(".old-{dead}-report"))).unwrap();
    // A live process's work in progress, and a user's file.
    std::fs::create_dir(root.join(format!(".tmp-{me}-busy"))).unwrap();
    std::fs::write(root.join(".tmp-notes"), "mine").unwrap();

    remove_stale_temporaries(root);
    let mut want = vec![
        format!(".tmp-{me}-busy"),
        ".tmp-notes".into(),
        "data".into(),
    ];
    want.push("report".into());
    want.sort();
    assert_eq!(names(root), want);
    assert_eq!(
        std::fs::read_to_string(root.join("data/file")).unwrap(),
        "old"
    );
}

#[test]
fn write_atomic_leaves_the_old_file_when_the_writer_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("metrics.csv");
    std::fs::write(&path, "old").unwrap();
    let r: Result<(), IoError> = write_atomic(&path, |t| {
        std::fs::write(t, "half").unwrap();
        Err(IoError::invalid(t, "disk full"))
    });
    assert!(r.is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
    assert_eq!(names(tmp.path()), ["metrics.csv"]);
}

#[test]
fn a_run_folder_is_claimed_kept_or_replaced_but_never_taken_from_the_user() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("a/run");
    claim_output_dir(&run, "train", Existing::Keep).unwrap();
    std::fs::write(run.join("config.toml"), "x").unwrap();
    claim_output_dir(&run, "train", Existing::Keep).unwrap();
    assert!(run.join("config.toml").exists(), "kept");
    assert!(claim_output_dir(&run, "demo", Existing::Replace).is_err());
    claim_output_dir(&run, "train", Existing::Replace).unwrap();
    assert_eq!(names(&run), [OUTPUT_MARKER]);
    assert_eq!(names(&tmp.path().join("a")), ["run"]);

    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes"), "x").unwrap();
    assert!(claim_output_dir(&mine, "train", Existing::Replace).is_err());
    assert_eq!(names(&mine), ["notes"]);
}

#[test]
fn an_unwritable_output_is_found_before_any_work_and_named() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = file.join("out");
    let err = probe_writable(&out).unwrap_err().to_string();
    assert!(err.starts_with(&out.display().to_string()), "{err}");
    probe_writable(&tmp.path().join("new/deeper/out")).unwrap();
    assert_eq!(names(tmp.path()), ["a-file"]);
}
