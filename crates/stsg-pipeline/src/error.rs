//! The pipeline's error types: [`PipelineError`] for runs and [`ConfigError`] for configurations.

use std::path::{Path, PathBuf};

/// A configuration that cannot run: a stage's params fail their check, or two stages' settings
/// do not fit together. Raised before any audio is read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The TOML text does not parse or has a value of the wrong type.
    #[error("config: {0}")]
    Parse(String),
    /// A key that no config section has (often a misspelling).
    #[error("config: unknown key {0:?}; see the presets for the valid keys")]
    UnknownKey(String),
    /// A preset name that does not exist.
    #[error("config: unknown preset {0:?}; expected one of auto, paper-v1, paper-v2, small-data")]
    UnknownPreset(String),
    /// The Mel params fail their check.
    #[error("config: invalid [mel] section")]
    Mel(#[from] stsg_mel::MelParamsError),
    /// The tokenizer params fail their check.
    #[error("config: invalid [tokenizer] section")]
    Tokenizer(#[from] stsg_quantize::TokenizerParamsError),
    /// The skip-gram params fail their check.
    #[error("config: invalid [skipgram] section")]
    SkipGram(#[from] stsg_skipgram::SkipGramParamsError),
    /// The head params fail their check.
    #[error("config: invalid [head] section")]
    Head(#[from] stsg_head::HeadParamsError),
    /// PCA requests more components than the frontend has features.
    #[error(
        "config: tokenizer.pca_components = {components} exceeds the {features} features per frame of the [mel] output"
    )]
    PcaExceedsFeatures {
        /// Requested PCA components.
        components: usize,
        /// Features per frame of the Mel frontend.
        features: usize,
    },
    /// A window shorter than the hop can hold no frame.
    #[error(
        "config: windows.length_s = {window_s} s is shorter than the frame hop of {hop_s} s; no frame would fall in some windows"
    )]
    WindowShorterThanHop {
        /// Window length in seconds.
        window_s: f64,
        /// Hop in seconds.
        hop_s: f64,
    },
    /// The window length is not finite and positive.
    #[error("config: windows.length_s = {0} must be finite and > 0")]
    InvalidWindowLength(f64),
    /// A softmax head is single-label, so secondary labels cannot be targets.
    #[error(
        "config: data.secondary_labels = true needs a sigmoid head (head.kind = \"sigmoid\"); a softmax head is single-label"
    )]
    SoftmaxWithSecondaryLabels,
    /// The secondary-label target weight is outside (0, 1].
    #[error("config: data.secondary_label_weight = {0} must be in (0, 1]")]
    SecondaryWeightOutOfRange(f32),
    /// The cap on tokenizer training frames is below the codebook size.
    #[error(
        "config: run.max_tokenizer_frames = {max_frames} is below the codebook size tokenizer.kmeans.k = {k}; k-means needs at least one frame per centroid"
    )]
    TokenizerFramesBelowK {
        /// The cap.
        max_frames: usize,
        /// The codebook size.
        k: usize,
    },
    /// The codebook is larger than the training data can fill.
    #[error(
        "config: tokenizer.kmeans.k = {k} exceeds the {frames} frames of the tokenizer corpus; use preset \"small-data\" or a smaller k"
    )]
    CodebookLargerThanData {
        /// The codebook size.
        k: usize,
        /// Frames available to the tokenizer.
        frames: usize,
    },
    /// `run.n_threads = 0`.
    #[error("config: run.n_threads = 0; use a positive count or leave it out for all cores")]
    ZeroThreads,
    /// `run.chunk_seconds` is not finite and positive.
    #[error("config: run.chunk_seconds = {0} must be finite and > 0")]
    InvalidChunkSeconds(f64),
}

