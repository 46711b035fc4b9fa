//! `--out` never costs the user data: no command replaces its inputs, the run, the dataset, the
//! current or home folder or a folder of the user's own files; `--force` replaces only the same
//! command's earlier output; a command killed (SIGKILL) at any moment leaves the old output
//! whole and its debris is cleared by the next run; SIGTERM removes the temporaries at once.

#[path = "../../train/tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn mtsa_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mtsa"))
        .args(["--threads", "1"])
        .args(args)
        // The layout cache of `--layout auto` goes to the build's scratch folder, not the user's.
        .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"))
        .current_dir(dir)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The `error:` line of a run that must fail.
fn refused(out: &Output) -> String {
    assert!(!out.status.success(), "expected a refusal");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    lines[0].to_string()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file under `dir` with its contents: what must not change.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A folder of the user's own files.
fn user_folder(root: &Path) -> PathBuf {
    let mine = root.join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "irreplaceable").unwrap();
    mine
}

/// A one-epoch micro run on the common fixture, trained by the binary.
fn trained_run(root: &Path) -> (PathBuf, PathBuf) {
    let data = common::prepared_dataset(root);
    let config = root.join("micro.toml");
    std::fs::write(&config, common::micro_config_toml()).unwrap();
    let run = root.join("run");
    let args = [
        "train",
        "--data",
        s(&data),
        "--out",
        s(&run),
        "--preset",
        "tiny",
    ];
    ok(&mtsa_in(
        root,
        &[&args[..], &["--config", s(&config), "--epochs", "1"]].concat(),
    ));
    (data, run)
}

#[test]
fn predict_and_evaluate_never_replace_inputs_the_run_the_dataset_or_user_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (data, run) = trained_run(root);
    let input = root.join("cohort/images/p000.nii.gz");
    let mine = user_folder(root);
    let before = snapshot(root);

    let predict = |out: &Path, cwd: &Path, force: bool| {
        let mut args = vec!["predict", "--run", s(&run), "--input", s(&input)];
        args.extend(["--out", s(out)]);
        if force {
            args.push("--force");
        }
        mtsa_in(cwd, &args)
    };
    let evaluate = |out: &Path, force: bool| {
        let mut args = vec!["evaluate", "--run", s(&run), "--data", s(&data)];
        args.extend(["--split", "val", "--out", s(out)]);
        if force {
            args.push("--force");
        }
        mtsa_in(root, &args)
    };
    for force in [false, true] {
        assert!(refused(&predict(&run, root, force)).contains("is --run"));
        assert!(refused(&predict(&input, root, force)).contains("is --input"));
        assert!(refused(&predict(&run.join("sub"), root, force)).contains("inside --run"));
        assert!(refused(&predict(&data, root, force)).contains("mtsa prepare"));
        assert!(refused(&predict(&mine, root, force)).contains("not written by `mtsa predict`"));
        assert!(refused(&predict(Path::new("."), &mine, force)).contains("current folder"));
        assert!(refused(&predict(root, &mine, force)).contains("current folder"));
        assert!(refused(&evaluate(&run, force)).contains("is --run"));
        assert!(refused(&evaluate(&data, force)).contains("is --data"));
        assert!(refused(&evaluate(&mine, force)).contains("not written by `mtsa evaluate`"));
    }
    // Unwritable: named as --out, before any work.
    let line = refused(&predict(&mine.join("notes.txt").join("out"), root, false));
    assert!(
        line.contains("--out") && line.contains("not writable"),
        "{line}"
    );
    assert_eq!(
        snapshot(root),
        before,
        "a refused command changed something"
    );

    // Its own output: written, refused without --force, replaced with it.
    let out = root.join("pred");
    ok(&predict(&out, root, false));
    assert!(refused(&predict(&out, root, false)).contains("--force"));
    std::fs::write(out.join("stale.txt"), "from an earlier run").unwrap();
    ok(&predict(&out, root, true));
    assert!(out.join("gtv.nii.gz").is_file() && !out.join("stale.txt").exists());
    assert!(out.join(mtsa_io::OUTPUT_MARKER).is_file());
    let left: Vec<String> = names(root)
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "debris: {left:?}");
}

