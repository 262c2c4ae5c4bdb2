//! The training objective: mean weighted log loss over the trained classes plus `l2/2 |W|^2`.
//!
//! Parameters are a `(d + 1) x c` matrix `theta` whose last row is the bias. Margins `Z = X W + b`
//! (`n x c`) are kept between iterations. Along a search direction `P` the margins are
//! `Z + alpha * X P`, so once `X P` is computed every line-search trial costs `O(n c)` instead of
//! a matrix product. Only the gradient `X^T R` needs a second product per iteration.
//!
//! The data term is evaluated in `f32` by the SIMD kernels of `kernel`, and the loss and slope
//! are summed in `f64` across rows. `tests::reference_row` keeps the former `f64` evaluation as
//! the reference the kernels are tested against.

use ndarray::{Array2, ArrayView2, Axis, Slice};
use rayon::prelude::*;

use super::kernel::{Rows, SigmoidRows, SoftmaxRows};
use crate::linalg::{matmul_xt_r, matmul_xw};

/// Rows per parallel task in the element-wise passes.
const ROW_CHUNK: usize = 512;

/// The data term of the objective.
pub(crate) enum Loss {
    /// Independent binary log losses; `pos_weight[k]` and `neg_weight[k]` scale the positive and
    /// negative parts of class `k`.
    Sigmoid {
        /// `n x c` targets in `[0, 1]`, C order.
        targets: Array2<f32>,
        pos_weight: Vec<f32>,
        neg_weight: Vec<f32>,
    },
    /// Multinomial log loss with targets normalised to sum 1 per row, row `i` weighted by
    /// `row_weight[i]`.
    Softmax {
        /// `n x c` normalised targets, C order.
        targets: Array2<f32>,
        row_weight: Vec<f32>,
    },
}

