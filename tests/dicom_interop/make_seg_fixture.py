"""Writes crates/dicom/fixtures/seg/: highdicom Segmentations (BINARY and FRACTIONAL,
uncompressed, JPEG 2000 Lossless, and FRACTIONAL RLE Lossless and JPEG-LS Lossless; JPEG-LS
needs pyjpegls) of a
spherical "GTV" on the enhanced MR fixture, and the RAS millimetre positions of the voxels the
GTV holds, computed here from the frames' own geometry, for crates/dicom/tests/seg_read.rs:
`python make_seg_fixture.py crates/dicom/fixtures/enhanced_mr/oblique_3d.dcm OUT_DIR`."""

import json
import os
import sys

import highdicom as hd
import numpy as np
import pydicom
from highdicom.seg import SegmentDescription, Segmentation, SegmentationTypeValues
from pydicom.sr.codedict import codes

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
image = pydicom.dcmread(src)
rows, cols, frames = image.Rows, image.Columns, int(image.NumberOfFrames)
shared = image.SharedFunctionalGroupsSequence[0]
iop = np.array(shared.PlaneOrientationSequence[0].ImageOrientationPatient, dtype=float)
spacing = np.array(shared.PixelMeasuresSequence[0].PixelSpacing, dtype=float)
positions = np.array(
    [g.PlanePositionSequence[0].ImagePositionPatient for g in image.PerFrameFunctionalGroupsSequence],
    dtype=float,
)
# LPS position of pixel (r, c) of frame f: IPP + c * col_spacing * row_dir + r * row_spacing * col_dir.
row_dir, col_dir = iop[:3], iop[3:]
centre = positions.mean(axis=0)
mask = np.zeros((frames, rows, cols), dtype=bool)
points = []
for f in range(frames):
    for r in range(rows):
        for c in range(cols):
            p = positions[f] + c * spacing[1] * row_dir + r * spacing[0] * col_dir
            if np.linalg.norm(p - centre) <= 9.0:
                mask[f, r, c] = True
                points.append([round(-p[0], 3), round(-p[1], 3), round(p[2], 3)])  # LPS -> RAS

description = SegmentDescription(
    segment_number=1,
    segment_label="GTV",
    segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
    segmented_property_type=codes.SCT.Neoplasm,
    algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
)
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, JPEGLSLossless, RLELossless

# Uncompressed, and as highdicom compresses them (RLE and JPEG-LS are FRACTIONAL only in
# highdicom).
variants = [
    (SegmentationTypeValues.BINARY, ExplicitVRLittleEndian, "binary.dcm"),
    (SegmentationTypeValues.FRACTIONAL, ExplicitVRLittleEndian, "fractional.dcm"),
    (SegmentationTypeValues.BINARY, JPEG2000Lossless, "binary_jpeg2000.dcm"),
    (SegmentationTypeValues.FRACTIONAL, JPEG2000Lossless, "fractional_jpeg2000.dcm"),
    (SegmentationTypeValues.FRACTIONAL, RLELossless, "fractional_rle.dcm"),
    (SegmentationTypeValues.FRACTIONAL, JPEGLSLossless, "fractional_jpeg_ls.dcm"),
]
for kind, syntax, name in variants:
    seg = Segmentation(
        source_images=[image],
        pixel_array=mask.astype(np.uint8) if kind == SegmentationTypeValues.BINARY else mask.astype(np.float32) * 0.8,
        segmentation_type=kind,
        segment_descriptions=[description],
        series_instance_uid=hd.UID(),
        series_number=300,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="mtsa test",
        manufacturer_model_name="make_seg_fixture.py",
        software_versions=hd.__version__,
        device_serial_number="0",
        max_fractional_value=255,
        omit_empty_frames=True,
        transfer_syntax_uid=syntax,
    )
    seg.save_as(os.path.join(out, name))
json.dump({"gtv_ras_mm": points}, open(os.path.join(out, "gtv_points.json"), "w"))
print(f"{len(points)} GTV pixels in {int(mask.any(axis=(1, 2)).sum())} of {frames} frames")
