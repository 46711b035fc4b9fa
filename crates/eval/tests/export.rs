//! `mtsa export`: the TorchScript module, loaded back by libtorch's TorchScript runtime (the one
//! `torch.jit.load` uses), gives mtsa's own probabilities on the example slices, also for a batch
//! size other than the traced one.

mod support;

use mtsa_eval::{export, ExportOptions};
use mtsa_io::write_nifti;
use support::{common, fixture_run};
use tch::{CModule, Kind, Tensor};

fn read_f32(path: &std::path::Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn torchscript_module_reproduces_mtsa_probabilities() {
    let tmp = tempfile::tempdir().unwrap();
    // What is compared is the runtime, not what the weights learnt.
    let run = fixture_run(tmp.path());
    let scan = tmp.path().join("scan.nii.gz");
    write_nifti(&scan, &common::patient(3).0).unwrap();
    let out = tmp.path().join("export");
    let info = export(&ExportOptions {
        run,
        out: out.clone(),
        example: Some(scan),
    })
    .unwrap();
    let n = info.example_slices as i64;
    assert!(n >= 3, "want a batch size other than the traced 2, got {n}");
    let [c, s, _] = info.input_shape;
    let x = Tensor::from_slice(&read_f32(&out.join("example_input.f32"))).view([n, c, s, s]);
    let module = CModule::load(out.join("model.pt")).unwrap();
    let y = module.forward_ts(&[x]).unwrap();
    assert_eq!(y.size(), [n, 2, s, s]);
    let want_gtv = Tensor::from_slice(&read_f32(&out.join("example_gtv.f32"))).view([n, 1, s, s]);
    let want_p = Tensor::from_slice(&read_f32(&out.join("example_p_mutant.f32")));
    let gtv_err = (y.narrow(1, 0, 1) - want_gtv).abs().max().double_value(&[]);
    let p_err = (y.select(1, 1).select(1, 0).select(1, 0) - want_p)
        .abs()
        .max()
        .double_value(&[]);
    assert!(
        gtv_err <= 1e-4 && p_err <= 1e-4,
        "GTV {gtv_err}, P(mutant) {p_err}"
    );
    assert_eq!(y.kind(), Kind::Float);
    for name in ["preprocess.json", "postprocess.json", "export.json"] {
        assert!(out.join(name).is_file(), "{name}");
    }
}
