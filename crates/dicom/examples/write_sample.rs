//! Writes sample series and a structure set for the outside-reader check in
//! `tests/dicom_interop/run.sh`: `cargo run -p mtsa-dicom --example write_sample -- OUTDIR`.
//!
//! For each case, OUTDIR/<case>/dicom/ holds the series, OUTDIR/<case>/expected.json what
//! `read_series` returns for it (shape, affine, SOP/Frame UIDs) and OUTDIR/<case>/voxels.f32 the
//! voxels (little-endian f32, C order over [i, j, k]). The "axial" case also has rtstruct.dcm.

use mtsa_dicom::{read_rtstruct, read_series, write_rtstruct, write_series, SeriesMeta};
use mtsa_io::{Affine, Volume};
use ndarray::Array3;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: write_sample OUTDIR")?,
    );
    std::fs::create_dir_all(&out)?;
    let las = affine_from([-0.9, 0.0, 0.0], [0.0, 0.9, 0.0], [0.0, 0.0, 3.0], [40.0, -60.0, -30.0]);
    let ras = affine_from([0.9, 0.0, 0.0], [0.0, 0.9, 0.0], [0.0, 0.0, 3.0], [-40.0, -60.0, -30.0]);
    // Sagittal-ish and oblique: rotate about the A axis by 20 degrees, negative determinant.
    let (c, s) = (20f64.to_radians().cos(), 20f64.to_radians().sin());
    let oblique = affine_from(
        [0.0, -1.0 * 0.8, 0.0],
        [-s * 1.1, 0.0, c * 1.1],
        [c * 2.5, 0.0, s * 2.5],
        [-20.0, 70.0, -50.0],
    );
    for (name, affine, seed) in [("axial", las, 1u64), ("ras_input", ras, 2), ("oblique", oblique, 3)] {
        let dir = out.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let vol = sample_volume([48, 40, 12], affine);
        let meta = SeriesMeta {
            patient_id: "MTSA-SAMPLE".into(),
            series_description: format!("mtsa sample {name}"),
            seed,
            ..SeriesMeta::default()
        };
        write_series(&dir.join("dicom"), &vol, &meta)?;
        let (back, series) = read_series(&dir.join("dicom"), None)?;
        let mut expected = serde_json::json!({
            "shape": back.shape(),
            "affine": back.affine,
            "series_instance_uid": series.series_instance_uid,
            "frame_of_reference_uid": series.frame_of_reference_uid,
            "sop_instance_uids": series.sop_instance_uids,
            "max_abs_voxel": back.data.iter().fold(0f32, |m, v| m.max(v.abs())),
        });
        write_voxels(&dir.join("voxels.f32"), &back)?;
        if name == "axial" {
            let mask = sample_mask(&back);
            let rt = dir.join("rtstruct.dcm");
            write_rtstruct(&rt, &mask, &series, mtsa_dicom::DEFAULT_ROI_NAME, 11)?;
            let again = read_rtstruct(&rt, mtsa_dicom::DEFAULT_ROI_NAME, &series, &back)?;
            expected["mask_voxels"] = mask.data.iter().filter(|v| **v != 0).count().into();
            expected["mask_voxels_read_back"] =
                again.data.iter().filter(|v| **v != 0).count().into();
        }
        std::fs::write(dir.join("expected.json"), serde_json::to_string_pretty(&expected)?)?;
        println!("wrote {}", dir.display());
    }
    Ok(())
}

fn affine_from(ci: [f64; 3], cj: [f64; 3], ck: [f64; 3], origin: [f64; 3]) -> Affine {
    let mut a = [[0.0; 4]; 4];
    for r in 0..3 {
        a[r] = [ci[r], cj[r], ck[r], origin[r]];
    }
    a[3][3] = 1.0;
    a
}

/// A smooth, asymmetric intensity pattern (so any axis flip shows) with bright blobs.
fn sample_volume(shape: [usize; 3], affine: Affine) -> Volume<f32> {
    let data = Array3::from_shape_fn((shape[0], shape[1], shape[2]), |(i, j, k)| {
        let (x, y, z) = (i as f32, j as f32, k as f32);
        let blob = if (x - 30.0).powi(2) + (y - 12.0).powi(2) + (3.0 * (z - 6.0)).powi(2) < 30.0 {
            400.0
        } else {
            0.0
        };
        100.0 + 3.1 * x + 1.7 * y * y / 10.0 + 7.3 * z + blob
    });
    Volume::new(data, affine)
}

/// Two lesions: a ball and a ring (a disc with a hole) on the grid of `grid`.
fn sample_mask(grid: &Volume<f32>) -> Volume<u8> {
    let s = grid.shape();
    let data = Array3::from_shape_fn((s[0], s[1], s[2]), |(i, j, k)| {
        let (x, y, z) = (i as f64, j as f64, k as f64);
        let ball = (x - 12.0).powi(2) + (y - 14.0).powi(2) + (3.0 * (z - 5.0)).powi(2) <= 36.0;
        let r2 = (x - 32.0).powi(2) + (y - 26.0).powi(2);
        let ring = (4..=7).contains(&k) && (9.0..=36.0).contains(&r2);
        u8::from(ball || ring)
    });
    Volume::new(data, grid.affine)
}

fn write_voxels(path: &Path, vol: &Volume<f32>) -> std::io::Result<()> {
    let bytes: Vec<u8> = vol
        .data
        .as_standard_layout()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(path, bytes)
}
