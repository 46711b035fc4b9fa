use thiserror::Error;

/// Why features could not be computed for an image/mask pair. The CLI prints these as one line
/// naming the patient; none of them is a panic.
#[derive(Debug, Error, PartialEq)]
pub enum RadiomicsError {
    #[error("image shape {image:?} and mask shape {mask:?} differ")]
    ShapeMismatch { image: [usize; 3], mask: [usize; 3] },
    #[error("image and mask affines differ by more than {tol_mm} mm: they do not share a grid")]
    GeometryMismatch { tol_mm: f64 },
    #[error("image holds a non-finite voxel value ({value})")]
    NonFinite { value: f32 },
    #[error("mask holds no voxel with label {label}")]
    EmptyMask { label: u16 },
    #[error("mask with label {label} is a single voxel: features need at least two")]
    SingleVoxel { label: u16 },
    #[error("mask with label {label} extends in {dims} dimension(s); at least 2 are needed")]
    TooFewDimensions { label: u16, dims: usize },
    #[error("image has zero variance: it cannot be normalised")]
    ConstantImage,
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
}
