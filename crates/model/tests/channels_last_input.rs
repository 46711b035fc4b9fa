//! A one-channel input (the paper's 2-D protocol) put in NHWC must read as channels-last to
//! PyTorch: otherwise the net's first convolution writes NCHW and the next copies it back.
use mtsa_model::Layout;
use tch::{Device, Kind, Tensor};

fn conv(x: &Tensor) -> Tensor {
    let w = Tensor::ones([4, 1, 3, 3], (Kind::Float, Device::Cpu));
    x.conv2d(&w, None::<Tensor>, [1, 1], [1, 1], [1, 1], 1)
}

#[test]
fn a_one_channel_input_reads_as_channels_last() {
    let x = Tensor::rand([2, 1, 16, 16], (Kind::Float, Device::Cpu));
    // Permuting alone, as `apply` lays out a tensor, keeps NCHW strides: the output is NCHW.
    assert_ne!(conv(&Layout::Nhwc.apply(&x)).stride()[1], 1);

    let input = Layout::Nhwc.apply_input(&x);
    assert_eq!(input.stride(), [256, 1, 16, 1]);
    assert!(input.equal(&x));
    assert_eq!(
        conv(&input).stride()[1],
        1,
        "the first convolution writes NHWC"
    );
}

#[test]
fn other_inputs_are_laid_out_as_apply_does() {
    let x1 = Tensor::rand([2, 1, 16, 16], (Kind::Float, Device::Cpu));
    assert_eq!(Layout::Nchw.apply_input(&x1).stride(), [256, 256, 16, 1]);
    let x3 = Tensor::rand([2, 3, 16, 16], (Kind::Float, Device::Cpu));
    for layout in [Layout::Nchw, Layout::Nhwc] {
        let (a, b) = (layout.apply_input(&x3), layout.apply(&x3));
        assert_eq!(a.stride(), b.stride());
        assert!(a.equal(&x3));
    }
}
