//! `cargo run -p mtsa-dicom --example compare_nifti -- FILE.nii DICOM_DIR`: checks that
//! `mtsa_io::read_nifti` of a dcm2niix conversion and `read_series` of the series give the same
//! volume (shape, affine within 1e-3 mm, voxels within 1e-3 relative). Exit status 1 if not.

use mtsa_dicom::read_series;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let [nifti, dicom] = args.as_slice() else {
        return Err("usage: compare_nifti FILE.nii DICOM_DIR".into());
    };
    let a = mtsa_io::read_nifti(nifti)?;
    let (b, _) = read_series(dicom, None)?;
    let affine_err = a
        .affine
        .iter()
        .flatten()
        .zip(b.affine.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    println!(
        "shape nifti {:?} dicom {:?}; max affine difference {affine_err:.2e} mm",
        a.shape(),
        b.shape()
    );
    if a.shape() != b.shape() || affine_err > 1e-3 {
        eprintln!(
            "MISMATCH: geometry differs\nnifti affine {:?}\ndicom affine {:?}",
            a.affine, b.affine
        );
        std::process::exit(1);
    }
    let scale = b.data.iter().fold(1f32, |m, v| m.max(v.abs()));
    let voxel_err = a
        .data
        .iter()
        .zip(b.data.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    println!("max voxel difference {voxel_err:.3e} (max |value| {scale})");
    if voxel_err > 1e-3 * scale {
        eprintln!("MISMATCH: voxels differ");
        std::process::exit(1);
    }
    println!("OK: read_nifti(dcm2niix output) == read_series");
    Ok(())
}
