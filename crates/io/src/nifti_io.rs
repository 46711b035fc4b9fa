//! NIfTI-1 read and write. Reading is ours (`nifti_header`, `nifti_data`) rather than the
//! `nifti` crate's, whose volume and qform paths panic or allocate without bound on malformed
//! files; user files must produce errors naming them. Writing uses the crate on checked input.

use crate::nifti_data::read_stream;
use crate::{affine_problem, write_atomic, IoError, Volume};
use ndarray::{Array3, ShapeBuilder};
use nifti::writer::WriterOptions;
use nifti::{NiftiHeader, XForm};
use std::path::Path;

/// Reads a 3-D volume (a 4-D file with one time point is accepted) as f32 with scl_slope applied.
/// Non-finite voxels are an error: they would poison intensity normalisation silently.
pub fn read_nifti(path: &Path) -> Result<Volume<f32>, IoError> {
    let vol = read_raw(path)?;
    if let Some(bad) = vol.data.iter().find(|v| !v.is_finite()) {
        return Err(IoError::invalid(
            path,
            format!("contains a non-finite voxel value ({bad})"),
        ));
    }
    Ok(vol)
}

/// Reads a label map: every voxel must be a non-negative integer below 65536.
pub fn read_nifti_labels(path: &Path) -> Result<Volume<u16>, IoError> {
    let vol = read_nifti(path)?;
    if let Some(bad) = vol
        .data
        .iter()
        .find(|v| v.fract() != 0.0 || **v < 0.0 || **v > 65535.0)
    {
        return Err(IoError::invalid(
            path,
            format!("label map holds {bad}, which is not a non-negative integer label"),
        ));
    }
    Ok(vol.map(|v| *v as u16))
}

fn read_raw(path: &Path) -> Result<Volume<f32>, IoError> {
    if !path.is_file() {
        return Err(IoError::invalid(path, "file not found"));
    }
    let nifti_err = |reason: String| IoError::Nifti {
        path: path.to_path_buf(),
        reason,
    };
    let (layout, affine, voxels) = read_stream(path).map_err(nifti_err)?;
    let [x, y, z] = layout.shape;
    // NIfTI stores x fastest: Fortran order, as the `nifti` crate's arrays have it.
    let data =
        Array3::from_shape_vec((x, y, z).f(), voxels).map_err(|e| nifti_err(e.to_string()))?;
    Ok(Volume::new(data, affine))
}

/// Voxel types we write: f32 images and u8 masks (the types the synthetic cohort and
/// predictions use), plus i16/u16 for DICOM-derived data.
pub trait NiftiElement: nifti::DataElement + bytemuck::Pod {}
impl NiftiElement for f32 {}
impl NiftiElement for u8 {}
impl NiftiElement for i16 {}
impl NiftiElement for u16 {}

/// Writes `.nii` or `.nii.gz` (by extension) with the affine in both sform and qform, so readers
/// that prefer either agree; atomically, so an interrupted write leaves nothing behind.
/// The affine and shape are checked first: the crate's sform/qform setters `unwrap` on values
/// that do not fit its 32-bit fields (e.g. a 1e-300 mm spacing from a DICOM header).
pub fn write_nifti<T: NiftiElement>(path: &Path, vol: &Volume<T>) -> Result<(), IoError> {
    if let Some(problem) = affine_problem(&vol.affine) {
        return Err(IoError::invalid(path, format!("cannot write: {problem}")));
    }
    let shape = vol.shape();
    if shape.iter().any(|d| *d == 0 || *d > i16::MAX as usize) {
        return Err(IoError::invalid(
            path,
            format!("cannot write shape {shape:?}: NIfTI-1 sizes are 1 to 32767"),
        ));
    }
    let mut header = NiftiHeader::default();
    let m = nalgebra::Matrix4::from_fn(|r, c| vol.affine[r][c]);
    header.set_sform(&m, XForm::ScannerAnat);
    header.set_qform(&m, XForm::ScannerAnat);
    header.xyzt_units = 2 | 8; // millimetres, seconds
    write_atomic(path, |tmp| {
        WriterOptions::new(tmp)
            .reference_header(&header)
            .write_nifti(&vol.data)
            .map_err(|e| match e {
                // A full disk or a lost mount, said as the system says it.
                nifti::NiftiError::Io(io) => IoError::io(path, io),
                other => IoError::invalid(path, format!("cannot write NIfTI ({other})")),
            })
    })
}
