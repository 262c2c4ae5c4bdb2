//! The fitted head: [`LinearHead`], its prediction and its model file.

use std::path::Path;

use ndarray::parallel::prelude::*;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use pulp::{Simd, WithSimd};
use serde::{Deserialize, Serialize};
use stsg_core::artifact::{Artifact, ArtifactWriter};
use stsg_core::{Head, LabelSet};

use crate::linalg::{check_finite, matmul_xw_serial};
use crate::simd::{DivideBy, ExpShifted, Sigmoid, map_in_place};
use crate::{HeadError, HeadKind, HeadParams};

/// Artifact kind of a saved [`LinearHead`].
pub const ARTIFACT_KIND: &str = "stsg-head/linear";
/// Format version of the saved [`LinearHead`] this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Rows per parallel task of [`LinearHead::predict`]. Each task standardises its block into a
/// buffer of its own (2 MiB at 1024 features), multiplies it and applies the link function, so
/// the block is reused while it is likely still in cache.
const PREDICT_BLOCK: usize = 512;

/// Training outcome of one class, set by its positive and negative rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassStatus {
    /// The class had positive and negative training rows and was fitted.
    Trained,
    /// No training row was positive. Sigmoid heads give the constant score `1 / (n + 2)` (the
    /// rule-of-succession prior for `n` training rows), softmax heads give 0.
    NoPositive,
    /// Every training row was fully positive (sigmoid only). The class gets the constant score
    /// `(n + 1) / (n + 2)`.
    NoNegative,
}

/// Per-feature standardisation applied before the linear map: `(x - mean) / scale`.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardization {
    /// Feature means of the training rows.
    pub mean: Array1<f32>,
    /// Population standard deviations of the training rows; 1 for a constant feature.
    pub scale: Array1<f32>,
}

impl Standardization {
    /// Writes `(row - mean) / scale` into `out`.
    pub(crate) fn apply_to_row(&self, row: ArrayView1<'_, f32>, out: &mut [f32]) {
        let mean = self
            .mean
            .as_slice()
            .expect("heads build their arrays contiguous");
        let scale = self
            .scale
            .as_slice()
            .expect("heads build their arrays contiguous");
        // Both arms run the same loop, but the compiler vectorises it only over slices.
        match row.as_slice() {
            Some(row) => {
                for (((o, &v), &m), &s) in out.iter_mut().zip(row).zip(mean).zip(scale) {
                    *o = (v - m) / s;
                }
            }
            None => {
                for (((o, &v), &m), &s) in out.iter_mut().zip(row).zip(mean).zip(scale) {
                    *o = (v - m) / s;
                }
            }
        }
    }
}

/// Outcome of a fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// Number of training rows.
    pub n_rows: usize,
    /// L-BFGS iterations taken.
    pub iterations: usize,
    /// Whether the largest absolute gradient entry fell to `tol` or below.
    pub converged: bool,
    /// Final value of the objective (mean weighted loss plus penalty).
    pub objective: f64,
    /// Final largest absolute gradient entry.
    pub max_gradient: f64,
}

/// A fitted linear head: `scores = link(standardise(x) W + b)`, with `link` the sigmoid or the
/// softmax.
///
/// Columns of `W` (`features x classes`) follow [`LinearHead::labels`].
#[derive(Debug, Clone, PartialEq)]
pub struct LinearHead {
    pub(crate) kind: HeadKind,
    pub(crate) labels: LabelSet,
    pub(crate) weights: Array2<f32>,
    pub(crate) bias: Array1<f32>,
    pub(crate) standardization: Option<Standardization>,
    pub(crate) status: Vec<ClassStatus>,
    pub(crate) params: HeadParams,
    pub(crate) summary: TrainingSummary,
}

#[derive(Debug, Serialize, Deserialize)]
struct Metadata {
    kind: HeadKind,
    labels: LabelSet,
    n_features: usize,
    standardized: bool,
    class_status: Vec<ClassStatus>,
    params: HeadParams,
    training: TrainingSummary,
}

impl LinearHead {
    /// Sigmoid or softmax scores.
    pub fn kind(&self) -> HeadKind {
        self.kind
    }

