#!/usr/bin/env python3
"""Times mtsa-radiomics against PyRadiomics on the same masks (the six BRATS tumour cores in
../shared/data at 1 mm, bin width 0.25, all 107 default features), interleaved (ours, theirs,
then theirs, ours, ...), and prints the per-case medians. Both sides time the extraction only
(image and mask already in memory); ours runs single-threaded.

Needs the PyRadiomics environment of crates/radiomics/fixtures/regenerate.py (.venv-radiomics)
and a release build of the example:

    cargo build --release -p mtsa-radiomics --example extract
    .venv-radiomics/bin/python bench/radiomics_vs_pyradiomics.py [--rounds 5]

Run it on a quiet machine; it prints `lscpu`'s model name first.
"""
import argparse
import logging
import os
import statistics
import subprocess
import time

import numpy as np
import SimpleITK as sitk
from radiomics import featureextractor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "brats2013-glioma"))
OURS = os.path.join(ROOT, "target", "release", "examples", "extract")
CORE = (1, 3, 4)
BIN_WIDTH = 0.25


def cpu_model():
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return next((l.split(":", 1)[1].strip() for l in out.splitlines() if "Model name" in l), "?")


def ours(case_dir):
    out = subprocess.run(
        [OURS, f"{case_dir}/T1c_subtrMeanDivStd.nii.gz", f"{case_dir}/OTMultiClass.nii.gz",
         ",".join(map(str, CORE)), str(BIN_WIDTH), "1"],
        capture_output=True, text=True, check=True).stdout
    return float(next(l.split()[1] for l in out.splitlines() if l.startswith("seconds ")))


def theirs(extractor, image, mask):
    start = time.perf_counter()
    extractor.execute(image, mask)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.getLogger("radiomics").setLevel(logging.ERROR)
    print(f"CPU: {cpu_model()}")
    if not os.path.isfile(OURS):
        raise SystemExit(f"{OURS} missing: cargo build --release -p mtsa-radiomics --example extract")
    extractor = featureextractor.RadiomicsFeatureExtractor(binWidth=BIN_WIDTH)
    extractor.settings["additionalInfo"] = False
    print(f"{'case':<22}{'voxels':>8}{'ours s':>10}{'PyRadiomics s':>15}{'speed-up':>10}")
    for i in range(1, 7):
        case_dir = f"{DATA}/brats_2013_pat000{i}_1"
        image = sitk.ReadImage(f"{case_dir}/T1c_subtrMeanDivStd.nii.gz")
        labels = sitk.GetArrayFromImage(sitk.ReadImage(f"{case_dir}/OTMultiClass.nii.gz"))
        mask = sitk.GetImageFromArray(np.isin(labels, CORE).astype(np.uint8))
        mask.CopyInformation(image)
        t_ours, t_theirs = [], []
        for r in range(args.rounds):
            order = (0, 1) if r % 2 == 0 else (1, 0)
            for who in order:
                if who == 0:
                    t_ours.append(ours(case_dir))
                else:
                    t_theirs.append(theirs(extractor, image, mask))
        a, b = statistics.median(t_ours), statistics.median(t_theirs)
        voxels = int(np.isin(labels, CORE).sum())
        print(f"brats_2013_pat000{i}_1 {voxels:>8}{a:>10.3f}{b:>15.3f}{b / a:>9.1f}x")


if __name__ == "__main__":
    main()
