//! The training objective: mean weighted log loss over the trained classes plus `l2/2 |W|^2`.
//!
//! Parameters are a `(d + 1) x c` matrix `theta` whose last row is the bias. Margins `Z = X W + b`
//! (`n x c`) are kept between iterations. Along a search direction `P` the margins are
//! `Z + alpha * X P`, so once `X P` is computed every line-search trial costs `O(n c)` instead of
//! a matrix product. Only the gradient `X^T R` needs a second product per iteration.

use ndarray::{Array2, ArrayView2, Axis, Slice};
use rayon::prelude::*;

use crate::linalg::{matmul_xt_r, matmul_xw};

/// Rows per parallel task in the element-wise passes.
const ROW_CHUNK: usize = 512;

/// The data term of the objective.
pub(crate) enum Loss {
    /// Independent binary log losses; `pos_weight[k]` and `neg_weight[k]` scale the positive and
    /// negative parts of class `k`.
    Sigmoid {
        /// `n x c` targets in `[0, 1]`.
        targets: Array2<f32>,
        pos_weight: Vec<f64>,
        neg_weight: Vec<f64>,
    },
    /// Multinomial log loss with targets normalised to sum 1 per row, row `i` weighted by
    /// `row_weight[i]`.
    Softmax {
        /// `n x c` normalised targets.
        targets: Array2<f32>,
        row_weight: Vec<f64>,
    },
}

impl Loss {
    fn targets(&self) -> &Array2<f32> {
        match self {
            Loss::Sigmoid { targets, .. } | Loss::Softmax { targets, .. } => targets,
        }
    }

    /// Returns the weighted loss of row `row` at margins `z`, and writes `d loss / d z` into
    /// `grad`.
    fn row(&self, row: usize, z: &[f64], grad: &mut [f64]) -> f64 {
        match self {
            Loss::Sigmoid {
                targets,
                pos_weight,
                neg_weight,
            } => {
                let t = targets.row(row);
                let mut loss = 0.0;
                for k in 0..z.len() {
                    let y = f64::from(t[k]);
                    let a = pos_weight[k] * y;
                    let b = neg_weight[k] * (1.0 - y);
                    let e = (-z[k].abs()).exp();
                    let softplus = z[k].max(0.0) + e.ln_1p();
                    let p = if z[k] >= 0.0 {
                        1.0 / (1.0 + e)
                    } else {
                        e / (1.0 + e)
                    };
                    loss += (a + b) * softplus - a * z[k];
                    grad[k] = (a + b) * p - a;
                }
                loss
            }
            Loss::Softmax {
                targets,
                row_weight,
            } => {
                let t = targets.row(row);
                let w = row_weight[row];
                let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mut sum = 0.0;
                for (g, &zk) in grad.iter_mut().zip(z) {
                    *g = (zk - max).exp();
                    sum += *g;
                }
                let log_sum = max + sum.ln();
                let mut loss = 0.0;
                for k in 0..z.len() {
                    let y = f64::from(t[k]);
                    loss += y * (log_sum - z[k]);
                    grad[k] = w * (grad[k] / sum - y);
                }
                w * loss
            }
        }
    }
}

/// Value and slope of the objective along a line, with the scaled residual at that point.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinePoint {
    pub(crate) alpha: f64,
    pub(crate) value: f64,
    pub(crate) slope: f64,
}

/// Training data in the form the optimiser needs.
pub(crate) struct Objective<'a> {
    /// `n x d`, C order, standardised when requested.
    pub(crate) x: ArrayView2<'a, f32>,
    pub(crate) loss: Loss,
    pub(crate) l2: f64,
}

