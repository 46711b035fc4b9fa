"""Outside-reader check of mtsa-dicom output (run by run.sh).

For each case folder written by `write_sample`: nibabel reads dcm2niix's NIfTI of our series and
must find the shape, affine (1e-3 mm) and voxels `read_series` reported; pydicom reads our
RTSTRUCT, must find ROI "GTV_mtsa" with CLOSED_PLANAR contours referencing our images, and an
independent even-odd rasterisation of those contours on dcm2niix's grid must equal our mask;
highdicom reads our Segmentation, which must reference our images and whose segment "GTV",
placed by each frame's source image position, must be our mask on dcm2niix's grid, and its
segments "GTV_1" and "GTV_2" two parts that tile it, each segment displayed in its ROI's colour; and the three ROIs of rtstruct_rois.dcm,
numbered 1-3, must rasterise to our mask and the same two parts.
"""
import glob
import json
import os
import sys

import nibabel as nib
import numpy as np
import highdicom as hd
import pydicom

ROI = "GTV_mtsa"


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def rasterise(ds, roi_number, affine, shape):
    """Even-odd fill of the ROI's contours at voxel centres of the NIfTI grid."""
    inv = np.linalg.inv(affine)
    mask = np.zeros(shape, dtype=bool)
    roi = next(r for r in ds.ROIContourSequence if int(r.ReferencedROINumber) == roi_number)
    for c in roi.ContourSequence:
        pts = np.asarray(c.ContourData, dtype=float).reshape(-1, 3)
        ras = pts * np.array([-1.0, -1.0, 1.0])  # LPS -> RAS
        ijk = (inv[:3, :3] @ ras.T).T + inv[:3, 3]
        # The contour's plane is the voxel axis along which it is constant.
        axis = int(np.argmin(np.ptp(ijk, axis=0)))
        level = ijk[:, axis].mean()
        if abs(level - round(level)) > 0.1 or np.ptp(ijk[:, axis]) > 0.1:
            fail(f"contour {c.ContourNumber} is not on a slice of the dcm2niix grid")
        a, b = [d for d in range(3) if d != axis]
        xs, ys = np.meshgrid(np.arange(shape[a]), np.arange(shape[b]), indexing="ij")
        px, py = ijk[:, a], ijk[:, b]
        inside = np.zeros(xs.shape, dtype=bool)
        for e in range(len(px)):
            x0, y0, x1, y1 = px[e], py[e], px[(e + 1) % len(px)], py[(e + 1) % len(px)]
            crosses = (y0 <= ys) != (y1 <= ys)
            with np.errstate(divide="ignore", invalid="ignore"):
                xc = x0 + (ys - y0) * (x1 - x0) / (y1 - y0)
            inside ^= crosses & (xs < xc)
        sl = [slice(None)] * 3
        sl[axis] = int(round(level))
        mask[tuple(sl)] ^= inside
    return mask


def check_case(case_dir):
    name = os.path.basename(case_dir)
    exp = json.load(open(os.path.join(case_dir, "expected.json")))
    shape = tuple(exp["shape"])
    niis = glob.glob(os.path.join(case_dir, "nifti", "*.nii"))
    if len(niis) != 1:
        fail(f"{name}: expected one NIfTI from dcm2niix, found {niis}")
    img = nib.load(niis[0])
    if img.shape != shape:
        fail(f"{name}: dcm2niix shape {img.shape} != ours {shape}")
    affine_err = np.abs(img.affine - np.asarray(exp["affine"])).max()
    if affine_err > 1e-3:
        fail(f"{name}: affine differs by {affine_err} mm\n{img.affine}\n{np.asarray(exp['affine'])}")
    ours = np.fromfile(os.path.join(case_dir, "voxels.f32"), dtype="<f4").reshape(shape)
    voxel_err = np.abs(img.get_fdata() - ours).max()
    if voxel_err > 1e-3 * max(1.0, exp["max_abs_voxel"]):
        fail(f"{name}: voxels differ by up to {voxel_err}")

    series = [pydicom.dcmread(f) for f in sorted(glob.glob(os.path.join(case_dir, "dicom", "*.dcm")))]
    sop_uids = {s.SOPInstanceUID for s in series}
    ds = pydicom.dcmread(os.path.join(case_dir, "rtstruct.dcm"))
    if ds.SOPClassUID != "1.2.840.10008.5.1.4.1.1.481.3" or ds.Modality != "RTSTRUCT":
        fail(f"{name}: not an RT Structure Set")
    if ds.StudyInstanceUID != series[0].StudyInstanceUID:
        fail(f"{name}: RTSTRUCT is in another study")
    frame = ds.ReferencedFrameOfReferenceSequence[0]
    if frame.FrameOfReferenceUID != series[0].FrameOfReferenceUID:
        fail(f"{name}: wrong frame of reference")
    ref_series = frame.RTReferencedStudySequence[0].RTReferencedSeriesSequence[0]
    if ref_series.SeriesInstanceUID != series[0].SeriesInstanceUID:
        fail(f"{name}: wrong referenced series")
    rois = {r.ROIName: int(r.ROINumber) for r in ds.StructureSetROISequence}
    if ROI not in rois:
        fail(f"{name}: ROI {ROI} not found in {list(rois)}")
    roi = next(r for r in ds.ROIContourSequence if int(r.ReferencedROINumber) == rois[ROI])
    contours = list(roi.ContourSequence)
    if not contours:
        fail(f"{name}: ROI has no contours")
    for c in contours:
        if c.ContourGeometricType != "CLOSED_PLANAR":
            fail(f"{name}: contour type {c.ContourGeometricType}")
        if len(c.ContourData) != 3 * int(c.NumberOfContourPoints):
            fail(f"{name}: contour point count mismatch")
        if c.ContourImageSequence[0].ReferencedSOPInstanceUID not in sop_uids:
            fail(f"{name}: contour references an image not in the series")
    ours_mask = np.fromfile(os.path.join(case_dir, "mask.u8"), dtype=np.uint8).reshape(shape) != 0
    theirs = rasterise(ds, rois[ROI], img.affine, shape)
    diff = int((ours_mask != theirs).sum())
    if diff:
        fail(f"{name}: independent rasterisation differs in {diff} of {ours_mask.sum()} voxels")
    seg_voxels = check_seg(name, case_dir, series, img.affine, ours_mask)
    # Several ROIs in one structure set: the whole mask first, then parts that tile it.
    multi = pydicom.dcmread(os.path.join(case_dir, "rtstruct_rois.dcm"))
    numbers = {r.ROIName: int(r.ROINumber) for r in multi.StructureSetROISequence}
    if list(numbers) != [ROI, ROI + "_1", ROI + "_2"] or list(numbers.values()) != [1, 2, 3]:
        fail(f"{name}: rtstruct_rois.dcm holds {numbers}")
    whole = rasterise(multi, 1, img.affine, shape)
    parts = [rasterise(multi, n, img.affine, shape) for n in (2, 3)]
    if (whole != ours_mask).any() or (parts[0] & parts[1]).any() or ((parts[0] | parts[1]) != whole).any():
        fail(f"{name}: the ROIs of rtstruct_rois.dcm do not tile the mask")
    if not all(p.any() for p in parts):
        fail(f"{name}: an empty part in rtstruct_rois.dcm")
    print(f"ok {name}: shape {shape}, affine err {affine_err:.1e} mm, voxel err {voxel_err:.1e}, "
          f"{len(contours)} contours, {int(ours_mask.sum())} mask voxels reproduced by pydicom+numpy, "
          f"{seg_voxels} by highdicom from the SEG (2 more segments tiling it), 3 ROIs tiling it in "
          f"rtstruct_rois.dcm")


