//! Hyperparameters of k-means and of the tokenizer, in linfa style: unchecked `*Params` with one
//! setter per field, and `check()` turning them into `*ValidParams` that hold every rule.

use serde::{Deserialize, Serialize};

use crate::error::{KMeansParamsError, TokenizerParamsError};

/// Initialisation method of k-means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KMeansInit {
    /// `k` distinct training points drawn uniformly at random, as faiss does.
    RandomPoints,
    /// k-means++ seeding (Arthur and Vassilvitskii, 2007): each new centroid is a training point
    /// drawn with probability proportional to its squared distance to the nearest chosen one.
    /// Costs O(n k d) at worst; the triangle inequality skips most distance evaluations.
    KMeansPlusPlus,
}

/// Unchecked k-means hyperparameters; call [`KMeansParams::check`] to validate them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansParams {
    /// Number of clusters (codebook size).
    pub k: usize,
    /// Number of Lloyd iterations.
    pub n_iter: usize,
    /// Seed of the subsampling, the initialisation and the empty-cluster repair.
    pub seed: u64,
    /// The training set is subsampled to at most `max_points_per_centroid * k` points.
    pub max_points_per_centroid: usize,
    /// Initialisation method.
    pub init: KMeansInit,
    /// Number of threads; `None` uses the current rayon pool (all cores by default).
    pub n_threads: Option<usize>,
}

impl KMeansParams {
    /// Creates parameters for `k` clusters with the faiss defaults: `n_iter` 25, `seed` 1234,
    /// `max_points_per_centroid` 256, `init` [`KMeansInit::RandomPoints`], `n_threads` `None`.
    pub fn new(k: usize) -> Self {
        Self {
            k,
            n_iter: 25,
            seed: 1234,
            max_points_per_centroid: 256,
            init: KMeansInit::RandomPoints,
            n_threads: None,
        }
    }

    /// Sets the number of clusters.
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    /// Sets the number of Lloyd iterations (default 25).
    pub fn n_iter(mut self, n_iter: usize) -> Self {
        self.n_iter = n_iter;
        self
    }

    /// Sets the seed (default 1234).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the subsampling cap per centroid (default 256).
    pub fn max_points_per_centroid(mut self, max_points_per_centroid: usize) -> Self {
        self.max_points_per_centroid = max_points_per_centroid;
        self
    }

    /// Sets the initialisation method (default [`KMeansInit::RandomPoints`]).
    pub fn init(mut self, init: KMeansInit) -> Self {
        self.init = init;
        self
    }

    /// Sets the number of threads (default `None`: the current rayon pool).
    pub fn n_threads(mut self, n_threads: Option<usize>) -> Self {
        self.n_threads = n_threads;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// One [`KMeansParamsError`] variant per broken rule: `k` is 0 or above `u32::MAX + 1`,
    /// `n_iter` is 0, `max_points_per_centroid` is 0, `n_threads` is `Some(0)`.
    pub fn check(&self) -> Result<KMeansValidParams, KMeansParamsError> {
        let max_k = u32::MAX as usize + 1;
        if self.k == 0 {
            return Err(KMeansParamsError::ZeroClusters);
        }
        if self.k > max_k {
            return Err(KMeansParamsError::TooManyClusters {
                k: self.k,
                max: max_k,
            });
        }
        if self.n_iter == 0 {
            return Err(KMeansParamsError::ZeroIterations);
        }
        if self.max_points_per_centroid == 0 {
            return Err(KMeansParamsError::ZeroMaxPointsPerCentroid);
        }
        if self.n_threads == Some(0) {
            return Err(KMeansParamsError::ZeroThreads);
        }
        Ok(KMeansValidParams(self.clone()))
    }
}

/// Checked k-means hyperparameters; train with
/// [`KMeansValidParams::fit`](crate::KMeansValidParams::fit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansValidParams(pub(crate) KMeansParams);

impl KMeansValidParams {
    /// The checked values.
    pub fn params(&self) -> &KMeansParams {
        &self.0
    }
}

/// Unchecked tokenizer hyperparameters: optional PCA, optional L2 normalisation, then k-means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenizerParams {
    /// The codebook training parameters.
    pub kmeans: KMeansParams,
    /// Number of PCA components, or `None` to skip PCA.
    pub pca_components: Option<usize>,
    /// Whether each (projected) frame is scaled to unit L2 norm before k-means and assignment.
    pub l2_normalize: bool,
}

