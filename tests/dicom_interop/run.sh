#!/usr/bin/env bash
# Outside-reader check for mtsa-dicom: dcm2niix must convert our series to the geometry and
# voxels our reader returns (and mtsa_io::read_nifti of that NIfTI must equal read_series), and
# pydicom must read our RTSTRUCT, find ROI "GTV_mtsa" and its contours must rasterise to our mask;
# the series converted by highdicom into one enhanced (multi-frame) image must read as dcm2niix
# reads it and as the single-frame series, and both re-encoded as JPEG 2000, HTJ2K (OpenJPH) and
# JPEG-LS (DCMTK) as the originals;
# laid out as a CD export (nested folders, a DCMTK DICOMDIR) the series reads from the top folder
# as dcm2niix reads it;
# dciodvfy (dicom3tools) must find no error in any image or RT Structure Set we write;
# and mtsa-dicom's own tests pass in a build with the jpeg-ls feature.
#
# Usage: tests/dicom_interop/run.sh [OUTDIR]   (default: a fresh /tmp directory)
# Needs: cargo; installs dcm2niix, dicom3tools, dcmtk, openjph-tools and cmake (apt-get) and pydicom/nibabel/numpy/highdicom/pylibjpeg-openjpeg into a throwaway venv
# under /tmp when missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$(mktemp -d /tmp/mtsa_dicom_interop.XXXXXX)}"
VENV="${MTSA_INTEROP_VENV:-/tmp/mtsa_dicom_interop_venv}"

# need COMMAND PACKAGE [WHY]: installs Debian's PACKAGE when COMMAND is missing.
need() {
    command -v "$1" >/dev/null 2>&1 && return
    echo "installing $2${3:+ ($3)}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get install -y "$2" >/dev/null || { $sudo apt-get update >/dev/null && $sudo apt-get install -y "$2" >/dev/null; }
}
need dcm2niix dcm2niix
need dciodvfy dicom3tools
need dcmmkdir dcmtk
need ojph_compress openjph-tools "HTJ2K encoder"
need cmake cmake "CharLS, the JPEG-LS codec of the jpeg-ls feature, builds with it"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import pydicom, nibabel, numpy, highdicom, openjpeg" 2>/dev/null; then
    echo "creating $VENV with pydicom, nibabel, numpy, highdicom, pylibjpeg-openjpeg"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q pydicom nibabel numpy highdicom pylibjpeg pylibjpeg-openjpeg
fi
echo "dcm2niix: $(dcm2niix -v 2>&1 | head -n 1)"
echo "pydicom $("$VENV/bin/python" -c 'import pydicom; print(pydicom.__version__)'), nibabel $("$VENV/bin/python" -c 'import nibabel; print(nibabel.__version__)'), highdicom $("$VENV/bin/python" -c 'import highdicom; print(highdicom.__version__)')"

cd "$ROOT"
# With JPEG-LS (CharLS), so that DCMTK's JPEG-LS copies below can be read; and the dicom crate's
# own tests in that build (its JPEG-LS fixtures read as their originals).
cargo build -q --release -p mtsa-dicom --examples --features jpeg-ls
TEST_LOG="$(mktemp /tmp/mtsa_jpeg_ls_tests.XXXXXX)"
cargo test -q --release -p mtsa-dicom --features jpeg-ls >"$TEST_LOG" 2>&1 \
    || { cat "$TEST_LOG"; echo "FAIL: mtsa-dicom tests with --features jpeg-ls"; exit 1; }
echo "mtsa-dicom tests with --features jpeg-ls: $(grep -c '^test result: ok' "$TEST_LOG") suites ok"
rm -f "$TEST_LOG"
EXAMPLES="$(cargo metadata --format-version 1 --no-deps | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/examples"
"$EXAMPLES/write_sample" "$OUT"

