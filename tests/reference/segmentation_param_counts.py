"""Trainable-parameter counts of the single-task segmentation comparison systems (paper Table 3)
as their reference PyTorch code builds them, at 1 input channel and 1 output channel, plus a
forward-shape check. `crates/model/tests/systems_segmentation.rs` asserts the Rust builds land on
these numbers.

- U-Net: milesial/Pytorch-UNet (`UNet(n_channels=1, n_classes=1, bilinear=False)`), written out
  below as that repository has it (DoubleConv without conv bias, BN, ReLU; ConvTranspose 2x2 up).
- UNet 3+: ZJUGiveLab/UNet-Version `models/UNet_3Plus` (`UNet_3Plus`), written compactly below with
  the same layers (conv biases before every BN, CatChannels = filters[0], 3x3 out conv).
- RAUNet: nizhenliang/RAUNet `RAUNet.py` (AAM, DecoderBlockLinkNet, final deconv head) on
  torchvision's ResNet-34 with a 1-channel stem, scaled to stem width w like
  classifier_param_counts.py scales ResNets (torchvision's own at w = 64).
- DeSeg: this project's reading (see crates/model/src/systems/deseg.rs): the U-Net above plus a
  Conv3x3-BN-ReLU (4w -> w) and 1x1 (w -> 1) heatmap head on the S/4 decoder node.

Run: .venv-bench/bin/python tests/reference/segmentation_param_counts.py
(torch 2.11, torchvision 0.26; no weights are downloaded.)
"""
import torch
import torch.nn.functional as F
from torch import nn
from torchvision import models


def count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


# ---------------------------------------------------------------- U-Net (milesial)
class DoubleConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.double_conv = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True),
        )

    def forward(self, x):
        return self.double_conv(x)


