use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StudyError {
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {msg}")]
    File { path: String, msg: String },
    #[error(transparent)]
    Io(#[from] mtsa_io::IoError),
    #[error(transparent)]
    Train(#[from] mtsa_train::TrainError),
    #[error(transparent)]
    Eval(#[from] mtsa_eval::EvalError),
    #[error(transparent)]
    Model(#[from] mtsa_model::ModelError),
    #[error(transparent)]
    Data(#[from] mtsa_data::DataError),
    #[error(transparent)]
    Metrics(#[from] mtsa_metrics::MetricsError),
}

impl StudyError {
    pub fn file(path: &Path, msg: impl std::fmt::Display) -> Self {
        StudyError::File {
            path: path.display().to_string(),
            msg: msg.to_string(),
        }
    }
}
