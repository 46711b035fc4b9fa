//! `mtsa predict` over an archive as a cluster runs it: 20 studies split into 2 parts run by two
//! processes at once into one folder cover every study exactly once, and a rerun skips them all.

#[path = "../../train/tests/common/mod.rs"]
mod common;

use mtsa_io::write_nifti;
use mtsa_train::TrainOptions;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use tch::Device;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `study -> status` of one summary CSV.
fn summary(path: &Path) -> BTreeMap<String, String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().clone();
    let (study, status) = (
        h.iter().position(|c| c == "study").unwrap(),
        h.iter().position(|c| c == "status").unwrap(),
    );
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            (rec[study].to_string(), rec[status].to_string())
        })
        .collect()
}

#[test]
fn two_parts_in_parallel_cover_every_study_once_and_a_rerun_skips_all() {
    let tmp = tempfile::tempdir().unwrap();
    let data = common::prepared_dataset(tmp.path());
    let run = tmp.path().join("run");
    common::train_serial(&TrainOptions {
        data,
        run: run.clone(),
        config: common::train_config(1),
        resume: false,
        device: Device::Cpu,
        progress: false,
        time_limit: None,
        epoch_budget: None,
        deadline: None,
        layout: mtsa_model::LayoutChoice::Auto,
    })
    .unwrap();
    let archive = tmp.path().join("archive");
    for i in 0..20 {
        write_nifti(
            &archive.join(format!("study{i:02}.nii.gz")),
            &common::patient(i).0,
        )
        .unwrap();
    }
    let out = tmp.path().join("predictions");
    // `mtsa --threads 1 predict` of the whole archive into `out`.
    let predict = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mtsa"));
        c.args(["--threads", "1", "predict", "--run", s(&run)])
            .args(["--input", s(&archive), "--out", s(&out)]);
        c
    };
    let part = |i: usize| {
        predict()
            .args(["--part", &i.to_string(), "--parts", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // A part outside 0..parts is refused before the batch folder is claimed.
    let bad = predict()
        .args(["--part", "2", "--parts", "2"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--part 2 --parts 2"));
    assert!(!out.exists(), "a refused batch left {}", out.display());
    let (a, b) = (part(0), part(1));
    for child in [a, b] {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let parts: Vec<BTreeMap<String, String>> = (0..2)
        .map(|i| summary(&out.join(format!("summary-part-{i}-of-2.csv"))))
        .collect();
    assert_eq!(parts[0].len() + parts[1].len(), 20);
    let all: Vec<&String> = parts.iter().flat_map(|p| p.keys()).collect();
    let unique: std::collections::BTreeSet<&String> = all.iter().copied().collect();
    assert_eq!(unique.len(), 20, "a study ran twice or not at all");
    assert!(parts.iter().flat_map(|p| p.values()).all(|v| v == "done"));
    for i in 0..20 {
        assert!(out
            .join(format!("study{i:02}"))
            .join("gtv.nii.gz")
            .is_file());
    }
    // The whole batch again, unsplit: nothing left to do.
    let again = predict().output().unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let rerun = summary(&out.join("summary.csv"));
    assert_eq!(rerun.len(), 20);
    assert!(rerun.values().all(|v| v == "done earlier"), "{rerun:?}");
}