#[test]
fn prepare_force_replaces_its_own_dataset_but_never_the_cohort_or_user_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let cohort = common::write_cohort(root, 4);
    let mine = user_folder(root);
    let before = snapshot(root);
    let prepare = |out: &Path, extra: &[&str]| {
        let args = [
            "prepare",
            "--cohort",
            s(&cohort),
            "--out",
            s(out),
            "--size",
            "64",
        ];
        mtsa_in(
            Path::new("/"),
            &[
                &args[..],
                &["--fov-mm", "140", "--val-patients", "1"],
                extra,
            ]
            .concat(),
        )
    };
    assert!(refused(&prepare(&cohort, &["--force"])).contains("is --cohort"));
    assert!(refused(&prepare(&cohort.join("ds"), &["--force"])).contains("inside --cohort"));
    assert!(refused(&prepare(root, &["--force"])).contains("contains --cohort"));
    assert!(refused(&prepare(&mine, &["--force"])).contains("not written by `mtsa prepare`"));
    assert_eq!(snapshot(root), before);

    let data = root.join("data");
    ok(&prepare(&data, &[]));
    assert!(refused(&prepare(&data, &[])).contains("--force"));
    ok(&prepare(&data, &["--overwrite"]));
    ok(&prepare(&data, &["--force"]));
    mtsa_data::verify(&data).unwrap();
    assert_eq!(names(root), ["cohort", "data", "mine"]);
}

