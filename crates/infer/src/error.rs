use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error(transparent)]
    Model(#[from] mtsa_model::ModelError),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    /// The dataset does not fit the model (e.g. fewer neighbouring slices than it takes).
    #[error("{0}")]
    Mismatch(String),
}

impl InferError {
    pub fn file(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        InferError::File {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}
