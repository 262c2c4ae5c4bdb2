//! Hyperparameters of the head: [`HeadParams`] (unchecked) and [`HeadValidParams`] (checked).

use serde::{Deserialize, Serialize};

use crate::HeadParamsError;

/// Link function of the class scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadKind {
    /// One independent sigmoid per class (multi-label); scores need not sum to 1.
    Sigmoid,
    /// A softmax over the classes (multinomial, single-label); each score row sums to 1.
    Softmax,
}

/// Per-class loss weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeight {
    /// Every row and class weighs 1.
    None,
    /// Weights inversely proportional to class frequency, as scikit-learn's
    /// `class_weight="balanced"`.
    ///
    /// With `n` rows and `P_k` the sum of target column `k`:
    /// - sigmoid: class `k` is its own binary problem, so its positive terms weigh
    ///   `n / (2 P_k)` and its negative terms `n / (2 (n - P_k))`; this equals scikit-learn's
    ///   binary `LogisticRegression(class_weight="balanced")` fitted on column `k` alone;
    /// - softmax: row `i` weighs `sum_k t_ik n / (m P_k)`, where `t_i` is the normalised target
    ///   row and `m` the number of classes with `P_k > 0`. For one-hot rows this equals
    ///   scikit-learn's multinomial `class_weight="balanced"`.
    Balanced,
}

/// Unchecked hyperparameters of the linear head.
///
/// The head minimises the mean weighted log loss plus `l2 / 2 * |W|^2` (the bias is not
/// penalised). scikit-learn's `LogisticRegression` minimises `C * sum(loss) + |w|^2 / 2`, which
/// has the same minimiser when `l2 = 1 / (C * n)` for `n` training rows (see
/// [`HeadParams::l2_for_sklearn_c`]). linfa-logistic's `alpha` penalises the summed loss:
/// `alpha = l2 * n`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadParams {
    kind: HeadKind,
    l2: f64,
    max_iter: usize,
    tol: f64,
    class_weight: ClassWeight,
    standardize: bool,
    n_threads: Option<usize>,
}

impl Default for HeadParams {
    fn default() -> Self {
        Self::new()
    }
}

impl HeadParams {
    /// Creates params with the defaults: `kind` [`HeadKind::Sigmoid`], `l2` 1e-4 (scikit-learn
    /// `C = 1` at 10 000 rows), `max_iter` 100 and `tol` 1e-4 (scikit-learn's lbfgs defaults),
    /// `class_weight` [`ClassWeight::None`], `standardize` true, `n_threads` None (all cores).
    pub fn new() -> Self {
        Self {
            kind: HeadKind::Sigmoid,
            l2: 1e-4,
            max_iter: 100,
            tol: 1e-4,
            class_weight: ClassWeight::None,
            standardize: true,
            n_threads: None,
        }
    }

    /// Returns the `l2` that gives scikit-learn's `LogisticRegression(C = c)` objective on
    /// `n_samples` rows: `1 / (c * n_samples)`.
    pub fn l2_for_sklearn_c(c: f64, n_samples: usize) -> f64 {
        1.0 / (c * n_samples as f64)
    }

    /// Sets sigmoid (multi-label) or softmax (single-label) scores. Default: sigmoid.
    pub fn kind(mut self, kind: HeadKind) -> Self {
        self.kind = kind;
        self
    }

    /// Sets the L2 strength on the weights, relative to the mean loss. Default: 1e-4.
    pub fn l2(mut self, l2: f64) -> Self {
        self.l2 = l2;
        self
    }

    /// Sets the maximum number of L-BFGS iterations. Default: 100.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Sets the stopping tolerance on the largest absolute gradient entry of the objective.
    /// Default: 1e-4.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Sets the class weighting. Default: [`ClassWeight::None`].
    pub fn class_weight(mut self, class_weight: ClassWeight) -> Self {
        self.class_weight = class_weight;
        self
    }

    /// Sets whether features are standardised to zero mean and unit variance (population
    /// standard deviation; a constant feature keeps scale 1) before the fit. The mean and scale
    /// are stored in the model and applied at prediction. Default: true.
    pub fn standardize(mut self, standardize: bool) -> Self {
        self.standardize = standardize;
        self
    }

