//! `mtsa train` as a user runs it: a diverging run ends with one `error:` line that says where,
//! and a run killed mid-way and resumed with `--resume` ends bitwise where an uninterrupted run
//! ends.

#[path = "../../train/tests/common/mod.rs"]
mod common;

use mtsa_model::read_tensors;
use mtsa_train::RunPaths;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `mtsa --threads 1 train` on the micro model, plus `extra` arguments.
fn train_cmd(data: &Path, run: &Path, config: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mtsa"));
    // The layout cache of the calibration's `--layout auto` load goes to the build's scratch
    // folder, not the user's.
    c.env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"));
    c.args([
        "--threads",
        "1",
        "train",
        "--data",
        s(data),
        "--out",
        s(run),
    ]);
    if !extra.contains(&"--resume") {
        c.args(["--preset", "tiny", "--config", s(config)]);
    }
    c.args(extra).stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// `mtsa train` as [`train_cmd`] builds it, which must succeed.
fn train(data: &Path, run: &Path, config: &Path, extra: &[&str]) -> Output {
    let out = train_cmd(data, run, config, extra).output().unwrap();
    assert_succeeded(&out);
    out
}

/// A command that must succeed; its stderr is the failure message.
fn assert_succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn setup(root: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = common::prepared_dataset(root);
    let config = root.join("micro.toml");
    std::fs::write(&config, common::micro_config_toml()).unwrap();
    (data, config)
}

#[test]
fn diverging_training_prints_one_error_line_and_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, config) = setup(tmp.path());
    let out = train_cmd(
        &data,
        &tmp.path().join("run"),
        &config,
        &["--lr", "1e30", "--epochs", "2"],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("non-finite"), "{}", errors[0]);
    assert!(errors[0].contains("epoch 1, batch "), "{}", errors[0]);
}

