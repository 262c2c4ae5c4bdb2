//! Hyperparameters: [`SkipGramParams`] (unchecked, serde) and [`SkipGramValidParams`] (checked).

use serde::{Deserialize, Serialize};

use crate::SkipGramParamsError;

/// Unchecked skip-gram hyperparameters; [`SkipGramParams::check`] turns them into
/// [`SkipGramValidParams`].
///
/// The names and defaults are those of gensim 4's `Word2Vec(sg=1, hs=0)`, except `window`,
/// whose default is the STSG value of 80 tokens (10 s at 8 tokens per second).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkipGramParams {
    dim: usize,
    window: usize,
    negative: usize,
    ns_exponent: f64,
    sample: f64,
    min_count: u64,
    alpha: f32,
    min_alpha: f32,
    epochs: usize,
    shrink_windows: bool,
    lr_restart_every: Option<usize>,
    seed: u64,
    n_threads: Option<usize>,
}

/// Checked skip-gram hyperparameters, produced by [`SkipGramParams::check`].
///
/// Training goes through [`stsg_core::Fit`] or [`SkipGramValidParams::fit_with_progress`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkipGramValidParams(SkipGramParams);

impl SkipGramParams {
    /// Creates parameters for vectors of `dim` components, with these defaults:
    ///
    /// | field | default |
    /// |---|---|
    /// | `window` | 80 |
    /// | `negative` | 5 |
    /// | `ns_exponent` | 0.75 |
    /// | `sample` | 1e-3 |
    /// | `min_count` | 1 |
    /// | `alpha` | 0.025 |
    /// | `min_alpha` | 0.0001 |
    /// | `epochs` | 5 |
    /// | `shrink_windows` | true |
    /// | `lr_restart_every` | `None` (one linear decay over all epochs) |
    /// | `seed` | 1 |
    /// | `n_threads` | `None` (all cores) |
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            window: 80,
            negative: 5,
            ns_exponent: 0.75,
            sample: 1e-3,
            min_count: 1,
            alpha: 0.025,
            min_alpha: 0.0001,
            epochs: 5,
            shrink_windows: true,
            lr_restart_every: None,
            seed: 1,
            n_threads: None,
        }
    }

    /// Sets the vector size.
    pub fn dim(mut self, dim: usize) -> Self {
        self.dim = dim;
        self
    }

    /// Sets the maximum distance in tokens between a centre token and a context token
    /// (default 80).
    pub fn window(mut self, window: usize) -> Self {
        self.window = window;
        self
    }

    /// Sets the number of negative samples drawn per (centre, context) pair (default 5).
    pub fn negative(mut self, negative: usize) -> Self {
        self.negative = negative;
        self
    }

    /// Sets the exponent applied to token counts in the negative-sampling distribution
    /// (default 0.75). Zero samples uniformly; negative values favour rare tokens.
    pub fn ns_exponent(mut self, ns_exponent: f64) -> Self {
        self.ns_exponent = ns_exponent;
        self
    }

    /// Sets the subsampling threshold as a fraction of the corpus size (default 1e-3; 0 keeps
    /// every token).
    pub fn sample(mut self, sample: f64) -> Self {
        self.sample = sample;
        self
    }

    /// Sets the minimum count a token needs to get a vector (default 1).
    pub fn min_count(mut self, min_count: u64) -> Self {
        self.min_count = min_count;
        self
    }

    /// Sets the initial learning rate (default 0.025).
    pub fn alpha(mut self, alpha: f32) -> Self {
        self.alpha = alpha;
        self
    }

    /// Sets the final learning rate of the linear decay (default 0.0001).
    pub fn min_alpha(mut self, min_alpha: f32) -> Self {
        self.min_alpha = min_alpha;
        self
    }

    /// Sets the number of passes over the corpus (default 5).
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Sets whether each centre token draws its effective window uniformly from `1..=window`
    /// (default true) instead of always using `window`.
    pub fn shrink_windows(mut self, shrink_windows: bool) -> Self {
        self.shrink_windows = shrink_windows;
        self
    }

    /// Sets the learning-rate restart interval in epochs (default `None`: one decay over all
    /// epochs). `Some(10)` restarts the decay from `alpha` every 10 epochs, as the STSG
    /// reference does by calling gensim's `train` once per 10-epoch chunk.
    pub fn lr_restart_every(mut self, lr_restart_every: Option<usize>) -> Self {
        self.lr_restart_every = lr_restart_every;
        self
    }

    /// Sets the random seed of the initial vectors, subsampling, windows and negatives
    /// (default 1).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the number of worker threads (default `None`: all available cores). `Some(1)`
    /// trains deterministically for a given seed.
    pub fn n_threads(mut self, n_threads: Option<usize>) -> Self {
        self.n_threads = n_threads;
        self
    }

    /// Checks every rule and returns the checked parameters.
    ///
    /// # Errors
    /// One [`SkipGramParamsError`] variant per rule: `dim`, `window`, `negative`, `min_count`
    /// and `epochs` must be positive, `ns_exponent` finite, `sample` in `[0, 1)`, `alpha`
    /// finite and positive, `min_alpha` finite in `[0, alpha]`, and `lr_restart_every` and
    /// `n_threads` positive when set.
    pub fn check(&self) -> Result<SkipGramValidParams, SkipGramParamsError> {
        if self.dim == 0 {
            return Err(SkipGramParamsError::ZeroDim);
        }
        if self.window == 0 {
            return Err(SkipGramParamsError::ZeroWindow);
        }
        if self.negative == 0 {
            return Err(SkipGramParamsError::ZeroNegative);
        }
        if !self.ns_exponent.is_finite() {
            return Err(SkipGramParamsError::NonFiniteNsExponent(self.ns_exponent));
        }
        if !(0.0..1.0).contains(&self.sample) {
            return Err(SkipGramParamsError::InvalidSample(self.sample));
        }
        if self.min_count == 0 {
            return Err(SkipGramParamsError::ZeroMinCount);
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(SkipGramParamsError::InvalidAlpha(self.alpha));
        }
        if !(self.min_alpha.is_finite() && (0.0..=self.alpha).contains(&self.min_alpha)) {
            return Err(SkipGramParamsError::InvalidMinAlpha {
                min_alpha: self.min_alpha,
                alpha: self.alpha,
            });
        }
        if self.epochs == 0 {
            return Err(SkipGramParamsError::ZeroEpochs);
        }
        if self.lr_restart_every == Some(0) {
            return Err(SkipGramParamsError::ZeroRestartInterval);
        }
        if self.n_threads == Some(0) {
            return Err(SkipGramParamsError::ZeroThreads);
        }
        Ok(SkipGramValidParams(self.clone()))
    }
}