/// Spawns `mtsa prepare --force` onto `data` and sends `signal` after `delay`, or (no delay) as
/// soon as its temporary output exists; returns the exit status and the pid.
fn interrupted_prepare(
    root: &Path,
    cohort: &Path,
    data: &Path,
    delay: Option<Duration>,
    signal: &str,
) -> (std::process::ExitStatus, u32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mtsa"))
        .args(["--threads", "1", "prepare", "--cohort", s(cohort)])
        .args([
            "--out",
            s(data),
            "--size",
            "128",
            "--val-patients",
            "1",
            "--force",
        ])
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    match delay {
        Some(d) => std::thread::sleep(d),
        None => {
            let tmp = root.join(format!(".tmp-{}-data", child.id()));
            while !tmp.exists() {
                assert!(child.try_wait().unwrap().is_none(), "prepare ended early");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    let pid = child.id().to_string();
    let sent = Command::new("kill").args([signal, &pid]).status().unwrap();
    assert!(sent.success());
    (child.wait().unwrap(), child.id())
}

#[test]
fn killed_prepare_leaves_the_old_dataset_whole_and_signals_leave_no_debris() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let cohort = root.join("cohort");
    ok(&mtsa_in(
        root,
        &[
            "synth",
            "--patients",
            "4",
            "--external",
            "0",
            "--out",
            s(&cohort),
        ],
    ));
    let data = root.join("data");
    let args = ["prepare", "--cohort", s(&cohort), "--out", s(&data)];
    ok(&mtsa_in(
        root,
        &[&args[..], &["--size", "128", "--val-patients", "1"]].concat(),
    ));
    mtsa_data::verify(&data).unwrap();

    // SIGKILL at several points of a replacement: reading, preparing, writing, committing.
    let delays = [
        None,
        Some(300),
        Some(800),
        Some(1100),
        Some(1400),
        Some(1700),
    ];
    for ms in delays {
        let delay = ms.map(Duration::from_millis);
        let _ = interrupted_prepare(root, &cohort, &data, delay, "-KILL");
        if !data.exists() {
            // Cut off between rename-aside and rename-in: the next run renames it back.
            mtsa_io::remove_stale_temporaries(root);
        }
        mtsa_data::verify(&data)
            .unwrap_or_else(|e| panic!("killed after {ms:?} ms, the dataset is not whole: {e}"));
    }
    // SIGTERM: the handler removes the temporaries before the process ends.
    let (status, pid) = interrupted_prepare(root, &cohort, &data, None, "-TERM");
    assert_eq!(status.code(), Some(143), "{status:?}");
    {
        let own = [format!(".tmp-{pid}-"), format!(".old-{pid}-")];
        let left: Vec<String> = names(root)
            .into_iter()
            .filter(|n| own.iter().any(|o| n.starts_with(o.as_str())))
            .collect();
        assert!(left.is_empty(), "SIGTERM left {left:?}");
    }
    mtsa_data::verify(&data).unwrap();

    // The next complete run clears every killed run's debris.
    let args = [
        "prepare",
        "--cohort",
        s(&cohort),
        "--out",
        s(&data),
        "--force",
    ];
    ok(&mtsa_in(
        root,
        &[&args[..], &["--size", "128", "--val-patients", "1"]].concat(),
    ));
    mtsa_data::verify(&data).unwrap();
    assert_eq!(names(root), ["cohort", "data"]);
}

#[test]
fn train_restarts_a_run_killed_before_its_first_checkpoint_and_keeps_metrics_with_the_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (data, run) = trained_run(root);
    let paths = mtsa_train::RunPaths::new(&run);
    let resume = ["train", "--data", s(&data), "--out", s(&run), "--resume"];

    // Killed after the epoch's metrics.csv and before its checkpoint: the resume cuts it back.
    let rows = std::fs::read_to_string(paths.metrics()).unwrap();
    let mut extra = rows.clone();
    extra.push_str(rows.lines().last().unwrap());
    extra.push('\n');
    std::fs::write(paths.metrics(), extra).unwrap();
    ok(&mtsa_in(root, &resume));
    assert_eq!(std::fs::read_to_string(paths.metrics()).unwrap(), rows);

    // Killed before the first checkpoint: --resume starts the run over with its config.
    std::fs::remove_file(paths.checkpoint()).unwrap();
    std::fs::remove_file(paths.metrics()).unwrap();
    ok(&mtsa_in(root, &resume));
    assert!(paths.checkpoint().is_file());
    assert_eq!(
        std::fs::read_to_string(paths.metrics())
            .unwrap()
            .lines()
            .count(),
        2
    );

    // A user's folder is not a run folder, and the run may not sit inside the dataset.
    let mine = user_folder(root);
    let train = |out: &Path| mtsa_in(root, &["train", "--data", s(&data), "--out", s(out)]);
    assert!(refused(&train(&mine)).contains("not written by `mtsa train`"));
    assert!(refused(&train(&data.join("run"))).contains("inside --data"));
    assert_eq!(names(&mine), ["notes.txt"]);
}

#[test]
fn synth_and_demo_refuse_the_root_home_current_and_user_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let mine = user_folder(tmp.path());
    for cmd in ["synth", "demo"] {
        assert!(refused(&mtsa_in(&mine, &[cmd, "--out", "/"])).contains("root folder"));
        assert!(refused(&mtsa_in(&mine, &[cmd, "--out", "."])).contains("current folder"));
        assert!(refused(&mtsa_in(&mine, &[cmd, "--out", ".."])).contains("current folder"));
        let line = refused(&mtsa_in(tmp.path(), &[cmd, "--out", s(&mine)]));
        assert!(line.contains("not written by"), "{line}");
    }
    if let Some(home) = std::env::var_os("HOME") {
        let line = refused(&mtsa_in(
            &mine,
            &["demo", "--out", home.to_str().unwrap(), "--force"],
        ));
        assert!(line.contains("home folder"), "{line}");
    }
    assert_eq!(names(&mine), ["notes.txt"]);
}

