"""Converts a single-frame MR series into one Legacy Converted Enhanced MR Image (multi-frame)
with highdicom, as a PACS or converter would: `python to_enhanced.py SERIES_DIR OUT.dcm`.
Used by run.sh to check that mtsa reads enhanced images as dcm2niix does, and to make
crates/dicom/fixtures/enhanced_mr/oblique_3d.dcm."""

import glob
import sys

import highdicom
import pydicom
from highdicom.legacy import LegacyConvertedEnhancedMRImage

src, dst = sys.argv[1], sys.argv[2]
slices = [pydicom.dcmread(f) for f in sorted(glob.glob(src + "/*.dcm"))]
image = LegacyConvertedEnhancedMRImage(
    legacy_datasets=slices,
    series_instance_uid=highdicom.UID(),
    series_number=slices[0].SeriesNumber or 1,
    sop_instance_uid=highdicom.UID(),
    instance_number=1,
)
image.save_as(dst)
