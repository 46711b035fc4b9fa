//! Bad inputs are errors naming the problem, never panics.

use mtsa_io::{diagonal_affine, Volume};
use mtsa_radiomics::{extract, Binning, RadiomicsError, Settings};
use ndarray::Array3;

fn volumes(mask: Array3<u16>) -> (Volume<f32>, Volume<u16>) {
    let a = diagonal_affine([1.0; 3], [0.0; 3]);
    let image = Array3::from_shape_fn(mask.dim(), |(i, j, k)| (i * 7 + j * 3 + k) as f32);
    (Volume::new(image, a), Volume::new(mask, a))
}

#[test]
fn input_errors() {
    let s = Settings::default();
    let (image, mask) = volumes(Array3::zeros((4, 4, 4)));
    assert_eq!(
        extract(&image, &mask, &s),
        Err(RadiomicsError::EmptyMask { label: 1 })
    );
    let mut one = Array3::zeros((4, 4, 4));
    one[[1, 1, 1]] = 1;
    let (image, mask) = volumes(one.clone());
    assert_eq!(
        extract(&image, &mask, &s),
        Err(RadiomicsError::SingleVoxel { label: 1 })
    );
    one[[2, 1, 1]] = 1;
    let (image, mask) = volumes(one);
    assert_eq!(
        extract(&image, &mask, &s),
        Err(RadiomicsError::TooFewDimensions { label: 1, dims: 1 })
    );
    let (image, _) = volumes(Array3::zeros((4, 4, 4)));
    let (_, mask) = volumes(Array3::zeros((4, 4, 5)));
    assert!(matches!(
        extract(&image, &mask, &s),
        Err(RadiomicsError::ShapeMismatch { .. })
    ));
    let mut block = Array3::zeros((4, 4, 4));
    block.slice_mut(ndarray::s![1..3, 1..3, 1..3]).fill(1);
    let (mut image, mask) = volumes(block);
    let bad = Settings {
        binning: Binning::Width(0.0),
        ..Settings::default()
    };
    assert!(matches!(
        extract(&image, &mask, &bad),
        Err(RadiomicsError::InvalidSetting(_))
    ));
    let shifted = Volume::new(
        mask.data.clone(),
        diagonal_affine([1.0; 3], [5.0, 0.0, 0.0]),
    );
    assert!(matches!(
        extract(&image, &shifted, &s),
        Err(RadiomicsError::GeometryMismatch { .. })
    ));
    image.data[[0, 0, 0]] = f32::NAN;
    assert!(matches!(
        extract(&image, &mask, &s),
        Err(RadiomicsError::NonFinite { .. })
    ));
    assert_eq!(
        extract(&volumes(mask.data.clone()).0, &mask, &s).map(|f| f.0.len()),
        Ok(107)
    );
}
