//! Linear classifier head of stsg and the BirdCLEF evaluation metrics.
//!
//! A head maps each window vector to per-class scores. [`HeadParams`] (checked into
//! [`HeadValidParams`]) trains a [`LinearHead`] through [`stsg_core::Fit`] on a
//! [`stsg_core::HeadDataset`]; the head implements [`stsg_core::Head`] and is saved with
//! [`LinearHead::save`]. [`targets_from_labels`] builds target matrices from label names, and
//! [`metrics`] scores predictions.
//!
//! # Model
//! - [`HeadKind::Sigmoid`]: one logistic regression per class, for multi-label data.
//! - [`HeadKind::Softmax`]: multinomial logistic regression, for single-label data.
//!
//! Both minimise the mean (optionally class-weighted) log loss plus `l2 / 2 * |W|^2` over all
//! classes at once, as one `features x classes` weight matrix and a bias per class, with
//! full-batch L-BFGS. scikit-learn's `LogisticRegression(C)` on `n` rows is the same objective
//! with `l2 = 1 / (C n)`; linfa-logistic's `alpha` is `l2 * n`.
//!
//! # Conventions
//! - features and scores are `windows x features` and `windows x classes`, `f32`, columns of the
//!   scores in [`stsg_core::LabelSet`] order;
//! - targets are in `[0, 1]` (1 present, 0 absent); metric ground truth is exactly 0 or 1;
//! - with standardisation on, the stored weights act on `(x - mean) / scale`.
//!
//! # Example
//! ```
//! use ndarray::array;
//! use stsg_core::{Fit, Head, HeadDataset, LabelSet};
//! use stsg_head::{HeadParams, metrics};
//!
//! let features = array![[0.0f32, 1.0], [0.2, 0.9], [1.0, 0.0], [0.9, 0.1]];
//! let targets = array![[1.0f32, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]];
//! let labels = LabelSet::new(["wren", "owl"])?;
//! let head = HeadParams::new().l2(0.01).check()?.fit(HeadDataset {
//!     features: features.view(),
//!     targets: targets.view(),
//!     labels: &labels,
//! })?;
//! let scores = head.predict(features.view())?;
//! assert!(scores[[0, 0]] > 0.5 && scores[[2, 1]] > 0.5);
//! let auc = metrics::macro_roc_auc(targets.view(), scores.view())?;
//! assert_eq!(auc.macro_auc, 1.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod error;
mod linalg;
pub mod metrics;
mod model;
mod params;
mod simd;
mod targets;
mod train;

pub use error::{HeadError, HeadParamsError};
pub use model::{
    ARTIFACT_KIND, ClassStatus, FORMAT_VERSION, LinearHead, Standardization, TrainingSummary,
};
pub use params::{ClassWeight, HeadKind, HeadParams, HeadValidParams};
pub use targets::targets_from_labels;

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<LinearHead>();
        assert_send_sync::<HeadValidParams>();
        assert_send_sync::<HeadError>();
        assert_send_sync::<metrics::MacroAuc>();
    }
}
