//! Full-batch L-BFGS with a line search on the convex objective.
//!
//! The search direction comes from the usual two-loop recursion (Nocedal and Wright, Numerical
//! Optimization, 2nd ed., algorithm 7.4) with 10 correction pairs, as scipy's L-BFGS-B uses for
//! scikit-learn's `lbfgs` solver. The step satisfies the strong Wolfe conditions (c1 = 1e-4,
//! c2 = 0.9). Because the objective is convex along every line, its slope rises monotonically, so
//! the search brackets the root of the slope and narrows it by safeguarded secant steps.

use std::collections::VecDeque;

use ndarray::{Array2, Zip};

use super::objective::{LinePoint, Objective};
use super::precondition::Preconditioner;

/// Correction pairs kept (scipy's `maxcor` default).
const MEMORY: usize = 10;
/// Sufficient-decrease constant of the Wolfe conditions.
const C1: f64 = 1e-4;
/// Curvature constant of the Wolfe conditions.
const C2: f64 = 0.9;
/// Objective evaluations allowed per line search.
const MAX_TRIALS: usize = 30;

/// Final state of a run.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) theta: Array2<f64>,
    pub(crate) iterations: usize,
    pub(crate) converged: bool,
    pub(crate) objective: f64,
    pub(crate) grad_max: f64,
}

fn dot(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    Zip::from(a).and(b).fold(0.0, |acc, &x, &y| acc + x * y)
}

fn max_abs(a: &Array2<f64>) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Minimises `objective` from `theta`, stopping when the largest absolute gradient entry is at
/// most `tol` or after `max_iter` steps.
pub(crate) fn minimize(
    objective: &Objective<'_>,
    preconditioner: Option<&Preconditioner>,
    mut theta: Array2<f64>,
    max_iter: usize,
    tol: f64,
) -> Outcome {
    let n = objective.n_rows();
    let c = objective.n_classes();
    let mut z = objective.margins(&theta);
    let mut residual = vec![0.0f32; n * c];
    let zero = Array2::zeros(theta.raw_dim());
    let no_step = vec![0.0f32; n * c];
    let mut value = objective
        .along(&theta, &zero, &z, &no_step, 0.0, &mut residual)
        .value;
    drop(no_step);
    let mut grad = objective.gradient(&theta, &residual);
    let mut pairs: VecDeque<(Array2<f64>, Array2<f64>, f64)> = VecDeque::with_capacity(MEMORY);
    let mut iterations = 0;
    let mut converged = false;

    while iterations < max_iter {
        let grad_max = max_abs(&grad);
        if grad_max <= tol {
            converged = true;
            break;
        }
        let mut direction = two_loop(&grad, &pairs, preconditioner);
        let mut slope = dot(&grad, &direction);
        if slope.is_nan() || slope >= 0.0 {
            log::debug!("head: l-bfgs direction is not a descent direction; resetting memory");
            pairs.clear();
            direction = two_loop(&grad, &pairs, preconditioner);
            slope = dot(&grad, &direction);
        }
        let first_trial = if pairs.is_empty() && preconditioner.is_none() {
            (1.0 / max_abs(&direction)).min(1.0)
        } else {
            1.0
        };
        let dz = objective.margins(&direction);
        let start = LinePoint {
            alpha: 0.0,
            value,
            slope,
        };
        let mut last_trial = f64::NAN;
        let Some(point) = line_search(start, first_trial, |alpha| {
            last_trial = alpha;
            objective.along(&theta, &direction, &z, &dz, alpha, &mut residual)
        }) else {
            log::warn!(
                "head: line search found no decrease at iteration {iterations} (objective {value:.6e}, max |gradient| {grad_max:.3e}); stopping"
            );
            break;
        };
        // The residual buffer contains the last trial, so recompute it unless that was the step taken.
        if last_trial != point.alpha {
            objective.along(&theta, &direction, &z, &dz, point.alpha, &mut residual);
        }

        let step = direction.mapv(|v| v * point.alpha);
        theta += &step;
        z.iter_mut()
            .zip(&dz)
            .for_each(|(zi, &di)| *zi += (point.alpha * f64::from(di)) as f32);
        let new_grad = objective.gradient(&theta, &residual);
        let change = &new_grad - &grad;
        let curvature = dot(&step, &change);
        if curvature > 1e-12 * dot(&change, &change) {
            if pairs.len() == MEMORY {
                pairs.pop_front();
            }
            pairs.push_back((step, change, 1.0 / curvature));
        }
        grad = new_grad;
        value = point.value;
        iterations += 1;
        log::debug!(
            "head: iteration {iterations} objective {value:.8e} step {:.3e} max |gradient| {:.3e}",
            point.alpha,
            max_abs(&grad)
        );
    }
    if !converged && max_abs(&grad) <= tol {
        converged = true;
    }
    Outcome {
        grad_max: max_abs(&grad),
        theta,
        iterations,
        converged,
        objective: value,
    }
}

