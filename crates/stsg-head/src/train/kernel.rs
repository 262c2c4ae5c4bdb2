//! The data term of the loss over a block of rows, vectorised with pulp.
//!
//! Each kernel takes the margins `z0` and the margin direction `dz` of a block of rows and
//! evaluates the loss at `z = z0 + alpha dz` in `f32`. It writes `d loss / d z` scaled by `inv_n`
//! into the residual and returns the block's loss and its slope `sum (d loss / d z) dz` in
//! `alpha`. Each row is summed in `f32` lanes and the row sums are added in `f64`, so that the
//! line search sees objective differences well below the `f32` rounding of one row.

use pulp::{Simd, WithSimd};

use crate::simd::{exp, exp_neg_abs, ln_1p, sigmoid_pair};

/// Arguments shared by both kernels, for a block of `z0.len() / classes` rows.
pub(crate) struct Rows<'a> {
    pub(crate) z0: &'a [f32],
    pub(crate) dz: &'a [f32],
    pub(crate) targets: &'a [f32],
    pub(crate) residual: &'a mut [f32],
    pub(crate) classes: usize,
    pub(crate) alpha: f32,
    pub(crate) inv_n: f32,
}

impl Rows<'_> {
    fn check(&self) {
        let len = self.z0.len();
        debug_assert!(self.classes > 0 && len.is_multiple_of(self.classes));
        debug_assert!(
            self.dz.len() == len && self.targets.len() == len && self.residual.len() == len
        );
    }
}

/// Binary log loss `a softplus(-z) + b softplus(z)` per entry, with `a = pos_weight y` and
/// `b = neg_weight (1 - y)`, and its derivative `b sigmoid(z) - a sigmoid(-z)`.
pub(crate) struct SigmoidRows<'a> {
    pub(crate) rows: Rows<'a>,
    pub(crate) pos_weight: &'a [f32],
    pub(crate) neg_weight: &'a [f32],
}

/// Returns the weighted loss and its derivative for one vector of entries.
#[inline(always)]
fn sigmoid_entries<S: Simd>(
    simd: S,
    z: S::f32s,
    y: S::f32s,
    pos_weight: S::f32s,
    neg_weight: S::f32s,
) -> (S::f32s, S::f32s) {
    let zero = simd.splat_f32s(0.0);
    let a = simd.mul_f32s(pos_weight, y);
    let b = simd.mul_f32s(neg_weight, simd.sub_f32s(simd.splat_f32s(1.0), y));
    let e = exp_neg_abs(simd, z);
    // softplus(z) = max(z, 0) + ln(1 + exp(-|z|)) and softplus(-z) = softplus(z) - z. Both are
    // formed from their non-negative parts so that neither loses digits to cancellation.
    let log_term = ln_1p(simd, e);
    let softplus = simd.add_f32s(simd.max_f32s(z, zero), log_term);
    let softplus_neg = simd.add_f32s(simd.max_f32s(simd.neg_f32s(z), zero), log_term);
    let loss = simd.mul_add_e_f32s(a, softplus_neg, simd.mul_f32s(b, softplus));
    let (p, q) = sigmoid_pair(simd, z, e);
    let grad = simd.sub_f32s(simd.mul_f32s(b, p), simd.mul_f32s(a, q));
    (loss, grad)
}

