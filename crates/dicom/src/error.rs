//! One error type for the crate. Every variant names the file or folder it is about and never a
//! patient attribute, so an error line can be logged or shown without leaking identifiers.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DicomError {
    /// Errors from the shared atomic-write helpers (they already name their path).
    #[error(transparent)]
    Io(#[from] mtsa_io::IoError),
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a readable DICOM file ({reason})")]
    Parse { path: PathBuf, reason: String },
    #[error("{path}: {attribute} is missing or invalid ({reason})")]
    Attribute {
        path: PathBuf,
        attribute: &'static str,
        reason: String,
    },
    #[error("{path}: the image has no Pixel Data")]
    MissingPixelData { path: PathBuf },
    #[error("{path}: cannot decode Pixel Data ({reason})")]
    PixelData { path: PathBuf, reason: String },
    #[error("{dir}: no DICOM image series found ({reason})")]
    NoSeries { dir: PathBuf, reason: String },
    #[error(
        "{dir}: {found} image series found; choose one by Series Instance UID: {}",
        series.join("; ")
    )]
    AmbiguousSeries {
        dir: PathBuf,
        /// How many series the folder holds.
        found: usize,
        /// The first of them described (UID, number, description, slices), then a count.
        series: Vec<String>,
    },
    #[error(
        "{dir}: no series with Series Instance UID {uid}; series present: {}",
        present.join("; ")
    )]
    SeriesNotFound {
        dir: PathBuf,
        uid: String,
        present: Vec<String>,
    },
    /// The series of the folder that the GTV object references, or whose description matches
    /// the pattern asked for, is not one series.
    #[error(
        "{dir}: {found} image series found, and {reason}; series present: {}",
        series.join("; ")
    )]
    SeriesNotSelected {
        dir: PathBuf,
        found: usize,
        reason: String,
        series: Vec<String>,
    },
    /// The slices do not form one regular 3-D grid (or a volume cannot be stored as one).
    #[error("{path}: {reason}")]
    Geometry { path: PathBuf, reason: String },
    #[error(
        "{path}: no ROI matches '{roi}' (case-insensitive, * for any characters); ROIs present: {}",
        list_or_none(available)
    )]
    RoiNotFound {
        path: PathBuf,
        roi: String,
        available: Vec<String>,
    },
    /// A contour that cannot be placed on the series grid (off its extent, between slices, ...).
    #[error("{path}: ROI '{roi}': {reason}")]
    Contour {
        path: PathBuf,
        roi: String,
        reason: String,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("{path}: cannot write DICOM ({reason})")]
    Write { path: PathBuf, reason: String },
}

pub(crate) fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names
            .iter()
            .map(|n| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// An error and every cause beneath it, "outer: inner: ...". dicom-object's write errors say
/// only "Could not print data set" at the top; the cause (the disk is full, say) is below.
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl DicomError {
    pub(crate) fn parse(path: impl Into<PathBuf>, reason: impl ToString) -> Self {
        DicomError::Parse {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
    pub(crate) fn attribute(
        path: impl Into<PathBuf>,
        attribute: &'static str,
        reason: impl ToString,
    ) -> Self {
        DicomError::Attribute {
            path: path.into(),
            attribute,
            reason: reason.to_string(),
        }
    }
    pub(crate) fn geometry(path: impl Into<PathBuf>, reason: impl ToString) -> Self {
        DicomError::Geometry {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
    pub(crate) fn invalid(path: impl Into<PathBuf>, reason: impl ToString) -> Self {
        DicomError::Invalid {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
    pub(crate) fn write(path: impl Into<PathBuf>, reason: impl ToString) -> Self {
        DicomError::Write {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
    pub(crate) fn file(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DicomError::File {
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_causes;

    #[derive(Debug, thiserror::Error)]
    #[error("Could not print data set")]
    struct Outer(#[source] std::io::Error);

    /// dicom-object's write error says what failed at the top and why (a full disk) below.
    #[test]
    fn a_write_error_keeps_its_cause() {
        let e = Outer(std::io::Error::from_raw_os_error(28));
        let text = with_causes(&e);
        assert!(
            text.starts_with("Could not print data set: No space left on device"),
            "{text}"
        );
    }
}
