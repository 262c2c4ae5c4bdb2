//! Spectrogram tokens: PCA, k-means codebook training and fast nearest-centroid assignment.
//!
//! A [`Tokenizer`] maps each frame to one token id in `0..k`:
//! `frame -> [Pca] -> [L2 normalisation] -> nearest centroid of a Codebook`. It implements
//! [`stsg_core::Quantizer`] and is trained from [`TokenizerParams`] through [`stsg_core::Fit`]
//! or [`TokenizerValidParams::fit_with_progress`]. The parts are usable alone: [`Pca`],
//! [`l2_normalize_rows`], [`Codebook`] (exact assignment) and [`KMeansParams`] (Lloyd training,
//! also through `Fit`).
//!
//! Conventions:
//! - inputs are `frames x features` `f32` matrices; any layout is accepted, C order is fastest;
//! - distances are squared Euclidean; ties go to the lowest centroid index;
//! - L2 normalisation is `x / (|x| + 1e-8)`, as in the reference tokenizer, and comes after PCA;
//! - PCA centres the data and does not whiten; explained variance uses the divisor `n - 1`;
//! - a frame with NaN or an infinite value is an error that names its row, never a token;
//! - `k` larger than the number of training frames is an error ([`QuantizeError::TooFewPoints`]),
//!   not a silent clamp.
//!
//! Training follows faiss's `Kmeans` defaults (faiss 1.x `Clustering.h`): 25 iterations, seed
//! 1234, at most 256 training points per centroid (a seeded subsample otherwise), initial
//! centroids drawn from the training points, empty clusters repaired by splitting large ones.
//! A run depends on the seed and the data only, not on the thread count. Assignment computes
//! `|c|^2 - 2 x.c` with faer's matrix product over blocks of 256 frames and 1024 centroids,
//! in parallel with rayon.
//!
//! A saved tokenizer is a [`stsg_core::artifact`] container of kind [`TOKENIZER_KIND`] at
//! version [`TOKENIZER_FORMAT_VERSION`]: arrays `centroids` (`k x d`, f32) and, with PCA,
//! `pca_mean` (f32), `pca_components` (`n x D`, f32), `pca_explained_variance` (f64) and
//! `pca_total_variance` (f64); metadata `l2_normalize`, shapes and the training params.
//!
//! ```
//! use ndarray::Array2;
//! use stsg_core::{Fit, Quantizer};
//! use stsg_quantize::{KMeansParams, Tokenizer, TokenizerParams};
//!
//! // 400 frames of 6 features around 4 centres.
//! let frames = Array2::from_shape_fn((400, 6), |(i, f)| ((i % 4) * 10 + f) as f32 + (i % 7) as f32 * 0.1);
//! let params = TokenizerParams::new(KMeansParams::new(4).n_iter(10))
//!     .pca_components(Some(3))
//!     .l2_normalize(true)
//!     .check()?;
//! let tokenizer: Tokenizer = params.fit(frames.view())?;
//! let tokens = tokenizer.quantize(frames.view())?;
//! assert_eq!(tokens.len(), 400);
//! assert!(tokens.iter().all(|&t| t < 4));
//!
//! let path = std::env::temp_dir().join(format!("stsg-doc-{}.tok", std::process::id()));
//! tokenizer.save(&path)?;
//! assert_eq!(Tokenizer::load(&path)?, tokenizer);
//! # std::fs::remove_file(&path).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod assign;
mod codebook;
mod error;
mod kmeans;
mod params;
mod pca;
mod threads;
mod tokenizer;

use ndarray::{ArrayView2, CowArray, Ix2};
use rayon::prelude::*;

pub use codebook::{Assignment, Codebook};
pub use error::{KMeansParamsError, QuantizeError, TokenizerParamsError};
pub use kmeans::KMeansProgress;
pub use params::{
    KMeansInit, KMeansParams, KMeansValidParams, TokenizerParams, TokenizerValidParams,
};
pub use pca::Pca;
pub use tokenizer::{
    L2_EPSILON, TOKENIZER_FORMAT_VERSION, TOKENIZER_KIND, Tokenizer, l2_normalize_rows,
};

/// Returns the first row of `data` holding NaN or an infinite value as an error.
fn check_finite(data: ArrayView2<'_, f32>, what: &'static str) -> Result<(), QuantizeError> {
    let bad = data
        .outer_iter()
        .into_par_iter()
        .enumerate()
        .find_first(|(_, row)| row.iter().any(|v| !v.is_finite()));
    match bad {
        None => Ok(()),
        Some((row, values)) => {
            let column = values.iter().position(|v| !v.is_finite()).unwrap_or(0);
            Err(QuantizeError::NonFinite {
                what,
                row,
                column,
                value: values[column],
            })
        }
    }
}

/// `data` in C order, borrowed when it already is.
fn contiguous<'a>(data: ArrayView2<'a, f32>) -> CowArray<'a, f32, Ix2> {
    if data.is_standard_layout() {
        CowArray::from(data)
    } else {
        CowArray::from(data.as_standard_layout().into_owned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<Tokenizer>();
        assert_send_sync::<Codebook>();
        assert_send_sync::<Pca>();
        assert_send_sync::<QuantizeError>();
        assert_send_sync::<TokenizerValidParams>();
    }
}