impl TokenizerParams {
    /// Creates parameters with no PCA and no L2 normalisation (the reference v1 tokenizer).
    pub fn new(kmeans: KMeansParams) -> Self {
        Self {
            kmeans,
            pca_components: None,
            l2_normalize: false,
        }
    }

    /// Sets the k-means parameters.
    pub fn kmeans(mut self, kmeans: KMeansParams) -> Self {
        self.kmeans = kmeans;
        self
    }

    /// Sets the number of PCA components (default `None`: no PCA).
    pub fn pca_components(mut self, pca_components: Option<usize>) -> Self {
        self.pca_components = pca_components;
        self
    }

    /// Sets whether frames are L2-normalised after PCA (default `false`).
    pub fn l2_normalize(mut self, l2_normalize: bool) -> Self {
        self.l2_normalize = l2_normalize;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// [`TokenizerParamsError::KMeans`] for a broken k-means rule and
    /// [`TokenizerParamsError::ZeroComponents`] for `pca_components == Some(0)`.
    pub fn check(&self) -> Result<TokenizerValidParams, TokenizerParamsError> {
        let kmeans = self.kmeans.check()?;
        if self.pca_components == Some(0) {
            return Err(TokenizerParamsError::ZeroComponents);
        }
        Ok(TokenizerValidParams {
            params: self.clone(),
            kmeans,
        })
    }
}

/// Checked tokenizer hyperparameters; train with [`stsg_core::Fit`] or
/// [`TokenizerValidParams::fit_with_progress`](crate::TokenizerValidParams::fit_with_progress).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenizerValidParams {
    pub(crate) params: TokenizerParams,
    pub(crate) kmeans: KMeansValidParams,
}

impl TokenizerValidParams {
    /// The checked values.
    pub fn params(&self) -> &TokenizerParams {
        &self.params
    }

    /// The checked k-means values.
    pub fn kmeans(&self) -> &KMeansValidParams {
        &self.kmeans
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    #[test]
    fn defaults_match_faiss() {
        let p = KMeansParams::new(16_383);
        assert_eq!(p.n_iter, 25);
        assert_eq!(p.seed, 1234);
        assert_eq!(p.max_points_per_centroid, 256);
        assert_eq!(p.init, KMeansInit::RandomPoints);
        assert_eq!(p.n_threads, None);
        assert!(p.check().is_ok());
    }

    #[test]
    fn k_cannot_be_zero() {
        assert_eq!(
            KMeansParams::new(0).check(),
            Err(KMeansParamsError::ZeroClusters)
        );
    }

    #[test]
    fn k_must_fit_u32_ids() {
        let k = u32::MAX as usize + 2;
        let err = KMeansParams::new(k).check().unwrap_err();
        assert!(
            matches!(err, KMeansParamsError::TooManyClusters { .. }),
            "{err}"
        );
        assert!(KMeansParams::new(u32::MAX as usize + 1).check().is_ok());
    }

    #[test]
    fn n_iter_cannot_be_zero() {
        let err = KMeansParams::new(4).n_iter(0).check();
        assert_eq!(err, Err(KMeansParamsError::ZeroIterations));
    }

    #[test]
    fn max_points_per_centroid_cannot_be_zero() {
        let err = KMeansParams::new(4).max_points_per_centroid(0).check();
        assert_eq!(err, Err(KMeansParamsError::ZeroMaxPointsPerCentroid));
    }

    #[test]
    fn n_threads_cannot_be_zero() {
        let err = KMeansParams::new(4).n_threads(Some(0)).check();
        assert_eq!(err, Err(KMeansParamsError::ZeroThreads));
    }

    #[test]
    fn pca_components_cannot_be_zero() {
        let err = TokenizerParams::new(KMeansParams::new(4))
            .pca_components(Some(0))
            .check();
        assert_eq!(err, Err(TokenizerParamsError::ZeroComponents));
    }

    #[test]
    fn tokenizer_wraps_kmeans_rules() {
        let err = TokenizerParams::new(KMeansParams::new(0)).check();
        assert_eq!(
            err,
            Err(TokenizerParamsError::KMeans(
                KMeansParamsError::ZeroClusters
            ))
        );
    }

    #[test]
    fn params_round_trip_through_serde() {
        let p = TokenizerParams::new(KMeansParams::new(8).init(KMeansInit::KMeansPlusPlus))
            .pca_components(Some(3))
            .l2_normalize(true);
        let json = serde_json::to_string(&p).unwrap();
        let back: TokenizerParams = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }
}
