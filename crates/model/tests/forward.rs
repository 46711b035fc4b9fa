//! Shapes, input checks, initialisation and eval-mode determinism on the tiny preset.
use mtsa_model::{ModelError, MtsaConfig, MtsaNet, NET_PREFIX};
use tch::{nn, Device, Kind, Tensor};

fn tiny() -> (nn::VarStore, MtsaNet, MtsaConfig) {
    tch::manual_seed(0);
    let cfg = MtsaConfig::preset("tiny").unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let net = MtsaNet::new(&(vs.root() / NET_PREFIX), &cfg).unwrap();
    (vs, net, cfg)
}

#[test]
fn output_shapes() {
    let (_vs, net, _) = tiny();
    let x = Tensor::rand([2, 1, 128, 128], (Kind::Float, Device::Cpu));
    let (gtv, egfr) = net.try_forward_t(&x, true).unwrap();
    assert_eq!(gtv.size(), [2, 1, 128, 128]);
    assert_eq!(egfr.size(), [2, 2]);
}

#[test]
fn eval_forward_is_deterministic() {
    let (_vs, net, _) = tiny();
    let x = Tensor::rand([2, 1, 128, 128], (Kind::Float, Device::Cpu));
    let (g1, e1) = tch::no_grad(|| net.forward_t(&x, false));
    let (g2, e2) = tch::no_grad(|| net.forward_t(&x, false));
    assert!(g1.equal(&g2));
    assert!(e1.equal(&e2));
    // Train mode has dropout, so the classifier output differs between calls.
    let (_, t1) = tch::no_grad(|| net.forward_t(&x, true));
    let (_, t2) = tch::no_grad(|| net.forward_t(&x, true));
    assert!(!t1.equal(&t2));
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let (_vs, net, _) = tiny();
    let f = |shape: &[i64]| Tensor::zeros(shape, (Kind::Float, Device::Cpu));
    let err = net.check_input(&f(&[1, 1, 100, 100])).unwrap_err();
    assert!(matches!(err, ModelError::InvalidInput(_)));
    assert!(err.to_string().contains("multiple of 64"), "{err}");
    let err = net.check_input(&f(&[1, 1, 256, 256])).unwrap_err();
    assert!(err.to_string().contains("tiny"), "{err}");
    assert!(net.check_input(&f(&[1, 3, 128, 128])).is_err());
    assert!(net.check_input(&f(&[1, 128, 128])).is_err());
    assert!(net.check_input(&f(&[0, 1, 128, 128])).is_err());
    let ints = Tensor::zeros([1, 1, 128, 128], (Kind::Int64, Device::Cpu));
    assert!(net.check_input(&ints).is_err());
    assert!(net.try_forward_t(&f(&[1, 1, 64, 64]), false).is_err());
    assert!(net.check_input(&f(&[1, 1, 128, 128])).is_ok());
}

#[test]
fn the_gtv_path_runs_at_any_multiple_of_64() {
    let (_vs, net, _) = tiny();
    let x = Tensor::rand([2, 1, 128, 128], (Kind::Float, Device::Cpu));
    let (gtv, _) = tch::no_grad(|| net.forward_t(&x, false));
    let alone = tch::no_grad(|| net.gtv_logits(&x)).unwrap();
    assert!(alone.equal(&gtv), "the same GTV path at the trained side");
    let fine = Tensor::rand([2, 1, 192, 192], (Kind::Float, Device::Cpu));
    let out = tch::no_grad(|| net.gtv_logits(&fine)).unwrap();
    assert_eq!(out.size(), [2, 1, 192, 192]);
    let err = net.gtv_logits(&fine.narrow(2, 0, 100)).unwrap_err();
    assert!(err.to_string().contains("multiple of 64"), "{err}");
    // The full forward pass still takes the trained side only.
    assert!(net.check_input(&fine).is_err());
}

#[test]
fn invalid_config_is_an_error() {
    let mut cfg = MtsaConfig::preset("tiny").unwrap();
    cfg.size = 96;
    let vs = nn::VarStore::new(Device::Cpu);
    assert!(MtsaNet::new(&vs.root(), &cfg).is_err());
}

#[test]
fn batch_norm_initialised_like_pytorch() {
    let (vs, _net, _) = tiny();
    let vars = vs.variables();
    let bn_weights: Vec<_> = vars
        .iter()
        .filter(|(n, _)| n.contains(".bn.weight"))
        .collect();
    assert_eq!(bn_weights.len(), 5 + 4 + 1);
    for (name, t) in bn_weights {
        assert!(t.eq(1.0).all().int64_value(&[]) == 1, "{name}");
    }
    for (name, t) in vars.iter().filter(|(n, _)| n.contains(".bn.bias")) {
        assert!(t.eq(0.0).all().int64_value(&[]) == 1, "{name}");
    }
}
