mod common;
#[test]
fn timing() {
    let tmp = tempfile::tempdir().unwrap();
    let t = std::time::Instant::now();
    let data = common::prepared_dataset(tmp.path());
    eprintln!("prepare {:?}", t.elapsed());
    let info = mtsa_data::read_info(&data).unwrap();
    eprintln!("{:?}", info.counts);
    let t = std::time::Instant::now();
    let s = mtsa_train::train(&mtsa_train::TrainOptions {
        data,
        run: tmp.path().join("r"),
        config: common::train_config(2),
        resume: false,
        device: tch::Device::Cpu,
        progress: false,
    })
    .unwrap();
    eprintln!("train {:?} {:?}", t.elapsed(), s);
    eprintln!(
        "{}",
        std::fs::read_to_string(tmp.path().join("r/metrics.csv")).unwrap()
    );
    eprintln!("threads {}", tch::get_num_threads());
}
