//! Branch-free `f32` exponential, `ln(1 + x)` and sigmoid on pulp SIMD vectors.
//!
//! The loss kernels of training and the link functions of prediction call these inside
//! [`pulp::Arch::dispatch`], which picks the instruction set at run time. On x86-64, pulp 0.21
//! runs them on 8 AVX2 + FMA lanes where the CPU has both, and on one scalar lane otherwise.
//! Both functions are within 2 ulp of the correctly rounded result over the ranges the tests
//! at the end of this file sweep.

use pulp::Simd;

/// `1.5 * 2^23`: adding it to an `f32` of magnitude below `2^22` rounds to an integer, which then
/// sits in the low mantissa bits of the sum.
const ROUNDING_SHIFT: f32 = 12_582_912.0;
/// `ln 2` split so that `n * LN2_HIGH` is exact for integers `|n| < 2^9`: its 15 significant bits
/// plus 9 bits of `n` fit in the 24-bit mantissa, with or without a fused multiply-add.
const LN2_HIGH: f32 = 0.693_145_75;
/// `ln 2 - LN2_HIGH`.
const LN2_LOW: f32 = 1.428_606_8e-6;
/// Inputs of [`exp`] are clamped to this range. `exp(-104)` rounds to 0 in `f32`, and anything
/// above 88.73 overflows to infinity through the scaling.
const EXP_MIN: f32 = -104.0;
const EXP_MAX: f32 = 89.0;

/// Returns `2^k` for integer-valued `k` in `[-126, 127]`, built from its exponent bits.
#[inline(always)]
fn pow2<S: Simd>(simd: S, k: S::f32s) -> S::f32s {
    // The low mantissa bits of `k + ROUNDING_SHIFT + 127` hold the biased exponent `k + 127`.
    let shifted = simd.add_f32s(k, simd.splat_f32s(ROUNDING_SHIFT + 127.0));
    let biased = simd.sub_u32s(
        simd.transmute_u32s_f32s(shifted),
        simd.splat_u32s(ROUNDING_SHIFT.to_bits()),
    );
    let bits = simd.wrapping_dyn_shl_u32s(biased, simd.splat_u32s(23));
    simd.transmute_f32s_u32s(bits)
}

/// Rounds each lane to the nearest integer, ties to even. Lanes must be below `2^22` in
/// magnitude.
#[inline(always)]
fn round<S: Simd>(simd: S, x: S::f32s) -> S::f32s {
    let shift = simd.splat_f32s(ROUNDING_SHIFT);
    simd.sub_f32s(simd.add_f32s(x, shift), shift)
}

/// Computes `e^x` per lane.
///
/// Results below the smallest normal `f32` are subnormal, as in `f32::exp`, and reach 0 below
/// about -103.97. Inputs above about 88.72 give infinity. NaN inputs give an unspecified finite
/// value or infinity, so callers pass finite values.
#[inline(always)]
pub(crate) fn exp<S: Simd>(simd: S, x: S::f32s) -> S::f32s {
    let x = simd.min_f32s(
        simd.max_f32s(x, simd.splat_f32s(EXP_MIN)),
        simd.splat_f32s(EXP_MAX),
    );

    // x = n ln 2 + r with integer n and |r| <= ln 2 / 2 (Cody-Waite reduction).
    let n = round(
        simd,
        simd.mul_f32s(x, simd.splat_f32s(std::f32::consts::LOG2_E)),
    );
    let r = simd.mul_add_e_f32s(n, simd.splat_f32s(-LN2_HIGH), x);
    let r = simd.mul_add_e_f32s(n, simd.splat_f32s(-LN2_LOW), r);

    // Taylor polynomial of degree 7. For |r| <= ln 2 / 2 the remainder r^8 / 8! stays below
    // 5.2e-9, which is 0.09 ulp of 1.
    let mut p = simd.splat_f32s(1.0 / 5040.0);
    for coefficient in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = simd.mul_add_e_f32s(p, r, simd.splat_f32s(coefficient));
    }

    // 2^n in two factors, each a normal number for n in [-151, 129], so that subnormal and
    // overflowing results round once, in the last multiplication.
    let half = round(simd, simd.mul_f32s(n, simd.splat_f32s(0.5)));
    let rest = simd.sub_f32s(n, half);
    simd.mul_f32s(simd.mul_f32s(p, pow2(simd, half)), pow2(simd, rest))
}

