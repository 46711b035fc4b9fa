//! A run interrupted after its first epoch and resumed must end bitwise where the same run would
//! have ended uninterrupted (spec: exact resume on CPU), in the memory layout it started in, and a diverging run must stop with an
//! error that says where.

mod common;

use common::train_serial as train;
use mtsa_model::{is_batch_norm_statistic, read_tensors, Layout, LayoutChoice};
use mtsa_train::{RunPaths, TrainError, TrainOptions};
use std::path::Path;
use tch::Device;

fn opts(data: &Path, run: &Path, epochs: usize, resume: bool) -> TrainOptions {
    opts_in(data, run, epochs, resume, Layout::Nchw)
}

/// A fixed layout: two fresh runs measuring at once could choose differently.
fn opts_in(data: &Path, run: &Path, epochs: usize, resume: bool, layout: Layout) -> TrainOptions {
    TrainOptions {
        data: data.to_path_buf(),
        run: run.to_path_buf(),
        config: common::train_config(epochs),
        resume,
        device: Device::Cpu,
        progress: false,
        time_limit: None,
        epoch_budget: None,
        deadline: None,
        layout: LayoutChoice::Fixed(layout),
    }
}

/// Every tensor of both files, by name, bitwise.
fn assert_same_tensors(a: &Path, b: &Path) {
    let (ta, _) = read_tensors(a).unwrap();
    let (tb, _) = read_tensors(b).unwrap();
    let mut names: Vec<&String> = ta.keys().collect();
    names.sort();
    let mut nb: Vec<&String> = tb.keys().collect();
    nb.sort();
    assert_eq!(
        names,
        nb,
        "{} and {} hold different tensors",
        a.display(),
        b.display()
    );
    for name in names {
        let (x, y) = (&ta[name], &tb[name]);
        assert_eq!(x.size(), y.size(), "{name}: shapes differ");
        let xv = Vec::<f32>::try_from(&x.flatten(0, -1)).unwrap();
        let yv = Vec::<f32>::try_from(&y.flatten(0, -1)).unwrap();
        let differing = xv
            .iter()
            .zip(&yv)
            .filter(|(p, q)| p.to_bits() != q.to_bits())
            .count();
        assert_eq!(
            differing,
            0,
            "{name}: {differing} of {} values differ between {} and {}",
            xv.len(),
            a.display(),
            b.display()
        );
    }
}

/// metrics.csv as rows of cells, without the wall-clock `seconds` column.
fn metrics_rows(run: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(RunPaths::new(run).metrics()).unwrap();
    let headers = r.headers().unwrap().clone();
    let secs = headers.iter().position(|h| h == "seconds").unwrap();
    r.records()
        .map(|rec| {
            rec.unwrap()
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != secs)
                .map(|(_, c)| c.to_string())
                .collect()
        })
        .collect()
}

#[test]
fn resumed_run_equals_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let data = common::prepared_dataset(tmp.path());
    let (run_a, run_b) = (tmp.path().join("a"), tmp.path().join("b"));

    let a = train(&opts(&data, &run_a, 2, false)).unwrap();
    assert_eq!(a.epochs_run, 2);

    let b1 = train(&opts(&data, &run_b, 1, false)).unwrap();
    assert_eq!(b1.epochs_run, 1);
    // Starting over on a folder that holds a run is refused rather than overwriting it.
    let again = train(&opts(&data, &run_b, 2, false));
    assert!(matches!(again, Err(TrainError::File { .. })), "{again:?}");
    // The run trained NCHW; asking for NHWC on resume must not change the layout it continues
    // in, or the sums below would differ in their last bits.
    let b = train(&opts_in(&data, &run_b, 2, true, Layout::Nhwc)).unwrap();
    assert_eq!(b.epochs_run, 2);
    assert_eq!(a.best_epoch, b.best_epoch);
    assert_eq!(a.best_criterion.to_bits(), b.best_criterion.to_bits());

    let (pa, pb) = (RunPaths::new(&run_a), RunPaths::new(&run_b));
    assert_same_tensors(&pa.checkpoint(), &pb.checkpoint());
    assert_same_tensors(&pa.best(), &pb.best());
    let rows = metrics_rows(&run_a);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows, metrics_rows(&run_b));

    // The checkpoint carries the Adam moments next to the weights; without them no resume could
    // be exact.
    let (t, meta) = read_tensors(&pa.checkpoint()).unwrap();
    assert!(t.keys().any(|k| k.starts_with("adam.m.")));
    let train_slices = mtsa_data::read_info(&data).unwrap().counts["train"].slices;
    let steps = 2 * train_slices.div_ceil(common::train_config(2).batch);
    assert_eq!(meta.get("adam_step"), Some(&steps.to_string()));
}