#[test]
fn demo_refuses_bad_settings_before_writing_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let line = refused(&mtsa_in(
        tmp.path(),
        &["demo", "--out", "d", "--preset", "huge"],
    ));
    assert!(line.contains("huge"), "{line}");
    let line = refused(&mtsa_in(
        tmp.path(),
        &["demo", "--out", "d", "--device", "gpu"],
    ));
    assert!(line.contains("gpu"), "{line}");
    for (flag, value, named) in [
        ("--segment-threshold", "2", "segment_threshold"),
        ("--lr", "-1", "lr"),
        ("--size", "100", "size 100"),
        ("--fov-mm", "-5", "field of view"),
    ] {
        let arg = format!("{flag}={value}");
        let line = refused(&mtsa_in(tmp.path(), &["demo", "--out", "d", &arg]));
        assert!(line.contains(named), "{arg}: {line}");
    }
    if !tch::Cuda::is_available() {
        let line = refused(&mtsa_in(
            tmp.path(),
            &["demo", "--out", "d", "--device", "cuda"],
        ));
        assert!(line.contains("CUDA is not available"), "{line}");
    }
    assert!(names(tmp.path()).is_empty(), "{:?}", names(tmp.path()));
}

/// Runs `args` (which write `out`) once, then again with `--force`, SIGKILLed after each of a
/// few delays: `out` must always be whole by `whole` (the old output or the new one, never a
/// mix), and a last complete run must leave no debris.
fn kill_while_replacing(root: &Path, args: &[&str], out: &Path, whole: &dyn Fn(&str)) {
    ok(&mtsa_in(root, args));
    let files = names(out);
    let check = |when: &str| {
        assert_eq!(names(out), files, "{when}: output files differ");
        whole(when);
    };
    for ms in [0u64, 150, 400, 800, 1500] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mtsa"))
            .args(["--threads", "1"])
            .args(args)
            .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"))
            .arg("--force")
            .current_dir(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        let _ = child.kill();
        let _ = child.wait();
        if !out.exists() {
            // Cut off between rename-aside and rename-in: the next run renames it back.
            mtsa_io::remove_stale_temporaries(root);
        }
        check(&format!("killed after {ms} ms"));
    }
    ok(&mtsa_in(root, &[args, &["--force"]].concat()));
    check("after a complete run");
    let debris: Vec<String> = names(root)
        .into_iter()
        .filter(|n| n.starts_with(".tmp-") || n.starts_with(".old-"))
        .collect();
    assert!(debris.is_empty(), "debris left: {debris:?}");
}

/// `evaluate --force` and `predict --force` killed while replacing their output.
#[test]
fn killed_evaluate_and_predict_leave_whole_outputs_and_no_debris() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (data, run) = trained_run(root);
    let report = root.join("report");
    let args = [
        "evaluate",
        "--run",
        s(&run),
        "--data",
        s(&data),
        "--split",
        "all",
        "--out",
        s(&report),
    ];
    kill_while_replacing(root, &args, &report, &|when| {
        let json = std::fs::read_to_string(report.join("metrics.json")).unwrap();
        let m: serde_json::Value = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("{when}: metrics.json unreadable: {e}"));
        assert!(m["whole_scan"].is_array(), "{when}: no whole-scan scores");
    });
    let pred = root.join("pred");
    let input = root.join("cohort/images/p000.nii.gz");
    let args = [
        "predict",
        "--run",
        s(&run),
        "--input",
        s(&input),
        "--out",
        s(&pred),
    ];
    kill_while_replacing(root, &args, &pred, &|when| {
        mtsa_io::read_nifti_labels(&pred.join("gtv.nii.gz"))
            .unwrap_or_else(|e| panic!("{when}: gtv.nii.gz unreadable: {e}"));
        let json = std::fs::read_to_string(pred.join("egfr.json")).unwrap();
        let _: serde_json::Value = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("{when}: egfr.json unreadable: {e}"));
    });
}