/// Computes `ln(1 + x)` per lane for finite `x > -1`, accurate also when `x` is tiny.
///
/// Other inputs give unspecified values.
#[inline(always)]
pub(crate) fn ln_1p<S: Simd>(simd: S, x: S::f32s) -> S::f32s {
    let one = simd.splat_f32s(1.0);
    let u = simd.add_f32s(one, x);
    // u = 2^k m with m in [1, 2), then m halved (and k raised) when m > sqrt 2, so that
    // m - 1 lies in [sqrt(1/2) - 1, sqrt 2 - 1].
    let bits = simd.transmute_u32s_f32s(u);
    let mantissa = simd.or_u32s(
        simd.and_u32s(bits, simd.splat_u32s(0x007f_ffff)),
        simd.splat_u32s(1.0f32.to_bits()),
    );
    let m = simd.transmute_f32s_u32s(mantissa);
    let biased = simd.wrapping_dyn_shr_u32s(bits, simd.splat_u32s(23));
    // `ROUNDING_SHIFT + e` for the biased exponent e < 256, then minus the shift and the bias.
    let k = simd.sub_f32s(
        simd.transmute_f32s_u32s(simd.or_u32s(biased, simd.splat_u32s(ROUNDING_SHIFT.to_bits()))),
        simd.splat_f32s(ROUNDING_SHIFT + 127.0),
    );
    let large = simd.greater_than_f32s(m, simd.splat_f32s(std::f32::consts::SQRT_2));
    let m = simd.select_f32s_m32s(large, simd.mul_f32s(m, simd.splat_f32s(0.5)), m);
    let k = simd.select_f32s_m32s(large, simd.add_f32s(k, one), k);

    // With k = 0 the argument x itself is f, which keeps every bit of a tiny x. Otherwise
    // f = m - 1 is exact, and `correction` restores the rounding error of 1 + x.
    let unscaled = simd.equal_f32s(k, simd.splat_f32s(0.0));
    let f = simd.select_f32s_m32s(unscaled, x, simd.sub_f32s(m, one));
    let rounding = simd.sub_f32s(x, simd.sub_f32s(u, one));
    let correction =
        simd.select_f32s_m32s(unscaled, simd.splat_f32s(0.0), simd.div_f32s(rounding, u));

    // ln(1 + f) = 2 atanh(s) with s = f / (2 + f) and |s| <= 0.1716, so
    // ln(1 + f) = 2s + s T(s^2) with T(z) = 2 (z/3 + z^2/5 + z^3/7 + z^4/9). The next term,
    // 2 s z^5 / 11, is below 2e-9 of the result. As 2s = f - s f, ln(1 + f) = f - s (f - T),
    // which adds a small correction to the exact f.
    let s = simd.div_f32s(f, simd.add_f32s(simd.splat_f32s(2.0), f));
    let z = simd.mul_f32s(s, s);
    let mut t = simd.splat_f32s(2.0 / 9.0);
    for coefficient in [2.0 / 7.0, 2.0 / 5.0, 2.0 / 3.0] {
        t = simd.mul_add_e_f32s(t, z, simd.splat_f32s(coefficient));
    }
    let t = simd.mul_f32s(t, z);
    let small = simd.mul_add_e_f32s(k, simd.splat_f32s(LN2_LOW), correction);
    let log_m = simd.sub_f32s(
        f,
        simd.sub_f32s(simd.mul_f32s(s, simd.sub_f32s(f, t)), small),
    );
    simd.mul_add_e_f32s(k, simd.splat_f32s(LN2_HIGH), log_m)
}

/// Returns the sigmoids of `z` and of `-z` from `e = exp(-|z|)`, each without cancellation.
#[inline(always)]
pub(crate) fn sigmoid_pair<S: Simd>(simd: S, z: S::f32s, e: S::f32s) -> (S::f32s, S::f32s) {
    let r = simd.div_f32s(simd.splat_f32s(1.0), simd.add_f32s(simd.splat_f32s(1.0), e));
    let er = simd.mul_f32s(e, r);
    let positive = simd.greater_than_or_equal_f32s(z, simd.splat_f32s(0.0));
    (
        simd.select_f32s_m32s(positive, r, er),
        simd.select_f32s_m32s(positive, er, r),
    )
}

