//! The starting inverse-Hessian estimate of L-BFGS.
//!
//! At zero weights the Hessian of class `k` is about `a_k G + l2 I`, with `G = X^T X / n` the
//! covariance of the centred features and `a_k` the loss curvature of the class prior (for
//! example `p (1 - p)` for a sigmoid class with prior `p`). Rare classes have tiny `a_k`, so one
//! scalar step size cannot suit all classes, and correlated features make `G` ill-conditioned.
//! With the eigendecomposition `G = V diag(lambda) V^T` the inverse of that Hessian costs two
//! `d x d x c` products per iteration, and L-BFGS starts from it instead of a scaled identity.

use faer::{Mat, Side};
use ndarray::{Array2, ArrayView2, Axis, Slice};

use crate::linalg::matmul_xt_r;

/// Rows of the covariance sample; a strided subset of the training rows.
const COVARIANCE_ROWS: usize = 16_384;
/// Feature count above which the `O(d^3)` eigendecomposition is skipped.
const MAX_FEATURES: usize = 4096;

/// Applies the per-class inverse of `a_k G + l2 I` (weights) and `1 / a_k` (bias).
pub(crate) struct Preconditioner {
    /// Eigenvectors of `G`, one per column.
    basis: Array2<f64>,
    eigenvalues: Vec<f64>,
    curvature: Vec<f64>,
    l2: f64,
}

impl Preconditioner {
    /// Builds the preconditioner from centred features `x`, or returns `None` when `x` has more
    /// than [`MAX_FEATURES`] columns or the eigendecomposition fails.
    pub(crate) fn new(x: ArrayView2<'_, f32>, curvature: Vec<f64>, l2: f64) -> Option<Self> {
        let (n, d) = x.dim();
        if d > MAX_FEATURES {
            return None;
        }
        let step = n.div_ceil(COVARIANCE_ROWS).max(1);
        let sample = x.slice_axis(Axis(0), Slice::new(0, None, step as isize));
        let sample = sample.as_standard_layout();
        let m = sample.nrows();
        let rows = sample.as_slice().expect("standard layout is contiguous");
        let mut gram = vec![0.0f32; d * d];
        matmul_xt_r(rows, rows, &mut gram, m, d, d);
        let covariance = Mat::<f64>::from_fn(d, d, |i, j| f64::from(gram[i * d + j]) / m as f64);
        let eigen = match covariance.self_adjoint_eigen(Side::Lower) {
            Ok(eigen) => eigen,
            Err(e) => {
                log::warn!(
                    "head: feature covariance eigendecomposition failed ({e:?}); training without preconditioner"
                );
                return None;
            }
        };
        let vectors = eigen.U();
        let basis = Array2::from_shape_fn((d, d), |(i, j)| vectors[(i, j)]);
        let values = eigen.S().column_vector();
        let eigenvalues = (0..d).map(|i| values[i].max(0.0)).collect();
        // A class that is every row's only label (softmax with one class) has zero curvature.
        let curvature = curvature.into_iter().map(|a| a.max(1e-8)).collect();
        Some(Self {
            basis,
            eigenvalues,
            curvature,
            l2,
        })
    }

    /// Returns `H0 q` for a `(d + 1) x c` matrix `q`.
    pub(crate) fn apply(&self, q: &Array2<f64>) -> Array2<f64> {
        let d = self.basis.nrows();
        let weights = q.slice_axis(Axis(0), Slice::from(..d));
        let mut rotated = self.basis.t().dot(&weights);
        for (mut row, &lambda) in rotated.rows_mut().into_iter().zip(&self.eigenvalues) {
            for (v, &a) in row.iter_mut().zip(&self.curvature) {
                *v /= a * lambda + self.l2.max(1e-12 * a);
            }
        }
        let mut out = Array2::<f64>::zeros(q.raw_dim());
        out.slice_axis_mut(Axis(0), Slice::from(..d))
            .assign(&self.basis.dot(&rotated));
        for ((o, &g), &a) in out
            .row_mut(d)
            .iter_mut()
            .zip(q.row(d).iter())
            .zip(&self.curvature)
        {
            *o = g / a;
        }
        out
    }
}