    /// Weights, `features x classes`, acting on standardised features when
    /// [`LinearHead::standardization`] is set.
    pub fn weights(&self) -> ArrayView2<'_, f32> {
        self.weights.view()
    }

    /// Bias per class.
    pub fn bias(&self) -> &Array1<f32> {
        &self.bias
    }

    /// Returns the feature standardisation, if the head was trained with it.
    pub fn standardization(&self) -> Option<&Standardization> {
        self.standardization.as_ref()
    }

    /// Per-class outcome of training, in label order.
    pub fn class_status(&self) -> &[ClassStatus] {
        &self.status
    }

    /// Returns the params the head was trained with.
    pub fn params(&self) -> &HeadParams {
        &self.params
    }

    /// Returns the outcome of the fit.
    pub fn training_summary(&self) -> &TrainingSummary {
        &self.summary
    }

    fn check_input(&self, windows: ArrayView2<'_, f32>) -> Result<(), HeadError> {
        if windows.ncols() != self.weights.nrows() {
            return Err(HeadError::Shape {
                what: "feature columns of the windows",
                expected: self.weights.nrows(),
                got: windows.ncols(),
            });
        }
        check_finite(windows, "feature")
    }

    /// Computes the margins `standardise(x) W + b`, `windows x classes`.
    ///
    /// Runs on the current rayon pool. Cost: one `windows x features x classes` product.
    ///
    /// # Errors
    /// [`HeadError::Shape`] for a column count other than [`Head::n_features`],
    /// [`HeadError::NonFinite`] naming the first row with NaN or an infinity.
    pub fn decision_function(
        &self,
        windows: ArrayView2<'_, f32>,
    ) -> Result<Array2<f32>, HeadError> {
        self.scores(windows, Link::Identity)
    }

    /// Computes `link(standardise(x) W + b)` in parallel blocks of [`PREDICT_BLOCK`] rows. Each
    /// block is standardised into a buffer of its thread, multiplied on that thread and passed
    /// through the link function while it is still in cache.
    fn scores(&self, windows: ArrayView2<'_, f32>, link: Link) -> Result<Array2<f32>, HeadError> {
        self.check_input(windows)?;
        let (n, d, c) = (windows.nrows(), self.weights.nrows(), self.weights.ncols());
        let weights = self
            .weights
            .as_slice()
            .expect("head weights are stored in C order");
        let bias = self
            .bias
            .as_slice()
            .expect("heads build their arrays contiguous");
        // Softmax heads give untrained classes probability 0, so their margins become -inf.
        let softmax_offset: Vec<f32> = self
            .status
            .iter()
            .map(|s| match s {
                ClassStatus::Trained => 0.0,
                _ => f32::NEG_INFINITY,
            })
            .collect();
        let mut out = Array2::<f32>::zeros((n, c));
        out.axis_chunks_iter_mut(Axis(0), PREDICT_BLOCK)
            .into_par_iter()
            .zip(windows.axis_chunks_iter(Axis(0), PREDICT_BLOCK))
            .for_each_init(Vec::new, |buffer: &mut Vec<f32>, (mut out_rows, rows)| {
                let m = rows.nrows();
                let input: &[f32] = match (&self.standardization, rows.as_slice()) {
                    (None, Some(slice)) => slice,
                    (standardization, _) => {
                        buffer.resize(m * d, 0.0);
                        for (row, target) in rows.outer_iter().zip(buffer.chunks_exact_mut(d)) {
                            match standardization {
                                Some(st) => st.apply_to_row(row, target),
                                None => target.iter_mut().zip(row).for_each(|(t, &v)| *t = v),
                            }
                        }
                        buffer
                    }
                };
                let out_slice = out_rows
                    .as_slice_mut()
                    .expect("freshly allocated output is in C order");
                matmul_xw_serial(input, weights, out_slice, m, d, c);
                pulp::Arch::new().dispatch(LinkRows {
                    scores: out_slice,
                    bias,
                    softmax_offset: &softmax_offset,
                    link,
                });
            });
        Ok(out)
    }

    /// Saves the head atomically as a versioned artifact (kind [`ARTIFACT_KIND`], version
    /// [`FORMAT_VERSION`]) holding the weights, the bias, the standardisation, the label set,
    /// the params and the training summary.
    ///
    /// # Errors
    /// [`HeadError::Artifact`] naming the path when writing fails.
    pub fn save(&self, path: &Path) -> Result<(), HeadError> {
        let metadata = Metadata {
            kind: self.kind,
            labels: self.labels.clone(),
            n_features: self.weights.nrows(),
            standardized: self.standardization.is_some(),
            class_status: self.status.clone(),
            params: self.params.clone(),
            training: self.summary.clone(),
        };
        let metadata = serde_json::to_value(&metadata).expect("head metadata serialises to JSON");
        let weights = self.weights.as_standard_layout();
        let mut writer = ArtifactWriter::new(ARTIFACT_KIND, FORMAT_VERSION);
        writer
            .metadata(metadata)
            .add_f32(
                "weights",
                weights.shape(),
                weights.as_slice().expect("standard layout is contiguous"),
            )
            .add_f32("bias", &[self.bias.len()], &self.bias.to_vec());
        if let Some(st) = &self.standardization {
            writer
                .add_f32("mean", &[st.mean.len()], &st.mean.to_vec())
                .add_f32("scale", &[st.scale.len()], &st.scale.to_vec());
        }
        writer.write(path)?;
        Ok(())
    }

    /// Loads a head saved by [`LinearHead::save`], checking kind, version, shapes and values.
    ///
    /// # Errors
    /// [`HeadError::Artifact`] when the file is missing, corrupted, of another kind or another
    /// format version; [`HeadError::InvalidModel`] when its arrays disagree with its metadata.
    pub fn load(path: &Path) -> Result<Self, HeadError> {
        let artifact = Artifact::read(path, ARTIFACT_KIND, FORMAT_VERSION)?;
        let invalid = |reason: String| HeadError::InvalidModel {
            path: path.to_path_buf(),
            reason,
        };
        let meta: Metadata = serde_json::from_value(artifact.metadata().clone())
            .map_err(|e| invalid(format!("unreadable metadata: {e}")))?;
        let (d, c) = (meta.n_features, meta.labels.len());
        let weights = artifact.f32_array2("weights")?;
        if weights.dim() != (d, c) {
            return Err(invalid(format!(
                "weights have shape {:?}, expected [{d}, {c}] (features x classes)",
                weights.shape()
            )));
        }
        let bias = vector(&artifact, "bias", c).map_err(invalid)?;
        if meta.class_status.len() != c {
            return Err(invalid(format!(
                "{} class statuses for {c} classes",
                meta.class_status.len()
            )));
        }
        let standardization = if meta.standardized {
            let mean = vector(&artifact, "mean", d).map_err(invalid)?;
            let scale = vector(&artifact, "scale", d).map_err(invalid)?;
            if let Some(s) = scale.iter().find(|s| s.is_nan() || **s <= 0.0) {
                return Err(invalid(format!("feature scale {s} is not positive")));
            }
            Some(Standardization { mean, scale })
        } else {
            None
        };
        if let Some(v) = weights.iter().chain(&bias).find(|v| !v.is_finite()) {
            return Err(invalid(format!("weight or bias {v} is not finite")));
        }
        Ok(Self {
            kind: meta.kind,
            labels: meta.labels,
            weights,
            bias,
            standardization,
            status: meta.class_status,
            params: meta.params,
            summary: meta.training,
        })
    }
}