/// Returns `exp(-|z|)`.
#[inline(always)]
pub(crate) fn exp_neg_abs<S: Simd>(simd: S, z: S::f32s) -> S::f32s {
    exp(simd, simd.neg_f32s(simd.abs_f32s(z)))
}

/// A function applied lane by lane with [`map_in_place`].
///
/// This is a trait rather than a closure because a closure written inside `with_simd` is
/// compiled without the target features that [`pulp::Arch::dispatch`] enables for `with_simd`,
/// so every SIMD operation in its body becomes an out-of-line call.
pub(crate) trait LaneMap {
    /// Returns the function of every lane of `v`.
    fn apply<S: Simd>(&self, simd: S, v: S::f32s) -> S::f32s;
}

/// The logistic sigmoid `1 / (1 + exp(-z))`.
pub(crate) struct Sigmoid;

impl LaneMap for Sigmoid {
    #[inline(always)]
    fn apply<S: Simd>(&self, simd: S, z: S::f32s) -> S::f32s {
        sigmoid_pair(simd, z, exp_neg_abs(simd, z)).0
    }
}

/// `exp(v - shift)`.
pub(crate) struct ExpShifted(pub(crate) f32);

impl LaneMap for ExpShifted {
    #[inline(always)]
    fn apply<S: Simd>(&self, simd: S, v: S::f32s) -> S::f32s {
        exp(simd, simd.sub_f32s(v, simd.splat_f32s(self.0)))
    }
}

/// `v / divisor`.
pub(crate) struct DivideBy(pub(crate) f32);

impl LaneMap for DivideBy {
    #[inline(always)]
    fn apply<S: Simd>(&self, simd: S, v: S::f32s) -> S::f32s {
        simd.div_f32s(v, simd.splat_f32s(self.0))
    }
}

