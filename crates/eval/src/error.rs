use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Infer(#[from] mtsa_infer::InferError),
    #[error(transparent)]
    Data(#[from] mtsa_data::DataError),
    #[error(transparent)]
    Io(#[from] mtsa_io::IoError),
    #[error(transparent)]
    Dicom(#[from] mtsa_dicom::DicomError),
    #[error(transparent)]
    Metrics(#[from] mtsa_metrics::MetricsError),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("{0}")]
    Usage(String),
}

impl EvalError {
    pub fn file(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        EvalError::File {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}
