//! The error type shared by the core types and the artifact container.

use std::path::PathBuf;

/// Errors raised by the core types, the pooling step and the artifact container.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// Two stages were joined whose shapes do not agree.
    #[error("{stage}: expected {what} = {expected}, got {got}")]
    Mismatch {
        /// The stage that detected the mismatch.
        stage: &'static str,
        /// The quantity compared, for example "feature dimension".
        what: &'static str,
        /// The value the stage requires.
        expected: usize,
        /// The value it received.
        got: usize,
    },
    /// A label set was built with the same label twice.
    #[error("labels: duplicate label {0:?}; every class name must be unique")]
    DuplicateLabel(String),
    /// A label set was built with an empty label.
    #[error("labels: empty label at position {0}; every class needs a name")]
    EmptyLabel(usize),
    /// A label was not found in the label set.
    #[error("labels: unknown label {0:?}; it is not in the label set")]
    UnknownLabel(String),
    /// A window specification is invalid.
    #[error("windows: invalid window length {0} s; it must be finite and > 0")]
    InvalidWindowLength(f64),
    /// A frame timing is invalid.
    #[error("timing: invalid frame timing ({0}); sample rate, frame length and hop must be > 0")]
    InvalidTiming(String),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An artifact file is truncated, corrupted or not an artifact at all.
    #[error("{}: invalid artifact: {reason}", path.display())]
    InvalidArtifact {
        /// The artifact file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An artifact holds a different kind of object than the caller expects.
    #[error("{}: artifact holds a {found:?}, expected a {expected:?}", path.display())]
    WrongArtifactKind {
        /// The artifact file.
        path: PathBuf,
        /// The kind the caller asked for.
        expected: String,
        /// The kind stored in the file.
        found: String,
    },
    /// An artifact was written with a format version this build cannot read.
    #[error(
        "{}: {kind} format version {found} is not supported (this build reads version {supported}); retrain or re-export it with a matching stsg version",
        path.display()
    )]
    UnsupportedVersion {
        /// The artifact file.
        path: PathBuf,
        /// The artifact kind.
        kind: String,
        /// The version stored in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
}

impl CoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CoreError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        CoreError::InvalidArtifact {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
