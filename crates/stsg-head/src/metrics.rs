//! Evaluation metrics of BirdCLEF heads, checked against scikit-learn 1.9.1.
//!
//! Ground truth is a `windows x classes` matrix of 0 and 1, scores a matrix of the same shape.
//! - [`macro_roc_auc`]: the BirdCLEF 2024 and 2025 competition metric. Classes without a
//!   positive window are left out (the Kaggle rule). Classes without a negative window are left
//!   out too, because their AUC is undefined: scikit-learn 1.9 returns NaN for the whole macro
//!   average then.
//! - [`micro_roc_auc`]: one AUC over all (window, class) pairs, as scikit-learn's
//!   `average="micro"`.
//! - [`top1_accuracy`]: share of labelled windows whose highest-scoring class is a positive.
//! - [`padded_cmap`]: the BirdCLEF 2023 metric, macro average precision after appending
//!   `padding` rows of ones to both matrices.
//!
//! Ties in the scores count as in scikit-learn: ROC-AUC gives tied scores their average rank
//! (the trapezoid rule on the ROC curve), and average precision steps only at distinct scores.

use std::cmp::Ordering;

use ndarray::{ArrayView2, Axis};

use crate::HeadError;

/// Per-class and macro ROC-AUC.
#[derive(Debug, Clone, PartialEq)]
pub struct MacroAuc {
    /// Mean AUC over the scored classes.
    pub macro_auc: f64,
    /// AUC per class in column order; `None` for a class without a positive or without a
    /// negative window.
    pub per_class: Vec<Option<f64>>,
    /// Number of scored classes.
    pub n_scored: usize,
}

/// Computes the ROC-AUC of one class, tied scores taking their average rank.
///
/// Returns `None` when `y_true` has no positive or no negative, or when a score is NaN.
/// Cost: one sort, `O(n log n)`.
///
/// # Panics
/// If `y_true` and `scores` differ in length.
pub fn roc_auc(y_true: &[bool], scores: &[f32]) -> Option<f64> {
    assert_eq!(
        y_true.len(),
        scores.len(),
        "roc_auc: y_true and scores differ in length"
    );
    if scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let positives = y_true.iter().filter(|&&y| y).count();
    let negatives = y_true.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the 1-based ranks of the positives; a run of equal scores shares its mean rank.
    let mut rank_sum = 0.0f64;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let mean_rank = (start + 1 + end) as f64 / 2.0;
        let tied_positives = order[start..end].iter().filter(|&&i| y_true[i]).count();
        rank_sum += mean_rank * tied_positives as f64;
        start = end;
    }
    let (p, q) = (positives as f64, negatives as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * q))
}

/// Computes the average precision of one class as scikit-learn's `average_precision_score`:
/// the sum over distinct score thresholds, from high to low, of recall gain times precision.
/// A class without positives scores 0, as in scikit-learn 1.9.
fn average_precision(y_true: &[bool], scores: &[f32]) -> f64 {
    let positives = y_true.iter().filter(|&&y| y).count();
    if positives == 0 {
        return 0.0;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut ap = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        let tp_before = tp;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            if y_true[order[end]] {
                tp += 1;
            } else {
                fp += 1;
            }
            end += 1;
        }
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (tp - tp_before) as f64 / positives as f64 * precision;
        start = end;
    }
    ap
}

/// Checks shapes, 0/1 truth and finite scores.
fn check_inputs(y_true: ArrayView2<'_, f32>, scores: ArrayView2<'_, f32>) -> Result<(), HeadError> {
    if y_true.dim() != scores.dim() {
        let what = if y_true.nrows() != scores.nrows() {
            "score rows (one per ground-truth row)"
        } else {
            "score columns (one per ground-truth column)"
        };
        let (expected, got) = if y_true.nrows() != scores.nrows() {
            (y_true.nrows(), scores.nrows())
        } else {
            (y_true.ncols(), scores.ncols())
        };
        return Err(HeadError::Shape {
            what,
            expected,
            got,
        });
    }
    if y_true.is_empty() {
        return Err(HeadError::Empty {
            what: "ground truth",
            rows: y_true.nrows(),
            cols: y_true.ncols(),
        });
    }
    for ((row, col), &value) in y_true.indexed_iter() {
        if value != 0.0 && value != 1.0 {
            return Err(HeadError::InvalidTruth { row, col, value });
        }
    }
    crate::linalg::check_finite(scores, "score")
}

fn column_truth(y_true: ArrayView2<'_, f32>, col: usize) -> Vec<bool> {
    y_true.column(col).iter().map(|&v| v == 1.0).collect()
}

