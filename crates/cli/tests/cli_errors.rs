//! The binary on bad and good small inputs: one `error:` line naming the culprit and a non-zero
//! exit, nothing half-written, and the JSON outputs other tools parse.

#[path = "../../train/tests/common/mod.rs"]
mod common;

use mtsa_io::{read_nifti_labels, write_nifti};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mtsa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mtsa"))
        .args(args)
        .env("MTSA_LOG", "info")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The one `error:` line of a failed run.
fn error_line(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected failure, got {:?}",
        out.status
    );
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "want exactly one error line:\n{stderr}");
    lines[0].to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn prepare_with_truncated_volume_fails_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let cohort = common::write_cohort(tmp.path(), 3);
    let bad = cohort.join("images").join("p001.nii.gz");
    let bytes = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    let out_dir = tmp.path().join("data");
    let out = mtsa(&[
        "prepare",
        "--cohort",
        s(&cohort),
        "--out",
        s(&out_dir),
        "--size",
        "64",
        "--fov-mm",
        "140",
        "--val-patients",
        "1",
    ]);
    let line = error_line(&out);
    assert!(
        line.contains("p001.nii.gz"),
        "error does not name the file: {line}"
    );
    assert!(
        !out_dir.exists(),
        "a failed prepare left {}",
        out_dir.display()
    );
    let left: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["cohort"], "temporary output left behind");
}

#[test]
fn info_reports_the_paper_parameter_count() {
    let out = mtsa(&["info", "--preset", "paper", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["params"], 9_379_683);
    assert_eq!(json["size"], 384);
    assert_eq!(json["preset"], "paper");
}

#[test]
fn info_counts_a_comparison_system_as_torchvision_does() {
    // torchvision resnet50(num_classes=2) with a 1-channel conv1 (tests/reference/
    // classifier_param_counts.py); the paper preset builds the canonical width 64.
    let out = mtsa(&["info", "--preset", "paper", "--model", "resnet50", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["params"], 23_505_858);
    assert_eq!(json["tasks"], "classification");
    let out = mtsa(&["info", "--model", "vgg16"]);
    assert!(error_line(&out).contains("vgg16"));
}

#[test]
fn info_rejects_an_unknown_preset() {
    let out = mtsa(&["info", "--preset", "bogus"]);
    let line = error_line(&out);
    assert!(line.contains("bogus"), "{line}");
    assert!(out.stdout.is_empty());
}

fn brats_label_file() -> Option<PathBuf> {
    let f = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/brats2013-glioma/brats_2013_pat0001_1/OTMultiClass.nii.gz");
    if f.is_file() {
        Some(f)
    } else {
        eprintln!(
            "note: {} not found; BRATS metrics test skipped",
            f.display()
        );
        None
    }
}

#[test]
fn metrics_json_on_brats_enhancing_part_versus_tumour_core() {
    let Some(gt) = brats_label_file() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let labels = read_nifti_labels(&gt).unwrap();
    // The enhancing part (label 4) as a 0/1 mask on the same grid: a prediction that lies inside
    // the tumour core (1, 3, 4), so precision is 1 and recall and Dice follow from the counts.
    let enhancing = labels.map(|v| u8::from(*v == 4));
    let pred = tmp.path().join("enhancing.nii.gz");
    write_nifti(&pred, &enhancing).unwrap();
    let out = mtsa(&[
        "metrics",
        "--pred",
        s(&pred),
        "--gt",
        s(&gt),
        "--labels",
        "1,3,4",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "dice",
        "hd95_mm",
        "hd_mm",
        "assd_mm",
        "precision",
        "recall",
        "lesions",
    ] {
        assert!(json.get(key).is_some(), "no {key} in {json}");
    }
    let e = labels.data.iter().filter(|v| **v == 4).count() as f64;
    let core = labels
        .data
        .iter()
        .filter(|v| [1, 3, 4].contains(*v))
        .count() as f64;
    assert!(e > 0.0 && core > e);
    let close = |k: &str, want: f64| {
        let got = json[k].as_f64().unwrap();
        assert!((got - want).abs() < 1e-9, "{k}: {got}, want {want}");
    };
    close("precision", 1.0);
    close("recall", e / core);
    close("dice", 2.0 * e / (e + core));
    assert!(json["hd95_mm"].as_f64().unwrap() > 0.0);
    assert!(json["hd_mm"].as_f64().unwrap() >= json["hd95_mm"].as_f64().unwrap());
    assert!(json["lesions"].is_object());
}

#[test]
fn metrics_refuses_masks_on_different_grids() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, a) = common::patient(0);
    let mut b = a.clone();
    b.affine[0][3] += 5.0;
    let (pa, pb) = (tmp.path().join("a.nii.gz"), tmp.path().join("b.nii.gz"));
    write_nifti(&pa, &a).unwrap();
    write_nifti(&pb, &b).unwrap();
    let line = error_line(&mtsa(&["metrics", "--pred", s(&pa), "--gt", s(&pb)]));
    assert!(line.contains("a.nii.gz"), "{line}");
    // Label 0 is the background: scoring it as foreground would be silently meaningless.
    let args = [
        "metrics",
        "--pred",
        s(&pa),
        "--gt",
        s(&pa),
        "--labels",
        "1,0",
    ];
    let line = error_line(&mtsa(&args));
    assert!(line.contains("background"), "{line}");
}

#[test]
fn metrics_takes_two_files_or_two_folders_and_folders_need_an_out() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, a) = common::patient(0);
    let file = tmp.path().join("a.nii.gz");
    write_nifti(&file, &a).unwrap();
    let dir = tmp.path();
    let line = error_line(&mtsa(&["metrics", "--pred", s(dir), "--gt", s(&file)]));
    assert!(
        line.contains("is a folder and") && line.contains("a.nii.gz"),
        "{line}"
    );
    let line = error_line(&mtsa(&["metrics", "--pred", s(dir), "--gt", s(dir)]));
    assert!(line.contains("--out names where"), "{line}");
    let out = tmp.path().join("out");
    let args = [
        "metrics",
        "--pred",
        s(&file),
        "--gt",
        s(&file),
        "--out",
        s(&out),
    ];
    let line = error_line(&mtsa(&args));
    assert!(line.contains("--out is for two folders"), "{line}");
    assert!(!out.exists());
}