#[test]
fn resume_on_other_data_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = common::prepared_dataset(tmp.path());
    let run = tmp.path().join("run");
    train(&opts(&data, &run, 1, false)).unwrap();

    // Same patients prepared at another field of view: another dataset hash.
    let other = tmp.path().join("other");
    let cfg = mtsa_data::PrepareConfig {
        fov_mm: common::FOV_MM + 20.0,
        ..common::prepare_config()
    };
    mtsa_data::prepare(&tmp.path().join("cohort"), &other, &cfg, &|_, _| {}).unwrap();
    let err = train(&opts(&other, &run, 2, true)).unwrap_err();
    assert!(err.to_string().contains("different dataset"), "{err}");

    // Same data, another learning rate: not the run it claims to continue.
    let mut o = opts(&data, &run, 2, true);
    o.config.lr *= 2.0;
    let err = train(&o).unwrap_err();
    assert!(err.to_string().contains("only the epochs"), "{err}");
}

#[test]
fn absurd_learning_rate_stops_with_non_finite_error() {
    let tmp = tempfile::tempdir().unwrap();
    let data = common::prepared_dataset(tmp.path());
    let mut o = opts(&data, &tmp.path().join("run"), 3, false);
    o.config.lr = 1e30;
    match train(&o) {
        Err(
            e @ TrainError::NonFinite {
                epoch,
                batch,
                value,
            },
        ) => {
            assert!(!value.is_finite());
            assert!(epoch >= 1 && batch >= 1);
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("epoch {epoch}, batch {batch}")),
                "message does not say where: {msg}"
            );
        }
        other => panic!("expected a non-finite loss error, got {other:?}"),
    }
}

#[test]
fn an_epoch_budget_fits_the_epochs_and_records_them_in_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let data = common::prepared_dataset(tmp.path());
    let run = tmp.path().join("run");
    let mut o = opts(&data, &run, 3, false);
    // Shorter than any first epoch: one epoch fits, and the run ends there as planned.
    o.epoch_budget = Some(std::time::Duration::from_millis(1));
    let s = train(&o).unwrap();
    assert_eq!((s.epochs_run, s.stopped_early), (1, false));
    let text = std::fs::read_to_string(RunPaths::new(&run).config()).unwrap();
    let recorded = mtsa_train::TrainConfig::from_toml(&text).unwrap();
    assert_eq!(recorded.epochs, 1);
    // Resuming with the recorded config is the same run: nothing is left to train.
    let mut again = opts(&data, &run, 1, true);
    again.config = recorded;
    assert_eq!(train(&again).unwrap().epochs_run, 1);
}

#[test]
fn precise_batch_norm_changes_the_statistics_the_run_keeps_and_nothing_it_trains() {
    let tmp = tempfile::tempdir().unwrap();
    let data = common::prepared_dataset(tmp.path());
    let (plain, precise) = (tmp.path().join("plain"), tmp.path().join("precise"));
    train(&opts(&data, &plain, 1, false)).unwrap();
    let mut o = opts(&data, &precise, 1, false);
    o.config.precise_bn_batches = 2;
    train(&o).unwrap();
    let (a, _) = read_tensors(&RunPaths::new(&plain).best()).unwrap();
    let (b, _) = read_tensors(&RunPaths::new(&precise).best()).unwrap();
    let mut stats_differ = 0;
    for (name, x) in &a {
        match (is_batch_norm_statistic(name), x.equal(&b[name])) {
            (true, false) => stats_differ += 1,
            (false, false) => panic!("{name}: a trained weight differs"),
            _ => {}
        }
    }
    assert!(stats_differ > 0, "no BatchNorm statistic was re-estimated");
}
