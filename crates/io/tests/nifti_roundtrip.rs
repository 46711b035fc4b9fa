use mtsa_io::{diagonal_affine, read_nifti, read_nifti_labels, write_nifti, Reorientation, Volume};
use ndarray::Array3;
use std::path::Path;

fn lps_affine() -> [[f64; 4]; 4] {
    let mut a = diagonal_affine([-1.0, -1.0, 2.5], [120.0, 110.0, -60.0]);
    a[0][1] = 0.0;
    a
}

#[test]
fn write_then_read_keeps_voxels_and_affine() {
    let dir = tempfile::tempdir().unwrap();
    let data = Array3::from_shape_fn((5, 6, 7), |(i, j, k)| (i * 100 + j * 10 + k) as f32);
    let vol = Volume::new(data, lps_affine());
    let path = dir.path().join("v.nii.gz");
    write_nifti(&path, &vol).unwrap();
    let back = read_nifti(&path).unwrap();
    assert_eq!(back.data, vol.data);
    assert!(back.same_geometry(&vol, 1e-4), "{:?}", back.affine);
    assert_eq!(back.spacing(), [1.0, 1.0, 2.5]);
}

#[test]
fn truncated_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.nii.gz");
    let vol = Volume::new(Array3::<f32>::ones((20, 20, 20)), lps_affine());
    write_nifti(&path, &vol).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = read_nifti(&path).unwrap_err().to_string();
    assert!(err.contains("v.nii.gz"), "{err}");
}

#[test]
fn non_integer_labels_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.nii");
    let vol = Volume::new(Array3::from_elem((3, 3, 3), 0.5f32), lps_affine());
    write_nifti(&path, &vol).unwrap();
    assert!(read_nifti_labels(&path).is_err());
}

#[test]
fn lps_volume_reorients_to_ras_and_back() {
    let data = Array3::from_shape_fn((4, 5, 3), |(i, j, k)| (i * 100 + j * 10 + k) as f32);
    let vol = Volume::new(data, lps_affine());
    let r = Reorientation::for_volume(&vol);
    let ras = r.apply(&vol);
    assert_eq!(ras.shape(), [4, 5, 3]);
    // Every voxel stays at the same world position.
    for (i, j, k) in [(0, 0, 0), (3, 4, 2), (1, 2, 1)] {
        let src_world = vol.world([i as f64, j as f64, k as f64]);
        let value = vol.data[[i, j, k]];
        let pos = ras
            .data
            .indexed_iter()
            .find(|(_, v)| **v == value)
            .unwrap()
            .0;
        let ras_world = ras.world([pos.0 as f64, pos.1 as f64, pos.2 as f64]);
        for a in 0..3 {
            assert!((src_world[a] - ras_world[a]).abs() < 1e-9);
        }
    }
    assert!(ras.affine[0][0] > 0.0 && ras.affine[1][1] > 0.0 && ras.affine[2][2] > 0.0);
    assert_eq!(r.invert(&ras.data), vol);
}

#[test]
fn brats_case_reads_when_shared_data_is_present() {
    let path =
        Path::new("../../../shared/data/brats2013-glioma/brats_2013_pat0001_1/OTMultiClass.nii.gz");
    if !path.exists() {
        return;
    }
    let labels = read_nifti_labels(path).unwrap();
    assert_eq!(labels.shape(), [240, 240, 155]);
    assert!(labels.data.iter().any(|v| *v == 4));
}