impl Loss {
    fn targets(&self) -> &Array2<f32> {
        match self {
            Loss::Sigmoid { targets, .. } | Loss::Softmax { targets, .. } => targets,
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
        let targets = self
            .loss
            .targets()
            .as_slice()
            .expect("training targets are stored in C order");
        let block = ROW_CHUNK * c;
        let (loss, slope) = residual
            .par_chunks_mut(block)
            .zip(z0.par_chunks(block))
            .zip(dz.par_chunks(block))
            .zip(targets.par_chunks(block))
            .enumerate()
            .map(|(chunk, (((residual, z0), dz), targets))| {
                let rows = Rows {
                    z0,
                    dz,
                    targets,
                    residual,
                    classes: c,
                    alpha: alpha as f32,
                    inv_n: (1.0 / n) as f32,
                };
                let arch = pulp::Arch::new();
                match &self.loss {
                    Loss::Sigmoid {
                        pos_weight,
                        neg_weight,
                        ..
                    } => arch.dispatch(SigmoidRows {
                        rows,
                        pos_weight,
                        neg_weight,
                    }),
                    Loss::Softmax { row_weight, .. } => {
                        let first = chunk * ROW_CHUNK;
                        arch.dispatch(SoftmaxRows {
                            row_weight: &row_weight[first..first + z0.len() / c],
                            rows,
                        })
                    }
                }
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

    /// Checks the analytic gradient against differences of the objective.
    ///
    /// The objective is evaluated in `f32`, so its values carry rounding noise of about 1e-7.
    /// A fourth-order central difference with step 0.05 keeps both that noise, divided by the
    /// step, and the truncation error, of order `h^4`, below 2e-6.
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
        let h = 0.05;
        for j in 0..=d {
            for k in 0..c {
                let mut e = Array2::zeros((d + 1, c));
                e[[j, k]] = 1.0;
                let de = objective.margins(&e);
                // The bias row of `e` adds 1 to the margins; weight rows add column j of X.
                let mut value = |alpha: f64| {
                    objective
                        .along(&theta, &e, &z, &de, alpha, &mut residual)
                        .value
                };
                let near = value(h) - value(-h);
                let far = value(2.0 * h) - value(-2.0 * h);
                let numeric = (8.0 * near - far) / (12.0 * h);
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

    /// Returns `loss` with a placeholder feature matrix of one zero column, for tests that use
    /// only the data term.
    fn data_only(loss: Loss) -> (Array2<f32>, Loss) {
        let x = Array2::zeros((loss.targets().nrows(), 1));
        (x, loss)
    }

    #[test]
    fn sigmoid_loss_is_stable_at_large_margins() {
        let (x, loss) = data_only(Loss::Sigmoid {
            targets: array![[1.0f32, 0.0]],
            pos_weight: vec![1.0, 1.0],
            neg_weight: vec![1.0, 1.0],
        });
        let objective = Objective {
            x: x.view(),
            loss,
            l2: 0.0,
        };
        let mut grad = [0.0f32; 2];
        let (value, _) = objective.data_term(&[-800.0, -800.0], &[0.0, 0.0], 0.0, &mut grad);
        assert!((value - 800.0).abs() < 1e-9, "loss {value}");
        assert!(
            (grad[0] + 1.0).abs() < 1e-12 && grad[1].abs() < 1e-12,
            "{grad:?}"
        );
    }

    /// Computes the data term of one row in `f64` with the standard library's `exp` and `ln_1p`,
    /// as the trainer did before the SIMD kernels. Returns the loss and writes `d loss / d z`
    /// into `grad`.
    fn reference_row(loss: &Loss, row: usize, z: &[f64], grad: &mut [f64]) -> f64 {
        match loss {
            Loss::Sigmoid {
                targets,
                pos_weight,
                neg_weight,
            } => {
                let t = targets.row(row);
                let mut loss = 0.0;
                for k in 0..z.len() {
                    let y = f64::from(t[k]);
                    let a = f64::from(pos_weight[k]) * y;
                    let b = f64::from(neg_weight[k]) * (1.0 - y);
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
                let w = f64::from(row_weight[row]);
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

    /// Returns margins, margin directions and a loss over `n x c` random targets. Every third
    /// row has margins up to 100 in magnitude, the others up to 8.
    fn random_block(n: usize, c: usize, softmax: bool, seed: u64) -> (Vec<f32>, Vec<f32>, Loss) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut z0 = Vec::with_capacity(n * c);
        let mut dz = Vec::with_capacity(n * c);
        for i in 0..n {
            let range = if i % 3 == 0 { 100.0 } else { 8.0 };
            for _ in 0..c {
                z0.push(range * (2.0 * rng.random::<f32>() - 1.0));
                dz.push(2.0 * rng.random::<f32>() - 1.0);
            }
        }
        let mut targets = Array2::<f32>::zeros((n, c));
        for mut row in targets.rows_mut() {
            let first = rng.random_range(0..c);
            row[first] = 1.0;
            if rng.random::<f32>() < 0.3 {
                row[rng.random_range(0..c)] += 0.5;
            }
            if softmax {
                let sum = row.sum();
                row /= sum;
            } else {
                row.mapv_inplace(|v| v.min(1.0));
            }
        }
        let loss = if softmax {
            Loss::Softmax {
                targets,
                row_weight: (0..n).map(|i| 0.5 + (i % 4) as f32 * 0.25).collect(),
            }
        } else {
            Loss::Sigmoid {
                targets,
                pos_weight: (0..c).map(|k| 0.5 + (k % 5) as f32 * 0.5).collect(),
                neg_weight: (0..c).map(|k| 1.5 - (k % 3) as f32 * 0.25).collect(),
            }
        };
        (z0, dz, loss)
    }

    /// Returns bounds on how far each entry of `d loss / d z` of one row moves when every margin
    /// moves by up to `2^-23 (|z| + 1)`. That is the rounding of `z0 + alpha dz` to `f32`, twice
    /// the rounding of one operation because CPUs without a fused multiply-add round twice.
    fn rounding_sensitivity(loss: &Loss, row: usize, z: &[f64], grad: &[f64]) -> Vec<f64> {
        let shift = |v: f64| (v.abs() + 1.0) * f64::from(f32::EPSILON);
        match loss {
            Loss::Sigmoid {
                targets,
                pos_weight,
                neg_weight,
            } => (0..z.len())
                .map(|k| {
                    // d grad / d z = (a + b) p (1 - p) <= (a + b) exp(-|z|).
                    let y = f64::from(targets[[row, k]]);
                    let weights =
                        f64::from(pos_weight[k]) * y + f64::from(neg_weight[k]) * (1.0 - y);
                    weights * (-z[k].abs()).exp() * shift(z[k])
                })
                .collect(),
            Loss::Softmax {
                targets,
                row_weight,
            } => {
                // d p_k = p_k (dz_k - sum_j p_j dz_j), so |d p_k| <= 2 p_k max_j |dz_j|.
                let w = f64::from(row_weight[row]);
                let largest = z.iter().fold(0.0f64, |m, v| m.max(shift(*v)));
                (0..z.len())
                    .map(|k| {
                        let p = grad[k] / w + f64::from(targets[[row, k]]);
                        2.0 * w * p.abs() * largest
                    })
                    .collect()
            }
        }
    }

    /// Compares the vectorised data term with [`reference_row`] entry by entry.
    ///
    /// The tolerances add the effect of rounding `z0 + alpha dz` to `f32` (see
    /// [`rounding_sensitivity`]) to a relative error of 4e-6, which covers a few ulp per entry
    /// and the `f32` sum over a row.
    fn check_against_reference(n: usize, c: usize, softmax: bool) {
        let (z0, dz, loss) = random_block(n, c, softmax, 7 + c as u64);
        let (x, loss) = data_only(loss);
        let objective = Objective {
            x: x.view(),
            loss,
            l2: 0.0,
        };
        let inv_n = 1.0 / n as f64;
        let mut residual = vec![0.0f32; n * c];
        let mut z = vec![0.0f64; c];
        let mut grad = vec![0.0f64; c];
        for alpha in [0.0, 0.37, -1.5] {
            let (value, slope) = objective.data_term(&z0, &dz, alpha, &mut residual);
            let (mut expected_value, mut expected_slope) = (0.0, 0.0);
            let (mut value_tol, mut slope_tol) = (0.0, 0.0);
            for i in 0..n {
                let entries = i * c..(i + 1) * c;
                for ((zk, &a), &b) in z.iter_mut().zip(&z0[entries.clone()]).zip(&dz[entries]) {
                    *zk = f64::from(a) + alpha * f64::from(b);
                }
                let row_loss = reference_row(&objective.loss, i, &z, &mut grad);
                let sensitivity = rounding_sensitivity(&objective.loss, i, &z, &grad);
                expected_value += row_loss;
                value_tol += 4e-6 * row_loss.abs();
                for k in 0..c {
                    let d = f64::from(dz[i * c + k]);
                    let shift = (z[k].abs() + 1.0) * f64::from(f32::EPSILON);
                    expected_slope += grad[k] * d;
                    slope_tol += 4e-6 * (grad[k] * d).abs() + sensitivity[k] * d.abs();
                    value_tol += grad[k].abs() * shift;
                    let got = f64::from(residual[i * c + k]);
                    // The last term covers the reference's own cancellation in `p - y`.
                    let tol = (4e-6 * grad[k].abs() + sensitivity[k] + 1e-15) * inv_n;
                    assert!(
                        (got - grad[k] * inv_n).abs() <= tol,
                        "alpha {alpha} row {i} class {k} (z {}): residual {got:e}, reference {:e}",
                        z[k],
                        grad[k] * inv_n
                    );
                }
            }
            let (expected_value, expected_slope) = (expected_value * inv_n, expected_slope * inv_n);
            assert!(
                (value - expected_value).abs() <= value_tol * inv_n,
                "alpha {alpha}: loss {value}, reference {expected_value}"
            );
            assert!(
                (slope - expected_slope).abs() <= slope_tol * inv_n,
                "alpha {alpha}: slope {slope}, reference {expected_slope}"
            );
        }
    }

    #[test]
    fn sigmoid_kernel_matches_f64_reference() {
        for c in [1, 3, 8, 13, 206] {
            check_against_reference(1100, c, false);
        }
    }

    #[test]
    fn softmax_kernel_matches_f64_reference() {
        for c in [1, 3, 8, 13, 206] {
            check_against_reference(1100, c, true);
        }
    }
}