impl Objective<'_> {
    pub(crate) fn n_rows(&self) -> usize {
        self.x.nrows()
    }

    pub(crate) fn n_features(&self) -> usize {
        self.x.ncols()
    }

    pub(crate) fn n_classes(&self) -> usize {
        self.loss.targets().ncols()
    }

    fn x_slice(&self) -> &[f32] {
        self.x
            .as_slice()
            .expect("objective features are stored in C order")
    }

    /// Returns `X P_W + p_b` for a `(d + 1) x c` direction `p`, as `n x c` row-major.
    pub(crate) fn margins(&self, p: &Array2<f64>) -> Vec<f32> {
        let (n, d, c) = (self.n_rows(), self.n_features(), self.n_classes());
        let weights: Vec<f32> = p
            .slice_axis(Axis(0), Slice::from(..d))
            .iter()
            .map(|&v| v as f32)
            .collect();
        let bias: Vec<f32> = p.row(d).iter().map(|&v| v as f32).collect();
        let mut out = vec![0.0f32; n * c];
        matmul_xw(self.x_slice(), &weights, &mut out, n, d, c);
        out.par_chunks_mut(c).for_each(|row| {
            for (v, b) in row.iter_mut().zip(&bias) {
                *v += b;
            }
        });
        out
    }

    /// Evaluates the data term at margins `z0 + alpha * dz` and writes `d loss / d z / n` into
    /// `residual`. Returns the mean loss and its slope in `alpha`.
    pub(crate) fn data_term(
        &self,
        z0: &[f32],
        dz: &[f32],
        alpha: f64,
        residual: &mut [f32],
    ) -> (f64, f64) {
        let c = self.n_classes();
        let n = self.n_rows() as f64;
        let (loss, slope) = residual
            .par_chunks_mut(ROW_CHUNK * c)
            .zip(z0.par_chunks(ROW_CHUNK * c))
            .zip(dz.par_chunks(ROW_CHUNK * c))
            .enumerate()
            .map(|(chunk, ((res, z0), dz))| {
                let mut z = vec![0.0f64; c];
                let mut grad = vec![0.0f64; c];
                let mut loss = 0.0;
                let mut slope = 0.0;
                for (i, ((res, z0), dz)) in res
                    .chunks_mut(c)
                    .zip(z0.chunks(c))
                    .zip(dz.chunks(c))
                    .enumerate()
                {
                    for k in 0..c {
                        z[k] = f64::from(z0[k]) + alpha * f64::from(dz[k]);
                    }
                    loss += self.loss.row(chunk * ROW_CHUNK + i, &z, &mut grad);
                    for k in 0..c {
                        slope += grad[k] * f64::from(dz[k]);
                        res[k] = (grad[k] / n) as f32;
                    }
                }
                (loss, slope)
            })
            .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        (loss / n, slope / n)
    }

    /// Evaluates the whole objective at `theta + alpha * p`, given the margins `z0` of `theta`
    /// and `dz` of `p`.
    pub(crate) fn along(
        &self,
        theta: &Array2<f64>,
        p: &Array2<f64>,
        z0: &[f32],
        dz: &[f32],
        alpha: f64,
        residual: &mut [f32],
    ) -> LinePoint {
        let d = self.n_features();
        let (data, data_slope) = self.data_term(z0, dz, alpha, residual);
        let w = theta.slice_axis(Axis(0), Slice::from(..d));
        let pw = p.slice_axis(Axis(0), Slice::from(..d));
        let ww: f64 = w.iter().map(|v| v * v).sum();
        let wp: f64 = w.iter().zip(pw.iter()).map(|(a, b)| a * b).sum();
        let pp: f64 = pw.iter().map(|v| v * v).sum();
        let penalty = 0.5 * self.l2 * (ww + 2.0 * alpha * wp + alpha * alpha * pp);
        let penalty_slope = self.l2 * (wp + alpha * pp);
        LinePoint {
            alpha,
            value: data + penalty,
            slope: data_slope + penalty_slope,
        }
    }

    /// Returns the `(d + 1) x c` gradient at `theta` from its scaled residual.
    pub(crate) fn gradient(&self, theta: &Array2<f64>, residual: &[f32]) -> Array2<f64> {
        let (n, d, c) = (self.n_rows(), self.n_features(), self.n_classes());
        let mut xtr = vec![0.0f32; d * c];
        matmul_xt_r(self.x_slice(), residual, &mut xtr, n, d, c);
        let mut grad = Array2::<f64>::zeros((d + 1, c));
        for (g, &v) in grad
            .slice_axis_mut(Axis(0), Slice::from(..d))
            .iter_mut()
            .zip(&xtr)
        {
            *g = f64::from(v);
        }
        grad.slice_axis_mut(Axis(0), Slice::from(..d))
            .scaled_add(self.l2, &theta.slice_axis(Axis(0), Slice::from(..d)));
        let bias = residual
            .par_chunks(ROW_CHUNK * c)
            .map(|rows| {
                let mut sum = vec![0.0f64; c];
                for row in rows.chunks(c) {
                    for (s, &v) in sum.iter_mut().zip(row) {
                        *s += f64::from(v);
                    }
                }
                sum
            })
            .reduce(
                || vec![0.0; c],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        grad.index_axis_mut(Axis(0), d)
            .iter_mut()
            .zip(&bias)
            .for_each(|(g, &b)| *g = b);
        grad
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;
    use ndarray::array;

    fn small(loss: Loss) -> (Array2<f32>, Loss) {
        let x = array![[0.5f32, -1.0], [1.5, 0.25], [-0.75, 2.0], [0.1, 0.3]];
        (x, loss)
    }

    /// Checks the analytic gradient against central differences of the objective.
    fn check_gradient(loss: Loss) {
        let (x, loss) = small(loss);
        let objective = Objective {
            x: x.view(),
            loss,
            l2: 0.3,
        };
        let (n, d, c) = (4, 2, objective.n_classes());
        let theta =
            Array2::from_shape_fn((d + 1, c), |(j, k)| 0.2 * j as f64 - 0.3 * k as f64 + 0.1);
        let zero = Array2::zeros((d + 1, c));
        let z = objective.margins(&theta);
        let dz = vec![0.0f32; n * c];
        let mut residual = vec![0.0f32; n * c];
        objective.along(&theta, &zero, &z, &dz, 0.0, &mut residual);
        let grad = objective.gradient(&theta, &residual);
        let h = 1e-3;
        for j in 0..=d {
            for k in 0..c {
                let mut e = Array2::zeros((d + 1, c));
                e[[j, k]] = 1.0;
                let de = objective.margins(&e);
                // The bias row of `e` adds 1 to the margins; weight rows add column j of X.
                let plus = objective.along(&theta, &e, &z, &de, h, &mut residual).value;
                let minus = objective
                    .along(&theta, &e, &z, &de, -h, &mut residual)
                    .value;
                let numeric = (plus - minus) / (2.0 * h);
                assert!(
                    (numeric - grad[[j, k]]).abs() < 1e-5,
                    "entry ({j}, {k}): numeric {numeric}, analytic {}",
                    grad[[j, k]]
                );
            }
        }
    }

    #[test]
    fn sigmoid_gradient_matches_differences() {
        check_gradient(Loss::Sigmoid {
            targets: array![
                [1.0f32, 0.0, 0.5],
                [0.0, 1.0, 1.0],
                [1.0, 1.0, 0.0],
                [0.0, 0.0, 0.0]
            ],
            pos_weight: vec![1.0, 2.0, 0.5],
            neg_weight: vec![1.0, 0.7, 1.5],
        });
    }

    #[test]
    fn softmax_gradient_matches_differences() {
        check_gradient(Loss::Softmax {
            targets: array![
                [1.0f32, 0.0, 0.0],
                [0.0, 0.5, 0.5],
                [0.0, 0.0, 1.0],
                [0.0, 1.0, 0.0]
            ],
            row_weight: vec![1.0, 2.0, 0.5, 1.25],
        });
    }

    #[test]
    fn sigmoid_loss_is_stable_at_large_margins() {
        let loss = Loss::Sigmoid {
            targets: array![[1.0f32, 0.0]],
            pos_weight: vec![1.0, 1.0],
            neg_weight: vec![1.0, 1.0],
        };
        let mut grad = [0.0; 2];
        let value = loss.row(0, &[-800.0, -800.0], &mut grad);
        assert!((value - 800.0).abs() < 1e-9, "loss {value}");
        assert!(
            (grad[0] + 1.0).abs() < 1e-12 && grad[1].abs() < 1e-12,
            "{grad:?}"
        );
    }
}
