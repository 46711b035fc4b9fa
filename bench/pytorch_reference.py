#!/usr/bin/env python3
"""MTSA-Net written from shared/spec/mtsa-net.md in plain PyTorch eager, timed like `mtsa bench`.

Same modes and JSON keys as `mtsa bench --json` (infer, train; `patient` is mtsa-only since it
needs the project's NIfTI and preprocessing code). Parameter counts are asserted against the
spec table, so both sides time the same network.

    .venv-bench/bin/python bench/pytorch_reference.py --preset small --mode infer --threads 2 --json

Inference runs in eval mode under torch.inference_mode (NCHW unless --channels-last); the train
step is forward + joint loss + backward + Adam(lr 3e-4), as the Rust side does. --bf16 runs
inference in bfloat16, the reference for `mtsa bench --precision bf16`.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {"paper": (384, 32), "small": (256, 16), "tiny": (128, 8)}
PARAMS = {"paper": 9_379_683, "small": 2_334_259, "tiny": 562_075}
GFLOP = {"paper": 47.0, "small": 5.38, "tiny": 0.36}  # spec section 8
LEVELS = 5
CLS_POOL = 4
SQUARE_K = 5
STRIPS = (5, 7, 11)
WINDOW_GRID = 4
HEADS = 8
MLP_HIDDEN = 256
DROPOUT = 0.3


class ConvBnRelu(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class MsaModule(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.square = nn.Conv2d(c, c, SQUARE_K, padding=SQUARE_K // 2, groups=c)
        self.strips = nn.ModuleList(
            nn.ModuleList(
                [
                    nn.Conv2d(c, c, (1, k), padding=(0, k // 2), groups=c),
                    nn.Conv2d(c, c, (k, 1), padding=(k // 2, 0), groups=c),
                ]
            )
            for k in STRIPS
        )
        self.local = nn.Conv2d(c, c, 3, padding=1)
        self.mix = nn.Conv2d(c, c, 1)

    def forward(self, f):
        d = self.square(f)
        s = self.local(f) + d
        for h, v in self.strips:
            s = s + v(h(d))
        return self.mix(s) * f


class MsaBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.stem = ConvBnRelu(cin, cout)
        self.msa = MsaModule(cout)

    def forward(self, x):
        return self.msa(self.stem(x))


class WindowTransformer(nn.Module):
    def __init__(self, dim, window, grid, heads):
        super().__init__()
        self.grid, self.heads = grid, heads
        self.pos = nn.Parameter(torch.randn(1, window * window, dim) * 0.02)
        self.ln1 = nn.LayerNorm(dim)
        self.q, self.k, self.v = (nn.Linear(dim, dim) for _ in range(3))
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def attention(self, x):
        n, t, d = x.shape
        dh = d // self.heads

        def split(y):
            return y.view(n, t, self.heads, dh).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-2, -1) / math.sqrt(dh)
        out = scores.softmax(-1) @ v
        return self.proj(out.transpose(1, 2).contiguous().view(n, t, d))

    def forward(self, x):
        b, d, h, w = x.shape
        g = self.grid
        wh, ww = h // g, w // g
        t = x.reshape(b, d, g, wh, g, ww).permute(0, 2, 4, 3, 5, 1).reshape(b * g * g, wh * ww, d)
        t = t + self.pos
        t = t + self.attention(self.ln1(t))
        t = t + self.fc2(F.gelu(self.fc1(self.ln2(t))))
        return t.view(b, g, g, wh, ww, d).permute(0, 5, 1, 3, 2, 4).reshape(b, d, h, w)


class MtsaNet(nn.Module):
    def __init__(self, size, c):
        super().__init__()
        chans = [c << i for i in range(LEVELS)]
        cin = 1
        self.levels = nn.ModuleList()
        for ch in chans:
            self.levels.append(MsaBlock(cin, ch))
            cin = ch
        self.ups = nn.ModuleList()
        self.fuses = nn.ModuleList()
        for i in reversed(range(LEVELS - 1)):
            self.ups.append(nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2))
            self.fuses.append(ConvBnRelu(2 * chans[i], chans[i]))
        self.head = nn.Conv2d(c, 1, 1)
        d = 4 * c
        bottleneck = size >> (LEVELS - 1)
        window = bottleneck // WINDOW_GRID
        pooled = bottleneck // CLS_POOL
        self.cls_conv = ConvBnRelu(chans[-1], d)
        self.transformer = WindowTransformer(d, window, WINDOW_GRID, HEADS)
        self.fc1 = nn.Linear(pooled * pooled * d, MLP_HIDDEN)
        self.fc2 = nn.Linear(MLP_HIDDEN, 2)

    def forward(self, x):
        feats = []
        for block in self.levels:
            x = block(x if not feats else F.max_pool2d(feats[-1], 2))
            feats.append(x)
        y = feats[-1]
        for up, fuse, skip in zip(self.ups, self.fuses, reversed(feats[:-1])):
            y = fuse(torch.cat([up(y), skip], 1))
        gtv = self.head(y)
        z = self.transformer(self.cls_conv(feats[-1]))
        z = F.avg_pool2d(z, CLS_POOL, CLS_POOL).flatten(1)
        z = F.dropout(F.relu(self.fc1(z)), DROPOUT, self.training)
        return gtv, self.fc2(z)


class JointLoss(nn.Module):
    """Spec section 3: Dice + beta * focal for the GTV, CE for EGFR, uncertainty weighting."""

    def __init__(self, alpha=0.8, gamma=2.0, beta=1 / 25000):
        super().__init__()
        self.alpha, self.gamma, self.beta = alpha, gamma, beta
        self.log_sigma_gtv = nn.Parameter(torch.zeros(()))
        self.log_sigma_egfr = nn.Parameter(torch.zeros(()))

    def forward(self, gtv, egfr, mask, label):
        p = gtv.sigmoid()
        inter = (p * mask).sum((1, 2, 3))
        dice = (1 - 2 * inter / (p.sum((1, 2, 3)) + mask.sum((1, 2, 3)) + 1e-5)).mean()
        log_p, log_q = F.logsigmoid(gtv), F.logsigmoid(-gtv)
        pos = (log_q * self.gamma).exp() * log_p * mask * self.alpha
        neg = (log_p * self.gamma).exp() * log_q * (1 - mask) * (1 - self.alpha)
        focal = (-(pos + neg)).sum((1, 2, 3)).mean()
        l_gtv = dice + focal * self.beta
        l_egfr = F.cross_entropy(egfr, label)
        sg = self.log_sigma_gtv.clamp(-5, 5)
        se = self.log_sigma_egfr.clamp(-5, 5)
        return (-2 * sg).exp() * l_gtv * 0.5 + (-2 * se).exp() * l_egfr * 0.5 + sg + se


def peak_rss_mib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="small", choices=PRESETS)
    ap.add_argument("--mode", default="infer", choices=["infer", "train", "patient"])
    ap.add_argument("--batch", type=int)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--channels-last", action="store_true", help="NHWC activations and weights")
    ap.add_argument("--bf16", action="store_true", help="weights and activations in bfloat16 (infer only)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.mode == "patient":
        sys.exit("pytorch_reference.py: patient mode needs the project's NIfTI I/O; mtsa only")
    if a.bf16 and a.mode != "infer":
        sys.exit("pytorch_reference.py: --bf16 times inference only, as mtsa's --precision bf16")
    if a.threads:
        torch.set_num_threads(a.threads)
    batch = a.batch or {"infer": 1, "train": 4}[a.mode]
    size, c = PRESETS[a.preset]
    torch.manual_seed(0)
    dev = torch.device(a.device)
    net = MtsaNet(size, c).to(dev)
    n_params = sum(p.numel() for p in net.parameters())
    assert n_params == PARAMS[a.preset], f"{a.preset}: {n_params} params, spec says {PARAMS[a.preset]}"
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    dtype = torch.bfloat16 if a.bf16 else torch.float32
    net = net.to(dtype=dtype, memory_format=fmt)
    x = torch.rand(batch, 1, size, size, device=dev, dtype=dtype).contiguous(memory_format=fmt)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    if a.mode == "infer":
        net.eval()

        def step():
            with torch.inference_mode():
                g, e = net(x)
            return g, e

    else:
        net.train()
        loss = JointLoss().to(dev)
        opt = torch.optim.Adam(list(net.parameters()) + list(loss.parameters()), lr=3e-4)
        mask = (torch.rand(batch, 1, size, size, device=dev) < 0.1).float()
        label = torch.randint(0, 2, (batch,), device=dev)

        def step():
            opt.zero_grad(set_to_none=True)
            g, e = net(x)
            total = loss(g, e, mask, label)
            total.backward()
            opt.step()

    for _ in range(a.warmup):
        step()
    sync()
    times, cpu = [], []
    for _ in range(a.iters):
        t, c = time.perf_counter(), time.process_time()
        step()
        sync()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    med = statistics.median(times)
    flop = GFLOP[a.preset] * (3 if a.mode == "train" else 1)
    report = {
        "tool": "pytorch",
        "torch": torch.__version__,
        "preset": a.preset,
        "mode": a.mode,
        "engine": "eager",
        "channels_last": a.channels_last,
        "dtype": "bf16" if a.bf16 else "f32",
        "batch": batch,
        "slices_per_iter": batch,
        "iters": a.iters,
        "warmup": a.warmup,
        "threads": torch.get_num_threads(),
        "device": str(dev),
        "params": n_params,
        "gflop_per_slice_fwd": GFLOP[a.preset],
        "median_s": med,
        "min_s": min(times),
        "max_s": max(times),
        "times_s": times,
        "cpu_median_s": statistics.median(cpu),
        "slices_per_s": batch / med,
        "ms_per_slice": med * 1e3 / batch,
        "gflops_per_s": flop * batch / med,
        "peak_rss_mib": peak_rss_mib(),
    }
    if a.json:
        print(json.dumps(report))
    else:
        print(
            f"pytorch {torch.__version__}: preset {a.preset}, mode {a.mode}, batch {batch}, "
            f"{report['threads']} thread(s): median {med:.4f} s (min {min(times):.4f}, max {max(times):.4f}), "
            f"{report['slices_per_s']:.2f} slices/s, {report['gflops_per_s']:.1f} GFLOP/s, "
            f"peak RSS {report['peak_rss_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