fn vector(artifact: &Artifact, name: &str, len: usize) -> Result<Array1<f32>, String> {
    let array = artifact.f32_array(name).map_err(|e| e.to_string())?;
    if array.shape() != [len] {
        return Err(format!(
            "array {name:?} has shape {:?}, expected [{len}]",
            array.shape()
        ));
    }
    Ok(array.into_iter().collect())
}

/// Function applied to the margins of each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Identity,
    Sigmoid,
    Softmax,
}

/// Adds the bias to a block of margin rows and applies the link function in place.
struct LinkRows<'a> {
    /// Rows of `bias.len()` margins, C order.
    scores: &'a mut [f32],
    bias: &'a [f32],
    /// 0 for trained classes and -inf for the others. Only the softmax uses it.
    softmax_offset: &'a [f32],
    link: Link,
}

impl WithSimd for LinkRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let c = self.bias.len();
        for row in self.scores.chunks_exact_mut(c) {
            for (v, b) in row.iter_mut().zip(self.bias) {
                *v += b;
            }
            match self.link {
                Link::Identity => {}
                Link::Sigmoid => map_in_place(simd, row, &Sigmoid),
                Link::Softmax => {
                    for (v, offset) in row.iter_mut().zip(self.softmax_offset) {
                        *v += offset;
                    }
                    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                    map_in_place(simd, row, &ExpShifted(max));
                    let sum: f32 = row.iter().sum();
                    map_in_place(simd, row, &DivideBy(sum));
                }
            }
        }
    }
}

