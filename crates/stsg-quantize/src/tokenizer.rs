//! [`Tokenizer`]: optional PCA, optional L2 normalisation and a codebook, fitted together and
//! saved as one checked artifact.

use std::path::Path;

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rayon::prelude::*;
use stsg_core::artifact::{Artifact, ArtifactWriter};
use stsg_core::{Fit, Quantizer};

use crate::codebook::{Assignment, Codebook};
use crate::error::QuantizeError;
use crate::kmeans::KMeansProgress;
use crate::params::{TokenizerParams, TokenizerValidParams};
use crate::pca::Pca;
use crate::threads::Threads;
use crate::{check_finite, contiguous};

/// Artifact kind of a saved tokenizer.
pub const TOKENIZER_KIND: &str = "stsg-quantize/tokenizer";

/// Format version of a saved tokenizer that this build writes and reads.
pub const TOKENIZER_FORMAT_VERSION: u32 = 1;

/// Added to the norm before dividing, as the reference tokenizer does (`x / (|x| + 1e-8)`), so
/// that an all-zero frame stays zero.
pub const L2_EPSILON: f32 = 1e-8;

/// Maps frames to token ids: `frames -> [PCA] -> [L2 normalisation] -> nearest centroid`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tokenizer {
    pca: Option<Pca>,
    l2_normalize: bool,
    codebook: Codebook,
    params: Option<TokenizerParams>,
}

impl Tokenizer {
    /// Assembles a tokenizer from fitted parts.
    ///
    /// # Errors
    /// [`QuantizeError::DimensionMismatch`] when the PCA output size differs from the codebook
    /// dimension.
    pub fn new(
        pca: Option<Pca>,
        l2_normalize: bool,
        codebook: Codebook,
    ) -> Result<Self, QuantizeError> {
        if let Some(pca) = &pca
            && pca.n_components() != codebook.dim()
        {
            return Err(QuantizeError::DimensionMismatch {
                expected: codebook.dim(),
                got: pca.n_components(),
            });
        }
        Ok(Self {
            pca,
            l2_normalize,
            codebook,
            params: None,
        })
    }

    /// The PCA step, if any.
    pub fn pca(&self) -> Option<&Pca> {
        self.pca.as_ref()
    }

    /// Whether frames are L2-normalised before the codebook lookup.
    pub fn l2_normalize(&self) -> bool {
        self.l2_normalize
    }

    /// The codebook.
    pub fn codebook(&self) -> &Codebook {
        &self.codebook
    }

    /// The parameters the tokenizer was trained with, when known.
    pub fn params(&self) -> Option<&TokenizerParams> {
        self.params.as_ref()
    }

    /// Applies PCA and L2 normalisation and returns the vectors that the codebook assigns.
    ///
    /// # Errors
    /// [`QuantizeError::DimensionMismatch`] and [`QuantizeError::NonFinite`] as
    /// [`Quantizer::quantize`].
    pub fn transform(&self, frames: ArrayView2<'_, f32>) -> Result<Array2<f32>, QuantizeError> {
        if frames.ncols() != self.n_features() {
            return Err(QuantizeError::DimensionMismatch {
                expected: self.n_features(),
                got: frames.ncols(),
            });
        }
        check_finite(frames, "frames")?;
        let mut out = match &self.pca {
            Some(pca) => pca.transform_unchecked(frames),
            None => contiguous(frames).into_owned(),
        };
        if self.l2_normalize {
            l2_normalize_rows(&mut out);
        }
        Ok(out)
    }

    /// Returns the token id of each frame and the squared distance to its centroid (in the
    /// space after PCA and normalisation).
    ///
    /// # Errors
    /// As [`Quantizer::quantize`].
    pub fn quantize_with_distances(
        &self,
        frames: ArrayView2<'_, f32>,
    ) -> Result<Assignment, QuantizeError> {
        let x = self.transform(frames)?;
        self.codebook.assign(x.view())
    }