impl SkipGramValidParams {
    /// Vector size.
    pub fn dim(&self) -> usize {
        self.0.dim
    }

    /// Maximum distance in tokens between a centre token and a context token.
    pub fn window(&self) -> usize {
        self.0.window
    }

    /// Negative samples per (centre, context) pair.
    pub fn negative(&self) -> usize {
        self.0.negative
    }

    /// Exponent of the counts in the negative-sampling distribution.
    pub fn ns_exponent(&self) -> f64 {
        self.0.ns_exponent
    }

    /// Subsampling threshold as a fraction of the corpus size (0 disables subsampling).
    pub fn sample(&self) -> f64 {
        self.0.sample
    }

    /// Minimum count a token needs to get a vector.
    pub fn min_count(&self) -> u64 {
        self.0.min_count
    }

    /// Initial learning rate.
    pub fn alpha(&self) -> f32 {
        self.0.alpha
    }

    /// Final learning rate of each linear decay.
    pub fn min_alpha(&self) -> f32 {
        self.0.min_alpha
    }

    /// Number of passes over the corpus.
    pub fn epochs(&self) -> usize {
        self.0.epochs
    }

    /// Returns whether effective windows are drawn uniformly from `1..=window`.
    pub fn shrink_windows(&self) -> bool {
        self.0.shrink_windows
    }

    /// Learning-rate restart interval in epochs, if any.
    pub fn lr_restart_every(&self) -> Option<usize> {
        self.0.lr_restart_every
    }

    /// Random seed.
    pub fn seed(&self) -> u64 {
        self.0.seed
    }