/// Returns `-H g` for the inverse-Hessian estimate `H` of the stored pairs, starting from the
/// preconditioner (or the identity) scaled by the latest pair's curvature.
fn two_loop(
    grad: &Array2<f64>,
    pairs: &VecDeque<(Array2<f64>, Array2<f64>, f64)>,
    preconditioner: Option<&Preconditioner>,
) -> Array2<f64> {
    let mut q = grad.clone();
    let mut alphas = Vec::with_capacity(pairs.len());
    for (s, y, rho) in pairs.iter().rev() {
        let a = rho * dot(s, &q);
        q.scaled_add(-a, y);
        alphas.push(a);
    }
    match (pairs.back(), preconditioner) {
        (Some((s, y, _)), Some(p)) => {
            let gamma = dot(s, y) / dot(y, &p.apply(y));
            q = p.apply(&q) * gamma;
        }
        (Some((s, y, _)), None) => q *= dot(s, y) / dot(y, y),
        (None, Some(p)) => q = p.apply(&q),
        (None, None) => {}
    }
    for ((s, y, rho), a) in pairs.iter().zip(alphas.iter().rev()) {
        let b = rho * dot(y, &q);
        q.scaled_add(a - b, s);
    }
    q.mapv_inplace(|v| -v);
    q
}

/// Finds a step meeting the strong Wolfe conditions, or the best decreasing trial when none does
/// within [`MAX_TRIALS`]; `None` when no trial decreases the objective.
fn line_search(
    start: LinePoint,
    first_trial: f64,
    mut eval: impl FnMut(f64) -> LinePoint,
) -> Option<LinePoint> {
    // Near the minimum, differences of objective values drown in the rounding of the f32
    // margins. A trial whose value is within that noise is then also accepted when its slope
    // shows sufficient decrease. This is the approximate Wolfe condition of Hager and Zhang
    // (SIAM J. Optim. 16(1), 2005), with their delta = 0.1 and epsilon = 1e-6.
    let noise = 1e-6 * start.value.abs();
    let sufficient = |p: &LinePoint| {
        p.value <= start.value + C1 * p.alpha * start.slope
            || (p.value <= start.value + noise && p.slope <= -0.8 * start.slope)
    };
    let flat = |p: &LinePoint| p.slope.abs() <= C2 * start.slope.abs();
    let mut low = start;
    let mut high: Option<LinePoint> = None;
    let mut best: Option<LinePoint> = None;
    let mut alpha = first_trial;
    for _ in 0..MAX_TRIALS {
        let point = eval(alpha);
        if !point.value.is_finite() {
            high = Some(point);
        } else {
            if point.value < start.value && best.is_none_or(|b| point.value < b.value) {
                best = Some(point);
            }
            if sufficient(&point) && flat(&point) {
                return Some(point);
            }
            if sufficient(&point) && point.slope < 0.0 {
                low = point;
            } else {
                high = Some(point);
            }
        }
        alpha = match high {
            None => 4.0 * low.alpha.max(first_trial),
            Some(high) => next_trial(&low, &high),
        };
    }
    best
}

/// Secant root of the slope between `low` (negative slope) and `high`, kept inside the middle
/// 80% of the bracket so that the bracket always shrinks.
fn next_trial(low: &LinePoint, high: &LinePoint) -> f64 {
    let width = high.alpha - low.alpha;
    let secant = if high.value.is_finite() && high.slope > low.slope {
        low.alpha - low.slope * width / (high.slope - low.slope)
    } else {
        low.alpha + 0.5 * width
    };
    secant.clamp(low.alpha + 0.1 * width, high.alpha - 0.1 * width)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    fn quadratic(alpha: f64) -> LinePoint {
        // f(alpha) = (alpha - 3)^2, slope 2 (alpha - 3).
        LinePoint {
            alpha,
            value: (alpha - 3.0).powi(2),
            slope: 2.0 * (alpha - 3.0),
        }
    }

    #[test]
    fn line_search_expands_short_first_step() {
        let point = line_search(quadratic(0.0), 0.01, quadratic).unwrap();
        assert!(
            point.slope.abs() <= C2 * 6.0 && point.value < 9.0,
            "{point:?}"
        );
    }

    #[test]
    fn line_search_shrinks_long_first_step() {
        let point = line_search(quadratic(0.0), 100.0, quadratic).unwrap();
        assert!(
            point.slope.abs() <= C2 * 6.0 && point.value < 9.0,
            "{point:?}"
        );
    }

    #[test]
    fn line_search_without_decrease_returns_none() {
        let rising = |alpha: f64| LinePoint {
            alpha,
            value: alpha,
            slope: 1.0,
        };
        let start = LinePoint {
            alpha: 0.0,
            value: 0.0,
            slope: -1.0,
        };
        assert!(line_search(start, 1.0, rising).is_none());
    }
}
