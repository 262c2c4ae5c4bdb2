//! Orthonormal DCT-II, as `scipy.fft.dct(x, type=2, norm="ortho")` (used by librosa's MFCC).

/// The first `n_out` rows of the orthonormal DCT-II matrix of size `n_in`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DctII {
    n_in: usize,
    matrix: Vec<f64>,
}

impl DctII {
    /// `X_k = s_k sum_n x_n cos(pi k (2n + 1) / (2 n_in))` with `s_0 = sqrt(1 / n_in)` and
    /// `s_k = sqrt(2 / n_in)` otherwise, for `k < n_out`.
    pub(crate) fn new(n_out: usize, n_in: usize) -> Self {
        let n = n_in as f64;
        let mut matrix = Vec::with_capacity(n_out * n_in);
        for k in 0..n_out {
            let s = if k == 0 {
                (1.0 / n).sqrt()
            } else {
                (2.0 / n).sqrt()
            };
            for i in 0..n_in {
                let angle = std::f64::consts::PI * k as f64 * (2 * i + 1) as f64 / (2.0 * n);
                matrix.push(s * angle.cos());
            }
        }
        Self { n_in, matrix }
    }

    /// Writes the coefficients of `input` into `out`.
    ///
    /// # Panics
    /// If `input.len()` differs from `n_in` or `out` is longer than `n_out`.
    pub(crate) fn apply(&self, input: &[f32], out: &mut [f32]) {
        assert_eq!(input.len(), self.n_in, "DCT input length");
        for (row, o) in self.matrix.chunks_exact(self.n_in).zip(out.iter_mut()) {
            let sum: f64 = row.iter().zip(input).map(|(&c, &x)| c * f64::from(x)).sum();
            *o = sum as f32;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    #[test]
    fn full_dct_is_orthonormal() {
        let n = 12;
        let dct = DctII::new(n, n);
        for a in 0..n {
            for b in 0..n {
                let dot: f64 = (0..n)
                    .map(|i| dct.matrix[a * n + i] * dct.matrix[b * n + i])
                    .sum();
                let expected = if a == b { 1.0 } else { 0.0 };
                assert!((dot - expected).abs() < 1e-12, "rows {a}, {b}: {dot}");
            }
        }
    }

    #[test]
    fn constant_input_has_only_dc() {
        let dct = DctII::new(4, 16);
        let mut out = [0f32; 4];
        dct.apply(&[2.0; 16], &mut out);
        assert!((out[0] - 8.0).abs() < 1e-6, "c0 {}", out[0]);
        assert!(out[1..].iter().all(|c| c.abs() < 1e-6), "{out:?}");
    }
}