/// A DICOM file whose RLE fragments make the third-party decoder panic (found by fuzzing): the
/// user sees the one error line naming the file, not the panic message or a backtrace hint.
#[test]
fn a_panicking_pixel_codec_prints_only_the_error_line() {
    let crasher = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/artifacts/dicom_series/dicom_series-crash-50bee7a7165105b8134cbaa0e0e6c578821a4f23");
    let tmp = tempfile::tempdir().unwrap();
    let series = tmp.path().join("series");
    std::fs::create_dir(&series).unwrap();
    std::fs::copy(&crasher, series.join("IM00001.dcm")).unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let pred = tmp.path().join("pred");
    let out = mtsa(&[
        "predict",
        "--run",
        s(&run),
        "--input",
        s(&series),
        "--out",
        s(&pred),
    ]);
    let line = error_line(&out);
    assert!(line.contains("IM00001.dcm"), "{line}");
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "panic text shown:\n{stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
    assert!(!pred.exists());
}

#[test]
fn a_time_budget_that_is_not_a_positive_number_of_minutes_is_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    for (cmd, flag) in [("study", "--minutes"), ("train", "--train-minutes")] {
        for m in ["-1", "0", "nan"] {
            let out = mtsa(&[
                cmd,
                "--data",
                s(&tmp.path().join("data")),
                "--out",
                s(&out_dir),
                &format!("{flag}={m}"),
            ]);
            let line = error_line(&out);
            assert!(
                line.contains(flag) && line.contains("positive number of minutes"),
                "{cmd} {flag}={m}: {line}"
            );
            assert!(
                !out_dir.exists(),
                "{cmd} {flag}={m} wrote its output folder"
            );
        }
    }
}

/// Brain masks that cannot apply are refused with one line naming them, before the model is
/// loaded, and leave no output: a mask off the scan's grid; one study's mask for a batch, a
/// batch's folder for one study; a batch's mask that names none of its studies.
#[test]
fn predict_refuses_brain_masks_it_cannot_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let affine = mtsa_io::diagonal_affine([1.0, 1.0, 2.0], [0.0, 0.0, 0.0]);
    let scan = mtsa_io::Volume::new(ndarray::Array3::<f32>::from_elem((8, 8, 4), 1.0), affine);
    let input = tmp.path().join("scan.nii.gz");
    write_nifti(&input, &scan).unwrap();
    let mask = tmp.path().join("brain.nii.gz");
    let other = mtsa_io::Volume::new(ndarray::Array3::<u8>::ones((8, 8, 5)), affine);
    write_nifti(&mask, &other).unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let (batch, masks) = (tmp.path().join("studies"), tmp.path().join("masks"));
    std::fs::create_dir(&batch).unwrap();
    std::fs::create_dir(&masks).unwrap();
    std::fs::copy(&input, batch.join("a.nii.gz")).unwrap();
    std::fs::copy(&mask, masks.join("b.nii.gz")).unwrap();
    let pred = tmp.path().join("pred");
    let refused = |input: &Path, flag: &str, mask: &Path| {
        let out = mtsa(&[
            "predict",
            "--run",
            s(&run),
            "--input",
            s(input),
            flag,
            s(mask),
            "--out",
            s(&pred),
        ]);
        assert!(!out.status.success());
        assert!(!pred.exists(), "{flag} left {}", pred.display());
        error_line(&out)
    };
    let line = refused(&input, "--brain-mask", &mask);
    assert!(
        line.contains("brain.nii.gz") && line.contains("shape"),
        "{line}"
    );
    let line = refused(&batch, "--brain-mask", &mask);
    assert!(
        line.contains("--brain-masks DIR") && line.contains("batch"),
        "{line}"
    );
    let line = refused(&input, "--brain-masks", &masks);
    assert!(line.contains("--brain-mask FILE"), "{line}");
    let line = refused(&batch, "--brain-masks", &masks);
    assert!(
        line.contains("b.nii.gz") && line.contains("names no scan"),
        "{line}"
    );
}
