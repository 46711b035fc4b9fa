"""Re-encodes every DICOM image in IN_DIR as High-Throughput JPEG 2000 Lossless (HTJ2K,
1.2.840.10008.1.2.4.201) into OUT_DIR: each frame's stored values written as a 16-bit PGM and
compressed reversibly by OpenJPH's `ojph_compress` (Debian's openjph-tools), the codestreams
encapsulated one fragment per frame by pydicom. HTJ2K is what cloud archives (AWS
HealthImaging) store and export: `python to_htj2k.py IN_DIR OUT_DIR`."""

import os
import subprocess
import sys
import tempfile

import numpy as np
import pydicom
from pydicom.encaps import encapsulate
from pydicom.uid import UID

HTJ2K_LOSSLESS = UID("1.2.840.10008.1.2.4.201")


def htj2k(frame: np.ndarray, bits: int, work: str) -> bytes:
    pgm, j2c = os.path.join(work, "f.pgm"), os.path.join(work, "f.j2c")
    with open(pgm, "wb") as f:
        f.write(f"P5 {frame.shape[1]} {frame.shape[0]} {(1 << bits) - 1}\n".encode())
        f.write(frame.astype(">u2").tobytes())
    subprocess.run(
        ["ojph_compress", "-i", pgm, "-o", j2c, "-reversible", "true", "-num_decomps", "3"],
        check=True,
        capture_output=True,
    )
    with open(j2c, "rb") as f:
        return f.read()


src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
with tempfile.TemporaryDirectory() as work:
    for name in sorted(os.listdir(src)):
        ds = pydicom.dcmread(os.path.join(src, name))
        if "PixelData" not in ds:
            continue
        if ds.PixelRepresentation != 0 or ds.BitsAllocated != 16:
            sys.exit(f"{name}: only unsigned 16-bit images are converted")
        frames = ds.pixel_array.reshape((-1, ds.Rows, ds.Columns))
        ds.PixelData = encapsulate([htj2k(f, ds.BitsStored, work) for f in frames])
        ds["PixelData"].VR = "OB"
        ds.file_meta.TransferSyntaxUID = HTJ2K_LOSSLESS
        ds.save_as(os.path.join(out, name), enforce_file_format=True)
