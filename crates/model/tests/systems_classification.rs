//! The single-task EGFR classifiers of Table 3 (ResNet-50, SE-ResNet-50, DenseNet-121, RN-GAP):
//! shapes in training and evaluation, gradients reaching every parameter, and the reference
//! libraries' parameter counts at the canonical width.
use mtsa_model::{count_net_params, Architecture, SystemSpec, Tasks, NET_PREFIX};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

const CLASSIFIERS: [Architecture; 4] = [
    Architecture::ResNet50,
    Architecture::SeResNet50,
    Architecture::DenseNet121,
    Architecture::RnGap,
];

fn build(arch: Architecture, spec: &SystemSpec) -> (nn::VarStore, Box<dyn ModuleT>) {
    let vs = nn::VarStore::new(Device::Cpu);
    let net = arch
        .build_system(&(vs.root() / NET_PREFIX), spec)
        .unwrap()
        .expect("a comparison system");
    (vs, net)
}

fn small(size: i64) -> SystemSpec {
    SystemSpec {
        in_channels: 1,
        size,
        width: 8,
    }
}

#[test]
fn classifiers_give_two_finite_logits_in_train_and_eval() {
    tch::manual_seed(0);
    for arch in CLASSIFIERS {
        assert_eq!(arch.tasks(), Tasks::Classification);
        for size in [64, 128] {
            let (_vs, net) = build(arch, &small(size));
            let x = Tensor::randn([2, 1, size, size], (Kind::Float, Device::Cpu));
            for train in [true, false] {
                let y = tch::no_grad(|| net.forward_t(&x, train));
                assert_eq!(y.size(), [2, 2], "{arch} at {size}, train {train}");
                assert!(
                    bool::try_from(y.isfinite().all()).unwrap(),
                    "{arch} at {size}, train {train}: non-finite logits"
                );
            }
        }
    }
}

#[test]
fn backward_reaches_every_trainable_variable() {
    tch::manual_seed(1);
    for arch in CLASSIFIERS {
        let (vs, net) = build(arch, &small(64));
        let x = Tensor::randn([2, 1, 64, 64], (Kind::Float, Device::Cpu));
        let target = Tensor::from_slice(&[0i64, 1]);
        net.forward_t(&x, true)
            .cross_entropy_for_logits(&target)
            .backward();
        let trainable = vs.trainable_variables();
        assert!(!trainable.is_empty());
        for (name, t) in vs.variables() {
            if !t.requires_grad() {
                continue; // BatchNorm running statistics
            }
            let g = t.grad();
            assert!(g.defined(), "{arch}: no gradient for {name}");
            assert!(
                bool::try_from(g.isfinite().all()).unwrap(),
                "{arch}: non-finite gradient for {name}"
            );
        }
    }
}

/// Numbers printed by `tests/reference/classifier_param_counts.py` (torch 2.11, torchvision
/// 0.26.0, timm 1.0.31): torchvision's `resnet50`, `densenet121` and `resnet18` with their first
/// convolution replaced by a 1-channel one and `num_classes=2`, and timm's `seresnet50` with
/// `in_chans=1, num_classes=2` (`legacy_seresnet50` has the same count).
#[test]
fn canonical_widths_have_the_reference_parameter_counts() {
    let expected = [
        (Architecture::ResNet50, 23_505_858),
        (Architecture::SeResNet50, 26_036_850),
        (Architecture::DenseNet121, 6_949_634),
        (Architecture::RnGap, 11_171_266),
    ];
    for (arch, count) in expected {
        let spec = SystemSpec {
            in_channels: 1,
            size: 224,
            width: arch.canonical_width(),
        };
        let (vs, _net) = build(arch, &spec);
        assert_eq!(count_net_params(&vs), count, "{arch}");
    }
}

/// The width-8 ("tiny") builds the CPU studies train, against the same script's scaled
/// reference builds: every stage at 8/64 of torchvision's channels (DenseNet growth 4), SE hidden
/// channels at exactly C/16.
#[test]
fn width_eight_has_the_scaled_reference_parameter_counts() {
    let expected = [
        (Architecture::ResNet50, 373_882),
        (Architecture::SeResNet50, 415_184),
        (Architecture::DenseNet121, 118_306),
        (Architecture::RnGap, 176_058),
    ];
    for (arch, count) in expected {
        assert_eq!(arch.width_for_preset("tiny").unwrap(), 8);
        let (vs, _net) = build(arch, &small(64));
        assert_eq!(count_net_params(&vs), count, "{arch}");
    }
}

/// torchvision's and timm's variable names, so their state dicts map one to one.
#[test]
fn variables_are_named_as_in_torchvision() {
    let names = |arch| {
        let (vs, _net) = build(arch, &small(64));
        vs.variables().into_keys().collect::<Vec<_>>()
    };
    let has = |names: &[String], n: &str| names.iter().any(|k| k == &format!("{NET_PREFIX}.{n}"));
    let resnet = names(Architecture::ResNet50);
    for n in [
        "conv1.weight",
        "bn1.running_var",
        "layer1.0.downsample.0.weight",
        "layer3.5.conv3.weight",
        "layer4.2.bn3.bias",
        "fc.weight",
    ] {
        assert!(has(&resnet, n), "ResNet-50 lacks {n}");
    }
    assert!(!resnet.iter().any(|k| k.contains(".se.")));
    let se = names(Architecture::SeResNet50);
    assert!(has(&se, "layer4.2.se.fc2.bias"));
    let dense = names(Architecture::DenseNet121);
    for n in [
        "features.conv0.weight",
        "features.denseblock3.denselayer24.conv2.weight",
        "features.transition3.conv.weight",
        "features.norm5.weight",
        "classifier.bias",
    ] {
        assert!(has(&dense, n), "DenseNet-121 lacks {n}");
    }
    let gap = names(Architecture::RnGap);
    assert!(has(&gap, "layer2.0.downsample.1.weight"));
    assert!(!has(&gap, "layer1.0.downsample.0.weight"));
}

#[test]
fn bad_specs_are_errors() {
    for arch in CLASSIFIERS {
        let vs = nn::VarStore::new(Device::Cpu);
        let odd_side = SystemSpec {
            in_channels: 1,
            size: 100,
            width: 8,
        };
        assert!(arch.build_system(&vs.root(), &odd_side).is_err(), "{arch}");
        let no_width = SystemSpec {
            width: 0,
            ..small(64)
        };
        assert!(arch.build_system(&vs.root(), &no_width).is_err(), "{arch}");
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let one = SystemSpec {
        width: 1,
        ..small(64)
    };
    assert!(Architecture::DenseNet121
        .build_system(&vs.root(), &one)
        .is_err());
}
