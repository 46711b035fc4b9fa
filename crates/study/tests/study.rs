//! `mtsa study` end to end on a small hand-built cohort: every system of Tables 3-5 trains for
//! two epochs and is evaluated; the tables hold what each system has; a finished study resumes
//! without work, an interrupted one redoes only what is missing, a changed plan is refused.

#[path = "../../train/tests/common/cohort.rs"]
mod common;

use mtsa_study::{study, Metric, RunDirs, StudyOptions, Table, REFERENCE, SYSTEMS};
use std::path::Path;
use tch::Device;

/// 20 patients; the 6 diagnosed from July 2020 on form the internal test split, 2 validate.
fn dataset(root: &Path) -> std::path::PathBuf {
    tch::set_num_threads(1);
    let cohort = common::write_cohort(root, 20);
    let data = root.join("data");
    let cfg = mtsa_data::PrepareConfig {
        cutoff: mtsa_data::parse_date("2020-07-01").unwrap().unwrap(),
        ..common::prepare_config()
    };
    mtsa_data::prepare(&cohort, &data, &cfg, &|_, _| {}).unwrap();
    data
}

fn options(data: &Path, out: &Path, epochs: usize) -> StudyOptions {
    StudyOptions {
        data: data.to_path_buf(),
        out: out.to_path_buf(),
        preset: "tiny".into(),
        seeds: vec![0],
        systems: SYSTEMS.iter().collect(),
        epochs,
        minutes: None,
        // The fixture's 64 px slices; every system keeps its tiny-preset width.
        config: Some("batch = 4\n[model]\nsize = 64\n".into()),
        device: Device::Cpu,
        batch: 8,
        resamples: 200,
        progress: false,
    }
}

