//! Error types: [`KMeansParamsError`] and [`TokenizerParamsError`] for invalid parameters, and
//! [`QuantizeError`] for everything that can fail while fitting, quantizing, saving or loading.

use std::path::PathBuf;

use stsg_core::CoreError;

/// A rule of [`KMeansParams`](crate::KMeansParams) that the values break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KMeansParamsError {
    /// `k` is zero.
    #[error("kmeans: k must be >= 1, got 0")]
    ZeroClusters,
    /// `k` does not fit the `u32` token ids.
    #[error("kmeans: k must be <= {max} so that token ids fit in u32, got {k}")]
    TooManyClusters {
        /// The requested number of clusters.
        k: usize,
        /// The largest supported number of clusters.
        max: usize,
    },
    /// `n_iter` is zero.
    #[error("kmeans: n_iter must be >= 1, got 0")]
    ZeroIterations,
    /// `max_points_per_centroid` is zero.
    #[error("kmeans: max_points_per_centroid must be >= 1, got 0")]
    ZeroMaxPointsPerCentroid,
    /// `n_threads` is `Some(0)`.
    #[error("kmeans: n_threads must be None (all cores) or >= 1, got Some(0)")]
    ZeroThreads,
}

/// A rule of [`TokenizerParams`](crate::TokenizerParams) that the values break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenizerParamsError {
    /// The k-means parameters are invalid.
    #[error(transparent)]
    KMeans(#[from] KMeansParamsError),
    /// `pca_components` is `Some(0)`.
    #[error("tokenizer: pca_components must be None (no PCA) or >= 1, got Some(0)")]
    ZeroComponents,
}

/// Errors of the quantizer stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuantizeError {
    /// The tokenizer parameters are invalid.
    #[error(transparent)]
    Params(#[from] TokenizerParamsError),
    /// The k-means parameters are invalid.
    #[error(transparent)]
    KMeansParams(#[from] KMeansParamsError),
    /// The input matrix has no rows or no columns.
    #[error(
        "quantize: {what} is empty ({rows} rows x {cols} columns); pass at least one row and one column"
    )]
    EmptyInput {
        /// Name of the input, for example "training frames".
        what: &'static str,
        /// Rows of the input.
        rows: usize,
        /// Columns of the input.
        cols: usize,
    },
    /// A row contains NaN or an infinite value.
    #[error(
        "quantize: row {row} of the {what} has a non-finite value ({value}) in column {column}; remove or repair that frame"
    )]
    NonFinite {
        /// Name of the input, for example "frames".
        what: &'static str,
        /// Row index in the input.
        row: usize,
        /// Column index of the first non-finite value in that row.
        column: usize,
        /// The offending value.
        value: f32,
    },
    /// The input has a different number of columns than the model expects.
    #[error("quantize: expected {expected} features per row, got {got}")]
    DimensionMismatch {
        /// Columns the model was fitted on.
        expected: usize,
        /// Columns of the input.
        got: usize,
    },
    /// Fewer training points than clusters.
    #[error(
        "kmeans: k = {k} clusters need at least {k} training points, got {n_points}; lower k or add frames"
    )]
    TooFewPoints {
        /// The requested number of clusters.
        k: usize,
        /// Rows of the training data.
        n_points: usize,
    },
    /// More PCA components were requested than the input has features.
    #[error("pca: {components} components requested but the input has only {features} features")]
    TooManyComponents {
        /// The requested number of components.
        components: usize,
        /// Columns of the training data.
        features: usize,
    },
    /// The eigendecomposition of the covariance matrix failed.
    #[error("pca: eigendecomposition of the {dim} x {dim} covariance matrix did not converge")]
    EigenDecomposition {
        /// Size of the covariance matrix.
        dim: usize,
    },
    /// Building the rayon thread pool failed.
    #[error("kmeans: cannot start a pool of {n_threads} threads: {message}")]
    ThreadPool {
        /// The requested number of threads.
        n_threads: usize,
        /// The rayon error message.
        message: String,
    },
    /// A saved tokenizer is readable but its arrays do not form a valid model.
    #[error("{}: invalid tokenizer: {reason}", path.display())]
    InvalidModel {
        /// The tokenizer file.
        path: PathBuf,
        /// Description of the inconsistency.
        reason: String,
    },
    /// Reading or writing the artifact failed, or the file is truncated, corrupted or of
    /// another kind.
    #[error(transparent)]
    Artifact(#[from] CoreError),
}