impl Head for LinearHead {
    type Error = HeadError;

    fn n_features(&self) -> usize {
        self.weights.nrows()
    }

    fn labels(&self) -> &LabelSet {
        &self.labels
    }

    /// Returns sigmoid probabilities per class, or softmax probabilities over the trained
    /// classes (classes without positive training rows score 0 in a softmax head).
    fn predict(&self, windows: ArrayView2<'_, f32>) -> Result<Array2<f32>, HeadError> {
        let link = match self.kind {
            HeadKind::Sigmoid => Link::Sigmoid,
            HeadKind::Softmax => Link::Softmax,
        };
        self.scores(windows, link)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    /// A head with fixed pseudo-random weights over `d` features and `c` classes, the last class
    /// untrained.
    fn head(kind: HeadKind, standardized: bool, d: usize, c: usize) -> LinearHead {
        let value = |i: usize| ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) * 0.8;
        let mut status = vec![ClassStatus::Trained; c];
        status[c - 1] = ClassStatus::NoPositive;
        LinearHead {
            kind,
            labels: LabelSet::new((0..c).map(|k| format!("class{k}"))).unwrap(),
            weights: Array2::from_shape_fn((d, c), |(j, k)| value(j * c + k + 3)),
            bias: (0..c).map(|k| 2.0 * value(k + 11)).collect(),
            standardization: standardized.then(|| Standardization {
                mean: (0..d).map(|j| value(j + 5)).collect(),
                scale: (0..d).map(|j| 0.5 + value(j + 17).abs()).collect(),
            }),
            status,
            params: HeadParams::new().kind(kind),
            summary: TrainingSummary {
                n_rows: 1,
                iterations: 0,
                converged: true,
                objective: 0.0,
                max_gradient: 0.0,
            },
        }
    }

    /// Returns the scores of `head` for row `i` of `x`, computed in `f64` entry by entry.
    fn reference_scores(head: &LinearHead, x: ArrayView2<'_, f32>, i: usize) -> Vec<f64> {
        let (d, c) = head.weights.dim();
        let margins: Vec<f64> = (0..c)
            .map(|k| {
                let mut z = f64::from(head.bias[k]);
                for j in 0..d {
                    let mut v = f64::from(x[[i, j]]);
                    if let Some(st) = &head.standardization {
                        v = (v - f64::from(st.mean[j])) / f64::from(st.scale[j]);
                    }
                    z += v * f64::from(head.weights[[j, k]]);
                }
                z
            })
            .collect();
        match head.kind {
            HeadKind::Sigmoid => margins.iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect(),
            HeadKind::Softmax => {
                let trained = |k: usize| head.status[k] == ClassStatus::Trained;
                let max = (0..c)
                    .filter(|&k| trained(k))
                    .fold(f64::NEG_INFINITY, |m, k| m.max(margins[k]));
                let exps: Vec<f64> = (0..c)
                    .map(|k| {
                        if trained(k) {
                            (margins[k] - max).exp()
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let sum: f64 = exps.iter().sum();
                exps.iter().map(|e| e / sum).collect()
            }
        }
    }

    #[test]
    fn blocked_prediction_matches_f64_scores() {
        let (n, d, c) = (2 * PREDICT_BLOCK + 7, 37, 13);
        let x = Array2::from_shape_fn((n, d), |(i, j)| {
            ((i * 31 + j * 17) % 97) as f32 / 24.0 - 2.0
        });
        // The same values with rows that are not contiguous in memory.
        let strided = x.t().as_standard_layout().into_owned();
        for kind in [HeadKind::Sigmoid, HeadKind::Softmax] {
            for standardized in [true, false] {
                let head = head(kind, standardized, d, c);
                for input in [x.view(), strided.t()] {
                    let scores = head.predict(input).unwrap();
                    for i in 0..n {
                        let expected = reference_scores(&head, x.view(), i);
                        for (k, &e) in expected.iter().enumerate() {
                            let got = f64::from(scores[[i, k]]);
                            assert!(
                                (got - e).abs() <= 1e-5,
                                "{kind:?}, standardized {standardized}, row {i} class {k}: {got} vs {e}"
                            );
                        }
                    }
                    if kind == HeadKind::Softmax {
                        assert!(scores.column(c - 1).iter().all(|&v| v == 0.0));
                    }
                }
            }
        }
    }
}