fn metrics_without_seconds(run: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(RunPaths::new(run).metrics()).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let secs = header.iter().position(|h| *h == "seconds").unwrap();
    lines
        .map(|l| {
            l.split(',')
                .enumerate()
                .filter(|(i, _)| *i != secs)
                .map(|(_, c)| c)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

fn assert_same_tensors(a: &Path, b: &Path) {
    let (ta, _) = read_tensors(a).unwrap();
    let (tb, _) = read_tensors(b).unwrap();
    assert_eq!(ta.len(), tb.len());
    for (name, x) in &ta {
        let y = &tb[name];
        let xv = Vec::<f32>::try_from(&x.flatten(0, -1)).unwrap();
        let yv = Vec::<f32>::try_from(&y.flatten(0, -1)).unwrap();
        assert!(
            xv.iter().zip(&yv).all(|(p, q)| p.to_bits() == q.to_bits()) && xv.len() == yv.len(),
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn killed_and_resumed_run_equals_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, config) = setup(tmp.path());
    let (run_a, run_b) = (tmp.path().join("a"), tmp.path().join("b"));
    // A fixed layout: two fresh runs measuring at once could choose differently. The resume
    // below asks for none and must keep the run's own.
    let epochs = ["--epochs", "3", "--layout", "nhwc"];

    let a = train_cmd(&data, &run_a, &config, &epochs).spawn().unwrap();
    let mut b = train_cmd(&data, &run_b, &config, &epochs).spawn().unwrap();
    // Kill B as soon as its first checkpoint exists: somewhere in epoch 2 or 3 (or after the end,
    // which the resume must handle too).
    let checkpoint = RunPaths::new(&run_b).checkpoint();
    let t0 = Instant::now();
    while !checkpoint.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no checkpoint appeared"
        );
        if let Some(status) = b.try_wait().unwrap() {
            panic!("run B ended before its first checkpoint: {status:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    b.kill().unwrap();
    b.wait().unwrap();
    let done_before = metrics_without_seconds(&run_b).len();

    train(&data, &run_b, &config, &["--resume"]);
    assert_succeeded(&a.wait_with_output().unwrap());

    let (pa, pb) = (RunPaths::new(&run_a), RunPaths::new(&run_b));
    assert_same_tensors(&pa.checkpoint(), &pb.checkpoint());
    assert_same_tensors(&pa.best(), &pb.best());
    let rows = metrics_without_seconds(&run_a);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows, metrics_without_seconds(&run_b));
    eprintln!("run B was killed after {done_before} of 3 epochs");
}

/// A resume that asks for another config is refused, not silently run with the old one: every
/// config flag but --epochs.
#[test]
fn a_resume_that_changes_the_config_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, config) = setup(tmp.path());
    let run = tmp.path().join("run");
    train(&data, &run, &config, &["--epochs", "1"]);
    let checkpoint = std::fs::read(RunPaths::new(&run).checkpoint()).unwrap();
    for change in [
        &["--patience", "5"][..],
        &["--slices-per-patient", "2"],
        &["--egfr-voting-slices-only"],
        &["--context-slices", "1"],
        &["--batch-dice"],
        &["--no-augment"],
        &["--precise-bn-batches", "4"],
        &["--lr", "0.01"],
    ] {
        let out = train_cmd(&data, &run, &config, &[&["--resume"][..], change].concat())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{change:?} was accepted on resume");
        assert!(
            stderr.contains("only --epochs and --egfr-phenotype may"),
            "{change:?}: {stderr}"
        );
    }
    assert_eq!(
        std::fs::read(RunPaths::new(&run).checkpoint()).unwrap(),
        checkpoint,
        "a refused resume touched the checkpoint"
    );
}

/// A trained, calibrated run gains the EGFR phenotype model on a resume, without training: the
/// weights stay, `postprocess.json` holds the model fitted on every labelled training and
/// validation patient, and the run's config records the key.
#[test]
fn a_resume_adds_the_egfr_phenotype_model_without_training() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, config) = setup(tmp.path());
    let run = tmp.path().join("run");
    train(&data, &run, &config, &["--epochs", "1", "--calibrate"]);
    let paths = RunPaths::new(&run);
    let postprocess = |p: &RunPaths| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p.postprocess()).unwrap()).unwrap()
    };
    assert!(postprocess(&paths).get("egfr_phenotype").is_none());
    // Calibration records the validation scans' slice thickness, which `predict` warns against.
    assert_eq!(
        postprocess(&paths)["calibrated_slice_mm"].as_f64(),
        Some(common::SPACING[2])
    );
    let weights = std::fs::read(paths.best()).unwrap();
    train(&data, &run, &config, &["--resume", "--egfr-phenotype"]);
    assert_eq!(std::fs::read(paths.best()).unwrap(), weights);
    let model = &postprocess(&paths)["egfr_phenotype"];
    // The fixture's six patients: four training, two validation, alternating EGFR.
    assert_eq!(model["patients"], 6, "{model}");
    assert_eq!(model["prevalence"], 0.5, "{model}");
    let config_toml = std::fs::read_to_string(paths.config()).unwrap();
    assert!(
        config_toml.contains("egfr_phenotype = true"),
        "{config_toml}"
    );
}

