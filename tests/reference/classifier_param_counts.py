"""Trainable-parameter counts of the EGFR comparison classifiers (paper Table 3) as the reference
libraries build them, at 1 input channel and 2 classes. `crates/model/tests/systems_classification.rs`
asserts the Rust builds land on these numbers.

- canonical width (64): torchvision's `resnet50`, `densenet121` and `resnet18` (RN-GAP's reading)
  with their first convolution replaced by a 1-channel one, and timm's `seresnet50`;
- width 8 (the `tiny` preset): the same networks with every stage scaled by 8/64: torchvision's
  `DenseNet(growth_rate=4, num_init_features=8)`, and torchvision's `ResNet` with its hard-coded
  64/128/256/512 replaced by w/2w/4w/8w; SE-ResNet adds timm's `SEModule` after each bottleneck's
  `bn3` with hidden channels exactly C/16 (`rd_divisor=1`; timm's default rounds up to a multiple
  of 8, which changes nothing at the canonical width, where this build equals `seresnet50`).

Run: .venv-bench/bin/python tests/reference/classifier_param_counts.py
(torch 2.11, torchvision 0.26.0, timm 1.0.31; no weights are downloaded.)
"""

import timm
import torch
from timm.layers import SEModule
from torch import nn
from torchvision import models
from torchvision.models import resnet as tv
from torchvision.models.densenet import DenseNet


def count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


def tv_resnet(builder) -> nn.Module:
    m = builder(weights=None, num_classes=2)
    m.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return m


def tv_densenet(width: int) -> nn.Module:
    m = DenseNet(
        growth_rate=width // 2,
        block_config=(6, 12, 24, 16),
        num_init_features=width,
        bn_size=4,
        num_classes=2,
    )
    m.features.conv0 = nn.Conv2d(1, width, kernel_size=7, stride=2, padding=3, bias=False)
    return m


class ScaledResNet(tv.ResNet):
    """torchvision's ResNet at stem width `w` (stages w, 2w, 4w, 8w), 1 channel in, 2 classes."""

    def __init__(self, block, layers, w: int, se: bool = False):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = w, 1, 1, 64
        self.conv1 = nn.Conv2d(1, w, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, w, layers[0])
        self.layer2 = self._make_layer(block, 2 * w, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 4 * w, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 8 * w, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8 * w * block.expansion, 2)
        if se:  # SE after bn3, before the residual sum, as timm's seresnet50
            for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
                for b in layer:
                    c = b.bn3.num_features
                    b.bn3 = nn.Sequential(b.bn3, SEModule(c, rd_divisor=1))


def main() -> None:
    canonical = {
        "resnet50 (torchvision)": tv_resnet(models.resnet50),
        "seresnet50 (timm)": timm.create_model("seresnet50", num_classes=2, in_chans=1),
        "legacy_seresnet50 (timm)": timm.create_model("legacy_seresnet50", num_classes=2, in_chans=1),
        "densenet121 (torchvision)": models.densenet121(weights=None, num_classes=2),
        "rn-gap = resnet18 (torchvision)": tv_resnet(models.resnet18),
    }
    d = canonical["densenet121 (torchvision)"]
    d.features.conv0 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    # The scaled builders reproduce the library models at width 64.
    assert count(tv_densenet(64)) == count(d)
    assert count(ScaledResNet(tv.Bottleneck, (3, 4, 6, 3), 64)) == count(canonical["resnet50 (torchvision)"])
    assert count(ScaledResNet(tv.Bottleneck, (3, 4, 6, 3), 64, se=True)) == count(canonical["seresnet50 (timm)"])
    assert count(ScaledResNet(tv.BasicBlock, (2, 2, 2, 2), 64)) == count(canonical["rn-gap = resnet18 (torchvision)"])
    width8 = {
        "resnet50 width 8": ScaledResNet(tv.Bottleneck, (3, 4, 6, 3), 8),
        "seresnet50 width 8": ScaledResNet(tv.Bottleneck, (3, 4, 6, 3), 8, se=True),
        "densenet121 width 8": tv_densenet(8),
        "rn-gap width 8": ScaledResNet(tv.BasicBlock, (2, 2, 2, 2), 8),
    }
    x = torch.randn(2, 1, 128, 128)
    for name, m in {**canonical, **width8}.items():
        m.eval()
        with torch.no_grad():
            assert m(x).shape == (2, 2), name
        print(f"{name}: {count(m)}")


if __name__ == "__main__":
    main()