/// Errors of a pipeline run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A required file or folder is missing.
    #[error("data: {what} not found at {}", path.display())]
    MissingPath {
        /// The path that was expected.
        path: PathBuf,
        /// Description of the expected content.
        what: &'static str,
    },
    /// A CSV file lacks a required column.
    #[error("data: {}: missing column {column:?}", path.display())]
    MissingColumn {
        /// The CSV file.
        path: PathBuf,
        /// The column name.
        column: &'static str,
    },
    /// A CSV file cannot be parsed.
    #[error("data: {}{}: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line of the bad record, when known.
        line: Option<u64>,
        /// Description of the problem.
        message: String,
    },
    /// A label that is not in `taxonomy.csv`.
    #[error(
        "data: {}{}: label {label:?} is not in taxonomy.csv",
        path.display(),
        line.map(|l| format!(" line {l}")).unwrap_or_default()
    )]
    UnknownLabel {
        /// The file naming the label.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<u64>,
        /// The label.
        label: String,
    },
    /// The class list is invalid (duplicate or empty names).
    #[error("data: {}: {source}", path.display())]
    Labels {
        /// The file the classes were read from.
        path: PathBuf,
        /// The label-set error.
        #[source]
        source: stsg_core::CoreError,
    },
    /// A file or folder cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file cannot be decoded.
    #[error(transparent)]
    Audio(#[from] stsg_audio::AudioError),
    /// A file decoded only partly and damaged files are skipped (`data.skip_damaged_audio`).
    #[error("audio: {}: damaged: {reason}", path.display())]
    DamagedAudio {
        /// The file.
        path: PathBuf,
        /// The decoder's error message.
        reason: String,
    },
    /// A file that decodes to no samples.
    #[error("audio: {}: no samples decoded", path.display())]
    EmptyAudio {
        /// The file.
        path: PathBuf,
    },
    /// The Mel frontend failed.
    #[error(transparent)]
    Mel(#[from] stsg_mel::MelError),
    /// The tokenizer failed.
    #[error(transparent)]
    Quantize(#[from] stsg_quantize::QuantizeError),
    /// The skip-gram failed.
    #[error(transparent)]
    SkipGram(#[from] stsg_skipgram::SkipGramError),
    /// The head failed.
    #[error(transparent)]
    Head(#[from] stsg_head::HeadError),
    /// Pooling or a core type failed.
    #[error(transparent)]
    Core(#[from] stsg_core::CoreError),
    /// A model bundle is not loadable: missing manifest or file, or inconsistent content.
    #[error("model: {}: {reason}", path.display())]
    InvalidBundle {
        /// The bundle folder or file.
        path: PathBuf,
        /// Description of the problem.
        reason: String,
    },
    /// A model bundle of a format version this build cannot read.
    #[error(
        "model: {}: bundle format version {found} is not supported (this build reads version {supported}); retrain the model with this version",
        path.display()
    )]
    BundleVersion {
        /// The bundle folder.
        path: PathBuf,
        /// The version in its manifest.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// A bundle file whose checksum differs from the manifest.
    #[error(
        "model: {}: checksum {got} differs from {expected} in the manifest; the file is corrupted or was changed, retrain or copy the bundle again",
        path.display()
    )]
    BundleChecksum {
        /// The corrupted file.
        path: PathBuf,
        /// Checksum in the manifest.
        expected: String,
        /// Checksum of the file.
        got: String,
    },
    /// A submission and a solution that cannot be compared.
    #[error("eval: {0}")]
    Evaluation(String),
    /// Not enough usable data for a stage, after skipped files.
    #[error("{stage}: {reason}")]
    NotEnoughData {
        /// The stage that needs the data.
        stage: &'static str,
        /// Description of the missing part.
        reason: String,
    },
}

impl PipelineError {
    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        PipelineError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub(crate) fn csv(path: &Path, error: &csv::Error) -> Self {
        PipelineError::Csv {
            path: path.to_path_buf(),
            line: error.position().map(|p| p.line()),
            message: error.to_string(),
        }
    }

    pub(crate) fn bundle(path: impl AsRef<Path>, reason: impl Into<String>) -> Self {
        PipelineError::InvalidBundle {
            path: path.as_ref().to_path_buf(),
            reason: reason.into(),
        }
    }
}
