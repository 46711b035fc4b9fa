//! The single-task segmentation comparison systems (paper Table 3): U-Net, UNet 3+, RAUNet and
//! DeSeg map B x 1 x S x S slices to B x 1 x S x S GTV logits, train end to end, run on
//! channels-last input, and land on their reference implementations' parameter counts.
use mtsa_model::{
    count_trainable, to_channels_last, Architecture, DeSeg, ModelError, RaUNet, SystemSpec, UNet,
    UNet3Plus,
};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

const SEGMENTERS: [Architecture; 4] = [
    Architecture::UNet,
    Architecture::UNet3Plus,
    Architecture::RaUNet,
    Architecture::DeSeg,
];

fn spec(width: i64, size: i64) -> SystemSpec {
    SystemSpec {
        in_channels: 1,
        size,
        width,
    }
}

/// Smallest side each system accepts that also gives every stage more than one pixel: 64
/// (RAUNet's bottleneck is then 2 x 2).
const SIZE: i64 = 64;

fn build(arch: Architecture, vs: &nn::VarStore, spec: &SystemSpec) -> Box<dyn ModuleT> {
    arch.build_system(&(vs.root() / "net"), spec)
        .unwrap_or_else(|e| panic!("{arch}: {e}"))
        .unwrap_or_else(|| panic!("{arch} is a comparison system"))
}

fn input(seed: i64) -> Tensor {
    tch::manual_seed(seed);
    Tensor::randn([2, 1, SIZE, SIZE], (Kind::Float, Device::Cpu))
}

#[test]
fn forward_gives_one_logit_map_per_slice_in_train_and_eval() {
    for arch in SEGMENTERS {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = build(arch, &vs, &spec(8, SIZE));
        let x = input(1);
        for train in [true, false] {
            let y = tch::no_grad(|| net.forward_t(&x, train));
            assert_eq!(y.size(), [2, 1, SIZE, SIZE], "{arch} train={train}");
            assert!(
                bool::try_from(y.isfinite().all()).unwrap(),
                "{arch} train={train}: non-finite logits"
            );
        }
    }
}

#[test]
fn backward_reaches_every_trainable_variable() {
    for arch in SEGMENTERS {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = build(arch, &vs, &spec(8, SIZE));
        let x = input(2);
        let mask = x.gt(1.0).to_kind(Kind::Float); // a sparse "lesion" mask
        let logits = net.forward_t(&x, true);
        let loss = logits.binary_cross_entropy_with_logits::<Tensor>(
            &mask,
            None,
            None,
            tch::Reduction::Mean,
        );
        loss.backward();
        // By name first, for a readable failure.
        for (name, t) in vs.variables() {
            if t.requires_grad() {
                assert!(t.grad().defined(), "{arch}: {name} has no grad");
            }
        }
        let vars = vs.trainable_variables();
        assert!(!vars.is_empty(), "{arch}: no trainable variables");
        assert!(vars.iter().all(|v| v.grad().defined()), "{arch}");
    }
}

#[test]
fn channels_last_input_gives_the_same_logits() {
    for arch in SEGMENTERS {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = build(arch, &vs, &spec(8, SIZE));
        let x = input(3);
        let (a, b) = tch::no_grad(|| {
            (
                net.forward_t(&x, false),
                net.forward_t(&to_channels_last(&x), false),
            )
        });
        let diff = f64::try_from((a - b).abs().max()).unwrap();
        assert!(
            diff < 1e-4,
            "{arch}: NCHW and channels-last differ by {diff}"
        );
    }
}

#[test]
fn constructors_reject_sides_their_down_sampling_does_not_divide() {
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root() / "net";
    let bad = |r: Result<(), ModelError>, what: &str| {
        assert!(matches!(r, Err(ModelError::InvalidConfig(_))), "{what}");
    };
    bad(UNet::new(&p, &spec(8, 40)).map(drop), "U-Net at 40");
    bad(UNet3Plus::new(&p, &spec(8, 40)).map(drop), "UNet 3+ at 40");
    bad(DeSeg::new(&p, &spec(8, 40)).map(drop), "DeSeg at 40");
    bad(RaUNet::new(&p, &spec(8, 48)).map(drop), "RAUNet at 48");
    bad(RaUNet::new(&p, &spec(2, 64)).map(drop), "RAUNet at width 2");
    bad(UNet::new(&p, &spec(0, 64)).map(drop), "U-Net at width 0");
}

fn params(arch: Architecture, width: i64) -> usize {
    let vs = nn::VarStore::new(Device::Cpu);
    let _net = build(arch, &vs, &spec(width, 128));
    count_trainable(&vs, "net")
}

// The counts below are those of the reference PyTorch builds at 1 input and 1 output channel,
// printed by `.venv-bench/bin/python tests/reference/segmentation_param_counts.py` (torch 2.11,
// torchvision 0.26), which also lists the width-8 counts asserted here.

/// milesial/Pytorch-UNet, `UNet(n_channels=1, n_classes=1, bilinear=False)` (its familiar
/// 3-channel, 2-class build has 31,037,698 = this + 2·576 + 65). Analytically, with a double
/// conv DC(a, b) = 9ab + 9b² + 4b and a 2x2 transposed conv T(a) = a·a/2·4 + a/2:
/// DC(1,64) + DC(64,128) + DC(128,256) + DC(256,512) + DC(512,1024)
/// + T(1024) + DC(1024,512) + T(512) + DC(512,256) + T(256) + DC(256,128) + T(128) + DC(128,64)
/// + 65 = 37,696 + 221,696 + 885,760 + 3,540,992 + 14,159,872 + 2,097,664 + 7,079,936
/// + 524,544 + 1,770,496 + 131,200 + 442,880 + 32,832 + 110,848 + 65 = 31,036,481.
#[test]
fn unet_param_count() {
    assert_eq!(params(Architecture::UNet, 64), 31_036_481);
    assert_eq!(params(Architecture::UNet, 8), 486_409);
}

/// ZJUGiveLab/UNet-Version `UNet_3Plus` at 1 input channel; the UNet 3+ paper reports 26.97 M.
#[test]
fn unet3plus_param_count() {
    assert_eq!(params(Architecture::UNet3Plus, 64), 26_970_625);
    assert_eq!(params(Architecture::UNet3Plus, 8), 423_937);
}

/// nizhenliang/RAUNet `RAUNet` on torchvision's ResNet-34 with a 1-channel stem.
#[test]
fn raunet_param_count() {
    assert_eq!(params(Architecture::RaUNet, 64), 22_136_993);
    assert_eq!(params(Architecture::RaUNet, 8), 348_933);
}

/// The U-Net above plus the detector head: Conv3x3 4w -> w without bias, BN (2w), 1x1 w -> 1
/// with bias: 31,036,481 + 147,456 + 128 + 65 at w = 64 (the reference script's `DeSeg`).
#[test]
fn deseg_param_count() {
    assert_eq!(params(Architecture::DeSeg, 64), 31_184_130);
    assert_eq!(params(Architecture::DeSeg, 8), 488_738);
}