    /// Sets the number of training threads; `None` uses the current rayon pool (all cores by
    /// default). Prediction always runs on the caller's current rayon pool. Default: None.
    pub fn n_threads(mut self, n_threads: Option<usize>) -> Self {
        self.n_threads = n_threads;
        self
    }

    /// Checks every rule and returns the checked params.
    ///
    /// # Errors
    /// One [`HeadParamsError`] variant per rule.
    pub fn check(&self) -> Result<HeadValidParams, HeadParamsError> {
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return Err(HeadParamsError::InvalidL2(self.l2));
        }
        if self.max_iter == 0 {
            return Err(HeadParamsError::ZeroMaxIter);
        }
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err(HeadParamsError::InvalidTol(self.tol));
        }
        if self.n_threads == Some(0) {
            return Err(HeadParamsError::ZeroThreads);
        }
        Ok(HeadValidParams(self.clone()))
    }
}

/// Checked hyperparameters; train with [`Fit::fit`](stsg_core::Fit::fit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadValidParams(HeadParams);

impl HeadValidParams {
    /// Sigmoid or softmax scores.
    pub fn kind(&self) -> HeadKind {
        self.0.kind
    }

    /// L2 strength relative to the mean loss.
    pub fn l2(&self) -> f64 {
        self.0.l2
    }

    /// Maximum number of L-BFGS iterations.
    pub fn max_iter(&self) -> usize {
        self.0.max_iter
    }

    /// Stopping tolerance on the largest absolute gradient entry.
    pub fn tol(&self) -> f64 {
        self.0.tol
    }

    /// Class weighting.
    pub fn class_weight(&self) -> ClassWeight {
        self.0.class_weight
    }

    /// Returns whether features are standardised.
    pub fn standardize(&self) -> bool {
        self.0.standardize
    }

    /// Thread count; `None` means all cores.
    pub fn n_threads(&self) -> Option<usize> {
        self.0.n_threads
    }

    /// Returns the unchecked params these were made from.
    pub fn params(&self) -> &HeadParams {
        &self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_check() {
        let valid = HeadParams::new().check().unwrap();
        assert_eq!(valid.kind(), HeadKind::Sigmoid);
        assert_eq!(valid.max_iter(), 100);
        assert!(valid.standardize());
    }

    #[test]
    fn l2_must_be_finite_and_non_negative() {
        for l2 in [-1e-3, f64::NAN, f64::INFINITY] {
            let err = HeadParams::new().l2(l2).check().unwrap_err();
            assert!(
                matches!(err, HeadParamsError::InvalidL2(_)),
                "l2 {l2}: {err}"
            );
        }
        assert!(HeadParams::new().l2(0.0).check().is_ok());
    }

    #[test]
    fn max_iter_cannot_be_zero() {
        let err = HeadParams::new().max_iter(0).check().unwrap_err();
        assert_eq!(err, HeadParamsError::ZeroMaxIter);
    }

    #[test]
    fn tol_must_be_positive() {
        for tol in [0.0, -1.0, f64::NAN] {
            let err = HeadParams::new().tol(tol).check().unwrap_err();
            assert!(
                matches!(err, HeadParamsError::InvalidTol(_)),
                "tol {tol}: {err}"
            );
        }
    }

    #[test]
    fn thread_count_cannot_be_zero() {
        let err = HeadParams::new().n_threads(Some(0)).check().unwrap_err();
        assert_eq!(err, HeadParamsError::ZeroThreads);
    }

    #[test]
    fn sklearn_c_maps_to_mean_loss_l2() {
        assert_eq!(HeadParams::l2_for_sklearn_c(1.0, 10_000), 1e-4);
        assert_eq!(HeadParams::l2_for_sklearn_c(0.5, 200), 0.01);
    }

    #[test]
    fn params_round_trip_through_toml_like_json() {
        let params = HeadParams::new()
            .kind(HeadKind::Softmax)
            .class_weight(ClassWeight::Balanced);
        let json = serde_json::to_string(&params).unwrap();
        let back: HeadParams = serde_json::from_str(&json).unwrap();
        assert_eq!(back, params);
    }
}