#[test]
fn every_system_trains_evaluates_and_lands_in_its_tables() {
    let t = tempfile::tempdir().unwrap();
    let data = dataset(t.path());
    let out = t.path().join("study");
    let s = study(&options(&data, &out, 2)).unwrap();
    assert_eq!((s.runs, s.skipped), (SYSTEMS.len(), 0));
    for system in SYSTEMS.iter() {
        assert!(RunDirs::new(&out, system.id, 0).finished(), "{}", system.id);
    }
    for file in [
        "tables.csv",
        "tables.md",
        "tables.json",
        "study.html",
        "study.json",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let row = |table: Table, id: &str| {
        s.rows
            .iter()
            .find(|r| r.table == table.number() && r.split == "test" && r.system == id)
            .unwrap_or_else(|| panic!("no row {id} in table {}", table.number()))
    };
    for id in Table::Comparison.rows() {
        let r = row(Table::Comparison, id);
        let seg = r.metrics.contains_key(&Metric::Dice);
        let cls = r.metrics.contains_key(&Metric::Accuracy);
        let expect = match *id {
            "mtsa-net" => (true, true),
            "mtsa-net-seg-only" | "unet" | "unet3plus" | "raunet" | "transunet" | "swin-unet"
            | "deseg" => (true, false),
            _ => (false, true),
        };
        assert_eq!((seg, cls), expect, "{id}: tasks in the table");
        assert_eq!(r.versus_mtsa.is_none(), *id == REFERENCE, "{id}");
        if let Some(c) = &r.versus_mtsa {
            assert_eq!(c.patients, 6, "{id}: paired on the 6 test patients");
            assert_eq!(c.dice.is_some(), seg, "{id}");
            assert_eq!(c.accuracy.is_some(), cls, "{id}");
        }
    }
    // The paper's numbers sit beside ours on the internal test set.
    assert_eq!(row(Table::Comparison, "unet").paper[&Metric::Dice], 0.8888);
    assert_eq!(
        row(Table::FocalAlpha, "mtsa-net-alpha0.9").paper[&Metric::Recall],
        0.8947
    );
    assert!(row(Table::TaskWeights, "mtsa-net-equal")
        .versus_mtsa
        .is_some());
    let md = std::fs::read_to_string(out.join("tables.md")).unwrap();
    assert!(
        md.contains("### Table 3") && md.contains("Swin-UNet"),
        "{md}"
    );

    // Finished: a second call trains nothing.
    let again = study(&options(&data, &out, 2)).unwrap();
    assert_eq!(again.skipped, SYSTEMS.len());

    // Interrupted after training, before its evaluation was written: only that is redone.
    let dirs = RunDirs::new(&out, "unet", 0);
    std::fs::remove_dir_all(&dirs.eval).unwrap();
    let history = std::fs::read(dirs.run.join("metrics.csv")).unwrap();
    let resumed = study(&options(&data, &out, 2)).unwrap();
    assert_eq!(resumed.skipped, SYSTEMS.len() - 1);
    assert!(dirs.finished());
    assert_eq!(
        std::fs::read(dirs.run.join("metrics.csv")).unwrap(),
        history,
        "a finished training must not train on"
    );

    // Another plan in the same folder is refused, naming study.json.
    let err = study(&options(&data, &out, 3)).unwrap_err().to_string();
    assert!(err.contains("study.json"), "{err}");
}

#[test]
fn a_time_limited_run_is_not_trained_further_on_resume() {
    let t = tempfile::tempdir().unwrap();
    let data = dataset(t.path());
    let out = t.path().join("study");
    let mut opts = options(&data, &out, 3);
    opts.systems = vec![mtsa_study::system("unet").unwrap()];
    // Stops after the first epoch, long before the third.
    opts.minutes = Some(1e-6);
    study(&opts).unwrap();
    let dirs = RunDirs::new(&out, "unet", 0);
    let history = std::fs::read_to_string(dirs.run.join("metrics.csv")).unwrap();
    assert_eq!(
        history.lines().count(),
        2,
        "header and one epoch: {history}"
    );
    // Killed after training, before the evaluation was written.
    std::fs::remove_dir_all(&dirs.eval).unwrap();
    study(&opts).unwrap();
    assert!(dirs.finished());
    assert_eq!(
        std::fs::read_to_string(dirs.run.join("metrics.csv")).unwrap(),
        history,
        "the resumed study trained the finished run further"
    );
}

#[test]
fn bad_settings_are_refused_before_the_study_folder_is_written() {
    let t = tempfile::tempdir().unwrap();
    let data = dataset(t.path());
    let out = t.path().join("study");
    for (spoil, named) in [
        (
            Box::new(|o: &mut StudyOptions| o.minutes = Some(-1.0)) as Box<dyn Fn(&mut _)>,
            "minutes",
        ),
        (
            Box::new(|o: &mut StudyOptions| {
                o.config = Some("lr = -1.0\n[model]\nsize = 64\n".into())
            }),
            "lr -1",
        ),
    ] {
        let mut opts = options(&data, &out, 1);
        spoil(&mut opts);
        let err = study(&opts).unwrap_err().to_string();
        assert!(err.contains(named), "{err}");
        assert!(!out.exists(), "a refused study wrote {}", out.display());
    }
}

/// On a dataset without EGFR labels `mtsa radiomics` extracts features alone, so a study that
/// asks for the radiomics system is refused, naming it, before its folder is written.
#[test]
fn the_radiomics_system_is_refused_without_egfr_labels() {
    let t = tempfile::tempdir().unwrap();
    let cohort = common::write_cohort(t.path(), 6);
    std::fs::remove_file(cohort.join("clinical.csv")).unwrap();
    let data = t.path().join("data");
    mtsa_data::prepare(&cohort, &data, &common::prepare_config(), &|_, _| {}).unwrap();
    let out = t.path().join("study");
    let err = study(&options(&data, &out, 1)).unwrap_err().to_string();
    assert!(
        err.contains("no EGFR labels") && err.contains("radiomics"),
        "{err}"
    );
    assert!(!out.exists(), "a refused study wrote {}", out.display());
}
