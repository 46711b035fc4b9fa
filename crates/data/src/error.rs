//! One error type for the crate. Every variant that comes from user input names the file (and,
//! for tables, the line), because the CLI prints the Display as a single line that the user must
//! be able to act on without a backtrace.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// Reading or writing a volume or file failed; `IoError` already names the file.
    #[error(transparent)]
    Io(#[from] mtsa_io::IoError),

    /// Reading a DICOM series or structure set failed; `DicomError` names the file or folder
    /// (and, for a missing ROI, lists the ROIs present).
    #[error(transparent)]
    Dicom(#[from] mtsa_dicom::DicomError),

    /// A file was read but its content is unusable (shape mismatch, bad labels, ...).
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },

    /// A row of a table (clinical.csv) holds a value that cannot be parsed.
    #[error("{path}, line {line}: {reason}")]
    Table {
        path: PathBuf,
        line: u64,
        reason: String,
    },

    /// Preprocessing of an in-memory volume failed; `in_file` attaches the path once known.
    #[error("{0}")]
    Volume(String),

    /// A configuration value (not tied to a file) is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl DataError {
    pub fn invalid(path: impl AsRef<Path>, reason: impl Into<String>) -> Self {
        DataError::Invalid {
            path: path.as_ref().to_path_buf(),
            reason: reason.into(),
        }
    }

    pub fn table(path: impl AsRef<Path>, line: u64, reason: impl Into<String>) -> Self {
        DataError::Table {
            path: path.as_ref().to_path_buf(),
            line,
            reason: reason.into(),
        }
    }

    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        DataError::Io(mtsa_io::IoError::io(path.as_ref(), source))
    }

    /// Attaches a file name to errors raised on in-memory data, so the one-line message says
    /// which input caused it; errors that already name a file are left as they are.
    pub fn in_file(self, path: &Path) -> Self {
        match self {
            DataError::Volume(reason) | DataError::Config(reason) => {
                DataError::invalid(path, reason)
            }
            other => other,
        }
    }
}
