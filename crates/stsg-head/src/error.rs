//! Error types of the head: one for invalid params, one for everything else.

use std::path::PathBuf;

/// A rule of [`HeadParams`](crate::HeadParams) that [`check`](crate::HeadParams::check) rejects.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum HeadParamsError {
    /// The L2 strength is negative, NaN or infinite.
    #[error("head: invalid l2 {0}; it must be finite and >= 0")]
    InvalidL2(f64),
    /// The iteration limit is zero.
    #[error("head: max_iter must be >= 1, got 0")]
    ZeroMaxIter,
    /// The gradient tolerance is not a finite positive number.
    #[error("head: invalid tol {0}; it must be finite and > 0")]
    InvalidTol(f64),
    /// A thread count of zero was requested.
    #[error("head: n_threads must be >= 1 when set, got 0; use None for all cores")]
    ZeroThreads,
}

/// Errors of training, prediction, target building, metrics and model files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeadError {
    /// The params broke a rule.
    #[error(transparent)]
    Params(#[from] HeadParamsError),
    /// A training set or input matrix has no rows or no columns.
    #[error("head: {what} is empty ({rows} rows x {cols} columns); it needs at least one of each")]
    Empty {
        /// Which matrix.
        what: &'static str,
        /// Its row count.
        rows: usize,
        /// Its column count.
        cols: usize,
    },
    /// Two matrices or a matrix and the model disagree on a dimension.
    #[error("head: {what}: expected {expected}, got {got}")]
    Shape {
        /// The dimension compared, for example "feature columns".
        what: &'static str,
        /// The value required.
        expected: usize,
        /// The value received.
        got: usize,
    },
    /// A feature or score is NaN or infinite.
    #[error(
        "head: {what} row {row} column {col} is {value}; remove or repair that row (all values must be finite)"
    )]
    NonFinite {
        /// The matrix kind: "feature" or "score".
        what: &'static str,
        /// Row index.
        row: usize,
        /// Column index.
        col: usize,
        /// The offending value.
        value: f32,
    },
    /// A training target lies outside `[0, 1]` or is not finite.
    #[error("head: target row {row} column {col} is {value}; targets must lie in [0, 1]")]
    InvalidTarget {
        /// Row index.
        row: usize,
        /// Column index.
        col: usize,
        /// The offending value.
        value: f32,
    },
    /// A metric's ground truth is neither 0 nor 1.
    #[error("head: ground truth row {row} column {col} is {value}; it must be 0 or 1")]
    InvalidTruth {
        /// Row index.
        row: usize,
        /// Column index.
        col: usize,
        /// The offending value.
        value: f32,
    },
    /// A softmax training row has no positive class.
    #[error(
        "head: softmax target row {row} has no positive class; every row needs a label (drop the row or use the sigmoid head)"
    )]
    UnlabelledRow {
        /// Row index.
        row: usize,
    },
    /// No class has both positive and negative training rows, so nothing can be learned.
    #[error(
        "head: no class has both positive and negative training rows ({classes} classes, {rows} rows); check the targets"
    )]
    NothingToLearn {
        /// Number of classes.
        classes: usize,
        /// Number of rows.
        rows: usize,
    },
    /// A window label is not in the label set.
    #[error(
        "head: window {window} has label {label:?}, which is not in the label set of {n_labels} classes"
    )]
    UnknownLabel {
        /// The unknown label.
        label: String,
        /// Index of the window that carries it.
        window: usize,
        /// Size of the label set.
        n_labels: usize,
    },
    /// A metric is undefined for this ground truth.
    #[error("head: {metric} is undefined: {reason}")]
    UndefinedMetric {
        /// The metric's name.
        metric: &'static str,
        /// The reason it is undefined.
        reason: String,
    },
    /// Reading or writing a model artifact failed in the container layer.
    #[error("head: {0}")]
    Artifact(#[from] stsg_core::CoreError),
    /// A model artifact passed the container checks but its content is inconsistent.
    #[error("head: {}: invalid model: {reason}", path.display())]
    InvalidModel {
        /// The model file.
        path: PathBuf,
        /// The inconsistency found.
        reason: String,
    },
}