# compare NIFTI DICOM_DIR LABEL: read_series of the folder must give read_nifti of dcm2niix's
# NIfTI (voxels and affine); any difference fails the run.
compare() {
    local result
    result="$("$EXAMPLES/compare_nifti" "$1" "$2" 2>&1)" || { echo "$result"; echo "FAIL: $3"; exit 1; }
    echo "$3: $(tail -n 1 <<<"$result")"
}

for case_dir in "$OUT"/*/; do
    case_dir="${case_dir%/}"
    rm -rf "$case_dir/nifti" && mkdir -p "$case_dir/nifti"
    dcm2niix -o "$case_dir/nifti" -f vol -z n -b n "$case_dir/dicom" >"$case_dir/nifti/dcm2niix.log" 2>&1 \
        || { cat "$case_dir/nifti/dcm2niix.log"; echo "FAIL: dcm2niix on $case_dir"; exit 1; }
    compare "$case_dir/nifti/vol.nii" "$case_dir/dicom" "$(basename "$case_dir")"
done

# The same series as one multi-frame (enhanced) image, converted by highdicom: read as dcm2niix
# reads it, and as the single-frame series reads. (Named .mr, not .dcm: dciodvfy below checks
# the objects we write and their JPEG 2000 copies, not highdicom's conversion, on which it
# reports two errors of highdicom's: no Laterality, a Referenced Series Sequence without
# instances.)
for case_dir in "$OUT"/*/; do
    case_dir="${case_dir%/}"
    rm -rf "$case_dir/enhanced" "$case_dir/enhanced_nifti" && mkdir -p "$case_dir/enhanced" "$case_dir/enhanced_nifti"
    "$VENV/bin/python" "$ROOT/tests/dicom_interop/to_enhanced.py" "$case_dir/dicom" "$case_dir/enhanced/enhanced.mr" 2>/dev/null
    dcm2niix -o "$case_dir/enhanced_nifti" -f vol -z n -b n "$case_dir/enhanced" >"$case_dir/enhanced_nifti/dcm2niix.log" 2>&1 \
        || { cat "$case_dir/enhanced_nifti/dcm2niix.log"; echo "FAIL: dcm2niix on $case_dir/enhanced"; exit 1; }
    compare "$case_dir/enhanced_nifti/vol.nii" "$case_dir/enhanced" "$(basename "$case_dir") enhanced"
    compare "$case_dir/nifti/vol.nii" "$case_dir/enhanced" "$(basename "$case_dir") enhanced vs single-frame"
    # And both as JPEG 2000 Lossless (pydicom with OpenJPEG), as PACS archives often store them.
    rm -rf "$case_dir/jpeg2000" && mkdir -p "$case_dir/jpeg2000"
    "$VENV/bin/python" "$ROOT/tests/dicom_interop/to_jpeg2000.py" "$case_dir/dicom" "$case_dir/jpeg2000"
    compare "$case_dir/nifti/vol.nii" "$case_dir/jpeg2000" "$(basename "$case_dir") JPEG 2000 vs uncompressed"
    rm -rf "$case_dir/enhanced_jpeg2000" && mkdir -p "$case_dir/enhanced_jpeg2000"
    "$VENV/bin/python" "$ROOT/tests/dicom_interop/to_jpeg2000.py" "$case_dir/enhanced" "$case_dir/enhanced_jpeg2000"
    compare "$case_dir/nifti/vol.nii" "$case_dir/enhanced_jpeg2000" "$(basename "$case_dir") enhanced JPEG 2000 vs uncompressed"
    # And as HTJ2K Lossless (OpenJPH), as cloud archives store them.
    rm -rf "$case_dir/htj2k" "$case_dir/enhanced_htj2k"
    "$VENV/bin/python" "$ROOT/tests/dicom_interop/to_htj2k.py" "$case_dir/dicom" "$case_dir/htj2k"
    compare "$case_dir/nifti/vol.nii" "$case_dir/htj2k" "$(basename "$case_dir") HTJ2K vs uncompressed"
    "$VENV/bin/python" "$ROOT/tests/dicom_interop/to_htj2k.py" "$case_dir/enhanced" "$case_dir/enhanced_htj2k"
    compare "$case_dir/nifti/vol.nii" "$case_dir/enhanced_htj2k" "$(basename "$case_dir") enhanced HTJ2K vs uncompressed"
    # And as JPEG-LS Lossless by DCMTK's dcmcjpls (dcm4chee archives store JPEG-LS by default).
    rm -rf "$case_dir/jpeg_ls" "$case_dir/enhanced_jpeg_ls" && mkdir -p "$case_dir/jpeg_ls" "$case_dir/enhanced_jpeg_ls"
    for f in "$case_dir"/dicom/*.dcm; do
        dcmcjpls --encode-lossless "$f" "$case_dir/jpeg_ls/$(basename "$f")" || { echo "FAIL: dcmcjpls on $f"; exit 1; }
    done
    compare "$case_dir/nifti/vol.nii" "$case_dir/jpeg_ls" "$(basename "$case_dir") JPEG-LS vs uncompressed"
    dcmcjpls --encode-lossless "$case_dir/enhanced/enhanced.mr" "$case_dir/enhanced_jpeg_ls/enhanced.mr" \
        || { echo "FAIL: dcmcjpls on $case_dir/enhanced"; exit 1; }
    compare "$case_dir/nifti/vol.nii" "$case_dir/enhanced_jpeg_ls" "$(basename "$case_dir") enhanced JPEG-LS vs uncompressed"
done

# The series as a CD or PACS export lays it out: DICOM/<study>/<series>/<image>, file names
# without extension, a DICOMDIR made by DCMTK's dcmmkdir at the top. Read from the top folder as
# dcm2niix reads it.
for case_dir in "$OUT"/*/; do
    case_dir="${case_dir%/}"
    cd_dir="$case_dir/cd" && rm -rf "$cd_dir" "$case_dir/cd_nifti" && mkdir -p "$cd_dir/DICOM/ST000001/SE000001" "$case_dir/cd_nifti"
    i=0
    for f in "$case_dir"/dicom/*.dcm; do
        i=$((i + 1))
        cp "$f" "$cd_dir/DICOM/ST000001/SE000001/$(printf 'IM%06d' "$i")"
    done
    (cd "$cd_dir" && dcmmkdir -q +r -Pgp --invent DICOM) || { echo "FAIL: dcmmkdir on $cd_dir"; exit 1; }
    [ -f "$cd_dir/DICOMDIR" ] || { echo "FAIL: no DICOMDIR in $cd_dir"; exit 1; }
    dcm2niix -o "$case_dir/cd_nifti" -f vol -z n -b n "$cd_dir" >"$case_dir/cd_nifti/dcm2niix.log" 2>&1 \
        || { cat "$case_dir/cd_nifti/dcm2niix.log"; echo "FAIL: dcm2niix on $cd_dir"; exit 1; }
    compare "$case_dir/cd_nifti/vol.nii" "$cd_dir" "$(basename "$case_dir") CD layout with DICOMDIR"
done

# Every object must validate against its IOD: errors fail, warnings (e.g. Rescale Slope in an
# MR image, a Standard Extended SOP Class) are reported only. Not the HTJ2K copies: this
# dicom3tools cannot read that transfer syntax ("Dicom dataset read failed").
checked=0
while IFS= read -r -d '' f; do
    report="$(dciodvfy "$f" 2>&1 || true)"
    if grep '^Error' <<<"$report"; then
        echo "FAIL: dciodvfy reports errors in $f"
        exit 1
    fi
    checked=$((checked + 1))
done < <(find "$OUT" -name '*.dcm' -not -path '*htj2k/*' -print0)
echo "dciodvfy: no errors in $checked DICOM objects"

"$VENV/bin/python" "$ROOT/tests/dicom_interop/check.py" "$OUT"
echo "outputs in $OUT"
