//! Writes sample series and a structure set for the outside-reader check in
//! `tests/dicom_interop/run.sh`: `cargo run -p mtsa-dicom --example write_sample -- OUTDIR`.
//!
//! For each case, OUTDIR/<case>/dicom/ holds the series, OUTDIR/<case>/expected.json what
//! `read_series` returns for it (shape, affine, SOP/Frame UIDs) and OUTDIR/<case>/voxels.f32 the
//! voxels (little-endian f32, C order over [i, j, k]). Every case also has rtstruct.dcm with
//! ROI "GTV_mtsa" (two lesions, one with a hole) made from OUTDIR/<case>/mask.u8 (u8, same
//! order and grid as the voxels), and rtstruct_rois.dcm with that ROI followed by its two halves
//! along i as ROIs "GTV_mtsa_1" and "GTV_mtsa_2"; seg.dcm holds the three as segments "GTV",
//! "GTV_1" and "GTV_2".

use mtsa_dicom::{
    read_rtstruct, read_series, write_rtstruct, write_rtstruct_rois, write_seg_segments,
    write_series, Roi, SegAlgorithm, SeriesMeta,
};
use mtsa_io::{Affine, Volume};
use ndarray::Array3;
use std::path::{Path, PathBuf};

#[path = "../tests/common/halves.rs"]
mod halves;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: write_sample OUTDIR")?,
    );
    std::fs::create_dir_all(&out)?;
    let las = affine_from(
        [-0.9, 0.0, 0.0],
        [0.0, 0.9, 0.0],
        [0.0, 0.0, 3.0],
        [40.0, -60.0, -30.0],
    );
    let ras = affine_from(
        [0.9, 0.0, 0.0],
        [0.0, 0.9, 0.0],
        [0.0, 0.0, 3.0],
        [-40.0, -60.0, -30.0],
    );
    // Sagittal-ish and oblique: rotate about the A axis by 20 degrees, negative determinant.
    let (c, s) = (20f64.to_radians().cos(), 20f64.to_radians().sin());
    let oblique = affine_from(
        [0.0, -0.8, 0.0],
        [-s * 1.1, 0.0, c * 1.1],
        [c * 2.5, 0.0, s * 2.5],
        [-20.0, 70.0, -50.0],
    );
    let lps = affine_from(
        [-0.9, 0.0, 0.0],
        [0.0, -0.9, 0.0],
        [0.0, 0.0, 3.0],
        [40.0, 60.0, -30.0],
    );
    // Positive determinant and oblique: written as a 3-D acquisition, read back permuted.
    let oblique_3d = affine_from(
        [0.0, 0.8, 0.0],
        [-s * 1.1, 0.0, c * 1.1],
        [c * 2.5, 0.0, s * 2.5],
        [-20.0, -30.0, -50.0],
    );
    let cases = [
        ("axial", las, 1u64),
        ("ras_input", ras, 2),
        ("lps_input", lps, 3),
        ("oblique", oblique, 4),
        ("oblique_3d", oblique_3d, 5),
    ];
    for (name, affine, seed) in cases {
        let dir = out.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let vol = sample_volume([48, 40, 12], affine);
        let meta = SeriesMeta {
            patient_id: "MTSA-SAMPLE".into(),
            series_description: format!("mtsa sample {name}"),
            uids: mtsa_dicom::UidSource::Seeded(seed),
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
        let mask = sample_mask(&back);
        let rt = dir.join("rtstruct.dcm");
        write_rtstruct(
            &rt,
            &mask,
            &series,
            mtsa_dicom::DEFAULT_ROI_NAME,
            mtsa_dicom::UidSource::Seeded(11),
        )?;
        let again = read_rtstruct(&rt, mtsa_dicom::DEFAULT_ROI_NAME, &series, &back)?;
        // The same mask, then its two halves along i as lesions of their own.
        let parts = halves::whole_and_halves(&mask);
        let rois: Vec<Roi> = parts
            .iter()
            .map(|(name, mask)| Roi { name, mask })
            .collect();
        write_rtstruct_rois(
            &dir.join("rtstruct_rois.dcm"),
            &rois,
            &series,
            mtsa_dicom::UidSource::Seeded(13),
        )?;
        // The Segmentation holds the same three masks as segments "GTV", "GTV_1", "GTV_2".
        let segments: Vec<Roi> = ["GTV", "GTV_1", "GTV_2"]
            .iter()
            .zip(&parts)
            .map(|(name, (_, mask))| Roi { name, mask })
            .collect();
        write_seg_segments(
            &dir.join("seg.dcm"),
            &segments,
            &series,
            &SegAlgorithm {
                name: "MTSA-Net".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            mtsa_dicom::UidSource::Seeded(12),
        )?;
        expected["mask_voxels"] = mask.data.iter().filter(|v| **v != 0).count().into();
        expected["mask_voxels_read_back"] = again.data.iter().filter(|v| **v != 0).count().into();
        let mask_bytes: Vec<u8> = mask.data.as_standard_layout().iter().copied().collect();
        std::fs::write(dir.join("mask.u8"), mask_bytes)?;
        std::fs::write(
            dir.join("expected.json"),
            serde_json::to_string_pretty(&expected)?,
        )?;
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

/// Two lesions on the grid of `grid`, placed by fractions of its extent so every orientation
/// gets them: a ball and a ring (a disc with a hole) across a few slices.
fn sample_mask(grid: &Volume<f32>) -> Volume<u8> {
    let s = grid.shape();
    let f = |v: usize, n: usize, frac: f64| v as f64 - frac * (n as f64 - 1.0);
    let data = Array3::from_shape_fn((s[0], s[1], s[2]), |(i, j, k)| {
        let (bx, by, bz) = (f(i, s[0], 0.3), f(j, s[1], 0.35), f(k, s[2], 0.45));
        let ball = bx * bx + by * by + bz * bz <= 12.0;
        let (rx, ry, rz) = (f(i, s[0], 0.65), f(j, s[1], 0.65), f(k, s[2], 0.6));
        let r2 = rx * rx + ry * ry;
        let ring = rz.abs() <= 1.5 && (2.5..=12.0).contains(&r2);
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
