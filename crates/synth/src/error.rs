use std::path::PathBuf;

/// Every variant names the file or the setting at fault, so the CLI can print one actionable line.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error(transparent)]
    Io(#[from] mtsa_io::IoError),
    /// Writing a DICOM cohort; the error already names the file.
    #[error(transparent)]
    Dicom(#[from] mtsa_dicom::DicomError),
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("MNI152 template: {0}")]
    Template(String),
    #[error("invalid synthetic-cohort settings: {0}")]
    Config(String),
    #[error("a generator worker thread panicked while making {0}")]
    Worker(String),
}

impl SynthError {
    pub(crate) fn file(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SynthError::File {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn write(path: impl Into<PathBuf>, reason: impl ToString) -> Self {
        SynthError::Write {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}