/// A run with a thick-slice lesion classifier keeps each whole scan at the cut of the classifier
/// its slices call for, and `evaluate` reports that cut for the split: the fixture's 2 mm
/// slices are thick against a calibration on 1 mm slices (the second classifier's cut), not
/// against one on 2 mm slices (the first's). A thick-slice classifier that reads the look
/// model's logit is applied too (its candidates' looks computed), at its own cut.
#[test]
fn evaluate_reports_the_cut_of_the_classifier_a_splits_slices_call_for() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, config) = setup(tmp.path());
    let run = tmp.path().join("run");
    train(&data, &run, &config, &["--epochs", "1"]);
    let names = mtsa_eval::LESION_FEATURES;
    let classifier = |cut: f64, names: &[&str]| {
        serde_json::json!({
            "features": names,
            "standardizer": {"mean": vec![0.0; names.len()], "scale": vec![1.0; names.len()]},
            "intercept": 0.0, "coefficients": vec![0.0; names.len()], "cut": cut,
            "bright_contrast": 2.0,
        })
    };
    let size = mtsa_eval::LOOK_SIZE;
    let looking = {
        let with_look = [&names[..], &[mtsa_eval::LOOK_FEATURE]].concat();
        let mut c = classifier(0.2, &with_look);
        c["look"] = serde_json::json!({
            "standardizer": {"mean": vec![0.0; size], "scale": vec![1.0; size]},
            "examples": 2, "lesions": 1,
            "nets": [{"hidden_weight": [vec![0.0; size]], "hidden_bias": [0.0],
                      "output_weight": [1.0], "output_bias": 0.0}],
        });
        c
    };
    let cases = [
        (1.0, classifier(0.1, &names), 0.1),
        (2.0, classifier(0.1, &names), 0.3),
        (1.0, looking, 0.2),
    ];
    for (i, (calibrated, thick, want)) in cases.into_iter().enumerate() {
        let record = serde_json::json!({
            "threshold": 0.5, "segment_threshold": 0.5, "min_volume_mm3": 0.0,
            "flip_tta": false, "source": "test", "calibrated_slice_mm": calibrated,
            "lesion_classifier": classifier(0.3, &names), "thick_slice_classifier": thick,
        });
        std::fs::write(RunPaths::new(&run).postprocess(), record.to_string()).unwrap();
        let report = tmp.path().join(format!("report_{i}"));
        let out = Command::new(env!("CARGO_BIN_EXE_mtsa"))
            .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"))
            .args(["--threads", "1", "evaluate", "--quiet", "--split", "val"])
            .args(["--run", s(&run), "--data", s(&data), "--out", s(&report)])
            .output()
            .unwrap();
        assert_succeeded(&out);
        let metrics: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(report.join("metrics.json")).unwrap())
                .unwrap();
        let split = &metrics["whole_scan"][0];
        assert_eq!(split["name"], "val", "{split}");
        assert_eq!(split["classifier_cut"].as_f64(), Some(want), "{split}");
    }
}

/// In a log (stderr not a terminal) training is not silent: one line per epoch.
#[test]
fn training_logs_a_line_per_epoch_without_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, config) = setup(tmp.path());
    let out = train_cmd(&data, &tmp.path().join("run"), &config, &["--epochs", "2"])
        .env("MTSA_LOG", "info")
        .output()
        .unwrap();
    assert_succeeded(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for epoch in ["epoch 1/2: train loss", "epoch 2/2: train loss"] {
        assert!(stderr.contains(epoch), "no `{epoch}` line in:\n{stderr}");
    }
    assert!(
        stderr.contains("val Dice") && stderr.contains("task weights"),
        "{stderr}"
    );
    // --quiet: nothing but warnings and errors.
    let out = train(
        &data,
        &tmp.path().join("quiet"),
        &config,
        &["--epochs", "1", "--quiet"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("epoch 1/1"),
        "--quiet still logs:\n{stderr}"
    );
}

/// `mtsa info --run`: the run's record as training wrote it, tied to the prepared dataset by
/// its hash and to the weights by their checksum; a folder that is no run is named.
#[test]
fn info_describes_a_trained_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, config) = setup(tmp.path());
    let run = tmp.path().join("run");
    train(&data, &run, &config, &["--epochs", "2"]);
    let info = |run: &Path| {
        Command::new(env!("CARGO_BIN_EXE_mtsa"))
            .args(["info", "--run", s(run), "--json"])
            .output()
            .unwrap()
    };
    let out = info(&run);
    assert_succeeded(&out);
    let card: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dataset: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("dataset.json")).unwrap()).unwrap();
    assert_eq!(card["data_hash"], dataset["data_hash"]);
    assert_eq!(card["epochs_done"], 2);
    assert_eq!(card["best"]["epoch"], card["best_epoch"]);
    assert_eq!(card["model"], "mtsa-net");
    let sha = card["weights_sha256"].as_str().unwrap();
    assert!(
        sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()),
        "{sha}"
    );
    let out = info(tmp.path());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a finished `mtsa train` run"),
        "{stderr}"
    );
}

