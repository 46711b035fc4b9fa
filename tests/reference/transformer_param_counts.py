"""Trainable-parameter counts of the transformer segmentation comparison systems (paper Table 3)
as their authors' code builds them, at 1 input channel and 1 output channel (GTV logits).
`crates/model/tests/systems_transformer.rs` asserts the Rust builds land on these numbers at
their canonical width and at the tiny preset's (width / 8, every width of the reference scaled
alike).

Reference sources (no weights are downloaded; nothing is trained):
  TransUNet  github.com/Beckschen/TransUNet          @ 02ef0010b36eb8328b5e689eadaf613602edf9b8
             networks/vit_seg_modeling.py, config R50-ViT-B_16, n_skip 3
  Swin-UNet  github.com/HuCaoFighting/Swin-Unet      @ f48f623e226e25b6e395c37207915c50aaa9c776
             networks/swin_transformer_unet_skip_expand_decoder_sys.py, as
             configs/swin_tiny_patch4_window7_224_lite.yaml configures it

Run (torch 2.11, timm 1.0.x, einops, ml_collections + absl-py, scipy):
  git clone https://github.com/Beckschen/TransUNet && git -C TransUNet checkout 02ef001
  git clone https://github.com/HuCaoFighting/Swin-Unet && git -C Swin-Unet checkout f48f623
  .venv-bench/bin/python tests/reference/transformer_param_counts.py TransUNet Swin-Unet

Both reference wrappers repeat a 1-channel slice to 3 channels; here the first convolution is
built for 1 channel instead (what the Rust systems do), and the networks' parts are called
directly so the 1-channel input reaches it.
"""
import importlib
import importlib.util
import sys

import ml_collections
import torch
from torch import nn


def count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


def transunet(repo: str, size: int, width: int = 64) -> int:
    """R50-ViT-B_16 at `width` = 64; narrower, every width scales by width / 64 as the Rust build
    scales it (hidden 12w, MLP 4 x hidden, 64-wide heads, CUP 8w -> 4w, 2w, w, w/4)."""
    sys.path.insert(0, repo)
    try:
        modeling = importlib.import_module("networks.vit_seg_modeling")
        resnet = importlib.import_module("networks.vit_seg_modeling_resnet_skip")
    finally:
        sys.path.pop(0)
    config = modeling.CONFIGS["R50-ViT-B_16"]
    config.n_classes = 1
    config.n_skip = 3
    # As train.py sets it: the hybrid grid is the 1/16 map, so the patch embedding is 1x1.
    config.patches.grid = (size // 16, size // 16)
    w = width
    config.resnet = ml_collections.ConfigDict({"num_layers": (3, 4, 9), "width_factor": w / 64})
    config.hidden_size = 12 * w
    config.transformer.mlp_dim = 48 * w
    config.transformer.num_heads = max(1, 12 * w // 64)
    config.decoder_channels = (4 * w, 2 * w, w, max(1, w // 4))
    config.skip_channels = [8 * w, 4 * w, w, max(1, w // 4)]
    group_norm = nn.GroupNorm
    # GroupNorm(32, C) cannot split fewer than 32 channels; the count does not depend on groups.
    nn.GroupNorm = lambda groups, ch, eps=1e-5: group_norm(min(groups, ch), ch, eps=eps)
    try:
        net = modeling.VisionTransformer(config, img_size=size, num_classes=1)
    finally:
        nn.GroupNorm = group_norm
    if w != 64:
        # DecoderCup fixes its head at 512 channels: 8w here.
        net.decoder.conv_more = modeling.Conv2dReLU(12 * w, 8 * w, kernel_size=3, padding=1)
        net.decoder.blocks[0] = modeling.DecoderBlock(8 * w, 4 * w, 8 * w)
    hybrid = net.transformer.embeddings.hybrid_model
    hybrid.root.conv = resnet.StdConv2d(1, hybrid.width, kernel_size=7, stride=2, bias=False, padding=3)
    net.eval()
    with torch.no_grad():
        tokens, _, features = net.transformer(torch.randn(2, 1, size, size))
        logits = net.segmentation_head(net.decoder(tokens, features))
    assert logits.shape == (2, 1, size, size), logits.shape
    for name in list(sys.modules):
        if name == "networks" or name.startswith("networks."):
            del sys.modules[name]
    return count(net)


def swin_unet(repo: str, size: int, window: int, width: int = 96) -> int:
    """Swin-T at `width` = 96; narrower, heads keep 32 channels (at least one)."""
    path = f"{repo}/networks/swin_transformer_unet_skip_expand_decoder_sys.py"
    spec = importlib.util.spec_from_file_location("swin_unet_sys", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.SwinTransformerSys(
        img_size=size,
        patch_size=4,
        in_chans=1,
        num_classes=1,
        embed_dim=width,
        depths=[2, 2, 2, 2],
        num_heads=[max(1, (width << i) // 32) for i in range(4)],
        window_size=window,
        mlp_ratio=4.0,
        qkv_bias=True,
        drop_path_rate=0.2,
        ape=False,
        patch_norm=True,
    )
    net.eval()
    with torch.no_grad():
        logits = net(torch.randn(2, 1, size, size))
    assert logits.shape == (2, 1, size, size), logits.shape
    return count(net)


def main() -> None:
    transunet_repo, swin_repo = sys.argv[1], sys.argv[2]
    for size in (224, 256):
        print(f"TransUNet R50-ViT-B_16, {size} px: {transunet(transunet_repo, size)}")
    # The Rust build's window rule: 7 at 224 px (stage sides 56, 28, 14, 7), 8 at 256 px.
    for size, window in ((224, 7), (256, 8)):
        print(f"Swin-UNet tiny, {size} px, window {window}: {swin_unet(swin_repo, size, window)}")
    # The tiny preset's widths (canonical / 8) at 128 px.
    print(f"TransUNet, width 8, 128 px: {transunet(transunet_repo, 128, width=8)}")
    print(f"Swin-UNet, width 12, 128 px, window 8: {swin_unet(swin_repo, 128, 8, width=12)}")


if __name__ == "__main__":
    main()
