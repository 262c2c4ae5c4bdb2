//! Dense `f32` matrix products through faer, the thread pool, and input checks.
//!
//! All matrices here are row-major slices. faer's parallel matmul runs on the rayon pool that
//! is current when it is called, so callers run inside [`with_pool`].

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use ndarray::ArrayView2;

use crate::HeadError;

/// Runs `f` on a pool of `n_threads` threads, or on the global rayon pool for `None`.
pub(crate) fn with_pool<R: Send>(n_threads: Option<usize>, f: impl FnOnce() -> R + Send) -> R {
    match n_threads {
        None => f(),
        Some(n) => match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
            Ok(pool) => pool.install(f),
            Err(e) => {
                log::warn!("head: cannot build a pool of {n} threads ({e}); using the global pool");
                f()
            }
        },
    }
}

fn parallelism() -> Par {
    let threads = rayon::current_num_threads();
    if threads <= 1 {
        Par::Seq
    } else {
        Par::rayon(threads)
    }
}

/// `out (n x c) = x (n x d) * w (d x c)`.
pub(crate) fn matmul_xw(x: &[f32], w: &[f32], out: &mut [f32], n: usize, d: usize, c: usize) {
    let lhs = MatRef::from_row_major_slice(x, n, d);
    let rhs = MatRef::from_row_major_slice(w, d, c);
    let dst = MatMut::from_row_major_slice_mut(out, n, c);
    matmul(dst, Accum::Replace, lhs, rhs, 1.0f32, parallelism());
}

/// `out (d x c) = x^T (d x n) * r (n x c)`, with `x` given as `n x d`.
pub(crate) fn matmul_xt_r(x: &[f32], r: &[f32], out: &mut [f32], n: usize, d: usize, c: usize) {
    let lhs = MatRef::from_row_major_slice(x, n, d).transpose();
    let rhs = MatRef::from_row_major_slice(r, n, c);
    let dst = MatMut::from_row_major_slice_mut(out, d, c);
    matmul(dst, Accum::Replace, lhs, rhs, 1.0f32, parallelism());
}

/// Returns an error naming the first row and column holding NaN or an infinity.
pub(crate) fn check_finite(x: ArrayView2<'_, f32>, what: &'static str) -> Result<(), HeadError> {
    for (row, values) in x.outer_iter().enumerate() {
        if let Some((col, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(HeadError::NonFinite {
                what,
                row,
                col,
                value,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    #[test]
    fn products_match_naive_loops() {
        let (n, d, c) = (37, 11, 5);
        let x: Vec<f32> = (0..n * d).map(|i| ((i * 7 % 13) as f32) - 6.0).collect();
        let w: Vec<f32> = (0..d * c).map(|i| ((i * 5 % 11) as f32) * 0.25).collect();
        let mut xw = vec![0.0; n * c];
        matmul_xw(&x, &w, &mut xw, n, d, c);
        for i in 0..n {
            for k in 0..c {
                let expected: f32 = (0..d).map(|j| x[i * d + j] * w[j * c + k]).sum();
                assert!((xw[i * c + k] - expected).abs() < 1e-3, "xw[{i},{k}]");
            }
        }
        let mut xtr = vec![0.0; d * c];
        matmul_xt_r(&x, &xw, &mut xtr, n, d, c);
        for j in 0..d {
            for k in 0..c {
                let expected: f32 = (0..n).map(|i| x[i * d + j] * xw[i * c + k]).sum();
                let tol = 1e-4 * expected.abs().max(1.0);
                assert!((xtr[j * c + k] - expected).abs() < tol, "xtr[{j},{k}]");
            }
        }
    }

    #[test]
    fn non_finite_value_is_located() {
        let x = ndarray::array![[0.0f32, 1.0], [2.0, f32::NAN]];
        let err = check_finite(x.view(), "feature").unwrap_err();
        assert!(
            matches!(err, HeadError::NonFinite { row: 1, col: 1, .. }),
            "{err}"
        );
    }
}
