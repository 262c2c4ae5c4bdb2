//! [`Codebook`]: the trained centroids and exact nearest-centroid search over them.

use ndarray::{Array2, ArrayView2};
use stsg_core::Quantizer;

use crate::assign::{CentroidsRef, assign_rows, row_sq_norms};
use crate::error::QuantizeError;
use crate::{check_finite, contiguous};

/// `k` centroids of `dim` features; token `j` is centroid row `j`.
#[derive(Debug, Clone, PartialEq)]
pub struct Codebook {
    centroids: Array2<f32>,
    sq_norms: Vec<f32>,
}

/// Token ids and squared L2 distances to the chosen centroids, one per input row.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// Index of the nearest centroid of each row.
    pub tokens: Vec<u32>,
    /// Squared Euclidean distance of each row to that centroid.
    pub distances: Vec<f32>,
}

impl Codebook {
    /// Wraps `centroids` (`k x dim`).
    ///
    /// # Errors
    /// [`QuantizeError::EmptyInput`] for zero rows or columns, [`QuantizeError::NonFinite`] for
    /// a centroid with NaN or an infinite value, and [`QuantizeError::KMeansParams`] when `k`
    /// exceeds the `u32` id range.
    pub fn new(centroids: Array2<f32>) -> Result<Self, QuantizeError> {
        if centroids.nrows() == 0 || centroids.ncols() == 0 {
            return Err(QuantizeError::EmptyInput {
                what: "centroids",
                rows: centroids.nrows(),
                cols: centroids.ncols(),
            });
        }
        if centroids.nrows() > u32::MAX as usize + 1 {
            return Err(crate::KMeansParamsError::TooManyClusters {
                k: centroids.nrows(),
                max: u32::MAX as usize + 1,
            }
            .into());
        }
        check_finite(centroids.view(), "centroids")?;
        Ok(Self::from_trusted(centroids))
    }

    /// Wraps centroids that are known to be valid.
    pub(crate) fn from_trusted(centroids: Array2<f32>) -> Self {
        let centroids = centroids.as_standard_layout().into_owned();
        let sq_norms = row_sq_norms(centroids.as_slice().unwrap_or(&[]), centroids.ncols());
        Self {
            centroids,
            sq_norms,
        }
    }

    /// The centroids, `k x dim`.
    pub fn centroids(&self) -> ArrayView2<'_, f32> {
        self.centroids.view()
    }

    /// Number of centroids (the vocabulary size).
    pub fn k(&self) -> usize {
        self.centroids.nrows()
    }

    /// Features per centroid.
    pub fn dim(&self) -> usize {
        self.centroids.ncols()
    }

    fn view(&self) -> CentroidsRef<'_> {
        CentroidsRef {
            data: self.centroids.as_slice().unwrap_or(&[]),
            sq_norms: &self.sq_norms,
            dim: self.dim(),
        }
    }

    /// Returns the nearest centroid of each row of `points` (`n x dim`) and the squared
    /// distance to it. Ties go to the lowest index.
    ///
    /// Costs O(n k dim) multiply-adds, run on the current rayon pool in blocks of 256 rows.
    ///
    /// # Errors
    /// [`QuantizeError::DimensionMismatch`] when `points` has other than `dim()` columns and
    /// [`QuantizeError::NonFinite`] naming the first row with NaN or an infinite value.
    pub fn assign(&self, points: ArrayView2<'_, f32>) -> Result<Assignment, QuantizeError> {
        self.check_points(points)?;
        let n = points.nrows();
        let mut tokens = vec![0u32; n];
        let mut distances = vec![0f32; n];
        let points = contiguous(points);
        assign_rows(
            points.as_slice().unwrap_or(&[]),
            self.view(),
            &mut tokens,
            Some(&mut distances),
        );
        Ok(Assignment { tokens, distances })
    }

    /// Like [`Codebook::assign`], returning only the token ids.
    ///
    /// # Errors
    /// As [`Codebook::assign`].
    pub fn assign_tokens(&self, points: ArrayView2<'_, f32>) -> Result<Vec<u32>, QuantizeError> {
        self.check_points(points)?;
        let mut tokens = vec![0u32; points.nrows()];
        let points = contiguous(points);
        assign_rows(
            points.as_slice().unwrap_or(&[]),
            self.view(),
            &mut tokens,
            None,
        );
        Ok(tokens)
    }

    fn check_points(&self, points: ArrayView2<'_, f32>) -> Result<(), QuantizeError> {
        if points.ncols() != self.dim() {
            return Err(QuantizeError::DimensionMismatch {
                expected: self.dim(),
                got: points.ncols(),
            });
        }
        check_finite(points, "points")
    }
}

impl Quantizer for Codebook {
    type Error = QuantizeError;

    fn n_features(&self) -> usize {
        self.dim()
    }

    fn n_tokens(&self) -> usize {
        self.k()
    }

    fn quantize(&self, frames: ArrayView2<'_, f32>) -> Result<Vec<u32>, QuantizeError> {
        self.assign_tokens(frames)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn assign_checks_dimension_and_values() {
        let cb = Codebook::new(array![[0.0, 0.0], [1.0, 1.0]]).unwrap();
        let err = cb.assign(array![[0.0, 0.0, 0.0]].view()).unwrap_err();
        assert!(
            matches!(
                err,
                QuantizeError::DimensionMismatch {
                    expected: 2,
                    got: 3
                }
            ),
            "{err}"
        );
        let err = cb
            .assign(array![[0.0, 0.0], [f32::INFINITY, 0.0]].view())
            .unwrap_err();
        assert!(
            matches!(
                err,
                QuantizeError::NonFinite {
                    row: 1,
                    column: 0,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn assign_handles_strided_input() {
        let cb = Codebook::new(array![[0.0, 0.0], [10.0, 10.0]]).unwrap();
        let points = array![[9.0, 0.0], [0.0, 9.0], [1.0, 1.0], [8.0, 8.0]];
        let transposed = points.t();
        let tokens = cb.assign_tokens(transposed.t()).unwrap();
        assert_eq!(tokens, vec![0, 0, 0, 1]);
        let every_other = points.slice_axis(ndarray::Axis(0), ndarray::Slice::new(0, None, 2));
        assert_eq!(cb.assign_tokens(every_other).unwrap(), vec![0, 0]);
    }

    #[test]
    fn empty_point_set_gives_no_tokens() {
        let cb = Codebook::new(array![[0.0, 0.0]]).unwrap();
        let none = Array2::<f32>::zeros((0, 2));
        assert!(cb.assign_tokens(none.view()).unwrap().is_empty());
    }

    #[test]
    fn invalid_centroids_are_rejected() {
        let err = Codebook::new(Array2::zeros((0, 4))).unwrap_err();
        assert!(matches!(err, QuantizeError::EmptyInput { .. }), "{err}");
        let err = Codebook::new(array![[1.0, f32::NAN]]).unwrap_err();
        assert!(
            matches!(
                err,
                QuantizeError::NonFinite {
                    row: 0,
                    column: 1,
                    ..
                }
            ),
            "{err}"
        );
    }
}
