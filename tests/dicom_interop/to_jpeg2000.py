"""Re-encodes every DICOM image in a folder as JPEG 2000 Lossless with pydicom and OpenJPEG
(pylibjpeg-openjpeg): `python to_jpeg2000.py IN_DIR OUT_DIR`. Used by run.sh, and to make
crates/dicom/fixtures/transfer_syntaxes/."""

import os
import sys

import pydicom
from pydicom.uid import JPEG2000Lossless

src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for name in sorted(os.listdir(src)):
    ds = pydicom.dcmread(os.path.join(src, name))
    ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")
    ds.save_as(os.path.join(dst, name))
