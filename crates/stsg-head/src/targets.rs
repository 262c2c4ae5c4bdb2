//! Building target matrices from the label names of each window.

use ndarray::Array2;
use stsg_core::LabelSet;

use crate::HeadError;

/// Builds the `windows x classes` target matrix: entry `(i, k)` is 1 when window `i` lists
/// class `k`, else 0. A window may list several classes, or none (an all-zero row).
///
/// # Errors
/// [`HeadError::UnknownLabel`] naming the first label that is not in `labels` and its window.
pub fn targets_from_labels<S: AsRef<str>>(
    labels: &LabelSet,
    windows: &[Vec<S>],
) -> Result<Array2<f32>, HeadError> {
    let mut targets = Array2::<f32>::zeros((windows.len(), labels.len()));
    for (window, names) in windows.iter().enumerate() {
        for name in names {
            let name = name.as_ref();
            let k = labels.index_of(name).map_err(|_| HeadError::UnknownLabel {
                label: name.to_string(),
                window,
                n_labels: labels.len(),
            })?;
            targets[[window, k]] = 1.0;
        }
    }
    Ok(targets)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    #[test]
    fn multi_label_rows_are_built() {
        let labels = LabelSet::new(["a", "b", "c"]).unwrap();
        let targets = targets_from_labels(&labels, &[vec!["c", "a"], vec![], vec!["b"]]).unwrap();
        assert_eq!(
            targets,
            ndarray::array![[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
        );
    }

    #[test]
    fn unknown_label_is_named() {
        let labels = LabelSet::new(["a", "b"]).unwrap();
        let err = targets_from_labels(&labels, &[vec!["a"], vec!["b", "zebra"]]).unwrap_err();
        assert!(
            matches!(&err, HeadError::UnknownLabel { label, window: 1, .. } if label == "zebra"),
            "{err}"
        );
        assert!(err.to_string().contains("\"zebra\""), "{err}");
    }
}
