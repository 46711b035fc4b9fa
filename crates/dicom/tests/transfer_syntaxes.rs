//! One slice in the transfer syntaxes other tools write (`fixtures/transfer_syntaxes/README.md`):
//! implicit VR, big endian, JPEG 2000 and JPEG lossless read as exactly the explicit VR little
//! endian slice, a multi-frame JPEG 2000 image as exactly what dcm2niix reads from its
//! uncompressed original, and what we do not read (JPEG-LS pixels, a deflated data set) is
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
    for encoding in ["implicit_vr", "big_endian", "jpeg2000", "jpeg_lossless"] {
        let (vol, _) = read_series(&dir.join(encoding), None).expect(encoding);
        assert_eq!(vol.affine, raw.affine, "{encoding}");
        assert_eq!(vol.data, raw.data, "{encoding}: lossless");
    }
}

#[test]
fn a_multi_frame_jpeg2000_image_reads_as_its_uncompressed_original() {
    let (vol, series) = read_series(
        &fixtures().join("transfer_syntaxes/enhanced_jpeg2000"),
        None,
    )
    .expect("enhanced JPEG 2000");
    let reference = mtsa_io::read_nifti(&fixtures().join("enhanced_mr/oblique_3d.dcm2niix.nii.gz"))
        .expect("dcm2niix");
    let worst = max_voxel_diff(&vol, &reference);
    // dcm2niix stores the rescaled values as f32 too; the rest is the DS rescale's rounding.
    assert!(worst < 1e-3, "max difference {worst}");
    assert_eq!(series.frame_numbers.len(), 12);
}

#[test]
fn what_we_do_not_read_is_named_with_what_to_do() {
    let dir = fixtures().join("transfer_syntaxes/jpeg_ls");
    let err = read_series(&dir, None).expect_err("JPEG-LS").to_string();
    assert!(err.contains("IM00006.dcm"), "{err}");
    assert!(
        err.contains("JPEG-LS") && err.contains("1.2.840.10008.1.2.4.80"),
        "{err}"
    );
    assert!(err.contains("decompress"), "{err}");
    let dir = fixtures().join("transfer_syntaxes/deflated");
    let err = read_series(&dir, None).expect_err("deflated").to_string();
    assert!(err.contains("IM00006.dcm"), "{err}");
    assert!(
        err.contains("deflated") && err.contains("dcmconv +te"),
        "{err}"
    );
}
