//! Fixtures the eval tests share: the data half of the common fixtures and a run that needs no
//! training.

#[path = "../../../train/tests/common/cohort.rs"]
pub mod common;

use mtsa_infer::RunPaths;
use mtsa_model::{save_weights, MtsaNet, NET_PREFIX};
use std::path::{Path, PathBuf};
use tch::Device;

/// A run folder of the micro model with random-init weights (BatchNorm statistics at their
/// defaults) and the fixture dataset's preprocessing, under `root/run`: for tests of what is
/// done with a run's outputs (head biases, runtimes), not of what its weights learnt.
pub fn fixture_run(root: &Path) -> PathBuf {
    let data = common::prepared_dataset(root);
    let run = RunPaths::new(&root.join("run"));
    let cfg = common::micro_model();
    let vs = tch::nn::VarStore::new(Device::Cpu);
    MtsaNet::new(&(vs.root() / NET_PREFIX), &cfg).unwrap();
    save_weights(&vs, &cfg, &run.best()).unwrap();
    let preprocess = mtsa_data::read_info(&data).unwrap().preprocess;
    std::fs::write(
        run.preprocess(),
        serde_json::to_string(&preprocess).unwrap(),
    )
    .unwrap();
    run.dir
}