def check_seg(name, case_dir, series, affine, ours_mask):
    """Our SEG read by highdicom: segments "GTV", "GTV_1", "GTV_2", AUTOMATIC; segment 1 has a
    frame per source image, and its pixels put into world space by the source images' geometry
    must give our mask; segments 2 and 3 (frames only where they are) must tile it."""
    seg = hd.seg.segread(os.path.join(case_dir, "seg.dcm"))
    if seg.segmentation_type != hd.seg.SegmentationTypeValues.BINARY:
        fail(f"{name}: SEG is not BINARY")
    for number, label in enumerate(["GTV", "GTV_1", "GTV_2"], start=1):
        desc = seg.get_segment_description(number)
        if desc.segment_label != label or desc.algorithm_type != hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC:
            fail(f"{name}: segment {number} is {desc.segment_label!r} ({desc.algorithm_type})")
    # Each segment's recommended colour is its structure-set ROI's, as highdicom converts it.
    rois = pydicom.dcmread(os.path.join(case_dir, "rtstruct_rois.dcm"))
    for number, roi in enumerate(rois.ROIContourSequence, start=1):
        lab = seg.get_segment_description(number).RecommendedDisplayCIELabValue
        rgb = hd.color.CIELabColor.from_dicom_value(lab).to_rgb(clip=True)
        want = [int(v) for v in roi.ROIDisplayColor]
        if max(abs(a - b) for a, b in zip(rgb, want)) > 1:
            fail(f"{name}: segment {number} displays as {rgb}, its ROI as {want}")
    if seg.StudyInstanceUID != series[0].StudyInstanceUID or seg.FrameOfReferenceUID != series[0].FrameOfReferenceUID:
        fail(f"{name}: SEG is in another study or frame of reference")
    if int(seg.NumberOfFrames) <= len(series):
        fail(f"{name}: {seg.NumberOfFrames} frames for {len(series)} images and 3 segments")
    uids = [s.SOPInstanceUID for s in series]
    inverse = np.linalg.inv(affine)

    def placed(number):
        pixels = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=[number])
        theirs = np.zeros(ours_mask.shape, dtype=bool)
        for s, frame in zip(series, pixels[..., 0]):
            rows, cols = np.nonzero(frame)
            row_dir = np.asarray(s.ImageOrientationPatient[:3], float)
            col_dir = np.asarray(s.ImageOrientationPatient[3:], float)
            dr, dc = (float(v) for v in s.PixelSpacing)
            lps = (np.asarray(s.ImagePositionPatient, float)[None, :] + cols[:, None] * dc * row_dir
                   + rows[:, None] * dr * col_dir)
            ras = lps * np.array([-1.0, -1.0, 1.0])
            ijk = np.rint((inverse[:3, :3] @ ras.T).T + inverse[:3, 3]).astype(int)
            theirs[tuple(ijk.T)] = True
        return theirs

    theirs = placed(1)
    diff = int((ours_mask != theirs).sum())
    if diff:
        fail(f"{name}: highdicom's SEG differs from our mask in {diff} of {ours_mask.sum()} voxels")
    parts = [placed(n) for n in (2, 3)]
    if (parts[0] & parts[1]).any() or ((parts[0] | parts[1]) != theirs).any() or not all(p.any() for p in parts):
        fail(f"{name}: segments 2 and 3 of seg.dcm do not tile segment 1")
    return int(theirs.sum())


if __name__ == "__main__":
    cases = sorted(d for d in glob.glob(os.path.join(sys.argv[1], "*")) if os.path.isdir(d))
    if not cases:
        fail("no cases")
    for d in cases:
        check_case(d)
    print(f"PASS: {len(cases)} cases")
