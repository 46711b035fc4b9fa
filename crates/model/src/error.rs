//! One error type for the crate, so callers (CLI, trainer) can match on causes without parsing strings.
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ModelError {
    #[error("unknown preset {0:?}: expected one of paper, small, tiny")]
    UnknownPreset(String),
    #[error("invalid model config: {0}")]
    InvalidConfig(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("unknown loss mode {0:?}: expected one of uncertainty, equal, seg-only, cls-only")]
    UnknownLossMode(String),
    #[error("checkpoint {path} was saved for preset {found:?} but the model is preset {expected:?}{detail}")]
    PresetMismatch {
        path: String,
        expected: String,
        found: String,
        detail: String,
    },
    #[error("checkpoint {path}: {msg}")]
    Checkpoint { path: String, msg: String },
    #[error("invalid device {0:?}: {1}")]
    Device(String, String),
    #[error("i/o error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    File(#[from] mtsa_io::IoError),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}
