//! Training of [`LinearHead`]: input checks, standardisation, class weights, and the fit.
//!
//! All classes are fitted jointly as one `(features + 1) x classes` parameter matrix, so every
//! iteration costs two dense products of the `rows x features` matrix (see `objective`).

mod kernel;
mod lbfgs;
mod objective;
mod precondition;

use ndarray::parallel::prelude::*;
use ndarray::{Array2, ArrayView2, Axis, Zip};
use stsg_core::{Fit, HeadDataset};

use self::objective::{Loss, Objective};
use self::precondition::Preconditioner;
use crate::linalg::{check_finite, first_bad_row, with_pool};
use crate::{
    ClassStatus, ClassWeight, HeadError, HeadKind, HeadValidParams, LinearHead, Standardization,
    TrainingSummary,
};

impl<'a> Fit<HeadDataset<'a>> for HeadValidParams {
    type Object = LinearHead;
    type Error = HeadError;

    /// Fits the head on `data.features` (`windows x features`) and `data.targets`
    /// (`windows x classes`, values in `[0, 1]`).
    ///
    /// Classes without positive rows (and, for sigmoid heads, without negative rows) are not
    /// fitted; they get the constant scores described at [`ClassStatus`]. Running out of
    /// iterations is not an error: see [`LinearHead::training_summary`].
    ///
    /// # Errors
    /// [`HeadError::Empty`], [`HeadError::Shape`] when features, targets and labels disagree,
    /// [`HeadError::NonFinite`] naming the first bad feature row, [`HeadError::InvalidTarget`],
    /// [`HeadError::UnlabelledRow`] for a softmax row without a positive class, and
    /// [`HeadError::NothingToLearn`] when no class can be fitted.
    fn fit(&self, data: HeadDataset<'a>) -> Result<LinearHead, HeadError> {
        with_pool(self.n_threads(), || fit_head(self, data))
    }
}

fn check_shapes(data: &HeadDataset<'_>) -> Result<(), HeadError> {
    let (n, d) = data.features.dim();
    if n == 0 || d == 0 {
        return Err(HeadError::Empty {
            what: "feature matrix",
            rows: n,
            cols: d,
        });
    }
    if data.targets.nrows() != n {
        return Err(HeadError::Shape {
            what: "target rows (one per feature row)",
            expected: n,
            got: data.targets.nrows(),
        });
    }
    if data.targets.ncols() != data.labels.len() {
        return Err(HeadError::Shape {
            what: "target columns (one per label)",
            expected: data.labels.len(),
            got: data.targets.ncols(),
        });
    }
    if data.labels.is_empty() {
        return Err(HeadError::Empty {
            what: "label set",
            rows: n,
            cols: 0,
        });
    }
    Ok(())
}

fn check_targets(targets: ArrayView2<'_, f32>) -> Result<(), HeadError> {
    let outside = |v: f32| !(0.0..=1.0).contains(&v);
    let Some(row) = first_bad_row(targets, |values| values.iter().any(|&v| outside(v))) else {
        return Ok(());
    };
    let (col, &value) = targets
        .row(row)
        .iter()
        .enumerate()
        .find(|(_, v)| outside(**v))
        .expect("the row was found to hold a target outside [0, 1]");
    Err(HeadError::InvalidTarget { row, col, value })
}

/// Adds `term(value, offset[j])` to `sums[j]` for the values of one row.
#[inline(always)]
fn add_row<'v>(
    sums: &mut [f64],
    offset: &[f64],
    values: impl IntoIterator<Item = &'v f32>,
    term: &impl Fn(f64, f64) -> f64,
) {
    for ((sum, &o), &v) in sums.iter_mut().zip(offset).zip(values) {
        *sum += term(f64::from(v), o);
    }
}

/// Returns `sum_i term(x_ij, offset[j])` for every column `j`, in `f64`, summing blocks of rows
/// in parallel.
fn column_sums(
    x: ArrayView2<'_, f32>,
    offset: &[f64],
    term: impl Fn(f64, f64) -> f64 + Sync,
) -> Vec<f64> {
    let d = x.ncols();
    x.axis_chunks_iter(Axis(0), 1024)
        .into_par_iter()
        .map(|rows| {
            let mut sums = vec![0.0f64; d];
            for row in rows.outer_iter() {
                // A contiguous row goes through slices, which the compiler vectorises.
                match row.as_slice() {
                    Some(slice) => add_row(&mut sums, offset, slice, &term),
                    None => add_row(&mut sums, offset, row.iter(), &term),
                }
            }
            sums
        })
        .reduce(
            || vec![0.0; d],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        )
}