/// Computes per-class ROC-AUC and its mean over the classes with at least one positive and one
/// negative window.
///
/// # Errors
/// [`HeadError::Shape`] when the matrices differ in shape, [`HeadError::Empty`],
/// [`HeadError::InvalidTruth`] for truth other than 0 or 1, [`HeadError::NonFinite`] for a NaN
/// or infinite score, [`HeadError::UndefinedMetric`] when no class can be scored.
pub fn macro_roc_auc(
    y_true: ArrayView2<'_, f32>,
    scores: ArrayView2<'_, f32>,
) -> Result<MacroAuc, HeadError> {
    check_inputs(y_true, scores)?;
    let per_class: Vec<Option<f64>> = (0..y_true.ncols())
        .map(|k| {
            let scores: Vec<f32> = scores.column(k).to_vec();
            roc_auc(&column_truth(y_true, k), &scores)
        })
        .collect();
    let scored: Vec<f64> = per_class.iter().flatten().copied().collect();
    if scored.is_empty() {
        return Err(HeadError::UndefinedMetric {
            metric: "macro ROC-AUC",
            reason: format!(
                "none of the {} classes has both a positive and a negative window",
                y_true.ncols()
            ),
        });
    }
    let no_negative = (0..y_true.ncols())
        .filter(|&k| y_true.column(k).iter().all(|&v| v == 1.0))
        .count();
    if no_negative > 0 {
        log::warn!("head: {no_negative} classes have no negative window and are not scored");
    }
    Ok(MacroAuc {
        macro_auc: scored.iter().sum::<f64>() / scored.len() as f64,
        n_scored: scored.len(),
        per_class,
    })
}

/// Computes one ROC-AUC over all (window, class) pairs, as scikit-learn's `average="micro"`.
///
/// # Errors
/// As [`macro_roc_auc`]; [`HeadError::UndefinedMetric`] when all pairs are positive or all
/// negative.
pub fn micro_roc_auc(
    y_true: ArrayView2<'_, f32>,
    scores: ArrayView2<'_, f32>,
) -> Result<f64, HeadError> {
    check_inputs(y_true, scores)?;
    let truth: Vec<bool> = y_true.iter().map(|&v| v == 1.0).collect();
    let flat: Vec<f32> = scores.iter().copied().collect();
    roc_auc(&truth, &flat).ok_or_else(|| HeadError::UndefinedMetric {
        metric: "micro ROC-AUC",
        reason: "the ground truth needs both a positive and a negative entry".to_string(),
    })
}

/// Computes the share of windows with at least one positive class whose highest-scoring class
/// (the first one on ties, as numpy's `argmax`) is positive. Windows without a positive class
/// are left out.
///
/// For one-hot truth this equals scikit-learn's `accuracy_score(y.argmax(1), scores.argmax(1))`.
///
/// # Errors
/// As [`macro_roc_auc`]; [`HeadError::UndefinedMetric`] when no window has a positive class.
pub fn top1_accuracy(
    y_true: ArrayView2<'_, f32>,
    scores: ArrayView2<'_, f32>,
) -> Result<f64, HeadError> {
    check_inputs(y_true, scores)?;
    let mut labelled = 0usize;
    let mut hits = 0usize;
    for (truth, row) in y_true.axis_iter(Axis(0)).zip(scores.axis_iter(Axis(0))) {
        if !truth.iter().any(|&v| v == 1.0) {
            continue;
        }
        labelled += 1;
        let best = row
            .iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
                if v.partial_cmp(&bv) == Some(Ordering::Greater) {
                    (i, v)
                } else {
                    (bi, bv)
                }
            })
            .0;
        if truth[best] == 1.0 {
            hits += 1;
        }
    }
    if labelled == 0 {
        return Err(HeadError::UndefinedMetric {
            metric: "top-1 accuracy",
            reason: "no window has a positive class".to_string(),
        });
    }
    Ok(hits as f64 / labelled as f64)
}

