//! [`Pca`]: principal component analysis of frames, centred and without whitening.
//!
//! Fitting accumulates the covariance matrix in `f64` over blocks of rows (so the centred data
//! is never held in memory at once) and takes its symmetric eigendecomposition with faer.
//! Components are the eigenvectors of the largest eigenvalues, in decreasing order, each with
//! the sign that makes its largest-magnitude entry positive. Explained variance uses the
//! unbiased divisor `n - 1`, as scikit-learn's `PCA` does.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rayon::prelude::*;

use crate::error::QuantizeError;
use crate::{check_finite, contiguous};

/// Rows per block of the covariance accumulation and of the projection.
const PCA_BLOCK: usize = 2048;

/// A fitted PCA projection: `y = W (x - mean)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    mean: Array1<f32>,
    components: Array2<f32>,
    explained_variance: Array1<f64>,
    total_variance: f64,
}

impl Pca {
    /// Fits `n_components` components on `data` (`rows x features`).
    ///
    /// Costs O(rows features^2) for the covariance plus O(features^3) for the
    /// eigendecomposition.
    ///
    /// # Errors
    /// [`QuantizeError::EmptyInput`] for no rows or columns, [`QuantizeError::TooManyComponents`]
    /// when `n_components` is 0 or exceeds the number of features, [`QuantizeError::NonFinite`]
    /// naming the first row with NaN or an infinite value, and
    /// [`QuantizeError::EigenDecomposition`] when the eigensolver fails.
    pub fn fit(data: ArrayView2<'_, f32>, n_components: usize) -> Result<Self, QuantizeError> {
        let (n, dim) = data.dim();
        if n == 0 || dim == 0 {
            return Err(QuantizeError::EmptyInput {
                what: "PCA training frames",
                rows: n,
                cols: dim,
            });
        }
        if n_components == 0 || n_components > dim {
            return Err(QuantizeError::TooManyComponents {
                components: n_components,
                features: dim,
            });
        }
        check_finite(data, "PCA training frames")?;
        if n <= n_components {
            log::warn!(
                "pca: {n} training frames for {n_components} components; at most {} components carry variance",
                n - 1
            );
        }

        let data = contiguous(data);
        let mean = column_means(data.view());
        let cov = covariance(data.view(), &mean);
        let total_variance = (0..dim).map(|i| cov[(i, i)]).sum::<f64>();

        let eigen = cov
            .self_adjoint_eigen(Side::Lower)
            .map_err(|_| QuantizeError::EigenDecomposition { dim })?;
        let values = eigen.S().column_vector();
        let vectors = eigen.U();
        let mut order: Vec<usize> = (0..dim).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));

        let mut components = Array2::<f32>::zeros((n_components, dim));
        let mut explained_variance = Array1::<f64>::zeros(n_components);
        for (c, &col) in order.iter().take(n_components).enumerate() {
            let v = vectors.col(col);
            let mut largest = 0usize;
            for i in 0..dim {
                if v[i].abs() > v[largest].abs() {
                    largest = i;
                }
            }
            let sign = if v[largest] < 0.0 { -1.0 } else { 1.0 };
            for i in 0..dim {
                components[[c, i]] = (sign * v[i]) as f32;
            }
            // Rounding can make the eigenvalues of a singular covariance slightly negative.
            explained_variance[c] = values[col].max(0.0);
        }

        Ok(Self {
            mean: mean.mapv(|m| m as f32),
            components,
            explained_variance,
            total_variance,
        })
    }

    /// Rebuilds a PCA from saved parts; `total_variance` is the trace of the covariance.
    pub(crate) fn from_parts(
        mean: Array1<f32>,
        components: Array2<f32>,
        explained_variance: Array1<f64>,
        total_variance: f64,
    ) -> Self {
        Self {
            mean,
            components: components.as_standard_layout().into_owned(),
            explained_variance,
            total_variance,
        }
    }

    /// Mean of the training frames, one value per input feature.
    pub fn mean(&self) -> &Array1<f32> {
        &self.mean
    }

    /// Components, `n_components x n_features`, in decreasing order of variance.
    pub fn components(&self) -> &Array2<f32> {
        &self.components
    }

    /// Variance of the training frames along each component (divisor `n - 1`).
    pub fn explained_variance(&self) -> &Array1<f64> {
        &self.explained_variance
    }

    /// Share of the total variance along each component.
    pub fn explained_variance_ratio(&self) -> Array1<f64> {
        if self.total_variance > 0.0 {
            &self.explained_variance / self.total_variance
        } else {
            Array1::zeros(self.explained_variance.len())
        }
    }

    /// Sum of the variances of all input features (trace of the covariance).
    pub fn total_variance(&self) -> f64 {
        self.total_variance
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.components.ncols()
    }

    /// Number of output components.
    pub fn n_components(&self) -> usize {
        self.components.nrows()
    }

    /// Projects `data` (`rows x n_features()`) to `rows x n_components()`.
    ///
    /// # Errors
    /// [`QuantizeError::DimensionMismatch`] for another column count and
    /// [`QuantizeError::NonFinite`] naming the first row with NaN or an infinite value.
    pub fn transform(&self, data: ArrayView2<'_, f32>) -> Result<Array2<f32>, QuantizeError> {
        if data.ncols() != self.n_features() {
            return Err(QuantizeError::DimensionMismatch {
                expected: self.n_features(),
                got: data.ncols(),
            });
        }
        check_finite(data, "frames")?;
        Ok(self.transform_unchecked(data))
    }

    /// Projects rows already checked for shape and finiteness.
    pub(crate) fn transform_unchecked(&self, data: ArrayView2<'_, f32>) -> Array2<f32> {
        let (n, dim) = data.dim();
        let k = self.n_components();
        let mut out = Array2::<f32>::zeros((n, k));
        let w_t =
            MatRef::from_column_major_slice(self.components.as_slice().unwrap_or(&[]), dim, k);
        let mean = self.mean.as_slice().unwrap_or(&[]);
        out.axis_chunks_iter_mut(Axis(0), PCA_BLOCK)
            .into_par_iter()
            .zip(data.axis_chunks_iter(Axis(0), PCA_BLOCK).into_par_iter())
            .for_each(|(mut out_block, block)| {
                let rows = block.nrows();
                let mut centred = Vec::with_capacity(rows * dim);
                for row in block.rows() {
                    centred.extend(row.iter().zip(mean).map(|(x, m)| x - m));
                }
                let out_slice = out_block.as_slice_mut().expect("rows of a C-order array");
                matmul(
                    MatMut::from_row_major_slice_mut(out_slice, rows, k),
                    Accum::Replace,
                    MatRef::from_row_major_slice(&centred, rows, dim),
                    w_t,
                    1.0f32,
                    Par::Seq,
                );
            });
        out
    }
}

