//! Error types: [`SkipGramParamsError`] for rejected hyperparameters and [`SkipGramError`] for
//! everything that can fail while training, saving or loading.

use std::path::PathBuf;

/// A hyperparameter rule that [`crate::SkipGramParams::check`] rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SkipGramParamsError {
    /// `dim` is zero.
    #[error("skipgram: dim must be > 0, got 0")]
    ZeroDim,
    /// `window` is zero.
    #[error("skipgram: window must be > 0, got 0")]
    ZeroWindow,
    /// `negative` is zero; only negative sampling is implemented.
    #[error("skipgram: negative must be > 0 (only negative sampling is implemented), got 0")]
    ZeroNegative,
    /// `ns_exponent` is NaN or infinite.
    #[error("skipgram: ns_exponent must be finite, got {0}")]
    NonFiniteNsExponent(f64),
    /// `sample` is outside `[0, 1)`.
    #[error("skipgram: sample must be in [0, 1) (0 disables subsampling), got {0}")]
    InvalidSample(f64),
    /// `min_count` is zero.
    #[error("skipgram: min_count must be >= 1, got 0")]
    ZeroMinCount,
    /// `alpha` is not a finite positive number.
    #[error("skipgram: alpha must be finite and > 0, got {0}")]
    InvalidAlpha(f32),
    /// `min_alpha` is negative, not finite or above `alpha`.
    #[error("skipgram: min_alpha must be finite and in [0, alpha = {alpha}], got {min_alpha}")]
    InvalidMinAlpha {
        /// The rejected final learning rate.
        min_alpha: f32,
        /// The initial learning rate it must not exceed.
        alpha: f32,
    },
    /// `epochs` is zero.
    #[error("skipgram: epochs must be > 0, got 0")]
    ZeroEpochs,
    /// `lr_restart_every` is `Some(0)`.
    #[error("skipgram: lr_restart_every must be None or > 0 epochs, got 0")]
    ZeroRestartInterval,
    /// `n_threads` is `Some(0)`.
    #[error("skipgram: n_threads must be None (all cores) or > 0, got 0")]
    ZeroThreads,
}

/// Errors raised while training, saving or loading skip-gram embeddings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SkipGramError {
    /// The hyperparameters are invalid.
    #[error(transparent)]
    Params(#[from] SkipGramParamsError),
    /// A corpus token is not below the corpus vocabulary size.
    #[error(
        "skipgram: token {token} at position {position} of sequence {sequence} is out of range; the corpus declares n_tokens = {n_tokens}"
    )]
    TokenOutOfRange {
        /// Index of the sequence.
        sequence: usize,
        /// Position of the token in the sequence.
        position: usize,
        /// The offending token id.
        token: u32,
        /// The vocabulary size the corpus declares.
        n_tokens: usize,
    },
    /// No token occurs at least `min_count` times, so there is nothing to train.
    #[error(
        "skipgram: empty corpus: no token occurs at least min_count = {min_count} times in {n_sequences} sequences"
    )]
    EmptyCorpus {
        /// The minimum count in force.
        min_count: u64,
        /// Number of sequences in the corpus.
        n_sequences: usize,
    },
    /// The weight matrices would not fit in memory addressable by this platform.
    #[error("skipgram: {rows} x {dim} weight matrix is too large for this platform")]
    TooLarge {
        /// Rows (vocabulary size).
        rows: usize,
        /// Columns (vector size).
        dim: usize,
    },
    /// Embeddings were built from parts that do not agree.
    #[error("skipgram: invalid embeddings: {0}")]
    InvalidEmbeddings(String),
    /// Writing a file failed (the error names the file).
    #[error("skipgram: {0}")]
    Write(#[from] stsg_core::CoreError),
    /// Reading a file failed.
    #[error("skipgram: {}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file was read but its content is not valid embeddings.
    #[error("skipgram: {}: {reason}", path.display())]
    InvalidFile {
        /// The file involved.
        path: PathBuf,
        /// What is wrong with it, and where.
        reason: String,
    },
    /// A file holds embeddings in a format version this build cannot read.
    #[error(
        "skipgram: {}: embeddings format version {found} is not supported (this build reads version {supported}); re-export them with a matching stsg version",
        path.display()
    )]
    UnsupportedVersion {
        /// The file involved.
        path: PathBuf,
        /// The version stored in the file.
        found: i64,
        /// The version this build reads.
        supported: i64,
    },
}

impl SkipGramError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SkipGramError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid_file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        SkipGramError::InvalidFile {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
