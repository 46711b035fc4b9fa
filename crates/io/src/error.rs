use std::path::PathBuf;

/// Every variant names the file, so the CLI can print one line that a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a readable NIfTI-1 file ({reason})")]
    Nifti { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

impl IoError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IoError::Io {
            path: path.into(),
            source,
        }
    }
    pub fn invalid(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        IoError::Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