#[test]
fn a_training_budget_that_is_not_a_positive_time_is_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, config) = setup(tmp.path());
    for bad in ["0", "-3", "NaN"] {
        let run = tmp.path().join("run");
        let arg = format!("--train-minutes={bad}");
        let out = train_cmd(&data, &run, &config, &[arg.as_str()])
            .output()
            .unwrap();
        assert!(!out.status.success(), "--train-minutes {bad} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--train-minutes"), "{stderr}");
        assert!(
            !run.exists(),
            "--train-minutes {bad} left {}",
            run.display()
        );
    }
}

/// Thick-slice augmentation averages each slice with its neighbours: on a dataset prepared
/// without them it is refused before any work, with the prepare flag that stores them.
#[test]
fn thick_slices_without_stored_neighbours_are_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, config) = setup(tmp.path());
    let thick = tmp.path().join("thick.toml");
    let micro = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&thick, format!("{micro}\n[augment]\nthick_slices = 0.5\n")).unwrap();
    let run = tmp.path().join("run");
    let out = train_cmd(&data, &run, &thick, &["--epochs", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "thick slices were accepted");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--context-slices 1"), "{stderr}");
    assert!(!run.exists(), "the refused run left {}", run.display());
}

/// Calibration with `look_model` reads the training patients' scans for the look model before
/// it fits the classifiers, and logs what it learnt from (the fixture's bright spots are its
/// lesions: one class, no model); a thick-slice classifier, where the validation scans'
/// candidates allow one, carries the model.
#[test]
fn calibration_with_the_look_model_learns_from_the_training_scans() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, config) = setup(tmp.path());
    let toml = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("lesion_classifier = true\nlook_model = true\n{toml}"),
    )
    .unwrap();
    let run = tmp.path().join("run");
    let out = train_cmd(&data, &run, &config, &["--epochs", "1", "--calibrate"])
        .env("MTSA_LOG", "info")
        .output()
        .unwrap();
    assert_succeeded(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("calibrate 4/4")
            && stderr.contains(
                "look model for the thick-slice classifier: none (the training \
                 scans' "
            ),
        "{stderr}"
    );
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(RunPaths::new(&run).postprocess()).unwrap())
            .unwrap();
    if let Some(thick) = record.get("thick_slice_classifier") {
        assert!(thick.get("look").is_some(), "{thick}");
    }
}

/// Whole scans scored side by side (`--threads 2`: two workers of one libtorch thread each, each
/// with its own copy of the network) choose the same post-processing and give the same
/// whole-scan report, to the byte, as one scan at a time on one thread.
#[test]
fn whole_scans_scored_side_by_side_score_as_one_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, config) = setup(tmp.path());
    let toml = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("lesion_classifier = true\n{toml}")).unwrap();
    let mtsa = |threads: &str, args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mtsa"))
            .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"))
            .args(["--threads", threads])
            .args(args)
            .output()
            .unwrap();
        assert_succeeded(&out);
    };
    // The same training twice (one thread: bit for bit), the second run calibrated again on two
    // threads, then each evaluated on the threads it was calibrated on.
    let runs = ["one", "two"].map(|name| tmp.path().join(name));
    for run in &runs {
        train(&data, run, &config, &["--epochs", "1", "--calibrate"]);
    }
    mtsa(
        "2",
        &[
            "train",
            "--data",
            s(&data),
            "--out",
            s(&runs[1]),
            "--resume",
        ],
    );
    let read = |p: &Path| std::fs::read(p).unwrap();
    let postprocess = runs
        .each_ref()
        .map(|r| read(&RunPaths::new(r).postprocess()));
    assert_eq!(postprocess[0], postprocess[1]);
    let reports = ["one", "two"].map(|name| tmp.path().join(format!("report-{name}")));
    for ((run, report), threads) in runs.iter().zip(&reports).zip(["1", "2"]) {
        mtsa(
            threads,
            &[
                "evaluate",
                "--quiet",
                "--split",
                "val",
                "--run",
                s(run),
                "--data",
                s(&data),
                "--out",
                s(report),
            ],
        );
    }
    for file in ["lesions.csv", "wholescan_patients.csv"] {
        let [a, b] = reports.each_ref().map(|r| read(&r.join(file)));
        assert!(!a.is_empty() && a == b, "{file} differs");
    }
}