impl WithSimd for SigmoidRows<'_> {
    /// Loss and slope of the block.
    type Output = (f64, f64);

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> (f64, f64) {
        let Self {
            rows,
            pos_weight,
            neg_weight,
        } = self;
        rows.check();
        let c = rows.classes;
        let alpha = simd.splat_f32s(rows.alpha);
        let inv_n = simd.splat_f32s(rows.inv_n);

        let (wp_head, wp_tail) = S::as_simd_f32s(pos_weight);
        let (wn_head, wn_tail) = S::as_simd_f32s(neg_weight);
        let (wp_tail, wn_tail) = (
            simd.partial_load_f32s(wp_tail),
            simd.partial_load_f32s(wn_tail),
        );

        let mut total_loss = 0.0f64;
        let mut total_slope = 0.0f64;
        for (((z0, dz), y), res) in rows
            .z0
            .chunks_exact(c)
            .zip(rows.dz.chunks_exact(c))
            .zip(rows.targets.chunks_exact(c))
            .zip(rows.residual.chunks_exact_mut(c))
        {
            let (z0_head, z0_tail) = S::as_simd_f32s(z0);
            let (dz_head, dz_tail) = S::as_simd_f32s(dz);
            let (y_head, y_tail) = S::as_simd_f32s(y);
            let (res_head, res_tail) = S::as_mut_simd_f32s(res);

            let mut loss = simd.splat_f32s(0.0);
            let mut slope = simd.splat_f32s(0.0);
            for (((((z0, dz), y), res), wp), wn) in z0_head
                .iter()
                .zip(dz_head)
                .zip(y_head)
                .zip(res_head.iter_mut())
                .zip(wp_head)
                .zip(wn_head)
            {
                let z = simd.mul_add_e_f32s(alpha, *dz, *z0);
                let (l, g) = sigmoid_entries(simd, z, *y, *wp, *wn);
                loss = simd.add_f32s(loss, l);
                slope = simd.mul_add_e_f32s(g, *dz, slope);
                *res = simd.mul_f32s(g, inv_n);
            }
            if !res_tail.is_empty() {
                // The zero-filled lanes beyond the row have zero weights, so they add nothing.
                let dz = simd.partial_load_f32s(dz_tail);
                let z = simd.mul_add_e_f32s(alpha, dz, simd.partial_load_f32s(z0_tail));
                let y = simd.partial_load_f32s(y_tail);
                let (l, g) = sigmoid_entries(simd, z, y, wp_tail, wn_tail);
                loss = simd.add_f32s(loss, l);
                slope = simd.mul_add_e_f32s(g, dz, slope);
                simd.partial_store_f32s(res_tail, simd.mul_f32s(g, inv_n));
            }
            total_loss += f64::from(simd.reduce_sum_f32s(loss));
            total_slope += f64::from(simd.reduce_sum_f32s(slope));
        }
        (total_loss, total_slope)
    }
}

/// Multinomial log loss `w_i sum_k y_ik (logsumexp(z_i) - z_ik)` per row and its derivative
/// `w_i (softmax(z_i)_k - y_ik)`. The targets of a row sum to 1.
///
/// A confident row has `softmax(z)_k` within an `f32` rounding of 1 at its largest margin, so
/// there `1 - softmax(z)_k` is computed from the sum of the other exponentials, and the loss
/// adds `ln(sum)` in `f64`. Both would otherwise round to zero.
pub(crate) struct SoftmaxRows<'a> {
    pub(crate) rows: Rows<'a>,
    /// Weight of each row of the block.
    pub(crate) row_weight: &'a [f32],
}

/// Per-row constants of the softmax entries, splatted.
struct SoftmaxRow<V> {
    /// Largest margin of the row.
    max: V,
    /// `1 - softmax` at the largest margin.
    rest: V,
    /// `1 / sum exp(z - max)`.
    inv_sum: V,
    /// Row weight over the number of rows, the factor of the residual.
    scale: V,
    weight: V,
}

/// Per-row lane sums of the softmax entries.
struct SoftmaxSums<V> {
    /// `sum y (max - z)`.
    loss: V,
    /// `sum y`.
    target: V,
    /// `sum w (softmax - y) dz`.
    slope: V,
}

/// Adds one vector of entries to the row sums and returns its residual `w (softmax - y) / n`.
#[inline(always)]
fn softmax_entries<S: Simd>(
    simd: S,
    row: &SoftmaxRow<S::f32s>,
    sums: &mut SoftmaxSums<S::f32s>,
    z: S::f32s,
    e: S::f32s,
    y: S::f32s,
    dz: S::f32s,
) -> S::f32s {
    sums.loss = simd.mul_add_e_f32s(y, simd.sub_f32s(row.max, z), sums.loss);
    sums.target = simd.add_f32s(sums.target, y);
    let g = simd.select_f32s_m32s(
        simd.equal_f32s(z, row.max),
        simd.sub_f32s(simd.sub_f32s(simd.splat_f32s(1.0), y), row.rest),
        simd.sub_f32s(simd.mul_f32s(e, row.inv_sum), y),
    );
    sums.slope = simd.mul_add_e_f32s(simd.mul_f32s(row.weight, g), dz, sums.slope);
    simd.mul_f32s(g, row.scale)
}

