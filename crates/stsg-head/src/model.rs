//! The fitted head: [`LinearHead`], its prediction and its model file.

use std::path::Path;

use ndarray::{Array1, Array2, ArrayView2, Axis, Slice};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use stsg_core::artifact::{Artifact, ArtifactWriter};
use stsg_core::{Head, LabelSet};

use crate::linalg::{check_finite, matmul_xw};
use crate::{HeadError, HeadKind, HeadParams};

/// Artifact kind of a saved [`LinearHead`].
pub const ARTIFACT_KIND: &str = "stsg-head/linear";
/// Format version of the saved [`LinearHead`] this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Rows standardised and multiplied at a time in [`LinearHead::predict`].
const PREDICT_CHUNK: usize = 4096;

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
        self.check_input(windows)?;
        let (n, d, c) = (windows.nrows(), self.weights.nrows(), self.weights.ncols());
        let weights = self
            .weights
            .as_slice()
            .expect("head weights are stored in C order");
        let mut out = Array2::<f32>::zeros((n, c));
        let mut buffer = Vec::with_capacity(PREDICT_CHUNK.min(n) * d);
        for (start, mut out_rows) in (0..n)
            .step_by(PREDICT_CHUNK)
            .zip(out.axis_chunks_iter_mut(Axis(0), PREDICT_CHUNK))
        {
            let rows = windows.slice_axis(Axis(0), Slice::from(start..start + out_rows.nrows()));
            buffer.clear();
            match &self.standardization {
                Some(st) => {
                    for row in rows.rows() {
                        buffer.extend(
                            row.iter()
                                .zip(&st.mean)
                                .zip(&st.scale)
                                .map(|((&v, &m), &s)| (v - m) / s),
                        );
                    }
                }
                None => buffer.extend(rows.iter().copied()),
            }
            let out_slice = out_rows
                .as_slice_mut()
                .expect("freshly allocated output is in C order");
            matmul_xw(&buffer, weights, out_slice, rows.nrows(), d, c);
        }
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .for_each(|mut row| row += &self.bias);
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

fn sigmoid(z: f32) -> f32 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
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
        let mut scores = self.decision_function(windows)?;
        match self.kind {
            HeadKind::Sigmoid => scores.par_mapv_inplace(sigmoid),
            HeadKind::Softmax => {
                let trained: Vec<bool> = self
                    .status
                    .iter()
                    .map(|s| *s == ClassStatus::Trained)
                    .collect();
                scores
                    .axis_iter_mut(Axis(0))
                    .into_par_iter()
                    .for_each(|mut row| {
                        let max = row
                            .iter()
                            .zip(&trained)
                            .filter(|(_, t)| **t)
                            .fold(f32::NEG_INFINITY, |m, (&v, _)| m.max(v));
                        let mut sum = 0.0;
                        for (v, &t) in row.iter_mut().zip(&trained) {
                            *v = if t { (*v - max).exp() } else { 0.0 };
                            sum += *v;
                        }
                        row.mapv_inplace(|v| v / sum);
                    });
            }
        }
        Ok(scores)
    }
}
