#!/usr/bin/env python3
"""What the whole-scan EGFR target asks of a model, per demo run (docs/whole-scan.md,
"Eighteenth session"). Reads a demo folder's cohort/truth.json and dataset/splits.json only.

For each scored set: the Bayes accuracy the report quotes (mean of max(P, 1 - P)); what the
Bayes rule (mutant when P > 0.5) scores on the labels this cohort actually drew; how often the
Bayes rule lands within 0.08 of the Bayes accuracy over fresh label draws (so how much of the
target is luck for a perfect model); and the accuracy of a logistic regression fitted on the
training patients' *true* phenotype (a model that measures these exactly), with the lesion
count and size alone, with oedema added, and with all five terms of the EGFR formula.

Usage: python3 docs/analysis/egfr_ceiling.py DEMO_DIR [DEMO_DIR ...]   (needs numpy)
"""
import json
import sys

import numpy as np

SETS = ["test", "external-site-b", "external-site-c"]
FEATURES = {
    "count + size": lambda f: [f["lesions"], np.log(f["mean_radius_mm"])],
    "+ oedema": lambda f: [f["lesions"], np.log(f["mean_radius_mm"]), f["mean_oedema_mm"]],
    "all five": lambda f: [
        f["lesions"],
        np.log(f["mean_radius_mm"]),
        f["mean_oedema_mm"],
        f["mean_necrosis_fraction"],
        f["mean_heterogeneity"],
    ],
}


def fit_logistic(x, y, ridge=1e-2, steps=100):
    """Newton's method on the ridge-penalised log-likelihood (intercept unpenalised)."""
    x = np.c_[np.ones(len(x)), x]
    w = np.zeros(x.shape[1])
    pen = ridge * np.r_[0.0, np.ones(x.shape[1] - 1)]
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (p - y) + pen * w
        hess = (x.T * (p * (1 - p))) @ x + np.diag(pen)
        w -= np.linalg.solve(hess, grad)
    return w


def main(dirs):
    rng = np.random.default_rng(1)
    for d in dirs:
        truth = json.load(open(f"{d}/cohort/truth.json"))
        splits = json.load(open(f"{d}/dataset/splits.json"))
        pat = {p["id"]: p for p in truth["patients"]}
        mutant = lambda ids: np.array([pat[i]["egfr"] == "mutant" for i in ids])
        fitted = {}
        for name, f in FEATURES.items():
            x = np.array([f(pat[i]["phenotype"]) for i in splits["train"]], float)
            mu, sd = x.mean(0), x.std(0)
            fitted[name] = (f, mu, sd, fit_logistic((x - mu) / sd, mutant(splits["train"])))
        for s in SETS:
            ids = splits[s]
            p = np.array([pat[i]["p_mutant"] for i in ids])
            y = mutant(ids)
            bayes = np.maximum(p, 1 - p).mean()
            drawn = ((p > 0.5) == y).mean()
            fresh = (rng.random((20000, len(ids))) < np.maximum(p, 1 - p)).mean(1)
            luck = (fresh >= bayes - 0.08).mean()
            row = f"{d} {s:16s} n={len(ids):3d} Bayes {bayes:.3f} rule on drawn labels {drawn:.3f} P(rule within 0.08) {luck:.2f} |"
            for name, (f, mu, sd, w) in fitted.items():
                x = (np.array([f(pat[i]["phenotype"]) for i in ids], float) - mu) / sd
                acc = (((np.c_[np.ones(len(x)), x] @ w) > 0) == y).mean()
                row += f" {name} {acc:.3f}"
            print(row)


if __name__ == "__main__":
    main(sys.argv[1:])
