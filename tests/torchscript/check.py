"""Runs an `mtsa export` folder with plain PyTorch and checks it against mtsa's own outputs.

Usage: python tests/torchscript/check.py EXPORT_DIR   (needs `torch` and `numpy`)

The same few lines are the README's snippet: load model.pt with torch.jit.load, feed N x C x S x S
slices preprocessed as preprocess.json says, read channel 0 (GTV probability) and channel 1
(P(EGFR mutant) of the slice) of the output.
"""
import json
import os
import sys

import numpy as np
import torch

out = sys.argv[1]
info = json.load(open(os.path.join(out, "export.json")))
n = info["example_slices"]
if n == 0:
    sys.exit("FAIL: export without --example: nothing to compare")
c, s, _ = info["input_shape"]
x = np.fromfile(os.path.join(out, "example_input.f32"), dtype="<f4").reshape(n, c, s, s)
want_gtv = np.fromfile(os.path.join(out, "example_gtv.f32"), dtype="<f4").reshape(n, 1, s, s)
want_p = np.fromfile(os.path.join(out, "example_p_mutant.f32"), dtype="<f4")

model = torch.jit.load(os.path.join(out, "model.pt"), map_location="cpu").eval()
with torch.no_grad():
    y = model(torch.from_numpy(x)).numpy()   # N x 2 x S x S
gtv, p_mutant = y[:, :1], y[:, 1, 0, 0]
gtv_err = float(np.abs(gtv - want_gtv).max())
p_err = float(np.abs(p_mutant - want_p).max())
print(f"torch {torch.__version__}: {n} slices, max |GTV diff| {gtv_err:.2e}, max |P(mutant) diff| {p_err:.2e}")
if gtv_err > 1e-4 or p_err > 1e-4:
    sys.exit("FAIL: PyTorch and mtsa differ by more than 1e-4")
print("PASS")