/// Applies `f` to `values` in place, one vector at a time, the tail through a partial vector.
#[inline(always)]
pub(crate) fn map_in_place<S: Simd>(simd: S, values: &mut [f32], f: &impl LaneMap) {
    let (head, tail) = S::as_mut_simd_f32s(values);
    for v in head {
        *v = f.apply(simd, *v);
    }
    if !tail.is_empty() {
        let v = f.apply(simd, simd.partial_load_f32s(tail));
        simd.partial_store_f32s(tail, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulp::WithSimd;

    struct Ln1p;

    impl LaneMap for Ln1p {
        #[inline(always)]
        fn apply<S: Simd>(&self, simd: S, v: S::f32s) -> S::f32s {
            ln_1p(simd, v)
        }
    }

    #[derive(Clone, Copy)]
    enum Function {
        Exp,
        Ln1p,
    }

    struct Apply<'a> {
        values: &'a [f32],
        function: Function,
    }

    impl WithSimd for Apply<'_> {
        type Output = Vec<f32>;

        fn with_simd<S: Simd>(self, simd: S) -> Vec<f32> {
            let mut out = self.values.to_vec();
            match self.function {
                Function::Exp => map_in_place(simd, &mut out, &ExpShifted(0.0)),
                Function::Ln1p => map_in_place(simd, &mut out, &Ln1p),
            }
            out
        }
    }

    /// Returns `function` of every value twice: computed with the SIMD type this CPU selects,
    /// then with one scalar lane (which lacks fused multiply-adds and rounds differently).
    fn both_paths(values: &[f32], function: Function) -> Vec<f32> {
        let vector = pulp::Arch::new().dispatch(Apply { values, function });
        let scalar = Apply { values, function }.with_simd(pulp::Scalar::new());
        vector.into_iter().chain(scalar).collect()
    }

    /// Returns the distance in units in the last place between `got` and `exact` rounded to
    /// `f32`. Below the smallest normal number, one unit is the subnormal spacing.
    fn ulps(got: f32, exact: f64) -> f64 {
        let rounded = exact as f32;
        if got == rounded {
            return 0.0;
        }
        let spacing = if rounded.is_finite() && rounded.abs() >= f32::MIN_POSITIVE {
            let up = f32::from_bits(rounded.abs().to_bits() + 1);
            f64::from(up - rounded.abs())
        } else {
            f64::from(f32::from_bits(1))
        };
        (f64::from(got) - exact).abs() / spacing
    }

    /// Returns `steps + 1` evenly spaced points from `lo` to `hi`.
    fn grid(lo: f32, hi: f32, steps: usize) -> Vec<f32> {
        (0..=steps)
            .map(|i| lo + (hi - lo) * (i as f32 / steps as f32))
            .collect()
    }

    #[test]
    fn exp_is_within_two_ulp() {
        let mut xs = grid(-100.0, 88.7, 2_000_000);
        xs.extend([0.0, -0.0, 1e-30, -1e-30, 1e-8, -87.33, -103.0, -103.97]);
        let results = both_paths(&xs, Function::Exp);
        let n = xs.len();
        for (i, &got) in results.iter().enumerate() {
            let x = xs[i % n];
            let exact = f64::from(x).exp();
            let error = ulps(got, exact);
            assert!(
                error <= 2.0,
                "exp({x}) = {got}, exact {exact:e}, {error} ulp"
            );
        }
    }

    #[test]
    fn exp_saturates_beyond_f32_range() {
        let xs = [-1000.0f32, -104.0, -100.0, 88.8, 89.0, 100.0, 1000.0];
        let results = both_paths(&xs, Function::Exp);
        for (i, &got) in results.iter().enumerate() {
            let x = xs[i % xs.len()];
            let expected = x.exp();
            assert!(
                got == expected || ulps(got, f64::from(x).exp()) <= 2.0,
                "exp({x}) = {got}, expected {expected}"
            );
        }
    }

    #[test]
    fn ln_1p_is_within_two_ulp() {
        // exp(-|z|) for |z| up to 100 covers (0, 1], the arguments of the loss.
        let mut xs: Vec<f32> = grid(0.0, 100.0, 1_000_000)
            .into_iter()
            .map(|z| (-z).exp())
            .collect();
        xs.extend(grid(-0.999, 10.0, 1_000_000));
        xs.extend(grid(10.0, 1e6, 100_000));
        xs.extend([
            0.0,
            1e-45,
            1e-38,
            1e-20,
            1e-8,
            -1e-8,
            5.9604645e-8,
            0.41421357,
            0.41421354,
        ]);
        xs.extend([-0.29289323, -0.2928932, 1.0, 3.0e38, f32::MAX]);
        let results = both_paths(&xs, Function::Ln1p);
        let n = xs.len();
        for (i, &got) in results.iter().enumerate() {
            let x = xs[i % n];
            let exact = f64::from(x).ln_1p();
            let error = ulps(got, exact);
            assert!(
                error <= 2.0,
                "ln_1p({x}) = {got}, exact {exact:e}, {error} ulp"
            );
        }
    }

    #[test]
    fn sigmoid_pair_sums_to_one() {
        struct Check;
        impl WithSimd for Check {
            type Output = ();
            fn with_simd<S: Simd>(self, simd: S) {
                for z in grid(-100.0, 100.0, 20_001) {
                    let v = simd.splat_f32s(z);
                    let (p, q) = sigmoid_pair(simd, v, exp_neg_abs(simd, v));
                    let (p, q) = (simd.reduce_max_f32s(p), simd.reduce_max_f32s(q));
                    let exact = 1.0 / (1.0 + (-f64::from(z)).exp());
                    let exact_neg = 1.0 / (1.0 + f64::from(z).exp());
                    assert!(ulps(p, exact) <= 4.0, "sigmoid({z}) = {p}, exact {exact:e}");
                    assert!(
                        ulps(q, exact_neg) <= 4.0,
                        "sigmoid({}) = {q}, exact {exact_neg:e}",
                        -z
                    );
                }
            }
        }
        pulp::Arch::new().dispatch(Check);
        Check.with_simd(pulp::Scalar::new());
    }
}