/// Computes the feature means and population standard deviations in `f64`, two passes.
fn standardization(x: ArrayView2<'_, f32>) -> Standardization {
    let (n, d) = x.dim();
    let mean: Vec<f64> = column_sums(x, &vec![0.0; d], |v, _| v)
        .into_iter()
        .map(|s| s / n as f64)
        .collect();
    let var = column_sums(x, &mean, |v, m| (v - m) * (v - m));
    let scale = var
        .iter()
        .zip(&mean)
        .map(|(&v, &m)| {
            let s = (v / n as f64).sqrt();
            // A feature whose spread is rounding noise keeps scale 1, as scikit-learn's
            // StandardScaler does for constant features.
            if s > 10.0 * f64::EPSILON * m.abs().max(1.0) {
                s as f32
            } else {
                1.0
            }
        })
        .collect();
    Standardization {
        mean: mean.iter().map(|&m| m as f32).collect(),
        scale,
    }
}

fn standardize(x: ArrayView2<'_, f32>, st: &Standardization) -> Array2<f32> {
    let mut out = Array2::<f32>::zeros(x.raw_dim());
    Zip::from(out.rows_mut())
        .and(x.rows())
        .par_for_each(|mut out, row| {
            let out = out
                .as_slice_mut()
                .expect("rows of a fresh array are contiguous");
            st.apply_to_row(row, out);
        });
    out
}

/// Returns `a` in C order, which the loss kernels need. `select` along columns may return
/// another layout.
fn row_major(a: Array2<f32>) -> Array2<f32> {
    if a.is_standard_layout() {
        a
    } else {
        a.as_standard_layout().into_owned()
    }
}

/// The class statuses and the data term over the trained classes.
struct Classes {
    status: Vec<ClassStatus>,
    trained: Vec<usize>,
    loss: Loss,
    /// Starting bias of each trained class: the optimum when all weights are zero.
    initial_bias: Vec<f64>,
    /// Second derivative of the mean loss in the bias of each trained class at the start.
    curvature: Vec<f64>,
}

fn sigmoid_classes(targets: ArrayView2<'_, f32>, weighting: ClassWeight) -> Classes {
    let n = targets.nrows() as f64;
    let c = targets.ncols();
    let positive = column_sums(targets, &vec![0.0; c], |v, _| v);
    let negative = column_sums(targets, &vec![1.0; c], |v, one| one - v);
    let status: Vec<ClassStatus> = positive
        .iter()
        .zip(&negative)
        .map(|(&p, &q)| {
            if p <= 0.0 {
                ClassStatus::NoPositive
            } else if q <= 0.0 {
                ClassStatus::NoNegative
            } else {
                ClassStatus::Trained
            }
        })
        .collect();
    let trained: Vec<usize> = (0..status.len())
        .filter(|&k| status[k] == ClassStatus::Trained)
        .collect();
    let (pos_weight, neg_weight): (Vec<f64>, Vec<f64>) = trained
        .iter()
        .map(|&k| match weighting {
            ClassWeight::None => (1.0, 1.0),
            ClassWeight::Balanced => (n / (2.0 * positive[k]), n / (2.0 * negative[k])),
        })
        .unzip();
    let initial_bias = trained
        .iter()
        .zip(pos_weight.iter().zip(&neg_weight))
        .map(|(&k, (wp, wn))| (wp * positive[k]).ln() - (wn * negative[k]).ln())
        .collect();
    let curvature = trained
        .iter()
        .zip(pos_weight.iter().zip(&neg_weight))
        .map(|(&k, (wp, wn))| {
            let (a, b) = (wp * positive[k], wn * negative[k]);
            let prior = a / (a + b);
            prior * (1.0 - prior) * (a + b) / n
        })
        .collect();
    Classes {
        curvature,
        loss: Loss::Sigmoid {
            targets: row_major(targets.select(Axis(1), &trained)),
            pos_weight: pos_weight.iter().map(|&w| w as f32).collect(),
            neg_weight: neg_weight.iter().map(|&w| w as f32).collect(),
        },
        status,
        trained,
        initial_bias,
    }
}

fn softmax_classes(
    targets: ArrayView2<'_, f32>,
    weighting: ClassWeight,
) -> Result<Classes, HeadError> {
    let mut normalized = targets.to_owned();
    for (row, mut values) in normalized.outer_iter_mut().enumerate() {
        let sum: f32 = values.sum();
        if sum <= 0.0 {
            return Err(HeadError::UnlabelledRow { row });
        }
        values /= sum;
    }
    let mass = column_sums(normalized.view(), &vec![0.0; normalized.ncols()], |v, _| v);
    let status: Vec<ClassStatus> = mass
        .iter()
        .map(|&m| {
            if m > 0.0 {
                ClassStatus::Trained
            } else {
                ClassStatus::NoPositive
            }
        })
        .collect();
    let trained: Vec<usize> = (0..status.len())
        .filter(|&k| status[k] == ClassStatus::Trained)
        .collect();
    let n = targets.nrows() as f64;
    let class_weight: Vec<f64> = trained
        .iter()
        .map(|&k| match weighting {
            ClassWeight::None => 1.0,
            ClassWeight::Balanced => n / (trained.len() as f64 * mass[k]),
        })
        .collect();
    let normalized = row_major(normalized.select(Axis(1), &trained));
    let row_weight = normalized
        .outer_iter()
        .map(|t| {
            let weight: f64 = t
                .iter()
                .zip(&class_weight)
                .map(|(&v, w)| f64::from(v) * w)
                .sum();
            weight as f32
        })
        .collect();
    let initial_bias = trained
        .iter()
        .zip(&class_weight)
        .map(|(&k, w)| (w * mass[k]).ln())
        .collect();
    let weighted_mass: Vec<f64> = trained
        .iter()
        .zip(&class_weight)
        .map(|(&k, w)| w * mass[k])
        .collect();
    let total: f64 = weighted_mass.iter().sum();
    let curvature = weighted_mass
        .iter()
        .map(|m| {
            let prior = m / total;
            prior * (1.0 - prior) * total / n
        })
        .collect();
    Ok(Classes {
        curvature,
        loss: Loss::Softmax {
            targets: normalized,
            row_weight,
        },
        status,
        trained,
        initial_bias,
    })
}

