//! One slice in the transfer syntaxes other tools write (`fixtures/transfer_syntaxes/README.md`):
//! implicit VR, big endian, JPEG 2000, HTJ2K and JPEG lossless read as exactly the explicit VR
//! little endian slice, a multi-frame JPEG 2000 or HTJ2K image as exactly what dcm2niix reads
//! from its uncompressed original, JPEG-LS (in a build with the `jpeg-ls` feature) as its
//! original, and what we do not read (JPEG-LS in a build without it, a deflated data set) is
//! refused with its name and what to do.

mod common;

use common::max_voxel_diff;
use mtsa_dicom::read_series;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

#[test]
fn every_lossless_syntax_reads_as_the_explicit_little_endian_slice() {
    let dir = fixtures().join("transfer_syntaxes");
    let (raw, _) = read_series(&dir.join("raw"), None).expect("raw");
    for encoding in [
        "implicit_vr",
        "big_endian",
        "jpeg2000",
        "htj2k",
        "jpeg_lossless",
    ] {
        let (vol, _) = read_series(&dir.join(encoding), None).expect(encoding);
        assert_eq!(vol.affine, raw.affine, "{encoding}");
        assert_eq!(vol.data, raw.data, "{encoding}: lossless");
    }
}

#[test]
fn a_multi_frame_jpeg2000_image_reads_as_its_uncompressed_original() {
    let reference = mtsa_io::read_nifti(&fixtures().join("enhanced_mr/oblique_3d.dcm2niix.nii.gz"))
        .expect("dcm2niix");
    for encoding in ["enhanced_jpeg2000", "enhanced_htj2k"] {
        let (vol, series) = read_series(&fixtures().join("transfer_syntaxes").join(encoding), None)
            .expect(encoding);
        let worst = max_voxel_diff(&vol, &reference);
        // dcm2niix stores the rescaled values as f32 too; the rest is the DS rescale's rounding.
        assert!(worst < 1e-3, "{encoding}: max difference {worst}");
        assert_eq!(series.frame_numbers.len(), 12);
    }
}

/// JPEG-LS, as DCMTK's `dcmcjpls` writes it: lossless reads as exactly the uncompressed slice
/// and multi-frame image, near-lossless (NEAR = 2) within 2 stored values of it. Only in a build
/// with the `jpeg-ls` feature (CharLS).
#[cfg(feature = "jpeg-ls")]
#[test]
fn jpeg_ls_reads_as_its_uncompressed_original() {
    let dir = fixtures().join("transfer_syntaxes");
    let (raw, _) = read_series(&dir.join("raw"), None).expect("raw");
    let (lossless, _) = read_series(&dir.join("jpeg_ls"), None).expect("JPEG-LS lossless");
    assert_eq!((&lossless.affine, &lossless.data), (&raw.affine, &raw.data));
    let (near, _) = read_series(&dir.join("jpeg_ls_near"), None).expect("JPEG-LS near-lossless");
    // Stored values within NEAR = 2 of the original's, times the Rescale Slope 0.00906125; the
    // half step more covers the f32 rounding of rescaled values in the hundreds.
    let worst = max_voxel_diff(&near, &raw);
    let slope = 0.009_061_25;
    assert!(
        worst > 0.0 && worst <= 2.5 * slope,
        "max difference {worst}"
    );
    let (enhanced, series) = read_series(&dir.join("enhanced_jpeg_ls"), None).expect("enhanced");
    let (original, _) = read_series(&fixtures().join("enhanced_mr"), None).expect("original");
    assert_eq!(
        (&enhanced.affine, &enhanced.data),
        (&original.affine, &original.data)
    );
    assert_eq!(series.frame_numbers.len(), 12);
}

#[test]
fn what_we_do_not_read_is_named_with_what_to_do() {
    #[cfg(not(feature = "jpeg-ls"))]
    {
        let dir = fixtures().join("transfer_syntaxes/jpeg_ls");
        let err = read_series(&dir, None).expect_err("JPEG-LS").to_string();
        assert!(err.contains("IM00006.dcm"), "{err}");
        assert!(
            err.contains("JPEG-LS") && err.contains("1.2.840.10008.1.2.4.80"),
            "{err}"
        );
        assert!(
            err.contains("decompress") && err.contains("--features jpeg-ls"),
            "{err}"
        );
    }
    let dir = fixtures().join("transfer_syntaxes/deflated");
    let err = read_series(&dir, None).expect_err("deflated").to_string();
    assert!(err.contains("IM00006.dcm"), "{err}");
    assert!(
        err.contains("deflated") && err.contains("dcmconv +te"),
        "{err}"
    );
}