/// Computes the BirdCLEF 2023 padded cmAP: `padding` rows of ones are appended to both the truth
/// and the scores, then average precision is averaged over all classes (scikit-learn's
/// `average_precision_score(..., average="macro")`). The competition used `padding = 5`.
///
/// With `padding = 0` a class without positives contributes 0, as in scikit-learn 1.9.
///
/// # Errors
/// As [`macro_roc_auc`].
pub fn padded_cmap(
    y_true: ArrayView2<'_, f32>,
    scores: ArrayView2<'_, f32>,
    padding: usize,
) -> Result<f64, HeadError> {
    check_inputs(y_true, scores)?;
    let classes = y_true.ncols();
    let total: f64 = (0..classes)
        .map(|k| {
            let mut truth = column_truth(y_true, k);
            let mut column: Vec<f32> = scores.column(k).to_vec();
            truth.extend(std::iter::repeat_n(true, padding));
            column.extend(std::iter::repeat_n(1.0, padding));
            average_precision(&truth, &column)
        })
        .sum();
    Ok(total / classes as f64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn auc_of_perfect_and_reversed_ranking() {
        let y = [false, false, true, true];
        assert_eq!(roc_auc(&y, &[0.1, 0.2, 0.3, 0.4]), Some(1.0));
        assert_eq!(roc_auc(&y, &[0.4, 0.3, 0.2, 0.1]), Some(0.0));
    }

    #[test]
    fn auc_counts_ties_as_half() {
        // Every positive-negative pair is tied.
        assert_eq!(roc_auc(&[false, true, false, true], &[0.5; 4]), Some(0.5));
        // One tied pair out of four: (1 + 1 + 1 + 0.5) / 4.
        let auc = roc_auc(&[false, false, true, true], &[0.1, 0.3, 0.3, 0.9]);
        assert_eq!(auc, Some(0.875));
    }

    #[test]
    fn auc_needs_both_classes() {
        assert_eq!(roc_auc(&[true, true], &[0.1, 0.2]), None);
        assert_eq!(roc_auc(&[false, false], &[0.1, 0.2]), None);
        assert_eq!(roc_auc(&[false, true], &[f32::NAN, 0.2]), None);
    }

    #[test]
    fn macro_skips_classes_without_positives() {
        let y = array![
            [1.0f32, 0.0, 1.0],
            [0.0, 0.0, 1.0],
            [1.0, 0.0, 1.0],
            [0.0, 0.0, 1.0]
        ];
        let s = array![
            [0.9f32, 0.1, 0.5],
            [0.2, 0.3, 0.5],
            [0.8, 0.2, 0.5],
            [0.1, 0.4, 0.5]
        ];
        let result = macro_roc_auc(y.view(), s.view()).unwrap();
        assert_eq!(result.per_class, vec![Some(1.0), None, None]);
        assert_eq!(result.n_scored, 1);
        assert_eq!(result.macro_auc, 1.0);
    }

    #[test]
    fn macro_without_scorable_class_is_an_error() {
        let y = array![[0.0f32], [0.0]];
        let s = array![[0.1f32], [0.2]];
        let err = macro_roc_auc(y.view(), s.view()).unwrap_err();
        assert!(matches!(err, HeadError::UndefinedMetric { .. }), "{err}");
    }

    #[test]
    fn truth_other_than_zero_or_one_is_rejected() {
        let y = array![[0.5f32], [1.0]];
        let s = array![[0.1f32], [0.2]];
        let err = macro_roc_auc(y.view(), s.view()).unwrap_err();
        assert!(
            matches!(err, HeadError::InvalidTruth { row: 0, col: 0, .. }),
            "{err}"
        );
    }

    #[test]
    fn nan_score_is_rejected_with_its_row() {
        let y = array![[0.0f32], [1.0]];
        let s = array![[0.1f32], [f32::NAN]];
        let err = micro_roc_auc(y.view(), s.view()).unwrap_err();
        assert!(matches!(err, HeadError::NonFinite { row: 1, .. }), "{err}");
    }

    #[test]
    fn shape_mismatch_is_rejected() {
        let y = array![[0.0f32, 1.0], [1.0, 0.0]];
        let s = array![[0.1f32], [0.2]];
        let err = top1_accuracy(y.view(), s.view()).unwrap_err();
        assert!(
            matches!(
                err,
                HeadError::Shape {
                    expected: 2,
                    got: 1,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn top1_takes_first_maximum_and_skips_unlabelled_rows() {
        let y = array![[1.0f32, 0.0], [0.0, 1.0], [0.0, 0.0]];
        let s = array![[0.5f32, 0.5], [0.5, 0.5], [0.9, 0.1]];
        assert_eq!(top1_accuracy(y.view(), s.view()).unwrap(), 0.5);
    }

    #[test]
    fn average_precision_of_known_ranking() {
        // Ranked: pos (P 1, R 1/2), neg, pos (P 2/3, R 1).
        let ap = average_precision(&[true, false, true], &[0.6, 0.4, 0.2]);
        assert!((ap - (0.5 + 0.5 * 2.0 / 3.0)).abs() < 1e-15, "{ap}");
    }

    #[test]
    fn padding_lifts_a_class_without_positives() {
        let y = array![[0.0f32], [0.0]];
        let s = array![[0.3f32], [0.7]];
        assert_eq!(padded_cmap(y.view(), s.view(), 0).unwrap(), 0.0);
        assert_eq!(padded_cmap(y.view(), s.view(), 1).unwrap(), 1.0);
    }
}
