use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Infer(#[from] mtsa_infer::InferError),
    #[error(transparent)]
    Model(#[from] mtsa_model::ModelError),
    #[error(transparent)]
    Data(#[from] mtsa_data::DataError),
    #[error(transparent)]
    Io(#[from] mtsa_io::IoError),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("{0}")]
    Config(String),
    #[error("non-finite training loss at epoch {epoch}, batch {batch} (loss {value}); lower the learning rate or check the data")]
    NonFinite {
        epoch: usize,
        batch: usize,
        value: f64,
    },
    #[error("non-finite validation loss after epoch {epoch} ({value}); lower the learning rate or check the data")]
    NonFiniteValidation { epoch: usize, value: f64 },
}

impl TrainError {
    pub fn file(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        TrainError::File {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}
