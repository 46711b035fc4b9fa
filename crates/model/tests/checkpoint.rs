//! Save/load round trip and the preset-mismatch error.
use mtsa_model::{
    load_weights, read_config, save_weights, JointLoss, LossConfig, ModelError, MtsaConfig,
    MtsaNet, NET_PREFIX,
};
use tch::{nn, Device, Kind, Tensor};

fn build(preset: &str) -> (nn::VarStore, MtsaNet, MtsaConfig) {
    let cfg = MtsaConfig::preset(preset).unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let net = MtsaNet::new(&(vs.root() / NET_PREFIX), &cfg).unwrap();
    (vs, net, cfg)
}

#[test]
fn round_trip_reproduces_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    tch::manual_seed(1);
    let (vs, net, cfg) = build("tiny");
    let _loss = JointLoss::new(&vs.root(), LossConfig::default());
    let x = Tensor::rand([1, 1, 128, 128], (Kind::Float, Device::Cpu));
    // One train-mode pass moves the BatchNorm running stats away from their init.
    let _ = tch::no_grad(|| net.forward_t(&x, true));
    let (g, e) = tch::no_grad(|| net.forward_t(&x, false));
    save_weights(&vs, &cfg, &path).unwrap();
    assert_eq!(read_config(&path).unwrap(), cfg);

    // An inference store without loss weights loads the same file.
    tch::manual_seed(2);
    let (mut vs2, net2, _) = build("tiny");
    let (g0, _) = tch::no_grad(|| net2.forward_t(&x, false));
    assert!(!g0.equal(&g));
    load_weights(&mut vs2, &cfg, &path).unwrap();
    let (g2, e2) = tch::no_grad(|| net2.forward_t(&x, false));
    assert!(g2.equal(&g));
    assert!(e2.equal(&e));
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn loading_another_preset_names_both() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.safetensors");
    let (vs, _net, cfg) = build("tiny");
    save_weights(&vs, &cfg, &path).unwrap();
    let (mut vs2, _net2, cfg2) = build("small");
    let err = load_weights(&mut vs2, &cfg2, &path).unwrap_err();
    assert!(matches!(err, ModelError::PresetMismatch { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("\"tiny\"") && msg.contains("\"small\""),
        "{msg}"
    );
}

#[test]
fn missing_or_garbage_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (mut vs, _net, cfg) = build("tiny");
    let missing = dir.path().join("nope.safetensors");
    assert!(matches!(
        load_weights(&mut vs, &cfg, &missing),
        Err(ModelError::Io { .. })
    ));
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"\xff\xff\xff\xff\xff\xff\xff\xffhello").unwrap();
    assert!(matches!(
        read_config(&junk),
        Err(ModelError::Checkpoint { .. })
    ));
    // A plain tch save has no config in its metadata.
    let plain = dir.path().join("plain.safetensors");
    vs.save(&plain).unwrap();
    let err = read_config(&plain).unwrap_err().to_string();
    assert!(err.contains("mtsa_config"), "{err}");
}

#[test]
fn raw_tensor_files_keep_metadata() {
    use std::collections::HashMap;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.safetensors");
    let a = Tensor::from_slice(&[1f32, 2.0, 3.0, 4.0]).view([2, 2]);
    let b = Tensor::from_slice(&[0.5f32]).view([1]);
    let meta = HashMap::from([("k".to_string(), "v".to_string())]);
    mtsa_model::write_tensors(
        &path,
        &[
            ("a".to_string(), a.shallow_clone()),
            ("b".to_string(), b.shallow_clone()),
        ],
        meta.clone(),
    )
    .unwrap();
    let (tensors, mut got_meta) = mtsa_model::read_tensors(&path).unwrap();
    assert!(got_meta.remove(mtsa_model::CHECKSUM_KEY).is_some());
    assert_eq!(got_meta, meta);
    assert!(tensors["a"].equal(&a));
    assert!(tensors["b"].equal(&b));
}

/// A flipped byte, NaN weights or a file without a checksum never reach a prediction.
#[test]
fn corrupt_weights_are_refused() {
    use std::collections::HashMap;
    let dir = tempfile::tempdir().unwrap();
    let (mut vs, _net, cfg) = build("tiny");
    let path = dir.path().join("w.safetensors");
    save_weights(&vs, &cfg, &path).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x10;
    let flipped = dir.path().join("flipped.safetensors");
    std::fs::write(&flipped, &bytes).unwrap();
    let err = load_weights(&mut vs, &cfg, &flipped)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("flipped.safetensors") && err.contains("checksum"),
        "{err}"
    );

    // NaN weights with a valid checksum (written through the same writer) are refused too.
    let nan = dir.path().join("nan.safetensors");
    let t = Tensor::from_slice(&[1f32, f32::NAN]);
    mtsa_model::write_tensors(&nan, &[("w".to_string(), t)], HashMap::new()).unwrap();
    let err = mtsa_model::read_tensors(&nan).unwrap_err().to_string();
    assert!(err.contains("NaN"), "{err}");

    // tch's own writer adds no checksum.
    let plain = dir.path().join("plain.safetensors");
    vs.save(&plain).unwrap();
    let err = mtsa_model::read_tensors(&plain).unwrap_err().to_string();
    assert!(err.contains("no tensor checksum"), "{err}");
}