    /// Saves the tokenizer to `path` atomically (format described in the crate docs).
    ///
    /// # Errors
    /// [`QuantizeError::Artifact`] when the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), QuantizeError> {
        let mut writer = ArtifactWriter::new(TOKENIZER_KIND, TOKENIZER_FORMAT_VERSION);
        let centroids = self.codebook.centroids();
        let centroids = centroids.as_standard_layout();
        writer.add_f32(
            "centroids",
            &[self.codebook.k(), self.codebook.dim()],
            centroids.as_slice().unwrap_or(&[]),
        );
        let mut total_variance = None;
        if let Some(pca) = &self.pca {
            writer
                .add_f32(
                    "pca_mean",
                    &[pca.n_features()],
                    pca.mean().as_slice().unwrap_or(&[]),
                )
                .add_f32(
                    "pca_components",
                    &[pca.n_components(), pca.n_features()],
                    pca.components().as_slice().unwrap_or(&[]),
                )
                .add_f64(
                    "pca_explained_variance",
                    &[pca.n_components()],
                    pca.explained_variance().as_slice().unwrap_or(&[]),
                )
                .add_f64("pca_total_variance", &[1], &[pca.total_variance()]);
            total_variance = Some(pca.total_variance());
        }
        writer.metadata(serde_json::json!({
            "l2_normalize": self.l2_normalize,
            "n_features": self.n_features(),
            "n_tokens": self.n_tokens(),
            "pca": self.pca.is_some(),
            "pca_total_variance": total_variance,
            "params": self.params,
        }));
        writer.write(path)?;
        Ok(())
    }

    /// Loads a tokenizer saved by [`Tokenizer::save`].
    ///
    /// # Errors
    /// [`QuantizeError::Artifact`] when the file is missing, truncated, corrupted, of another
    /// kind or of another format version, and [`QuantizeError::InvalidModel`] when its arrays
    /// do not fit together or hold non-finite values.
    pub fn load(path: &Path) -> Result<Self, QuantizeError> {
        let artifact = Artifact::read(path, TOKENIZER_KIND, TOKENIZER_FORMAT_VERSION)?;
        let invalid = |reason: String| QuantizeError::InvalidModel {
            path: path.to_path_buf(),
            reason,
        };
        let meta = artifact.metadata();
        let l2_normalize = meta["l2_normalize"]
            .as_bool()
            .ok_or_else(|| invalid("metadata field l2_normalize is missing".into()))?;
        let params: Option<TokenizerParams> = serde_json::from_value(meta["params"].clone())
            .map_err(|e| invalid(format!("metadata field params is unreadable: {e}")))?;

        let centroids = artifact.f32_array2("centroids")?;
        let codebook =
            Codebook::new(centroids).map_err(|e| invalid(format!("array \"centroids\": {e}")))?;

        let pca = if artifact.has_array("pca_components") {
            let components = artifact.f32_array2("pca_components")?;
            let mean: Array1<f32> = artifact
                .f32_array("pca_mean")?
                .into_dimensionality()
                .map_err(|e| invalid(format!("array \"pca_mean\": {e}")))?;
            let variance: Array1<f64> = artifact
                .f64_array("pca_explained_variance")?
                .into_dimensionality()
                .map_err(|e| invalid(format!("array \"pca_explained_variance\": {e}")))?;
            let total = artifact.f64_array("pca_total_variance")?;
            let total = total.iter().copied().next().unwrap_or(f64::NAN);
            if mean.len() != components.ncols() || variance.len() != components.nrows() {
                return Err(invalid(format!(
                    "PCA shapes do not fit: components {:?}, mean {}, variance {}",
                    components.shape(),
                    mean.len(),
                    variance.len()
                )));
            }
            let finite = components.iter().chain(mean.iter()).all(|v| v.is_finite())
                && variance.iter().all(|v| v.is_finite())
                && total.is_finite();
            if !finite {
                return Err(invalid("PCA arrays hold NaN or infinite values".into()));
            }
            Some(Pca::from_parts(mean, components, variance, total))
        } else {
            None
        };

        let mut tokenizer = Self::new(pca, l2_normalize, codebook)
            .map_err(|e| invalid(format!("PCA output does not fit the codebook: {e}")))?;
        tokenizer.params = params;
        Ok(tokenizer)
    }
}

impl Quantizer for Tokenizer {
    type Error = QuantizeError;

    fn n_features(&self) -> usize {
        match &self.pca {
            Some(pca) => pca.n_features(),
            None => self.codebook.dim(),
        }
    }

    fn n_tokens(&self) -> usize {
        self.codebook.k()
    }

    fn quantize(&self, frames: ArrayView2<'_, f32>) -> Result<Vec<u32>, QuantizeError> {
        let x = self.transform(frames)?;
        self.codebook.assign_tokens(x.view())
    }
}