fn fit_head(params: &HeadValidParams, data: HeadDataset<'_>) -> Result<LinearHead, HeadError> {
    check_shapes(&data)?;
    check_finite(data.features, "feature")?;
    check_targets(data.targets)?;
    let (n, d) = data.features.dim();
    let n_classes = data.labels.len();

    let classes = match params.kind() {
        HeadKind::Sigmoid => sigmoid_classes(data.targets, params.class_weight()),
        HeadKind::Softmax => softmax_classes(data.targets, params.class_weight())?,
    };
    if classes.trained.is_empty() {
        return Err(HeadError::NothingToLearn {
            classes: n_classes,
            rows: n,
        });
    }
    for (k, status) in classes.status.iter().enumerate() {
        if *status != ClassStatus::Trained {
            log::warn!(
                "head: class {:?} is not fitted ({status:?} in {n} training rows); it gets a constant score",
                data.labels.name(k).unwrap_or_default()
            );
        }
    }

    // The features are always centred for the fit: the unpenalised bias absorbs the shift, so
    // the minimiser is the same, but the problem is better conditioned and the f32 products
    // lose less precision. Without standardisation the shift is folded back into the bias.
    let mut transform = standardization(data.features);
    if !params.standardize() {
        transform.scale.fill(1.0);
    }
    let x = standardize(data.features, &transform);
    let objective = Objective {
        x: x.view(),
        loss: classes.loss,
        l2: params.l2(),
    };
    let c = classes.trained.len();
    let mut theta = Array2::<f64>::zeros((d + 1, c));
    for (b, &init) in theta.row_mut(d).iter_mut().zip(&classes.initial_bias) {
        *b = init;
    }
    log::debug!(
        "head: fitting {:?} head, {n} rows x {d} features, {c} of {n_classes} classes",
        params.kind()
    );
    let preconditioner = Preconditioner::new(x.view(), classes.curvature, params.l2());
    let outcome = lbfgs::minimize(
        &objective,
        preconditioner.as_ref(),
        theta,
        params.max_iter(),
        params.tol(),
    );
    if !outcome.converged {
        log::warn!(
            "head: stopped after {} iterations with max |gradient| {:.3e} > tol {:.1e}; raise max_iter or l2",
            outcome.iterations,
            outcome.grad_max,
            params.tol()
        );
    }

    let mut weights = Array2::<f32>::zeros((d, n_classes));
    let mut bias = ndarray::Array1::<f32>::zeros(n_classes);
    for (col, &k) in classes.trained.iter().enumerate() {
        for j in 0..d {
            weights[[j, k]] = outcome.theta[[j, col]] as f32;
        }
        bias[k] = outcome.theta[[d, col]] as f32;
    }
    let standardization = if params.standardize() {
        Some(transform)
    } else {
        for (col, &k) in classes.trained.iter().enumerate() {
            let shift: f64 = (0..d)
                .map(|j| f64::from(transform.mean[j]) * outcome.theta[[j, col]])
                .sum();
            bias[k] = (outcome.theta[[d, col]] - shift) as f32;
        }
        None
    };
    let rows = n as f32;
    for (k, status) in classes.status.iter().enumerate() {
        bias[k] = match (status, params.kind()) {
            (ClassStatus::Trained, _) => bias[k],
            // logit(1 / (n + 2)) and logit((n + 1) / (n + 2)).
            (ClassStatus::NoPositive, HeadKind::Sigmoid) => -(rows + 1.0).ln(),
            (ClassStatus::NoNegative, HeadKind::Sigmoid) => (rows + 1.0).ln(),
            (_, HeadKind::Softmax) => 0.0,
        };
    }
    Ok(LinearHead {
        kind: params.kind(),
        labels: data.labels.clone(),
        weights,
        bias,
        standardization,
        status: classes.status,
        params: params.params().clone(),
        summary: TrainingSummary {
            n_rows: n,
            iterations: outcome.iterations,
            converged: outcome.converged,
            objective: outcome.objective,
            max_gradient: outcome.grad_max,
        },
    })
}