    /// Requested worker threads (`None`: all available cores).
    pub fn n_threads(&self) -> Option<usize> {
        self.0.n_threads
    }

    /// Returns the unchecked parameters these were built from.
    pub fn params(&self) -> &SkipGramParams {
        &self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    fn rejects(params: SkipGramParams, expected: SkipGramParamsError) {
        assert_eq!(params.check().unwrap_err(), expected);
    }

    #[test]
    fn defaults_are_valid() {
        let valid = SkipGramParams::new(256).check().unwrap();
        assert_eq!(valid.window(), 80);
        assert_eq!(valid.negative(), 5);
        assert_eq!(valid.min_count(), 1);
        assert_eq!(valid.lr_restart_every(), None);
    }

    #[test]
    fn dim_cannot_be_zero() {
        rejects(SkipGramParams::new(0), SkipGramParamsError::ZeroDim);
    }

    #[test]
    fn window_cannot_be_zero() {
        rejects(
            SkipGramParams::new(8).window(0),
            SkipGramParamsError::ZeroWindow,
        );
    }

    #[test]
    fn negative_cannot_be_zero() {
        rejects(
            SkipGramParams::new(8).negative(0),
            SkipGramParamsError::ZeroNegative,
        );
    }

    #[test]
    fn ns_exponent_must_be_finite() {
        let params = SkipGramParams::new(8).ns_exponent(f64::INFINITY);
        rejects(
            params,
            SkipGramParamsError::NonFiniteNsExponent(f64::INFINITY),
        );
        assert!(
            SkipGramParams::new(8)
                .ns_exponent(f64::NAN)
                .check()
                .is_err()
        );
        assert!(SkipGramParams::new(8).ns_exponent(-0.75).check().is_ok());
        assert!(SkipGramParams::new(8).ns_exponent(0.0).check().is_ok());
    }

    #[test]
    fn sample_must_be_a_fraction() {
        rejects(
            SkipGramParams::new(8).sample(1.0),
            SkipGramParamsError::InvalidSample(1.0),
        );
        rejects(
            SkipGramParams::new(8).sample(-1e-5),
            SkipGramParamsError::InvalidSample(-1e-5),
        );
        assert!(SkipGramParams::new(8).sample(0.0).check().is_ok());
    }

    #[test]
    fn min_count_cannot_be_zero() {
        rejects(
            SkipGramParams::new(8).min_count(0),
            SkipGramParamsError::ZeroMinCount,
        );
    }

    #[test]
    fn alpha_must_be_positive() {
        rejects(
            SkipGramParams::new(8).alpha(0.0),
            SkipGramParamsError::InvalidAlpha(0.0),
        );
        assert!(SkipGramParams::new(8).alpha(f32::NAN).check().is_err());
    }

    #[test]
    fn min_alpha_must_not_exceed_alpha() {
        let params = SkipGramParams::new(8).alpha(0.01).min_alpha(0.02);
        rejects(
            params,
            SkipGramParamsError::InvalidMinAlpha {
                min_alpha: 0.02,
                alpha: 0.01,
            },
        );
        assert!(SkipGramParams::new(8).min_alpha(-1e-4).check().is_err());
        assert!(SkipGramParams::new(8).min_alpha(0.025).check().is_ok());
    }

    #[test]
    fn epochs_cannot_be_zero() {
        rejects(
            SkipGramParams::new(8).epochs(0),
            SkipGramParamsError::ZeroEpochs,
        );
    }

    #[test]
    fn restart_interval_cannot_be_zero() {
        let params = SkipGramParams::new(8).lr_restart_every(Some(0));
        rejects(params, SkipGramParamsError::ZeroRestartInterval);
    }

    #[test]
    fn thread_count_cannot_be_zero() {
        rejects(
            SkipGramParams::new(8).n_threads(Some(0)),
            SkipGramParamsError::ZeroThreads,
        );
    }

    #[test]
    fn params_round_trip_through_json() {
        let params = SkipGramParams::new(384)
            .ns_exponent(1.5)
            .lr_restart_every(Some(10));
        let json = serde_json::to_string(&params).unwrap();
        let back: SkipGramParams = serde_json::from_str(&json).unwrap();
        assert_eq!(back, params);
    }
}