class Up(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cin // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(cin, cout)

    def forward(self, x1, x2):
        return self.conv(torch.cat([x2, self.up(x1)], dim=1))


class UNet(nn.Module):
    def __init__(self, w=64, cin=1):
        super().__init__()
        self.inc = DoubleConv(cin, w)
        self.downs = nn.ModuleList([DoubleConv(w << i, w << (i + 1)) for i in range(4)])
        self.ups = nn.ModuleList([Up(w << (4 - i), w << (3 - i)) for i in range(4)])
        self.outc = nn.Conv2d(w, 1, kernel_size=1)

    def decode(self, x):
        xs = [self.inc(x)]
        for d in self.downs:
            xs.append(d(F.max_pool2d(xs[-1], 2)))
        y, outs = xs.pop(), []
        for up in self.ups:
            y = up(y, xs.pop())
            outs.append(y)
        return outs  # S/8, S/4, S/2, S

    def forward(self, x):
        return self.outc(self.decode(x)[-1])


# ---------------------------------------------------------------- UNet 3+ (ZJUGiveLab)
def cbr(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(True))


class UNet3Plus(nn.Module):
    def __init__(self, w=64, cin=1):
        super().__init__()
        f = [w, 2 * w, 4 * w, 8 * w, 16 * w]
        self.enc = nn.ModuleList(
            [nn.Sequential(cbr(c, o), cbr(o, o)) for c, o in zip([cin] + f[:-1], f)]
        )
        cat, upc = f[0], 5 * f[0]
        self.nodes = nn.ModuleDict()
        for i in (4, 3, 2, 1):  # hd4 .. hd1
            ins = [f[j - 1] if j <= i or j == 5 else upc for j in range(1, 6)]
            self.nodes[f"hd{i}"] = nn.ModuleList([cbr(c, cat) for c in ins] + [cbr(upc, upc)])
        self.outconv1 = nn.Conv2d(upc, 1, 3, padding=1)

    def forward(self, x):
        h = []
        for k, e in enumerate(self.enc):
            h.append(e(x if k == 0 else F.max_pool2d(h[-1], 2, 2, ceil_mode=True)))
        hd = {5: h[4]}
        for i in (4, 3, 2, 1):
            units, parts = self.nodes[f"hd{i}"], []
            for j in range(1, 6):
                if j < i:
                    s = F.max_pool2d(h[j - 1], 2 ** (i - j), 2 ** (i - j), ceil_mode=True)
                elif j == i:
                    s = h[j - 1]
                else:
                    s = F.interpolate(hd[j], scale_factor=2 ** (j - i), mode="bilinear")
                parts.append(units[j - 1](s))
            hd[i] = units[5](torch.cat(parts, 1))
        return self.outconv1(hd[1])


# ---------------------------------------------------------------- RAUNet (nizhenliang)
class AAM(nn.Module):
    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        pw = lambda: nn.Sequential(nn.Conv2d(in_ch, out_ch, 1), nn.BatchNorm2d(out_ch), nn.ReLU(True))
        self.conv1, self.conv2, self.conv4 = pw(), pw(), pw()
        self.conv3 = nn.Sequential(nn.Conv2d(out_ch, out_ch, 1), nn.Softmax(dim=1))

    def forward(self, high, low):
        wh = self.conv1(self.global_pooling(high))
        wl = self.conv2(self.global_pooling(low))
        return high + self.conv4(low).mul(self.conv3(wl + wh))


class DecoderBlockLinkNet(nn.Module):
    def __init__(self, cin, n):
        super().__init__()
        m = cin // 4
        self.block = nn.Sequential(
            nn.Conv2d(cin, m, 1), nn.BatchNorm2d(m), nn.ReLU(True),
            nn.ConvTranspose2d(m, m, kernel_size=4, stride=2, padding=1), nn.BatchNorm2d(m), nn.ReLU(True),
            nn.Conv2d(m, n, 1), nn.BatchNorm2d(n), nn.ReLU(True),
        )

    def forward(self, x):
        return self.block(x)


def resnet34(w):
    """torchvision's ResNet-34 at stem width w with a 1-channel stem (its own build at w = 64)."""
    if w == 64:
        m = models.resnet34(weights=None)
        m.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        return m
    m = models.ResNet.__new__(models.ResNet)
    nn.Module.__init__(m)
    m._norm_layer = nn.BatchNorm2d
    m.inplanes, m.dilation, m.groups, m.base_width = w, 1, 1, 64
    m.conv1 = nn.Conv2d(1, w, kernel_size=7, stride=2, padding=3, bias=False)
    m.bn1, m.relu = nn.BatchNorm2d(w), nn.ReLU(inplace=True)
    m.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
    block = models.resnet.BasicBlock
    m.layer1 = m._make_layer(block, w, 3)
    m.layer2 = m._make_layer(block, 2 * w, 4, stride=2)
    m.layer3 = m._make_layer(block, 4 * w, 6, stride=2)
    m.layer4 = m._make_layer(block, 8 * w, 3, stride=2)
    return m


class RAUNet(nn.Module):
    def __init__(self, w=64):
        super().__init__()
        f = [w, 2 * w, 4 * w, 8 * w]
        r = resnet34(w)
        self.stem = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool)
        self.encoders = nn.ModuleList([r.layer1, r.layer2, r.layer3, r.layer4])
        self.decoders = nn.ModuleList(
            [DecoderBlockLinkNet(f[3], f[2]), DecoderBlockLinkNet(f[2], f[1]),
             DecoderBlockLinkNet(f[1], f[0]), DecoderBlockLinkNet(f[0], f[0])]
        )
        self.gaus = nn.ModuleList([AAM(f[2], f[2]), AAM(f[1], f[1]), AAM(f[0], f[0])])
        h = w // 2  # 32 at w = 64
        self.finaldeconv1 = nn.ConvTranspose2d(f[0], h, 3, stride=2)
        self.finalconv2 = nn.Conv2d(h, h, 3)
        self.finalconv3 = nn.Conv2d(h, 1, 2, padding=1)

    def forward(self, x):
        e = [self.stem(x)]
        for enc in self.encoders:
            e.append(enc(e[-1]))
        y = e[4]
        for k, dec in enumerate(self.decoders):
            y = dec(y)
            if k < 3:
                y = self.gaus[k](y, e[3 - k])
        y = F.relu(self.finalconv2(F.relu(self.finaldeconv1(y))))
        return self.finalconv3(y)


# ---------------------------------------------------------------- DeSeg (this project's reading)
class DeSeg(UNet):
    def __init__(self, w=64, cin=1):
        super().__init__(w, cin)
        self.detector = nn.Sequential(
            nn.Conv2d(4 * w, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(True),
            nn.Conv2d(w, 1, 1),
        )

    def forward(self, x):
        outs = self.decode(x)
        h = F.interpolate(self.detector(outs[1]), scale_factor=4, mode="bilinear")
        return self.outc(outs[-1]) + F.logsigmoid(h)


def main() -> None:
    builders = {"unet": UNet, "unet3plus": UNet3Plus, "raunet": RAUNet, "deseg": DeSeg}
    x = torch.randn(2, 1, 64, 64)
    for name, build in builders.items():
        for w in (64, 8):
            m = build(w).eval()
            with torch.no_grad():
                assert m(x).shape == (2, 1, 64, 64), name
            print(f"{name:10s} width {w:2d}: {count(m):>11,d}")


if __name__ == "__main__":
    main()