/// Column means in `f64`, summed block by block in a fixed order.
fn column_means(data: ArrayView2<'_, f32>) -> Array1<f64> {
    let dim = data.ncols();
    let partial: Vec<Array1<f64>> = data
        .axis_chunks_iter(Axis(0), PCA_BLOCK)
        .into_par_iter()
        .map(|block| {
            let mut sum = Array1::<f64>::zeros(dim);
            for row in block.rows() {
                sum.zip_mut_with(&row, |s, &x| *s += f64::from(x));
            }
            sum
        })
        .collect();
    let mut sum = Array1::<f64>::zeros(dim);
    for p in &partial {
        sum += p;
    }
    sum / data.nrows() as f64
}

/// Covariance matrix (divisor `n - 1`, or 1 for a single row) of `data` around `mean`.
fn covariance(data: ArrayView2<'_, f32>, mean: &Array1<f64>) -> Mat<f64> {
    let (n, dim) = data.dim();
    let mut cov = Mat::<f64>::zeros(dim, dim);
    let mut centred = Mat::<f64>::zeros(PCA_BLOCK, dim);
    for block in data.axis_chunks_iter(Axis(0), PCA_BLOCK) {
        let rows = block.nrows();
        for (r, row) in block.rows().into_iter().enumerate() {
            for (c, (&x, m)) in row.iter().zip(mean.iter()).enumerate() {
                centred[(r, c)] = f64::from(x) - m;
            }
        }
        let part = centred.as_ref().subrows(0, rows);
        matmul(
            cov.as_mut(),
            Accum::Add,
            part.transpose(),
            part,
            1.0f64,
            Par::rayon(0),
        );
    }
    let divisor = n.saturating_sub(1).max(1) as f64;
    for j in 0..dim {
        for i in 0..dim {
            cov[(i, j)] /= divisor;
        }
    }
    cov
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn line_has_one_component() {
        // Points on the line y = 2x: all variance on (1, 2) / sqrt(5).
        let data = array![[0.0f32, 0.0], [1.0, 2.0], [2.0, 4.0], [3.0, 6.0]];
        let pca = Pca::fit(data.view(), 2).unwrap();
        let c = pca.components();
        let s = 5f32.sqrt();
        assert!((c[[0, 0]] - 1.0 / s).abs() < 1e-6, "{c}");
        assert!((c[[0, 1]] - 2.0 / s).abs() < 1e-6, "{c}");
        // Variance of 0, 1, 2, 3 (divisor 3) is 5/3, times |(1, 2)|^2 = 5.
        let ev = pca.explained_variance();
        assert!((ev[0] - 25.0 / 3.0).abs() < 1e-9, "{ev}");
        assert!(ev[1].abs() < 1e-9, "{ev}");
        let ratio = pca.explained_variance_ratio();
        assert!((ratio[0] - 1.0).abs() < 1e-12, "{ratio}");
        let y = pca.transform(data.view()).unwrap();
        assert!((y[[3, 0]] - 1.5 * 5f32.sqrt()).abs() < 1e-5, "{y}");
    }

    #[test]
    fn too_many_components_is_an_error() {
        let data = array![[0.0f32, 1.0], [1.0, 0.0]];
        let err = Pca::fit(data.view(), 3).unwrap_err();
        assert!(
            matches!(
                err,
                QuantizeError::TooManyComponents {
                    components: 3,
                    features: 2
                }
            ),
            "{err}"
        );
        let err = Pca::fit(data.view(), 0).unwrap_err();
        assert!(
            matches!(err, QuantizeError::TooManyComponents { .. }),
            "{err}"
        );
    }

    #[test]
    fn transform_checks_dimension_and_values() {
        let data = array![[0.0f32, 1.0], [1.0, 0.0], [2.0, 2.0]];
        let pca = Pca::fit(data.view(), 1).unwrap();
        let err = pca.transform(array![[1.0f32]].view()).unwrap_err();
        assert!(
            matches!(
                err,
                QuantizeError::DimensionMismatch {
                    expected: 2,
                    got: 1
                }
            ),
            "{err}"
        );
        let err = pca
            .transform(array![[1.0f32, 0.0], [0.0, f32::NAN]].view())
            .unwrap_err();
        assert!(
            matches!(
                err,
                QuantizeError::NonFinite {
                    row: 1,
                    column: 1,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn single_row_has_zero_variance() {
        let pca = Pca::fit(array![[1.0f32, 2.0, 3.0]].view(), 2).unwrap();
        assert!(pca.explained_variance().iter().all(|&v| v == 0.0));
        assert_eq!(pca.explained_variance_ratio(), Array1::<f64>::zeros(2));
    }
}
