//! The stage traits: one inference trait per stage and a linfa-style [`Fit`] for training.
//!
//! Every trait reports its shapes so that the pipeline can check that stages fit together
//! before it runs them. Each stage crate has its own error type, exposed as an associated type.

use ndarray::{Array2, ArrayView1, ArrayView2};

use crate::{FrameTiming, LabelSet};

/// Trains a stage: checked hyperparameters plus data give the fitted stage.
///
/// Implemented by the `*ValidParams` type of each trainable stage (quantizer, skip-gram, head),
/// following linfa's `Fit`. Randomness comes from a seed inside the params.
pub trait Fit<D> {
    /// The fitted stage.
    type Object;
    /// The stage's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Fits the stage on `data`.
    ///
    /// # Errors
    /// Invalid data for this stage (wrong shape, non-finite values, too few points).
    fn fit(&self, data: D) -> Result<Self::Object, Self::Error>;
}

/// Frame features of one signal: `frames x features`, row `k` stamped by `timing.frame_time(k)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Feature matrix, one row per frame, C order.
    pub data: Array2<f32>,
    /// How the rows map to time.
    pub timing: FrameTiming,
}

impl Features {
    /// Number of frames (rows).
    pub fn n_frames(&self) -> usize {
        self.data.nrows()
    }

    /// Frame centre times in seconds.
    pub fn times(&self) -> Vec<f64> {
        (0..self.n_frames())
            .map(|k| self.timing.frame_time(k))
            .collect()
    }
}

/// A frontend turns mono samples into frame features.
pub trait Frontend: Send + Sync {
    /// The frontend's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Sample rate in Hz the input must have.
    fn sample_rate(&self) -> u32;

    /// Number of features per frame (columns of the output).
    fn n_features(&self) -> usize;

    /// Frame layout of the output.
    fn timing(&self) -> FrameTiming;

    /// Computes features of mono samples at [`Frontend::sample_rate`].
    ///
    /// Returns `timing().n_frames(samples.len())` rows of `n_features()` columns.
    ///
    /// # Errors
    /// Stage-specific; for example non-finite samples.
    fn process(&self, samples: &[f32]) -> Result<Features, Self::Error>;
}

/// A quantizer maps each frame to one token id in `0..n_tokens()`.
pub trait Quantizer: Send + Sync {
    /// The quantizer's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Number of features each input row must have.
    fn n_features(&self) -> usize;

    /// Size of the token vocabulary (the codebook size K).
    fn n_tokens(&self) -> usize;

    /// Returns one token id per row of `frames` (`frames x n_features()`).
    ///
    /// # Errors
    /// A column count other than `n_features()`, or a row with NaN or infinite values.
    fn quantize(&self, frames: ArrayView2<'_, f32>) -> Result<Vec<u32>, Self::Error>;
}

/// A table of one vector per token id.
pub trait TokenEmbeddings: Send + Sync {
    /// Vector length.
    fn dim(&self) -> usize;

    /// Number of token ids the table covers (`0..n_tokens()`).
    fn n_tokens(&self) -> usize;

    /// The raw (not normalised) vector of `token`, or `None` when the token has no vector
    /// (never seen in training, or `token >= n_tokens()`). Pooling treats `None` as a zero vector.
    fn vector(&self, token: u32) -> Option<ArrayView1<'_, f32>>;
}

/// A head maps window vectors to per-class scores.
pub trait Head: Send + Sync {
    /// The head's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Number of features each input row must have.
    fn n_features(&self) -> usize;

    /// Classes in column order of the output.
    fn labels(&self) -> &LabelSet;

    /// Returns `windows x labels().len()` scores in `[0, 1]`, one row per input row.
    ///
    /// # Errors
    /// A column count other than `n_features()`, or a row with NaN or infinite values.
    fn predict(&self, windows: ArrayView2<'_, f32>) -> Result<Array2<f32>, Self::Error>;
}

/// Training data of a skip-gram: token sequences that never cross a file boundary.
#[derive(Debug, Clone, Copy)]
pub struct TokenCorpus<'a> {
    /// One sequence per file, tokens in time order.
    pub sequences: &'a [Vec<u32>],
    /// Size of the token vocabulary; every token is `< n_tokens`.
    pub n_tokens: usize,
}

/// Training data of a head: window vectors and their targets.
#[derive(Debug, Clone, Copy)]
pub struct HeadDataset<'a> {
    /// `windows x features`.
    pub features: ArrayView2<'a, f32>,
    /// `windows x classes`, 1 where the class is present and 0 where absent.
    pub targets: ArrayView2<'a, f32>,
    /// Class names of the target columns.
    pub labels: &'a LabelSet,
}
