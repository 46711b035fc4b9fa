//! NIfTI-1 read and write. The affine is computed here rather than by the `nifti` crate because
//! its qform path panics on malformed headers, and user files must produce errors, not panics.

use crate::{write_atomic, Affine, IoError, Volume};
use ndarray::{Array3, Ix3};
use nifti::writer::WriterOptions;
use nifti::{IntoNdArray, NiftiHeader, NiftiObject, ReaderOptions, XForm};
use std::path::Path;

/// Reads a 3-D volume (a 4-D file with one time point is accepted) as f32 with scl_slope applied.
/// Non-finite voxels are an error: they would poison intensity normalisation silently.
pub fn read_nifti(path: &Path) -> Result<Volume<f32>, IoError> {
    let (header, data) = read_raw(path)?;
    if let Some(bad) = data.iter().find(|v| !v.is_finite()) {
        return Err(IoError::invalid(
            path,
            format!("contains a non-finite voxel value ({bad})"),
        ));
    }
    Ok(Volume::new(data, affine_of(&header, path)?))
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

fn read_raw(path: &Path) -> Result<(NiftiHeader, Array3<f32>), IoError> {
    if !path.is_file() {
        return Err(IoError::invalid(path, "file not found"));
    }
    let nifti_err = |reason: String| IoError::Nifti {
        path: path.to_path_buf(),
        reason,
    };
    // The crate can panic on corrupt headers; a panic here must become this file's error.
    let read = std::panic::catch_unwind(|| -> Result<_, String> {
        let obj = ReaderOptions::new()
            .read_file(path)
            .map_err(|e| e.to_string())?;
        let header = obj.header().clone();
        let data = obj
            .into_volume()
            .into_ndarray::<f32>()
            .map_err(|e| e.to_string())?;
        Ok((header, data))
    })
    .map_err(|_| nifti_err("corrupt header or data".into()))?;
    let (header, data) = read.map_err(nifti_err)?;
    let shape = data.shape().to_vec();
    let data = match shape.len() {
        3 => data,
        4 if shape[3] == 1 => data.index_axis_move(ndarray::Axis(3), 0),
        _ => {
            return Err(IoError::invalid(
                path,
                format!("expected a 3-D volume, found shape {shape:?}"),
            ))
        }
    };
    let data = data
        .into_dimensionality::<Ix3>()
        .map_err(|e| nifti_err(e.to_string()))?;
    if data.is_empty() {
        return Err(IoError::invalid(path, "volume has no voxels"));
    }
    Ok((header, data))
}

/// sform when its code is set, else qform, else the pixdim diagonal: the order NIfTI readers
/// (nibabel, ITK) agree on.
fn affine_of(h: &NiftiHeader, path: &Path) -> Result<Affine, IoError> {
    let affine = if h.sform_code > 0 {
        let rows = [h.srow_x, h.srow_y, h.srow_z];
        let mut a = [[0.0; 4]; 4];
        for r in 0..3 {
            for c in 0..4 {
                a[r][c] = rows[r][c] as f64;
            }
        }
        a[3][3] = 1.0;
        a
    } else if h.qform_code > 0 {
        qform_affine(h)
    } else {
        let p = |i: usize| {
            if h.pixdim[i] > 0.0 {
                h.pixdim[i] as f64
            } else {
                1.0
            }
        };
        crate::diagonal_affine([p(1), p(2), p(3)], [0.0; 3])
    };
    let det = det3(&affine);
    if !det.is_finite() || det.abs() < 1e-9 {
        return Err(IoError::invalid(
            path,
            "header affine is singular or not finite",
        ));
    }
    Ok(affine)
}

fn qform_affine(h: &NiftiHeader) -> Affine {
    let (b, c, d) = (h.quatern_b as f64, h.quatern_c as f64, h.quatern_d as f64);
    let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
    let r = [
        [
            a * a + b * b - c * c - d * d,
            2.0 * (b * c - a * d),
            2.0 * (b * d + a * c),
        ],
        [
            2.0 * (b * c + a * d),
            a * a + c * c - b * b - d * d,
            2.0 * (c * d - a * b),
        ],
        [
            2.0 * (b * d - a * c),
            2.0 * (c * d + a * b),
            a * a + d * d - c * c - b * b,
        ],
    ];
    let qfac = if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
    let s = [
        h.pixdim[1].abs() as f64,
        h.pixdim[2].abs() as f64,
        h.pixdim[3].abs() as f64 * qfac,
    ];
    let t = [h.quatern_x as f64, h.quatern_y as f64, h.quatern_z as f64];
    let mut m = [[0.0; 4]; 4];
    for row in 0..3 {
        for col in 0..3 {
            m[row][col] = r[row][col] * s[col];
        }
        m[row][3] = t[row];
    }
    m[3][3] = 1.0;
    m
}

fn det3(a: &Affine) -> f64 {
    a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
        - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
        + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
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
pub fn write_nifti<T: NiftiElement>(path: &Path, vol: &Volume<T>) -> Result<(), IoError> {
    let mut header = NiftiHeader::default();
    let m = nalgebra::Matrix4::from_fn(|r, c| vol.affine[r][c]);
    header.set_sform(&m, XForm::ScannerAnat);
    header.set_qform(&m, XForm::ScannerAnat);
    header.xyzt_units = 2 | 8; // millimetres, seconds
    write_atomic(path, |tmp| {
        WriterOptions::new(tmp)
            .reference_header(&header)
            .write_nifti(&vol.data)
            .map_err(|e| IoError::Nifti {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
    })
}