impl WithSimd for SoftmaxRows<'_> {
    /// Loss and slope of the block.
    type Output = (f64, f64);

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> (f64, f64) {
        let Self { rows, row_weight } = self;
        rows.check();
        let c = rows.classes;
        debug_assert_eq!(row_weight.len() * c, rows.z0.len());
        let alpha = simd.splat_f32s(rows.alpha);
        let zero = simd.splat_f32s(0.0);
        let one = simd.splat_f32s(1.0);
        // Margins and exponentials of one row, padded to whole vectors. The padding margins stay
        // -inf, so they neither raise the maximum nor add to the sums (exp(-inf) is 0).
        let lanes = std::mem::size_of::<S::f32s>() / std::mem::size_of::<f32>();
        let padded = c.div_ceil(lanes) * lanes;
        let mut margins = vec![f32::NEG_INFINITY; padded];
        let mut exps = vec![0.0f32; padded];
        let mut total_loss = 0.0f64;
        let mut total_slope = 0.0f64;
        for ((((z0, dz), y), res), &weight) in rows
            .z0
            .chunks_exact(c)
            .zip(rows.dz.chunks_exact(c))
            .zip(rows.targets.chunks_exact(c))
            .zip(rows.residual.chunks_exact_mut(c))
            .zip(row_weight)
        {
            let (z0_head, z0_tail) = S::as_simd_f32s(z0);
            let (dz_head, dz_tail) = S::as_simd_f32s(dz);
            {
                let (z_head, z_tail) = S::as_mut_simd_f32s(&mut margins[..c]);
                for ((z, z0), dz) in z_head.iter_mut().zip(z0_head).zip(dz_head) {
                    *z = simd.mul_add_e_f32s(alpha, *dz, *z0);
                }
                let tail = simd.mul_add_e_f32s(
                    alpha,
                    simd.partial_load_f32s(dz_tail),
                    simd.partial_load_f32s(z0_tail),
                );
                simd.partial_store_f32s(z_tail, tail);
            }
            let (z_all, _) = S::as_simd_f32s(&margins);
            let mut max = simd.splat_f32s(f32::NEG_INFINITY);
            for z in z_all {
                max = simd.max_f32s(max, *z);
            }
            let max = simd.splat_f32s(simd.reduce_max_f32s(max));

            // sum exp(z - max) = ties + others. `ties` counts the margins equal to the maximum,
            // each of which contributes exactly 1, and `others` sums the rest.
            let (e_all, _) = S::as_mut_simd_f32s(&mut exps);
            let mut others = zero;
            let mut ties = zero;
            for (e, z) in e_all.iter_mut().zip(z_all) {
                *e = exp(simd, simd.sub_f32s(*z, max));
                let at_max = simd.equal_f32s(*z, max);
                others = simd.add_f32s(others, simd.select_f32s_m32s(at_max, zero, *e));
                ties = simd.add_f32s(ties, simd.select_f32s_m32s(at_max, one, zero));
            }
            let excess = f64::from(simd.reduce_sum_f32s(ties)) - 1.0
                + f64::from(simd.reduce_sum_f32s(others));
            let sum = 1.0 + excess;
            // 1 - softmax at a largest margin, and ln(sum), both accurate when `excess` is tiny.
            let rest = simd.splat_f32s((excess / sum) as f32);
            let log_sum = excess.ln_1p();
            let inv_sum = simd.splat_f32s((1.0 / sum) as f32);
            let scale = simd.splat_f32s(weight * rows.inv_n);
            let weight_vec = simd.splat_f32s(weight);

            // Padding lanes have y = 0, dz = 0 and exp = 0, so they add nothing below.
            let (z_head, z_tail) = S::as_simd_f32s(&margins[..c]);
            let (e_head, e_tail) = S::as_simd_f32s(&exps[..c]);
            let (y_head, y_tail) = S::as_simd_f32s(y);
            let (res_head, res_tail) = S::as_mut_simd_f32s(res);
            let row = SoftmaxRow {
                max,
                rest,
                inv_sum,
                scale,
                weight: weight_vec,
            };
            let mut sums = SoftmaxSums {
                loss: zero,
                target: zero,
                slope: zero,
            };
            for ((((z, e), y), dz), res) in z_head
                .iter()
                .zip(e_head)
                .zip(y_head)
                .zip(dz_head)
                .zip(res_head.iter_mut())
            {
                *res = softmax_entries(simd, &row, &mut sums, *z, *e, *y, *dz);
            }
            if !res_tail.is_empty() {
                let out = softmax_entries(
                    simd,
                    &row,
                    &mut sums,
                    simd.partial_load_f32s(z_tail),
                    simd.partial_load_f32s(e_tail),
                    simd.partial_load_f32s(y_tail),
                    simd.partial_load_f32s(dz_tail),
                );
                simd.partial_store_f32s(res_tail, out);
            }
            let SoftmaxSums {
                loss,
                target: target_sum,
                slope,
            } = sums;
            let row_loss = f64::from(simd.reduce_sum_f32s(loss))
                + log_sum * f64::from(simd.reduce_sum_f32s(target_sum));
            total_loss += f64::from(weight) * row_loss;
            total_slope += f64::from(simd.reduce_sum_f32s(slope));
        }
        (total_loss, total_slope)
    }
}