/// Scales each row to unit L2 norm: `x / (|x| + L2_EPSILON)`.
pub fn l2_normalize_rows(data: &mut Array2<f32>) {
    data.axis_iter_mut(Axis(0))
        .into_par_iter()
        .for_each(|mut row| {
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            let scale = 1.0 / (norm + L2_EPSILON);
            row.mapv_inplace(|v| v * scale);
        });
}

impl<'a> Fit<ArrayView2<'a, f32>> for TokenizerValidParams {
    type Object = Tokenizer;
    type Error = QuantizeError;

    fn fit(&self, frames: ArrayView2<'a, f32>) -> Result<Tokenizer, QuantizeError> {
        self.fit_with_progress(frames, |_| {})
    }
}

impl TokenizerValidParams {
    /// Fits PCA (if configured) on `frames`, normalises the projected frames (if configured)
    /// and trains the codebook on them, calling `callback` after each k-means iteration.
    ///
    /// # Errors
    /// [`QuantizeError::EmptyInput`], [`QuantizeError::NonFinite`] (naming the row),
    /// [`QuantizeError::TooManyComponents`] when `pca_components` exceeds the feature count,
    /// [`QuantizeError::TooFewPoints`] when there are fewer frames than `k`.
    pub fn fit_with_progress(
        &self,
        frames: ArrayView2<'_, f32>,
        callback: impl FnMut(&KMeansProgress),
    ) -> Result<Tokenizer, QuantizeError> {
        let p = &self.params;
        if frames.nrows() == 0 || frames.ncols() == 0 {
            return Err(QuantizeError::EmptyInput {
                what: "training frames",
                rows: frames.nrows(),
                cols: frames.ncols(),
            });
        }
        if frames.nrows() < p.kmeans.k {
            return Err(QuantizeError::TooFewPoints {
                k: p.kmeans.k,
                n_points: frames.nrows(),
            });
        }
        if let Some(c) = p.pca_components
            && c > frames.ncols()
        {
            return Err(QuantizeError::TooManyComponents {
                components: c,
                features: frames.ncols(),
            });
        }
        let threads = Threads::new(p.kmeans.n_threads)?;
        threads.run(|| check_finite(frames, "training frames"))?;

        let pca = match p.pca_components {
            Some(c) => Some(threads.run(|| Pca::fit(frames, c))?),
            None => None,
        };
        let mut x = threads.run(|| match &pca {
            Some(pca) => pca.transform_unchecked(frames),
            None => contiguous(frames).into_owned(),
        });
        if let Some(pca) = &pca {
            let kept: f64 = pca.explained_variance_ratio().sum();
            log::info!(
                "pca: {} -> {} components keep {:.1} % of the variance",
                pca.n_features(),
                pca.n_components(),
                100.0 * kept
            );
        }
        if p.l2_normalize {
            threads.run(|| l2_normalize_rows(&mut x));
        }

        let codebook = self.kmeans.fit_with_progress(x.view(), callback)?;
        let mut tokenizer = Tokenizer::new(pca, p.l2_normalize, codebook)?;
        tokenizer.params = Some(p.clone());
        Ok(tokenizer)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn l2_normalisation_gives_unit_rows() {
        let mut x = array![[3.0f32, 4.0], [0.0, 0.0], [1e-3, 0.0]];
        l2_normalize_rows(&mut x);
        assert!(
            (x[[0, 0]] - 0.6).abs() < 1e-6 && (x[[0, 1]] - 0.8).abs() < 1e-6,
            "{x}"
        );
        assert_eq!(x.row(1).to_vec(), vec![0.0, 0.0]);
        assert!((x[[2, 0]] - 1.0).abs() < 1e-4, "{x}");
    }

    #[test]
    fn pca_output_must_match_codebook() {
        let pca = Pca::fit(
            array![[0.0f32, 1.0, 2.0], [1.0, 0.0, 2.0], [2.0, 2.0, 0.0]].view(),
            2,
        )
        .unwrap();
        let codebook = Codebook::new(array![[0.0f32, 0.0, 0.0]]).unwrap();
        let err = Tokenizer::new(Some(pca), false, codebook).unwrap_err();
        assert!(
            matches!(
                err,
                QuantizeError::DimensionMismatch {
                    expected: 3,
                    got: 2
                }
            ),
            "{err}"
        );
    }
}
